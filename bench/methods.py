"""The cost of each distillation method for the quantum LeNet on MNIST (10 images), measured in one process so the
variants share whatever load the machine carries: seconds per outer iteration (median of interleaved repeats after a
warm-up, on random data of MNIST's shape) and circuit executions per iteration, then the cost of each method's budget
in the methods study (iterations x seconds) as a fraction of the faithful method at the paper's 400 epochs.

Usage: python bench/methods.py [--repeats 5]"""
import argparse, os, statistics, sys, time

os.environ.setdefault("OMP_NUM_THREADS", "1")
BUDGETS = {  # method -> (recipe options, outer iterations of its budget on MNIST with 5,000 images held out)
    "faithful (400 epochs)": (dict(), 400 * 53),
    "wang + learned labels (50 epochs)": (dict(labels="learned"), 50 * 53),
    "dm (10 epochs)": (dict(method="dm"), 10 * 21),
    "dm (30 epochs)": (dict(method="dm"), 30 * 21),
    "dc (15 epochs)": (dict(method="dc"), 15 * 21),
}


def distiller(options):
    from qdd.config import recipe
    from qdd.data import toy_dataset
    from qdd.distill import Distiller
    cfg = recipe("mnist", model="qlenet", hermitian="trainable", eval_every=0, **options)
    return Distiller(cfg, toy_dataset(2 * cfg.batch_size, n_test=10), threads=1)


def main(argv=None):
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--repeats", type=int, default=5)
    args = a.parse_args(argv)
    ds = {name: distiller(opts) for name, (opts, _) in BUDGETS.items()}
    times = {name: [] for name in ds}
    for d in ds.values(): d.outer_step()  # warm-up
    for _ in range(args.repeats):
        for name, d in ds.items():
            t0 = time.perf_counter(); d.outer_step(); times[name].append(time.perf_counter() - t0)
    execs = {name: d.executions // d.iteration for name, d in ds.items()}
    sec = {name: statistics.median(t) for name, t in times.items()}
    base = "faithful (400 epochs)"
    total = lambda n: sec[n] * BUDGETS[n][1]
    print(f"load average {os.getloadavg()[0]:.1f}; median of {args.repeats} interleaved repeats, one thread")
    print(f"{'method':36s} {'s/iteration':>11s} {'circuits/it':>11s} {'iterations':>10s} {'CPU s':>8s} {'CPU vs faithful':>15s}"
          f" {'circuits vs faithful':>20s}")
    for n in BUDGETS:
        share_t, share_c = total(n) / total(base), execs[n] * BUDGETS[n][1] / (execs[base] * BUDGETS[base][1])
        print(f"{n:36s} {sec[n]:11.4f} {execs[n]:11d} {BUDGETS[n][1]:10d} {total(n):8.0f} {share_t:15.3f} {share_c:20.4f}")


if __name__ == "__main__":
    sys.exit(main())
