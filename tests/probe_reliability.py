"""Issue 26 probe (not a pytest module): each case as a new user would type it, through the real entry points.

Usage: PYTHONPATH=. QDD_DATA=/work/shared/data python tests/probe_reliability.py [NAME_PREFIX ...] [--slow]
Prints one line per case: ok, or TRACEBACK / ACCEPTED / WRONG-BLAME / LOST with the first line of stderr; and counts.
"""
import json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from helpers import toy_image_folder  # noqa: E402

PY = sys.executable
QDD = [PY, "-c", "import sys; from qdd.provenance import run_command; sys.exit(run_command('qdd.cli'))"]
SEEDS, PAPER = [PY, "-m", "qdd.seeds"], [PY, "-m", "qdd.paper"]
# a disk that fails when a file whose temporary name contains {match} is created (root ignores chmod)
FAIL = ("import errno, os, sys, tempfile; from qdd.provenance import run_command\n"
        "orig = tempfile.mkstemp\n"
        "def mk(*a, **k):\n"
        "    if '{match}' in str(k.get('prefix', '')) + str(k.get('dir', '')):\n"
        "        raise OSError(errno.{err}, os.strerror(errno.{err}))\n"
        "    return orig(*a, **k)\n"
        "tempfile.mkstemp = mk\n"
        "sys.exit(run_command('qdd.cli', sys.argv[1:]))")
TINY = ["--model", "lenet", "--steps", "1", "--passes", "2", "--epochs", "1", "--batch-size", "40", "--eval-every", "0",
        "--no-progress"]
LIMIT = "import resource; resource.setrlimit(resource.RLIMIT_AS, (12 << 30, 12 << 30))"  # never swamp the machine


def sh(cmd, env=None, timeout=60, cwd=tempfile.gettempdir()):
    "rc, stderr of `cmd` (rc 'timeout' when it ran past `timeout`: it started work)."
    e = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **(env or {})}
    try:
        p = subprocess.run(["prlimit", f"--as={12 << 30}", *cmd], capture_output=True, text=True, env=e, timeout=timeout,
                           cwd=cwd)
        return p.returncode, p.stderr + p.stdout[-2000:]
    except subprocess.TimeoutExpired: return "timeout", ""


def verdict(rc, err, needle=None, blame_not=None):
    "ok when refused with exit 2 in one sentence (naming `needle`); else what went wrong."
    if "Traceback" in err: return "TRACEBACK"
    if rc != 2: return f"ACCEPTED(rc={rc})"
    if needle and needle not in err: return "WRONG-BLAME"
    if blame_not and blame_not in err.split("error:")[-1].split(":")[0]: return "WRONG-BLAME"
    return "ok"


def first(err):
    lines = [l for l in err.strip().splitlines() if l.strip()]
    tb = [l for l in lines if "Error" in l and not l.startswith(" ")]
    return (tb[-1] if "Traceback" in err and tb else lines[-1] if lines else "")[:150]


def main(only, slow):
    tmp = Path(tempfile.mkdtemp(prefix="probe26-"))
    folder = f"imagefolder:{toy_image_folder(tmp / 'toy')}"
    D = ["distill", "--dataset", folder, *TINY]
    run = tmp / "run"
    rc, err = sh([*QDD, *D, "--out", str(run)], timeout=300)
    assert rc == 0, err
    qrun = tmp / "qrun"  # a quantum set, for --shots
    rc, err = sh([*QDD, *[a if a != "lenet" else "qlenet" for a in D], "--out", str(qrun)], timeout=300)
    assert rc == 0, err
    afile = tmp / "afile"; afile.write_text("x")
    ro = tmp / "ro"; ro.mkdir(); os.chmod(ro, 0o555)
    big = str(10 ** 12)
    cases = {  # name: (cmd, env, needle, blame_not)
        "seeds-configerror": ([*SEEDS, "stabilisers", "--root", str(tmp / "s"), "--workers", "0"], {}, "--workers", None),
        "seeds-root-file": ([*SEEDS, "stabilisers", "--root", str(afile)], {}, "--root", None),
        "seeds-root-file-status": ([*SEEDS, "stabilisers", "--root", str(afile), "--status"], {}, "--root", None),
        "seeds-shard-bad": ([*SEEDS, "stabilisers", "--shard", "1/0"], {}, "--shard", None),
        "seeds-cpus-0": ([*SEEDS, "stabilisers", "--root", str(tmp / "s2"), "--cpus-per-run", "0"], {}, "--cpus-per-run", None),
        "ipc-1e12": ([*QDD, *D, "--ipc", big, "--out", str(tmp / "o1")], {}, "--ipc", None),
        "steps-1e12": ([*QDD, *D, "--steps", big, "--out", str(tmp / "o2")], {}, "--steps", None),
        "passes-1e12": ([*QDD, *D, "--passes", big, "--out", str(tmp / "o3")], {}, "--passes", None),
        "n-layers-1e12": ([*QDD, *[a if a != "lenet" else "qlenet" for a in D], "--n-layers", big, "--out", str(tmp / "o4")],
                          {}, "--n-layers", None),
        "n-qubits-60": ([*QDD, *[a if a != "lenet" else "qlenet" for a in D], "--n-qubits", "60", "--out", str(tmp / "o5")],
                        {}, "--n-qubits", None),
        "batch-1e12": ([*QDD, *D, "--batch-size", big, "--out", str(tmp / "o6")], {}, None, None),
        "train-subset-1e12": ([*QDD, *D, "--train-subset", big, "--out", str(tmp / "o6b")], {}, "--train-subset", None),
        "shots-1e12": ([*QDD, "evaluate", str(qrun), "--backend", "pennylane:default.qubit", "--shots", big, "--max-test", "2"],
                       {}, "--shots", None),
        "lr-1e300": ([*QDD, *D, "--lr", "1e300", "--out", str(tmp / "o7")], {}, "--lr", None),
        "distill-lr-1e300": ([*QDD, *D, "--distill-lr", "1e300", "--out", str(tmp / "o8")], {}, "--distill-lr", None),
        "lr-cap-1e300": ([*QDD, *D, "--lr-cap", "1e300", "--out", str(tmp / "o8b")], {}, "--lr-cap", None),
        "val-eq-subset": ([*QDD, *D, "--train-subset", "50", "--val-size", "50", "--out", str(tmp / "o9")], {}, "--val-size",
                          None),
        "val-huge": ([*QDD, *D, "--val-size", "100000", "--out", str(tmp / "o10")], {}, "--val-size", "--train-subset"),
        "val-huge-subset": ([*QDD, *D, "--train-subset", "60", "--val-size", "1000", "--out", str(tmp / "o10b")], {},
                            "--val-size", None),
        "out-empty": ([*QDD, *D, "--out", ""], {}, "--out", None),
        "device-xpu": ([*QDD, *D, "--out", str(tmp / "o11")], {"QDD_DEVICE": "xpu"}, "QDD_DEVICE", None),
        "device-meta": ([*QDD, *D, "--out", str(tmp / "o12")], {"QDD_DEVICE": "meta"}, "QDD_DEVICE", None),
        "device-cuda": ([*QDD, *D, "--out", str(tmp / "o12b")], {"QDD_DEVICE": "cuda"}, "QDD_DEVICE", None),
        "threads-env-abc": ([*QDD, *D, "--out", str(tmp / "o12c")], {"QDD_THREADS": "abc"}, "QDD_THREADS", None),
        "cache-readonly": ([PY, "-c", FAIL.format(match="/cache", err="EROFS"), *D, "--out", str(tmp / "o13")],
                           {"QDD_CACHE": str(tmp / "cache")}, None, None),
        "cache-full": ([PY, "-c", FAIL.format(match="/cache", err="ENOSPC"), *D, "--out", str(tmp / "o13b")],
                       {"QDD_CACHE": str(tmp / "cache2")}, None, None),
        "full-disk-results": ([PY, "-c", FAIL.format(match="metrics", err="ENOSPC"), *D, "--out", str(tmp / "full")], {},
                              "disk is full", None),
        "full-disk-checkpoint": ([PY, "-c", FAIL.format(match="checkpoint", err="ENOSPC"), *D, "--out", str(tmp / "full2")],
                                 {}, "disk is full", None),
        "evaluate-missing": ([*QDD, "evaluate", str(tmp / "nothere" / "run")], {}, str(tmp / "nothere" / "run") + "`", None),
        "on-model-shape": ([*QDD, "evaluate", str(run), "--on-model", "alexcifarnet", "--n-inits", "1", "--train-epochs", "1",
                            "--max-test", "5"], {}, None, None),
        "paper-jobs-0": ([*PAPER, "--profile", "smoke", "--jobs", "0", "--only", "figure1", "--runs-dir", str(tmp / "p")], {},
                         "--jobs", None),
        "paper-jobs-neg": ([*PAPER, "--profile", "smoke", "--jobs", "-1", "--only", "figure1", "--runs-dir", str(tmp / "p")],
                           {}, "--jobs", None),
        "paper-threads-0": ([*PAPER, "--profile", "smoke", "--threads", "0", "--only", "figure1", "--runs-dir", str(tmp / "p")],
                            {}, "--threads", None),
        "paper-only-empty": ([*PAPER, "--profile", "smoke", "--only", "", "--runs-dir", str(tmp / "p")], {}, "--only", None),
        "paper-epochs-bad": ([*PAPER, "--profile", "smoke", "--epochs", "mnist=", "--only", "figure1", "--runs-dir",
                              str(tmp / "p")], {}, "--epochs", None),
        "paper-epochs-float": ([*PAPER, "--profile", "smoke", "--epochs", "1.5", "--only", "figure1", "--runs-dir",
                                str(tmp / "p")], {}, "--epochs", None),
        "paper-epochs-list": ([*PAPER, "--profile", "smoke", "--epochs", "mnist=2,,cifar10=1", "--list"], {}, "--epochs", None),
        "paper-device-cuda": ([*PAPER, "--profile", "smoke", "--device", "cuda", "--only", "figure1", "--runs-dir",
                               str(tmp / "p")], {}, "--device", None),
        "paper-runs-dir-file": ([*PAPER, "--profile", "smoke", "--only", "figure1", "--runs-dir", str(afile)], {},
                                "--runs-dir", None),
        "paper-runs-dir-empty": ([*PAPER, "--profile", "smoke", "--only", "figure1", "--runs-dir", ""], {}, "--runs-dir", None),
        "paper-results-dir-file": ([*PAPER, "--profile", "smoke", "--only", "figure1", "--runs-dir", str(tmp / "p"),
                                    "--results-dir", str(afile)], {}, "--results-dir", None),
        "papermill-epochs-float": ([PY, "-m", "papermill", str(ROOT / "nbs/paper/distill.ipynb"), str(tmp / "pm.ipynb"),
                                    "-p", "epochs", "1.5", "-p", "out_dir", str(tmp / "pm"), "-p", "dataset", folder,
                                    "-p", "train_subset", "100", "-p", "batch_size", "20", "-p", "full_epochs", "1",
                                    "-p", "results_dir", str(tmp / "pmr"), "--log-level", "ERROR"], {}, "epochs", None),
    }
    results = {}
    for name, (cmd, env, needle, blame_not) in cases.items():
        if only and not any(name.startswith(o) for o in only): continue
        rc, err = sh(cmd, env, timeout=90)
        if name in ("on-model-shape", "batch-1e12"):  # legitimate: cross-architecture; a batch clamped to the set
            v = "ok" if rc == 0 else verdict(rc, err)
        elif name.startswith("cache-"):  # the cache only saves time: the run finishes, with a warning
            v = "ok" if rc == 0 and "not caching" in err and "Traceback" not in err else verdict(rc, err)
        elif name.startswith("papermill"):  # papermill exits 1 on a failed cell: refused is a one-line ConfigError in the cell
            v = "ok" if rc == 1 and "ConfigError" in err and "epochs" in err else f"ACCEPTED(rc={rc})"
        else: v = verdict(rc, err, needle, blame_not)
        results[name] = v
        print(f"{v:14s} {name:24s} {first(err)}", flush=True)
    if slow:  # a real paper-runner folder, then qdd distill --out on it
        p = tmp / "paper"
        rc, err = sh([*PAPER, "--profile", "smoke", "--only", "figure1", "--runs-dir", str(p), "--results-dir",
                      str(tmp / "pres"), "--jobs", "1"], timeout=600)
        before = (p / "figure1" / "metrics.json").read_text() if (p / "figure1" / "metrics.json").exists() else None
        print("paper runner:", rc, first(err))
        rc, err = sh([*QDD, *D, "--out", str(p / "figure1")], timeout=120)
        after = (p / "figure1" / "metrics.json").read_text() if before else None
        v = "SKIPPED" if before is None else "LOST" if after != before else verdict(rc, err)  # None: Ray did not start
        results["distill-into-paper-folder"] = v
        print(f"{v:14s} {'distill-into-paper-folder':24s} {first(err)}", flush=True)
        rc, err = sh([*QDD, "baseline", "--dataset", folder, "--model", "lenet", "--kind", "random", "--n-inits", "1",
                      "--out", str(p / "figure1")], timeout=120)
        v = ("SKIPPED" if before is None else "LOST" if (p / "figure1" / "metrics.json").read_text() != before
             else verdict(rc, err))
        results["baseline-into-paper-folder"] = v
        print(f"{v:14s} {'baseline-into-paper-folder':24s} {first(err)}", flush=True)
        # the case: the Table I notebook's folder, and qdd distill with the notebook's very configuration
        rc, err = sh([*PAPER, "--profile", "smoke", "--only", "mnist-lenet", "--epochs", "1", "--runs-dir", str(p),
                      "--results-dir", str(tmp / "pres"), "--jobs", "1"], timeout=900)
        print("paper runner:", rc, first(err))
        nb = p / "mnist-lenet"; before = (nb / "metrics.json").read_text() if (nb / "metrics.json").exists() else None
        rc, err = sh([*QDD, "distill", "--dataset", "mnist", "--model", "lenet", "--epochs", "1", "--train-subset", "2000",
                      "--batch-size", "256", "--eval-every", "1", "--n-inits", "3", "--no-progress", "--out", str(nb)],
                     timeout=300)
        v = "SKIPPED" if before is None else "LOST" if (nb / "metrics.json").read_text() != before else verdict(rc, err)
        results["distill-into-paper-distill"] = v
        print(f"{v:14s} {'distill-into-paper-distill':24s} {first(err)}", flush=True)
        cli = tmp / "paper2" / "figure1"; shutil.copytree(run, cli)  # a CLI run where the paper runner puts figure1
        before = (cli / "metrics.json").read_text()
        rc, err = sh([*PAPER, "--profile", "smoke", "--only", "figure1", "--runs-dir", str(tmp / "paper2"),
                      "--results-dir", str(tmp / "pres2"), "--jobs", "1"], timeout=600)
        v = "LOST" if (cli / "metrics.json").read_text() != before else "ok" if "distill" in err and rc else verdict(rc, err)
        results["paper-into-cli-folder"] = v
        print(f"{v:14s} {'paper-into-cli-folder':24s} {first(err)}", flush=True)
    os.chmod(ro, 0o755); shutil.rmtree(tmp, ignore_errors=True)
    bad = {k: v for k, v in results.items() if v not in ("ok", "SKIPPED")}
    print(f"\n{len(results)} cases, {len(bad)} failing: " + ", ".join(f"{k}={v}" for k, v in bad.items()))


if __name__ == "__main__":
    args = sys.argv[1:]
    main([a for a in args if not a.startswith("--")], "--slow" in args)
