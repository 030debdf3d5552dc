"""The runner on a local Ray of 2 CPUs: a tiny study end to end, a worker killed mid-run (the result identical to an
undisturbed run's), a failing run reported while the others finish, and Ctrl-C on the driver. Toy data, seconds a run."""
import json, os, signal, subprocess, sys, textwrap, threading, time
from pathlib import Path

import pytest
import torch

ray = pytest.importorskip("ray")
from qdd.core import load_file
from qdd.data import toy_dataset
from qdd.runner import Cluster, ray_session
from qdd.seeds import execute_study, read_study

BASE = dict(dataset="toy", preset="mnist", model="qlenet", epochs=4, batch_size=100, eval_every=1, val_size=100, checkpoint_every=1)
VARIANTS = {"faithful": {}, "alpha-frozen": dict(inner_frozen="alpha")}
VOLATILE = ("seconds", "cpu_seconds", "threads", "code_version", "provenance")  # how long, where and by what a run ran, not what it computed
TWO = Cluster(workers=2, max_retries=2)


def result(record: dict) -> dict:
    "What a run computed: its record without timing and provenance."
    return {k: v for k, v in record.items() if k not in VOLATILE}


@pytest.fixture(scope="module")
def local_ray():
    "One local Ray of 2 CPUs for the module, shut down after it."
    with ray_session(TWO) as r: yield r
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def toy():
    return toy_dataset()


def test_tiny_study_end_to_end(local_ray, toy, tmp_path):
    lines = []
    out = execute_study(BASE, VARIANTS, [0, 1], tmp_path/"ray", toy, cluster=TWO, log=lines.append)
    assert {s for s, _ in out.values()} == {"finished"} and len(out) == 4
    assert sum(line.endswith(": queued") for line in lines) == 4 and any("finished [4/4]: final " in line for line in lines)
    found = read_study(BASE, VARIANTS, [0, 1], tmp_path/"ray")
    assert [r["seed"] for r in found["faithful"]] == [0, 1] and found["alpha-frozen"][1]["config"]["inner_frozen"] == "alpha"
    here = read_study(BASE, {"faithful": {}}, [1], tmp_path/"here") if execute_study(BASE, {"faithful": {}}, [1], tmp_path/"here", toy, log=lambda *_: None) else None
    assert result(here["faithful"][0]) == result(found["faithful"][1])  # a Ray worker computes what this process does
    again = execute_study(BASE, VARIANTS, [0, 1], tmp_path/"ray", toy, cluster=TWO, log=lambda *_: None)
    assert {s for s, _ in again.values()} == {"finished"} and read_study(BASE, VARIANTS, [0, 1], tmp_path/"ray") == found  # read, not rerun


def _kill_when(folder: Path, iteration: int, killed: list):
    "Kill the worker holding `folder` once its checkpoint reaches `iteration`, leaving a half-written temporary behind."
    ck, deadline = folder/"checkpoint.pt", time.time() + 120
    while time.time() < deadline:
        try: at = torch.load(ck, weights_only=True)["iteration"] if ck.exists() else 0
        except Exception: at = 0  # replaced while read
        if at >= iteration:
            pid = int((folder/".qdd.lock").read_text())
            os.kill(pid, signal.SIGKILL); (folder/".checkpoint.pt.killed.tmp").write_bytes(b"half")
            killed.append((pid, at)); return
        time.sleep(0.05)


def test_killed_worker_resumes_identically(local_ray, toy, tmp_path):
    base = {**BASE, "epochs": 8}  # 40 iterations, a checkpoint after each
    execute_study(base, {"faithful": {}}, [0], tmp_path/"calm", toy, log=lambda *_: None)  # undisturbed, in this process
    folder, killed = tmp_path/"hit"/"faithful"/"seed0", []
    killer = threading.Thread(target=_kill_when, args=(folder, 10, killed)); killer.start()
    t0 = time.perf_counter()
    out = execute_study(base, {"faithful": {}}, [0], tmp_path/"hit", toy, cluster=TWO, log=lambda *_: None)
    killer.join()
    print(f"killed worker {killed}: study finished in {time.perf_counter() - t0:.1f} s")
    assert killed and 10 <= killed[0][1] < 40, killed  # killed mid-run
    assert out["faithful seed 0"][0] == "finished", out
    hit, calm = (load_file(r/"faithful"/"seed0"/"record.json", "seed record", "") for r in (tmp_path/"hit", tmp_path/"calm"))
    assert result(hit) == result(calm)  # the retry resumed from the checkpoint and changed no number
    assert json.loads((folder/"run.json").read_text())["pid"] != killed[0][0]  # another worker finished it
    assert not list(folder.glob(".*.tmp"))  # the temporary of the killed write was removed on resume


def test_failing_run_reported_once_others_finish(local_ray, toy, tmp_path):
    lines, variants = [], {"broken": dict(model="lenet", hermitian=None, inner_frozen="alpha"), **VARIANTS}
    out = execute_study(BASE, variants, [0], tmp_path, toy, cluster=TWO, log=lines.append)
    assert out["broken seed 0"][0] == "failed" and "does not train" in out["broken seed 0"][1]
    assert out["faithful seed 0"][0] == out["alpha-frozen seed 0"][0] == "finished"
    assert sum(line.startswith("broken seed 0: failed") for line in lines) == 1


DRIVER = textwrap.dedent("""
    import sys
    from qdd.data import toy_dataset
    from qdd.runner import Cluster, Stopped
    from qdd.seeds import execute_study
    base = dict(dataset="toy", preset="mnist", model="qlenet", epochs=int(sys.argv[2]), batch_size=100, eval_every=1,
                val_size=100, checkpoint_every=1)
    try: out = execute_study(base, {"faithful": {}, "alpha-frozen": dict(inner_frozen="alpha")}, [0, 1], sys.argv[1],
                             toy_dataset(), cluster=Cluster(workers=1), log=print)
    except Stopped as e: print(e); sys.exit(130)
    print("states", sorted({s for s, _ in out.values()}))
""")


def _driver(tmp_path, sigint):
    "The study driver in a child, with SIGINT as a terminal leaves it (SIG_DFL) or as a background job has it (SIG_IGN)."
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-c", DRIVER, str(tmp_path), "4"]
    # this suite may itself run in a background job (CI, nohup), whose children inherit SIGINT ignored
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, sigint))
    return cmd, env, p


def _signal_after_first_checkpoint(tmp_path, p, signum) -> str:
    first, deadline = tmp_path/"faithful"/"seed0"/"checkpoint.pt", time.time() + 120
    while not first.exists() and time.time() < deadline and p.poll() is None: time.sleep(0.1)
    p.send_signal(signum)
    return p.communicate(timeout=120)[0]


def test_ctrl_c_stops_and_rerun_continues(tmp_path):
    cmd, env, p = _driver(tmp_path, signal.SIG_DFL)
    log = _signal_after_first_checkpoint(tmp_path, p, signal.SIGINT)
    assert p.returncode == 130, log
    assert "stopped by Ctrl-C (or SIGTERM): nothing new was started" in log and "to stop: Ctrl-C or `kill " in log
    assert len(list(tmp_path.glob("*/seed*/record.json"))) < 4  # stopped before the end
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0 and "states ['finished']" in again.stdout, again.stdout + again.stderr
    assert len(list(tmp_path.glob("*/seed*/record.json"))) == 4


def test_background_driver_stops_on_sigterm(tmp_path):
    "A study started with `&` or nohup ignores Ctrl-C: it says so, and `kill PID` stops it the same clean way."
    _, _, p = _driver(tmp_path, signal.SIG_IGN)
    log = _signal_after_first_checkpoint(tmp_path, p, signal.SIGTERM)
    assert p.returncode == 130, log
    assert f"`kill {p.pid}` (Ctrl-C does not reach a background job)" in log and "nothing new was started" in log
    assert len(list(tmp_path.glob("*/seed*/record.json"))) < 4
