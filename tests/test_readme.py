"""The README's first run works as written on a checkout: its `.venv/bin/qdd` lines, run in a fresh folder with no
QDD_DATA (the data root comes from qdd.core.data_root's one rule), each exit 0 and write their metrics."""
import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from qdd.core import data_root

ROOT = Path(__file__).resolve().parent.parent


def first_run_commands() -> list[str]:
    "The command lines of the README's 'A first run' section."
    section = (ROOT / "README.md").read_text().split("## A first run", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [l.split("#")[0].strip() for l in block.splitlines() if l.startswith(".venv/bin/qdd")]


def test_the_readme_has_a_first_run():
    cmds = first_run_commands()
    assert [shlex.split(c)[1] for c in cmds] == ["distill", "evaluate"]


def test_the_readme_first_run_works_as_written(tmp_path, monkeypatch):
    env = {k: v for k, v in os.environ.items() if k != "QDD_DATA"}
    monkeypatch.delenv("QDD_DATA", raising=False)
    if not (data_root() / "MNIST" / "raw").is_dir():
        if os.environ.get("QDD_REQUIRE_DATA") == "1": pytest.fail(f"no MNIST under {data_root()}: the README's rule finds no data")
        pytest.skip("no MNIST where qdd.core.data_root looks without QDD_DATA")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    for cmd in first_run_commands():
        out = subprocess.run(shlex.split(cmd), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, f"{cmd}\n{out.stdout}\n{out.stderr}"
    assert json.loads((tmp_path / "runs" / "first" / "metrics.json").read_text())["test_acc"] > 0
    assert list((tmp_path / "runs" / "first").glob("metrics_torch*.json"))
