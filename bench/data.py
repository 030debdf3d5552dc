"""Load time of each data set: a first load from the source files (empty cache) and a second load from the
tensor cache, each in a fresh process. Usage: QDD_DATA=../shared/data python bench/data.py [NAME ...]"""
import os, subprocess, sys, tempfile, time
from pathlib import Path

from qdd.core import data_root

ONE_LOAD = "import sys, time; from qdd.data import load_dataset; t = time.perf_counter(); " \
           "ds = load_dataset(sys.argv[1]); " \
           "print(f'{time.perf_counter() - t:.3f}', tuple(ds.train_x.shape), tuple(ds.test_x.shape))"


def timed_load(name, cache):
    "Seconds for one `load_dataset(name)` in a fresh interpreter (after importing qdd) with cache folder `cache`."
    env = {**os.environ, "QDD_CACHE": cache}
    out = subprocess.run([sys.executable, "-c", ONE_LOAD, name], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def main(names):
    print(f"data root: {data_root().resolve()}")
    for name in names:
        with tempfile.TemporaryDirectory() as cache:
            first, second = timed_load(name, cache), timed_load(name, cache)
        print(f"{name:50s} first load {first.split()[0]:>7s} s   second load {second.split()[0]:>6s} s   "
              f"train/test {' '.join(second.split()[1:])}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["mnist", f"imagefolder:{data_root() / 'cifar10-jpeg'}"])
