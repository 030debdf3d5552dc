"""Wall time of a 6-run study (quantum LeNet on the toy data set, 2 variants x 3 seeds) on a local Ray with 1 and then
2 workers, each into a fresh root: the whole call (Ray's start included) and the runs alone (Ray started first). Prints
the load average before and after, since on a shared machine the ratio says as much about the neighbours as about Ray.
With --plain, the same study also runs without Ray in 1 and 2 plain processes (each its half, one run after the other):
the machine's own ratio, which no scheduler can beat.

Usage: python bench/study_scaling.py [--epochs 20] [--workers 1 2] [--plain]"""
import argparse, os, subprocess, sys, tempfile, time
from pathlib import Path

from qdd.data import toy_dataset
from qdd.runner import Cluster, ray_session
from qdd.seeds import execute_study

BASE = dict(dataset="toy", preset="mnist", model="qlenet", hermitian="trainable", batch_size=100, eval_every=5, val_size=100)
VARIANTS = {"faithful": {}, "alpha-frozen": dict(inner_frozen="alpha")}


def timed_study(workers: int, epochs: int, root: Path) -> tuple[float, float]:
    "(seconds of the whole call, seconds of the runs alone) of the study with `workers` workers."
    t0 = time.perf_counter()
    with ray_session(Cluster(workers=workers)):
        t1 = time.perf_counter()
        out = execute_study({**BASE, "epochs": epochs}, VARIANTS, [0, 1, 2], root, toy_dataset(), cluster=Cluster(workers=workers),
                            log=lambda *_: None)
        t2 = time.perf_counter()
    assert {s for s, _ in out.values()} == {"finished"} and len(out) == 6, out
    return time.perf_counter() - t0, t2 - t1


SHARD = ("import sys; sys.path.insert(0, {here!r}); import study_scaling as s; from qdd.data import toy_dataset; "
         "from qdd.seeds import execute_study; out = execute_study({{**s.BASE, 'epochs': {epochs}}}, s.VARIANTS, [0, 1, 2], "
         "{root!r}, toy_dataset(), shard=({k}, {n}), log=lambda *_: None); "
         "sys.exit(0 if all(state == 'finished' for state, _ in out.values()) else 1)")

def plain_study(processes: int, epochs: int, root: Path) -> float:
    "Seconds of the study in `processes` plain Python processes without Ray, each running every n-th run."
    env, t0 = {**os.environ, "OMP_NUM_THREADS": "1", "QDD_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}, time.perf_counter()
    here = str(Path(__file__).resolve().parent)
    procs = [subprocess.Popen([sys.executable, "-c", SHARD.format(here=here, epochs=epochs, root=str(root), k=k, n=processes)],
                              env=env) for k in range(processes)]
    assert all(p.wait() == 0 for p in procs), "a plain process failed"
    return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=20); p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--plain", action="store_true", help="also time the study in 1 and 2 plain processes, without Ray")
    a = p.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    times = {w: timed_study(w, a.epochs, Path(tempfile.mkdtemp())) for w in a.workers}
    for w, (whole, runs) in times.items():
        print(f"{w} worker(s): {whole:.1f} s in all, {runs:.1f} s of runs; ratio to {a.workers[0]} worker(s): "
              f"{whole / times[a.workers[0]][0]:.2f} in all, {runs / times[a.workers[0]][1]:.2f} of runs")
    if a.plain:
        plain = {n: plain_study(n, a.epochs, Path(tempfile.mkdtemp())) for n in (1, 2)}
        print(f"without Ray: 1 process {plain[1]:.1f} s, 2 processes {plain[2]:.1f} s; ratio {plain[2] / plain[1]:.2f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
