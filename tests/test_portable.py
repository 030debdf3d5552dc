"""The portable mode: the same bits whatever instruction path torch is told to take, and the same bits as the
reference run stored in tests/data (tools/make_portable_reference.py), so a reader's machine checks itself."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "data" / "portable_reference.json").read_text())
PATHS = {"as the machine chooses": {}, "AVX2 kernels": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}}


def portable_run(**env):
    clean = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR")}
    out = subprocess.run([sys.executable, str(HERE / "portable_run.py")], env={**clean, **env}, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def runs():
    return {name: portable_run(**env) for name, env in PATHS.items()}


def test_portable_runs_are_bitwise_identical_whatever_the_instruction_path(runs):
    first, second = runs.values()
    assert first["hashes"] == second["hashes"]
    # ATen's default kernels, as asked
    assert {r["provenance"]["aten_capability"] for r in runs.values()} == {"DEFAULT"}
    assert all(r["provenance"]["portable"] and not r["provenance"]["mkldnn_enabled"] for r in runs.values())


def test_this_machine_reproduces_the_stored_portable_reference(runs):
    got = runs["as the machine chooses"]
    same_torch = got["provenance"]["packages"]["torch"] == REFERENCE["provenance"]["packages"]["torch"]
    if not same_torch: pytest.skip(f"the reference was made with torch {REFERENCE['provenance']['packages']['torch']}")
    assert got["hashes"] == REFERENCE["hashes"], (f"this machine ({got['provenance']['cpu']}) computes other bits than "
                                                  f"the reference ({REFERENCE['provenance']['cpu']}, "
                                                  f"{REFERENCE['provenance']['code_version']})")


def test_a_portable_command_refuses_a_torch_started_otherwise():
    code = "import torch, qdd.core"  # torch first, with the machine's kernels: qdd must not run half-portable
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "QDD_PORTABLE": "1"}, capture_output=True,
                         text=True)
    assert out.returncode != 0 and "the portable mode was asked for after torch started" in out.stderr
