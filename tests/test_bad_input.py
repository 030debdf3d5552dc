"""Issue 12: every bad input a clear error (exit 2, a message that names the file or flag and the fix), nothing
silently wrong, nothing lost under concurrent or interrupted runs, safe files, a package that installs."""
import configparser
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import torch

from qdd.cli import main, parser, run_warnings
from qdd.core import FileFormatError, save_json
from qdd.data import _IDX_FILES, DataError, load_dataset
from qdd.distilled import DistilledSetError, load_distilled
from qdd.config import load_matching, recipe
from qdd.evaluate import evaluate_distilled
from helpers import TINY, toy_image_folder

ROOT = Path(__file__).resolve().parent.parent
QDD = [str(Path(sys.executable).parent / "qdd")]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return f"imagefolder:{toy_image_folder(tmp_path_factory.mktemp('toy'))}"


@pytest.fixture(scope="module")
def run(folder, tmp_path_factory):
    "A finished tiny distillation folder (do not modify it)."
    out = tmp_path_factory.mktemp("run")
    assert main(["distill", "--dataset", folder, *TINY, "--out", str(out)]) == 0
    return out


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("QDD_CACHE", str(tmp_path / "cache"))


def fails(argv, capsys, *needles, code=2):
    "Run the CLI, expect exit `code` with every needle in stderr and no traceback; return stderr."
    assert main(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(n in err for n in needles), err
    return err


def copy_run(run, dest):
    shutil.copytree(run, dest, ignore=shutil.ignore_patterns(".qdd.lock"))
    return dest


# --- lost data -----------------------------------------------------------------------------------------------------

def test_baseline_into_a_distill_folder_is_refused_and_its_metrics_kept(folder, run, tmp_path, capsys):
    out = copy_run(run, tmp_path / "d")
    before = (out / "metrics.json").read_bytes()
    fails(["baseline", "--dataset", folder, "--model", "lenet", "--kind", "full", "--epochs", "1", "--out", str(out)],
          capsys, "holds the results of a `distill` run", "pass another --out")
    assert (out / "metrics.json").read_bytes() == before


def test_distill_into_a_folder_with_an_unrelated_metrics_file_is_refused(folder, tmp_path, capsys):
    save_json({"accuracy": 99.0, "note": "someone's result"}, tmp_path / "metrics.json")
    before = (tmp_path / "metrics.json").read_bytes()
    fails(["distill", "--dataset", folder, *TINY, "--out", str(tmp_path)], capsys, "already holds metrics.json")
    assert (tmp_path / "metrics.json").read_bytes() == before


def test_a_second_process_on_the_same_out_is_refused_while_the_first_runs(folder, tmp_path, capsys):
    out = tmp_path / "shared"
    first = subprocess.Popen([*QDD, "distill", "--dataset", folder, *TINY, "--epochs", "500", "--out", str(out)],
                             env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (out / "run.json").exists() and time.time() < deadline: time.sleep(0.05)
        fails(["distill", "--dataset", folder, *TINY, "--seed", "1", "--out", str(out)], capsys,
              "in use by another qdd process", f"(pid {first.pid})")
        fails(["evaluate", str(out)], capsys, "no distilled set")  # nothing to read yet, and nothing written
        assert json.loads((out / "run.json").read_text())["config"]["seed"] == 0
    finally:
        first.kill(); first.wait()
    if not (out / "checkpoint.pt").exists():  # killed before writing any result: nothing to protect, the folder is free
        assert main(["distill", "--dataset", folder, *TINY, "--seed", "1", "--out", str(out)]) == 0


def test_threads_are_recorded_with_the_result(folder, tmp_path):
    try: assert main(["distill", "--dataset", folder, *TINY, "--threads", "2", "--out", str(tmp_path)]) == 0
    finally: torch.set_num_threads(1)
    assert json.loads((tmp_path / "metrics.json").read_text())["threads"]["threads"] == 2


def test_another_config_in_a_finished_folder_is_refused_the_same_config_resumes(folder, run, tmp_path, capsys):
    out = copy_run(run, tmp_path / "d")
    fails(["distill", "--dataset", folder, *TINY, "--seed", "1", "--out", str(out)], capsys, "--seed 0 there, 1 now")
    assert main(["distill", "--dataset", folder, *TINY, "--out", str(out)]) == 0  # same run: resumes (nothing to do)


# --- silently wrong ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cmd", [["distill", "--n-inits", "0"], ["evaluate", "--n-inits", "0"],
                                 ["evaluate", "--max-test", "0"],
                                 ["evaluate", "--max-test", "-5"], ["distill", "--lr", "nan"],
                                 ["distill", "--distill-lr", "inf"]])
def test_counts_and_rates_that_would_run_wrongly_are_refused(folder, run, tmp_path, capsys, cmd):
    flag = cmd[1]
    argv = ([cmd[0], str(run), *cmd[1:]] if cmd[0] == "evaluate"
            else [cmd[0], "--dataset", folder, *TINY, *cmd[1:], "--out", str(tmp_path / "x")])
    fails(argv, capsys, f"argument {flag}: must be")
    assert not (tmp_path / "x").exists()


def test_a_seed_torch_cannot_take_and_an_unknown_data_set_fail_before_the_folder_is_made(tmp_path, capsys):
    fails(["distill", "--dataset", "mnist", "--model", "lenet", "--seed", str(2**64), "--out", str(tmp_path / "a")],
          capsys, "argument --seed: must be an integer in [0, 2**63)")
    fails(["distill", "--dataset", "svhn", "--model", "lenet", "--out", str(tmp_path / "b")], capsys,
          "--dataset 'svhn' is unknown")
    fails(["baseline", "--dataset", "imagefolder:no/such", "--model", "lenet", "--kind", "random", "--out",
           str(tmp_path / "c")],
          capsys, "no such folder")
    assert not any((tmp_path / d).exists() for d in "abc")


def test_shots_with_the_torch_engine_is_refused_not_recorded(run, capsys):
    fails(["evaluate", str(run), "--shots", "100"], capsys, "--shots 100 needs a PennyLane device")
    assert not list(run.glob("metrics_torch_shots*.json"))
    assert main(["evaluate", str(run / "distilled.pt"), "--max-test", "20"]) == 0  # DIR or the file itself
    assert json.loads((run / "metrics_torch_test20.json").read_text())["n_test"] == 20
    assert "40/40" in capsys.readouterr().err  # progress in test images (before and after the replay), on every backend


def test_full_baseline_on_a_train_subset_trains_on_it_and_records_what_ran(folder, tmp_path, capsys):
    assert main(["baseline", "--dataset", folder, "--model", "lenet", "--kind", "full", "--epochs", "1",
                 "--train-subset", "20", "--no-progress", "--out", str(tmp_path)]) == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["n_train"] == 20 and m["config"]["train_subset"] == 20 and m["config"]["epochs"] == 1
    fails(["baseline", "--dataset", folder, "--model", "lenet", "--kind", "full", "--steps", "3", "--out",
           str(tmp_path / "y")],
          capsys, "--steps do not apply to --kind full")


def test_a_set_is_refused_on_a_data_set_with_another_normalisation(run):
    dset, ds = load_distilled(run), load_dataset(load_distilled(run).dataset)
    ds.mean = tuple(m + 0.1 for m in ds.mean)  # same shape, same classes, other statistics
    with pytest.raises(DistilledSetError, match="normalisation"):
        evaluate_distilled(dset, ds)


def test_an_image_edited_in_place_is_reloaded_not_served_from_the_cache(tmp_path):
    root = toy_image_folder(tmp_path / "f", n_train=2, n_test=1, size=8)
    first = load_dataset(f"imagefolder:{root}")
    img = root / "train" / "c0" / "0.png"
    stat = img.stat()
    from qdd.data import _write_png
    _write_png(torch.full((3, 8, 8), 255, dtype=torch.uint8), img)
    os.utime(img, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with its old mtime restored
    again = load_dataset(f"imagefolder:{root}")
    assert not torch.equal(first.train_x, again.train_x)


def test_a_relative_image_folder_cannot_resume_against_another_folder(tmp_path, monkeypatch, capsys):
    for where, n in (("a", 2), ("b", 3)):
        toy_image_folder(tmp_path / where / "toy", n_train=n, n_test=1)
    out = tmp_path / "run"
    monkeypatch.chdir(tmp_path / "a")
    assert main(["distill", "--dataset", "imagefolder:toy", *TINY, "--batch-size", "10", "--out", str(out)]) == 0
    recorded = json.loads((out / "metrics.json").read_text())["config"]["dataset"]
    assert recorded == f"imagefolder:{tmp_path / 'a' / 'toy'}"
    monkeypatch.chdir(tmp_path / "b")
    fails(["distill", "--dataset", "imagefolder:toy", *TINY, "--batch-size", "10", "--out", str(out)], capsys,
          "--dataset")


def test_a_collapse_without_nan_is_printed_and_recorded(folder, tmp_path, monkeypatch, capsys):
    import qdd.cli
    real = qdd.cli.run_interruptibly
    def exploding(d, progress=True):
        dset = real(d, progress)
        # as the Distiller records one
        dset.history["collapses"] = [dict(start=3, end=4, epoch=1, peak=2.7e9, median=2.2)]
        return dset
    monkeypatch.setattr(qdd.cli, "run_interruptibly", exploding)
    assert main(["distill", "--dataset", folder, *TINY, "--out", str(tmp_path)]) == 0
    assert ("warning: the outer loss spiked 1 time(s) above 3x its running median, the largest at epoch 1 "
            "(iterations 3-4): peak 2.7e+09") in capsys.readouterr().err
    assert any("spiked" in w for w in json.loads((tmp_path / "metrics.json").read_text())["warnings"])
    old_run = {"loss": [(1, 2.3), (2, 2.7e9), (3, 2.3)]}  # a history from before collapses were recorded
    assert "rose to 2.7e+09" in run_warnings(old_run, {"test_acc": 80.0, "test_acc_init": 10.0}, 10)[0]
    assert run_warnings({"loss": [(1, 2.3), (2, 0.5)], "collapses": []}, {"test_acc": 80.0, "test_acc_init": 10.0},
                        10) == []


# --- tracebacks -> messages ----------------------------------------------------------------------------------------

def test_a_corrupt_checkpoint_is_named_with_the_fix(folder, run, tmp_path, capsys):
    out = copy_run(run, tmp_path / "d")
    (out / "checkpoint.pt").write_bytes(b"garbage")
    (out / "distilled.pt").unlink()
    fails(["distill", "--dataset", folder, *TINY, "--epochs", "2", "--out", str(out)], capsys,
          f"{out / 'checkpoint.pt'} is not a readable checkpoint", "delete")


def test_a_foreign_distilled_set_is_refused_and_its_code_never_runs(tmp_path, capsys):
    marker = tmp_path / "pwned"
    class Payload:
        def __reduce__(self): return (Path.touch, (marker,))
    torch.save({"format": "qdd.distilled/1", "images": Payload()}, tmp_path / "distilled.pt")
    fails(["evaluate", str(tmp_path)], capsys, "is not a readable distilled set", "sources you trust")
    assert not marker.exists()


def test_a_corrupt_metrics_file_is_named_never_overwritten(folder, tmp_path, capsys):
    (tmp_path / "metrics.json").write_text("{truncated")
    fails(["distill", "--dataset", folder, *TINY, "--out", str(tmp_path)], capsys, "already holds metrics.json")
    assert (tmp_path / "metrics.json").read_text() == "{truncated"
    # the studies' cache reader
    with pytest.raises(FileFormatError, match="metrics.json is not a readable result record"):
        load_matching(tmp_path / "metrics.json", recipe("mnist"))


def test_out_that_is_a_file_or_unwritable_fails_before_any_work(folder, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    t0 = time.perf_counter()
    fails(["distill", "--dataset", "mnist", "--model", "lenet", "--out", str(tmp_path / "file")], capsys,
          "is a file, not a folder")
    fails(["baseline", "--dataset", "mnist", "--model", "lenet", "--kind", "full", "--out",
           str(tmp_path / "file" / "sub")],
          capsys, "cannot write to --out")
    assert time.perf_counter() - t0 < 5  # no data were loaded
    if os.geteuid() != 0:  # root writes anywhere
        (tmp_path / "ro").mkdir(mode=0o500)
        fails(["distill", "--dataset", folder, *TINY, "--out", str(tmp_path / "ro")], capsys, "cannot write to --out")


def _fake_idx(root: Path, name: str, label: int = 0):
    "An MNIST-layout folder with valid headers and sizes, zero pixels and every label `label`."
    raw = root / name / "raw"; raw.mkdir(parents=True)
    for f, size in _IDX_FILES.items():
        n = 60000 if f.startswith("train") else 10000
        head = struct.pack(">4i", 2051, n, 28, 28) if "images" in f else struct.pack(">2i", 2049, n)
        body = bytes([label]) * (size - len(head)) if "labels" in f else bytes(size - len(head))
        (raw / f).write_bytes(head + body)


def test_idx_headers_md5s_and_label_ranges_are_checked(tmp_path):
    _fake_idx(tmp_path, "MNIST")
    with pytest.raises(DataError, match="md5"):  # well-formed files whose content is not MNIST's
        load_dataset("mnist", root=tmp_path, cache=False)
    _fake_idx(tmp_path, "FashionMNIST", label=12)
    with pytest.raises(DataError, match="out of range"):
        load_dataset("fashion_mnist", root=tmp_path, cache=False)
    (tmp_path / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte").write_bytes(bytes(10_008))
    with pytest.raises(DataError, match="IDX header"):
        load_dataset("fashion_mnist", root=tmp_path, cache=False)


def test_an_image_folder_with_an_empty_class_names_it(tmp_path, capsys):
    root = toy_image_folder(tmp_path / "f", n_train=2, n_test=1, size=8)
    (root / "train" / "zebra").mkdir(); (root / "test" / "zebra").mkdir()
    fails(["distill", "--dataset", f"imagefolder:{root}", *TINY, "--out", str(tmp_path / "o")], capsys, "zebra",
          "hold no images")


def test_a_device_that_is_not_here_and_a_cache_that_is_a_file(folder, tmp_path, monkeypatch, capsys):
    absent = f"cuda:{torch.cuda.device_count()}" if torch.cuda.is_available() else "cuda"  # one GPU more than there is
    monkeypatch.setenv("QDD_DEVICE", absent)
    fails(["distill", "--dataset", folder, *TINY, "--out", str(tmp_path / "a")], capsys, f"QDD_DEVICE={absent}",
          "QDD_DEVICE=cpu")
    monkeypatch.delenv("QDD_DEVICE")
    (tmp_path / "cachefile").write_text("x")
    monkeypatch.setenv("QDD_CACHE", str(tmp_path / "cachefile"))
    fails(["distill", "--dataset", folder, *TINY, "--out", str(tmp_path / "b")], capsys, "QDD_CACHE", "writable folder")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])  # Ctrl-C, and `kill PID` (what stops a background job)
def test_ctrl_c_saves_a_checkpoint_says_how_to_resume_and_resumes_exactly(folder, tmp_path, signum):
    flags = ["distill", "--dataset", folder, "--model", "lenet", "--steps", "2", "--passes", "2", "--epochs", "200",
             "--batch-size", "40", "--checkpoint-every", "5", "--eval-every", "0", "--no-progress"]
    assert main([*flags, "--out", str(tmp_path / "whole")]) == 0
    # as from a terminal: a test run started in the background (nohup ... &) would pass on an ignored SIGINT,
    # which qdd keeps ignored
    proc = subprocess.Popen([*QDD, *flags, "--out", str(tmp_path / "cut")], env=ENV, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not (tmp_path / "cut" / "checkpoint.pt").exists() and time.time() < deadline: time.sleep(0.02)
    # in the outer loop: its first checkpoint is written, hundreds of iterations before the end
    proc.send_signal(signum)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, err
    assert "interrupted at iteration" in err and "rerun the same command to resume" in err, err
    assert "Traceback" not in err
    assert (tmp_path / "cut" / "checkpoint.pt").exists() and not (tmp_path / "cut" / "distilled.pt").exists()
    assert main([*flags, "--out", str(tmp_path / "cut")]) == 0
    a, b = (load_distilled(tmp_path / d) for d in ("whole", "cut"))
    assert torch.equal(a.images, b.images) and torch.equal(a.lrs, b.lrs)


def test_the_paper_runners_config_errors_are_one_line(tmp_path):
    out = subprocess.run(["bash", str(ROOT / "reproduce.sh"), "smoke", "--only", "no-such-run"], capture_output=True,
                         text=True, env={**ENV, "QDD_RUNS": str(tmp_path)}, timeout=300)
    assert out.returncode == 2 and "no run matches" in out.stderr and "Traceback" not in out.stderr, out.stderr


# --- packaging -----------------------------------------------------------------------------------------------------

def test_version_help_defaults_and_examples():
    out = subprocess.run([*QDD, "--version"], capture_output=True, text=True, env=ENV)
    assert out.returncode == 0 and out.stdout.startswith("qdd 0.")
    for name, sub in parser()._subparsers._group_actions[0].choices.items():
        assert "examples:" in sub.epilog
        for action in sub._actions:
            if action.option_strings and action.nargs != 0 and not action.required and action.dest != "kind":
                assert "default" in (action.help or ""), \
                    f"qdd {name} {action.option_strings[0]} has no default in --help"


def test_requirements_are_bounded_and_the_license_is_shipped():
    meta = configparser.ConfigParser(delimiters=["="]); meta.read(ROOT / "settings.ini")
    reqs = meta["DEFAULT"]["requirements"].split() + meta["DEFAULT"]["dev_requirements"].split()
    for pkg in ("torch", "torchvision", "numpy", "pennylane", "fastcore", "nbdev"):
        spec, = [r for r in reqs if r.split("<")[0].split(">")[0].split("=")[0] == pkg]
        assert "<" in spec, f"{spec}: no upper bound"
    # nbdev 2.4 breaks on newer
    assert "fastcore" in "".join(r for r in reqs if r.startswith("fastcore") and "<1.15" in r)
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    assert "example.org" not in (ROOT / "settings.ini").read_text()


@pytest.mark.slow
def test_the_sdist_ships_what_setup_py_reads_and_installs(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)], check=True,
                   capture_output=True)
    # and the wheel, which `build` makes from the sdist: that needs settings.ini inside
    sdist, = dist.glob("qdd-*.tar.gz")
    assert len(list(dist.glob("qdd-*.whl"))) == 1
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    assert {"settings.ini", "LICENSE", "README.md", "setup.py", "qdd/cli.py"} <= names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(target), str(sdist)], check=True, capture_output=True)
    out = subprocess.run([sys.executable, "-c", "import qdd.cli, sys; sys.exit(qdd.cli.main(['--version']))"],
                         cwd=tmp_path, env={**ENV, "PYTHONPATH": str(target)}, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("qdd 0.") and str(target) in subprocess.run(
        [sys.executable, "-c", "import qdd; print(qdd.__file__)"], cwd=tmp_path, env={**ENV, "PYTHONPATH": str(target)},
        capture_output=True, text=True).stdout


def test_readme_leads_with_a_first_run_and_names_the_environment():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert "./reproduce.sh paper" not in first_block.split("\n")[1] and "reproduce.sh\n" not in first_block
    for var in ("QDD_DATA", "QDD_DEVICE", "QDD_CACHE", "QDD_THREADS"):
        assert var in readme
