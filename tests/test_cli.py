"""The qdd command line end to end on small data: outputs, metrics, resume after a kill, bad input."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from qdd.cli import main
from qdd.evaluate import LR_GRID
from helpers import toy_image_folder

QDD = [str(Path(sys.executable).parent / "qdd")]  # the console script settings.ini declares
SMALL = ["--steps", "1", "--passes", "2", "--epochs", "2", "--batch-size", "40"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return f"imagefolder:{toy_image_folder(tmp_path_factory.mktemp('toyfolder'))}"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("QDD_CACHE", str(tmp_path / "cache"))


def metrics_of(path):
    return json.loads(path.read_text())


def test_every_command_has_help():
    for cmd in ([], ["distill"], ["evaluate"], ["baseline"]):
        out = subprocess.run([*QDD, *cmd, "--help"], capture_output=True, text=True)
        assert out.returncode == 0 and "usage: qdd" in out.stdout


def test_distill_writes_the_set_and_metrics_with_the_command(folder, tmp_path):
    argv = ["distill", "--dataset", folder, "--model", "lenet", *SMALL, "--out", str(tmp_path / "run"), "--no-progress"]
    assert main(argv) == 0
    m = metrics_of(tmp_path / "run" / "metrics.json")
    assert {"test_acc", "test_acc_init", "seconds", "circuit_executions", "config", "command", "versions"} <= set(m)
    assert m["config"]["passes"] == 2 and m["command"].startswith("qdd distill --dataset imagefolder:")
    assert m["circuit_executions"] == 0 and 0 <= m["test_acc"] <= 100
    assert m["threads"]["threads"] == 1 and "warnings" in m
    assert (tmp_path / "run" / "distilled.pt").exists()


def test_quantum_executions_are_counted_per_sample_per_forward(folder, tmp_path):
    assert main(["distill", "--dataset", folder, "--model", "qlenet", *SMALL, "--out", str(tmp_path),
                 "--no-progress"]) == 0
    m = metrics_of(tmp_path / "metrics.json")
    # 120 training images, batch 40 -> 3 iterations/epoch, 2 epochs; each: 2 inner steps on 10 images + 40 real
    assert m["iterations"] == 6 and m["circuit_executions"] == 6 * (2 * 10 + 40)
    assert m["replay_circuit_executions"] == 2 * 10


def test_evaluate_on_a_pennylane_device_matches_the_torch_engine(folder, tmp_path):
    assert main(["distill", "--dataset", folder, "--model", "qlenet", *SMALL, "--out", str(tmp_path),
                 "--no-progress"]) == 0
    assert main(["evaluate", str(tmp_path), "--max-test", "20"]) == 0
    assert main(["evaluate", str(tmp_path), "--backend", "pennylane:default.qubit", "--max-test", "20"]) == 0
    torch_m = metrics_of(tmp_path / "metrics_torch_test20.json")
    pl = metrics_of(tmp_path / "metrics_pennylane_default.qubit_test20.json")
    assert pl["n_test"] == 20 and pl["replay_circuit_executions"] == 20 and pl["backend"] == "pennylane:default.qubit"
    assert abs(pl["test_acc"] - torch_m["test_acc"]) <= 5.0  # one image in 20 may flip on float32 rounding


def test_baselines_random_and_full(folder, tmp_path):
    assert main(["baseline", "--dataset", folder, "--model", "lenet", "--kind", "random", "--steps", "1", "--passes",
                 "2", "--out", str(tmp_path / "r")]) == 0
    r = metrics_of(tmp_path / "r" / "metrics.json")
    assert r["kind"] == "random" and len(r["lr_grid_val_acc"]) == len(LR_GRID)
    # the lr chosen is the best on validation
    assert r["lr_grid_val_acc"][str(r["lr"])] == max(r["lr_grid_val_acc"].values())
    assert main(["baseline", "--dataset", folder, "--model", "lenet", "--kind", "full", "--epochs", "1",
                 "--out", str(tmp_path / "f")]) == 0
    f = metrics_of(tmp_path / "f" / "metrics.json")
    assert f["kind"] == "full" and len(f["curve"]) == 1 and {"test_acc", "seconds", "config"} <= set(f)
    # what ran is what is recorded
    assert f["config"]["epochs"] == 1 and f["config"]["batch_size"] == 128 and f["n_train"] == 120
    assert f["threads"]["threads"] == 1 and r["threads"]["threads"] == 1


@pytest.mark.parametrize("flags, message", [(["--ipc", "0"], "ipc"),
                                            (["--distill-lr", "-0.5"],
                                             "argument --distill-lr: must be a finite number > 0"),
                                            (["--hermitian", "fixed"], "for qlenet only")])
def test_bad_values_exit_2_before_any_work(folder, tmp_path, capsys, flags, message):
    out = tmp_path / "never"
    assert main(["distill", "--dataset", folder, "--model", "lenet", *flags, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err and not out.exists()


def test_unknown_model_is_rejected_by_the_parser(folder, tmp_path, capsys):
    assert main(["distill", "--dataset", folder, "--model", "vgg", "--out", str(tmp_path)]) == 2
    assert "invalid choice: 'vgg'" in capsys.readouterr().err


def test_divergence_exits_2_and_keeps_the_checkpoint(folder, tmp_path, capsys):
    assert main(["distill", "--dataset", folder, "--model", "lenet", *SMALL, "--distill-lr", "1e9",
                 "--out", str(tmp_path), "--no-progress"]) == 2
    assert "NaN/inf" in capsys.readouterr().err and (tmp_path / "checkpoint.pt").exists()
    assert not (tmp_path / "distilled.pt").exists()


def test_a_killed_process_resumes_to_the_same_images(folder, tmp_path):
    flags = ["--dataset", folder, "--model", "lenet", "--steps", "2", "--passes", "2", "--epochs", "40",
             "--batch-size", "40", "--checkpoint-every", "10", "--eval-every", "0", "--no-progress"]
    assert main(["distill", *flags, "--out", str(tmp_path / "whole")]) == 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([*QDD, "distill", *flags, "--out", str(tmp_path / "killed")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = tmp_path / "killed" / "checkpoint.pt"
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline: time.sleep(0.05)
    proc.send_signal(signal.SIGKILL); proc.wait()
    assert ckpt.exists() and not (tmp_path / "killed" / "distilled.pt").exists()
    assert main(["distill", *flags, "--out", str(tmp_path / "killed")]) == 0
    a = torch.load(tmp_path / "whole" / "distilled.pt", weights_only=False)
    b = torch.load(tmp_path / "killed" / "distilled.pt", weights_only=False)
    assert torch.equal(a["images"], b["images"]) and torch.equal(a["lrs"], b["lrs"])


def test_stabilised_adds_the_chosen_stabiliser_and_explicit_flags_win():
    from qdd.cli import config_from_args, parser
    from qdd.config import STABILISED
    base = ["distill", "--dataset", "mnist", "--model", "qlenet", "--out", "unused"]
    assert not config_from_args(parser().parse_args(base)).stabilised  # the paper's method by default
    cfg = config_from_args(parser().parse_args(base + ["--stabilised"]))
    assert {k: getattr(cfg, k) for k in STABILISED} == STABILISED and cfg.stabilised
    assert config_from_args(parser().parse_args(base + ["--stabilised", "--grad-clip", "2"])).grad_clip == 2.0


def test_a_validation_split_writes_the_selected_state(tmp_path, data_dir):
    "--val-size: metrics.json records the validation curve and the selected state, saved as distilled_selected.pt."
    out = tmp_path/"v"
    assert main(["distill", "--dataset", "mnist", "--model", "lenet", "--epochs", "2", "--train-subset", "2000",
                 "--batch-size", "256", "--val-size", "500", "--eval-every", "1", "--no-progress", "--out",
                 str(out)]) == 0
    m = json.loads((out/"metrics.json").read_text())
    assert [e for e, _ in m["curves"]["val"]] == [1, 2]
    assert m["selected"]["val_acc"] == max(a for _, a in m["curves"]["val"])
    from qdd.distilled import load_distilled
    assert load_distilled(out/"distilled_selected.pt").history["is_selected_state"]


def test_seed_study_status_lists_every_run_and_runs_nothing(tmp_path, capsys):
    from qdd.seeds import STUDIES, main as seeds_main
    assert seeds_main(["stabilisers", "--root", str(tmp_path), "--status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    n = len(STUDIES["stabilisers"]["variants"]) * len(STUDIES["stabilisers"]["seeds"])
    assert [line.split(" ")[0] for line in lines] == [f"{i}/{n}" for i in range(n)]  # K/N, as --shard K/N runs it
    assert all(line.endswith(": not started") for line in lines) and not any(tmp_path.iterdir())


def test_seed_study_replay_reads_checkpoints_only(tmp_path, capsys):
    from qdd.seeds import STUDIES, main as seeds_main
    (tmp_path/"mnist-50ep"/"faithful"/"seed1").mkdir(parents=True)
    (tmp_path/"mnist-50ep"/"faithful"/"seed1"/"checkpoint.pt").write_text("not a checkpoint")
    assert seeds_main(["stabilisers", "--root", str(tmp_path), "--replay"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(STUDIES["stabilisers"]["variants"]) * len(STUDIES["stabilisers"]["seeds"])
    damaged = [line for line in lines if "faithful seed 1" in line]
    assert len(damaged) == 1 and ": unusable: " in damaged[0]  # says so instead of failing
    assert sum(line.endswith(": no checkpoint") for line in lines) == len(lines) - 1
    # nothing written
    assert (tmp_path/"mnist-50ep"/"faithful"/"seed1"/"checkpoint.pt").read_text() == "not a checkpoint"


def test_methods_and_cross_architecture_from_the_command_line(folder, tmp_path):
    "--method dm distils for random inits (5 fresh inits in the score); --on-model trains another model on the set."
    run = tmp_path / "dm"
    assert main(["distill", "--dataset", folder, "--model", "lenet", "--method", "dm", "--epochs", "2", "--batch-size",
                 "60", "--train-epochs", "5", "--n-inits", "5", "--out", str(run), "--no-progress"]) == 0
    m = metrics_of(run / "metrics.json")
    assert m["config"]["method"] == "dm" and m["n_inits"] == 5 and m["circuit_executions"] == 0
    assert main(["evaluate", str(run), "--on-model", "qlenet", "--n-inits", "3", "--train-epochs", "5",
                 "--no-progress"]) == 0
    moved = metrics_of(run / "metrics_torch_on_qlenet_ep5.json")
    assert moved["n_inits"] == 3 and moved["replay_circuit_executions"] > 0
    assert main(["distill", "--dataset", folder, "--model", "qlenet", "--labels", "learned", *SMALL, "--out",
                 str(tmp_path / "soft"), "--no-progress"]) == 0
    assert metrics_of(tmp_path / "soft" / "metrics.json")["config"]["labels"] == "learned"
