"""Issue 26: one case of each class through the real entry points. Results are never lost to another kind of run or a
full disk; the project's errors are one sentence with exit status 2, never a traceback; wrong values are refused by
the flag that is wrong, before any work. The probe of the whole breadth is tests/probe_reliability.py."""
import errno, json, os, signal, subprocess, sys, tempfile, time
from pathlib import Path

import pytest

from qdd.provenance import run_command
from qdd.paper import Run, check_parameters, execute
from qdd.core import RunFolderError, claim_run_folder
from helpers import TINY

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.fixture(scope="module")
def folder(toy_folder): return toy_folder


def one_sentence(argv, capsys, *needles, module="qdd.cli"):
    "Run a command's entry point: exit 2, one line of stderr holding every needle, no traceback; return the line."
    assert run_command(module, argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1 and all(n in err for n in needles), err
    return err


# results lost or runs doubled

# a paper notebook in small: its folder checked, a distillation recorded as a paper run's, the notebook's own metrics
NOTEBOOK = {"cells": [
    {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "execution_count": None, "outputs": [],
     "source": ['dataset = ""\n', 'out_dir = ""\n', 'results_dir = ""\n', 'runs_dir = ""']},
    {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
     "source": ["from qdd.core import save_json\n", "from qdd.config import recipe\n", "from qdd.distill import distill\n",
                "from qdd.paper import PAPER_KIND, paper_out\n", "out = paper_out(out_dir)\n",
                'cfg = recipe(dataset, model="lenet", steps=1, passes=2, epochs=1, batch_size=40, eval_every=0)\n',
                "distill(cfg, out, progress=False, kind=PAPER_KIND)\n",
                'save_json({"params": {}, "random_real": 12.5, "config": cfg.__dict__}, out/"metrics.json")']}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5}


def test_a_paper_run_folder_and_a_cli_folder_never_overwrite_each_other(folder, tmp_path, capsys, monkeypatch):
    nbs = tmp_path / "nbs"; nbs.mkdir(); (nbs / "tiny.ipynb").write_text(json.dumps(NOTEBOOK))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(sys.path))
    tiny = Run("tiny", "tiny.ipynb", {"dataset": folder})
    _, _, code = execute(tiny, tmp_path / "runs", tmp_path / "results", nbs)  # the real runner
    paper = tmp_path / "runs" / "tiny"
    assert code == 0, (paper / "log.txt").read_text()
    kept = (paper / "metrics.json").read_text()
    # the same configuration as the notebook's distillation: before, the CLI took the folder for its own and overwrote it
    one_sentence(["distill", "--dataset", folder, *TINY, "--out", str(paper)], capsys, "`paper-run`", "pass another --out")
    assert (paper / "metrics.json").read_text() == kept
    cli = tmp_path / "runs2" / "tiny"
    assert run_command("qdd.cli", ["distill", "--dataset", folder, *TINY, "--out", str(cli)]) == 0
    kept = (cli / "metrics.json").read_text()
    with pytest.raises(RunFolderError, match="`distill` run"):  # the paper runner refuses a CLI run's folder
        execute(tiny, tmp_path / "runs2", tmp_path / "results", nbs)
    assert (cli / "metrics.json").read_text() == kept
    kept = (paper / "metrics.json").read_text()
    with claim_run_folder(paper, None, lock_name=".paper.lock"):  # as a second runner's run of the same notebook
        with pytest.raises(RunFolderError, match=f"in use by another qdd process \\(pid {os.getpid()}\\)"):
            execute(tiny, tmp_path / "runs", tmp_path / "results", nbs)
    assert (paper / "metrics.json").read_text() == kept
    assert execute(tiny, tmp_path / "runs", tmp_path / "results", nbs)[2] == 0  # once it is free


# a paper notebook whose distillation would take minutes and checkpoints only when asked to stop
LONG = {**NOTEBOOK, "cells": [NOTEBOOK["cells"][0], {**NOTEBOOK["cells"][1], "source": [
    "from qdd.config import recipe\n", "from qdd.distill import distill\n", "from qdd.paper import PAPER_KIND, paper_out\n",
    'cfg = recipe(dataset, model="lenet", steps=2, passes=2, epochs=500, batch_size=40, eval_every=0, checkpoint_every=10**6)\n',
    "distill(cfg, paper_out(out_dir), progress=False, kind=PAPER_KIND)\n"]}]}
DRIVER = ("import sys\nfrom pathlib import Path\nfrom qdd.paper import Run, execute\nhere = Path(sys.argv[1])\n"
          "execute(Run('long', 'long.ipynb', {'dataset': sys.argv[2]}), here/'runs', here/'results', here/'nbs')\n")


def test_stopping_the_paper_runner_stops_its_notebooks_distillation_with_a_checkpoint(folder, tmp_path):
    (tmp_path / "nbs").mkdir(); (tmp_path / "nbs" / "long.ipynb").write_text(json.dumps(LONG))
    run = tmp_path / "runs" / "long"
    # SIGINT as a terminal leaves it: a test run in the background would start the driver with it ignored
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(tmp_path), folder], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 180
    while not (run / "run.json").exists() and time.time() < deadline: time.sleep(0.1)  # the notebook's distillation began
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=300)[1]
    assert proc.returncode != 0 and "KeyboardInterrupt" in err, err
    # before, the kernel was killed with papermill and every step since the start was lost
    assert (run / "checkpoint.pt").exists() and not (run / "distilled.pt").exists(), (run / "log.txt").read_text()
    assert "SIGTERM: stopping after this step" in (run / "notebook.ipynb").read_text()


def test_a_full_disk_is_one_sentence_and_the_rerun_finishes(folder, tmp_path, capsys, monkeypatch):
    out, mkstemp = tmp_path / "out", tempfile.mkstemp
    def full(*a, **k):
        if "metrics" in k.get("prefix", ""): raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return mkstemp(*a, **k)
    monkeypatch.setattr(tempfile, "mkstemp", full)
    argv = ["distill", "--dataset", folder, *TINY, "--out", str(out)]
    one_sentence(argv, capsys, f"cannot write {out/'metrics.json'}", "the disk is full: free space and rerun")
    assert (out / "distilled.pt").exists() and not list(out.glob(".*.tmp"))  # what was written is complete
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)  # space freed
    assert run_command("qdd.cli", argv) == 0 and (out / "metrics.json").exists()


# tracebacks where a sentence belongs

@pytest.mark.parametrize("flags, env, needles", [
    (["--ipc", str(10**12)], {}, ["--ipc 1000000000000", "more than this machine's"]),
    (["--passes", str(10**12)], {}, ["--passes 1000000000000", "more than this machine's"]),
    (["--lr", "1e300"], {}, ["--lr", "<= 3.4e+38"]),
    (["--train-subset", "50", "--val-size", "50"], {}, ["--val-size 50 holds out all of --train-subset 50"]),
    ([], {"QDD_DEVICE": "meta"}, ["QDD_DEVICE=meta: qdd computes on cpu or cuda only"]),
])
def test_what_used_to_be_a_traceback_is_one_sentence(folder, tmp_path, capsys, monkeypatch, flags, env, needles):
    for k, v in env.items(): monkeypatch.setenv(k, v)
    out = tmp_path / "out"
    argv = ["distill", "--dataset", folder, *TINY, *flags, "--out", str(out)]
    assert run_command("qdd.cli", argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and all(n in err for n in needles), err
    assert not (out / "checkpoint.pt").exists()  # refused before any work


def test_the_seed_runner_names_a_root_that_is_a_file_in_one_line(tmp_path):
    (tmp_path / "f").write_text("x")
    p = subprocess.run([sys.executable, "-m", "qdd.seeds", "stabilisers", "--root", str(tmp_path / "f")],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"})
    assert p.returncode == 2 and "Traceback" not in p.stderr and "is a file, not a folder" in p.stderr, p.stderr


# wrong values accepted or blamed on another flag

def test_wrong_values_are_refused_by_the_flag_that_is_wrong(folder, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_command("qdd.cli", ["distill", "--dataset", folder, *TINY, "--out", ""]) == 2
    assert "argument --out: must name a folder" in capsys.readouterr().err and not list(tmp_path.iterdir())
    one_sentence(["distill", "--dataset", folder, *TINY, "--val-size", "100000", "--out", "o"], capsys,
                 "lower --val-size")
    missing = tmp_path / "nothere" / "run"
    one_sentence(["evaluate", str(missing)], capsys, f"--out {missing}` first")
    assert run_command("qdd.paper", ["--threads", "0", "--only", "figure1"]) == 2
    assert "argument --threads/--cpus-per-run: must be an integer >= 1" in capsys.readouterr().err
    with pytest.raises(Exception, match="epochs = 1.5 is a float"):  # papermill -p epochs 1.5
        check_parameters(Run("x", "distill.ipynb", dict(epochs=1.5)), ROOT / "nbs" / "paper")
