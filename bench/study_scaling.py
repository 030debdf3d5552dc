"""Wall time of a 6-run study (quantum LeNet on the toy data set, 2 variants x 3 seeds) on a local Ray with 1 and then
2 workers, each into a fresh root: the whole call (Ray's start included) and the runs alone (Ray started first). Prints
the load average before and after, since on a shared machine the ratio says as much about the neighbours as about Ray.

Usage: python bench/study_scaling.py [--epochs 20] [--workers 1 2]"""
import argparse, os, tempfile, time
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


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=20); p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    a = p.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    times = {w: timed_study(w, a.epochs, Path(tempfile.mkdtemp())) for w in a.workers}
    for w, (whole, runs) in times.items():
        print(f"{w} worker(s): {whole:.1f} s in all, {runs:.1f} s of runs; ratio to {a.workers[0]} worker(s): "
              f"{whole / times[a.workers[0]][0]:.2f} in all, {runs / times[a.workers[0]][1]:.2f} of runs")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
