"""Seconds per outer distillation iteration (`Distiller.step`) for the paper's configurations, on random data of the
right shapes: CIFAR-10 quantum LeNet and LeNet (100 images, 30 unrolled steps), MNIST quantum LeNet and LeNet (10
images, 3 steps), real batch 1024. Each configuration is timed in one process with interleaved repeats after a
warm-up; the quantum/classical ratio is per data set. By default it then runs two copies at once, one thread each
(two runs sharing two cores, as the paper runner does), and prints each copy's figures: `--jobs 1` skips that,
`--jobs 1 2 4` adds four copies.

`--flops` also counts the floating-point work of one iteration (torch's FlopCounterMode: convolutions and matrix
products, complex products counted as real ones, so a lower bound) and divides it by this core's measured float32
matrix-product rate: the time an iteration would take if every operation ran at peak.

`--baseline REV` also times each quantum configuration with the circuit engine (`qdd.sim.torch_expvals`) of git
revision REV, in the same process and interleaved with today's, and prints the new/old ratio: the way to compare two
versions of the engine on a busy machine, where timings from separate processes do not compare.

`--portable` also times each configuration in the portable mode (qdd.provenance: one thread, ATen's default kernels,
oneDNN off, MKL_CBWR=COMPATIBLE), which must be set before torch starts, so in child processes: a normal and a portable
child alternate for `--rounds` rounds (both see the same load on a shared machine), and the slowdown is the ratio of the
medians per configuration.

`--circuit-free` also times each quantum configuration with the circuit replaced by a stand-in of the same inputs and
output that costs next to nothing (`stand_in_engine`), interleaved the same way: the time no circuit engine can go
below, and the circuit's share of an iteration.

Usage: python bench/step.py [--repeats 7] [--threads 1] [--jobs 1 2] [--device cpu] [--only cifar10-qlenet ...]
                            [--flops] [--baseline REV] [--circuit-free] [--portable [--rounds 3]]"""
import argparse, json, os, statistics, subprocess, sys, time, warnings

warnings.filterwarnings("ignore", message=".*non-trainable.*")

CONFIGS = {  # name -> (data set shape (channels, side), recipe, model options)
    "cifar10-qlenet": ((3, 32), "cifar10", dict(model="qlenet", hermitian="trainable")),
    "cifar10-lenet": ((3, 32), "cifar10", dict(model="lenet")),
    "mnist-qlenet": ((1, 28), "mnist", dict(model="qlenet", hermitian="trainable")),
    "mnist-lenet": ((1, 28), "mnist", dict(model="lenet")),
}


def distiller(name, device):
    from qdd.distill import Distiller, recipe
    from qdd.data import toy_dataset  # random images, 10 classes; colour ones get augmented like CIFAR-10
    (channels, side), preset, opts = CONFIGS[name]
    cfg = recipe(f"random{channels}x{side}", preset=preset, epochs=400, eval_every=0, **opts)
    return Distiller(cfg, toy_dataset(2048, side, channels), device=device)


def baseline_engine(rev):
    "`torch_expvals` of qdd/sim.py (qdd/pqc.py before the split) at git revision `rev`, loaded next to today's."
    import importlib.util, tempfile
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    git = lambda *a: subprocess.run(["git", *a], cwd=root, capture_output=True, text=True)
    name = "sim" if git("cat-file", "-e", f"{rev}:qdd/sim.py").returncode == 0 else "pqc"
    source = subprocess.run(["git", "show", f"{rev}:qdd/{name}.py"], cwd=root, check=True, capture_output=True,
                            text=True).stdout
    path = os.path.join(tempfile.mkdtemp(), f"{name}_baseline.py")
    with open(path, "w") as f: f.write(source)
    spec = importlib.util.spec_from_file_location(f"qdd.{name}_baseline", path)
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    return module.torch_expvals


def stand_in_engine(z, weights, a_real, a_imag, cdtype=None, eps=1e-12):
    "Stand-in for `torch_expvals`: (B, n) outputs that depend on every input, in a handful of cheap operations."
    return (z[:, :weights.shape[1]] * weights.sum() + (a_real.sum() + a_imag.sum())).tanh()


class engine:
    "Context: `torch_expvals` as `qdd.pqc` calls it (from every PQC layer) replaced by `f`."
    def __init__(self, f): self.f = f
    def __enter__(self):
        import qdd.pqc
        self.saved, qdd.pqc.torch_expvals = qdd.pqc.torch_expvals, self.f
    def __exit__(self, *exc):
        import qdd.pqc
        qdd.pqc.torch_expvals = self.saved


def time_steps(names, repeats, device, engines=None):
    """Median seconds per `step` of each configuration, interleaved after two warm-up steps each; `engines` (label ->
    a `torch_expvals`) also times each quantum configuration with each of them (as 'NAME@label')."""
    import torch, qdd.pqc
    runs = {n: (distiller(n, device), qdd.pqc.torch_expvals) for n in names}
    for label, f in (engines or {}).items():
        runs.update({f"{n}@{label}": (distiller(n, device), f) for n in names if "qlenet" in n})
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    for d, f in runs.values():
        with engine(f): d.outer_step(); d.outer_step()
    times = {n: [] for n in runs}
    for _ in range(repeats):
        for n, (d, f) in runs.items():
            with engine(f):
                sync(); t = time.perf_counter(); d.outer_step(); sync(); times[n].append(time.perf_counter() - t)
    return {n: dict(median=statistics.median(v), min=min(v), max=max(v)) for n, v in times.items()}


def matmul_gflops(n=1024, repeats=10):
    "This core's float32 matrix-product rate in GFLOP/s (best of `repeats`)."
    import torch
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(f):
    t = time.perf_counter(); f(); return time.perf_counter() - t


def flops_per_step(name, device):
    "Floating-point operations of one outer iteration of configuration `name` (a lower bound, see the module doc)."
    from torch.utils.flop_counter import FlopCounterMode
    d = distiller(name, device); d.outer_step()
    with FlopCounterMode(display=False) as counter: d.outer_step()
    return counter.get_total_flops()


def report(figures, header):
    print(header)
    for n, f in figures.items():
        print(f"  {n:28s} {f['median'] * 1e3:8.1f} ms per iteration   (min {f['min'] * 1e3:.1f}, max "
              f"{f['max'] * 1e3:.1f})")
    for ds in ("cifar10", "mnist"):
        q, c = figures.get(f"{ds}-qlenet"), figures.get(f"{ds}-lenet")
        if q and c: print(f"  {ds}: quantum LeNet / LeNet = {q['median'] / c['median']:.2f}x")
        old = figures.get(f"{ds}-qlenet@baseline")
        if q and old:
            print(f"  {ds}: quantum LeNet, this engine / baseline engine = {q['median'] / old['median']:.2f}x")
        free = figures.get(f"{ds}-qlenet@circuit-free")
        if q and free:
            print(f"  {ds}: quantum LeNet without its circuit {free['median'] * 1e3:.1f} ms; the circuit's share "
                             f"of an iteration {1 - free['median'] / q['median']:.0%}")


def main(repeats=7, threads=1, jobs=(1, 2), device="cpu", only=None, json_out=False, flops=False, baseline=None,
         circuit_free=False, portable=False, rounds=3):
    "Time one process (with the extra engines and FLOP floor asked for), then each number of parallel copies in `jobs`."
    names = [n for n in CONFIGS if not only or n in only]
    if 1 in jobs: single(names, repeats, threads, device, json_out, flops, baseline, circuit_free)
    for j in (j for j in jobs if j > 1): parallel(names, repeats, threads, j, device)
    if portable: portable_slowdown(names, repeats, device, rounds)


def single(names, repeats, threads, device, json_out, flops, baseline, circuit_free):
    from qdd.core import configure_threads
    policy = configure_threads(threads, device)
    engines = {**({"baseline": baseline_engine(baseline)} if baseline else {}),
               **({"circuit-free": stand_in_engine} if circuit_free else {})}
    figures = time_steps(names, repeats, device, engines)
    if json_out: print(json.dumps(figures)); return
    import torch
    report(figures,
           f"Distiller.step, median of {repeats} after warm-up{f'; baseline engine: {baseline}' if baseline else ''}; "
                    f"device {device}, torch {torch.__version__}, "
                    f"{policy['threads']} thread(s), malloc tuned: {policy['malloc_tuned']}, load average "
                    f"{os.getloadavg()[0]:.2f}")
    if flops: report_floor(figures, device)


def report_floor(figures, device):
    "GFLOP per iteration, the floor at this core's matmul rate, and how far the measured time is above it."
    peak = matmul_gflops()
    print(f"FLOP floor at {peak:.0f} GFLOP/s (this core, float32 1024x1024 matrix product):")
    for n, f in figures.items():
        if "@" in n: continue
        g = flops_per_step(n, device) / 1e9
        print(f"  {n:16s} {g:6.2f} GFLOP per iteration, floor {g / peak * 1e3:6.1f} ms, measured "
              f"{f['median'] / (g / peak):.1f}x the floor")


def portable_slowdown(names, repeats, device, rounds):
    "Seconds per iteration, normal and portable, from alternating child processes; prints the slowdown of each."
    cmd = [sys.executable, __file__, "--repeats", str(repeats), "--device", device, "--json", "--jobs", "1", "--only",
           *names]
    env = {k: v for k, v in os.environ.items() if k != "QDD_PORTABLE"}
    times = {mode: {n: [] for n in names} for mode in ("normal", "portable")}
    for _ in range(rounds):
        for mode, extra in (("normal", {}), ("portable", {"QDD_PORTABLE": "1"})):
            out = subprocess.run(cmd, env={**env, **extra}, check=True, capture_output=True, text=True).stdout
            for n, f in json.loads(out.strip().splitlines()[-1]).items(): times[mode][n].append(f["median"])
    print(f"portable mode: median over {rounds} alternating rounds of {repeats} steps each, device {device}, "
          f"load average {os.getloadavg()[0]:.2f} (a shared machine: the ratio, taken round by round, is the figure "
          "to read)")
    for n in names:
        normal, portable = statistics.median(times["normal"][n]), statistics.median(times["portable"][n])
        ratios = [p / q for p, q in zip(times["portable"][n], times["normal"][n])]
        print(f"  {n:16s} normal {normal * 1e3:8.1f} ms, portable {portable * 1e3:8.1f} ms: {portable / normal:.2f}x "
              f"slower (per round {', '.join(f'{r:.2f}' for r in ratios)})")


def parallel(names, repeats, threads, jobs, device):
    "Run `jobs` copies of this benchmark at once and print each copy's figures."
    cmd = [sys.executable, __file__, "--repeats", str(repeats), "--threads", str(threads), "--device", device, "--json",
           "--jobs", "1", "--only", *names]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(jobs)]
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    for k, figures in enumerate(outs):
        report(figures, f"copy {k + 1} of {jobs} running at once, {threads} thread(s) each, device {device}:")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2],
                    help="numbers of copies to run at once (default: 1, then 2)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--only", nargs="+")
    ap.add_argument("--flops", action="store_true", help="also print the FLOP count and floor of each configuration")
    ap.add_argument("--baseline", metavar="REV",
                    help="also time the quantum configurations with the engine of git revision REV")
    ap.add_argument("--circuit-free", action="store_true",
                    help="also time the quantum configurations with a stand-in that costs next to nothing in place of "
                    "the circuit")
    ap.add_argument("--portable", action="store_true",
                    help="also time each configuration in the portable mode and print the slowdown")
    ap.add_argument("--rounds", type=int, default=3,
                    help="--portable: alternating normal/portable child processes (default: 3)")
    ap.add_argument("--json", dest="json_out", action="store_true", help=argparse.SUPPRESS)
    main(**vars(ap.parse_args()))

