"""The report and Table I over seeds regenerate from the committed records alone: the report notebook of the paper
profile, run on a copy of results/, writes the same REPORT.md and table1_seeds files byte for byte."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNNER = [sys.executable, "-c", "import sys; from qdd.paper import main; sys.exit(main(sys.argv[1:]))"]
GENERATED = ["REPORT.md", "table1_seeds.csv", "table1_seeds.md", "table1.csv", "table1.md"]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    shutil.copytree(ROOT / "results", tmp / "results")
    for name in GENERATED: (tmp / "results" / name).unlink()
    out = subprocess.run([*RUNNER, "--profile", "paper", "--only", "report", "--jobs", "1", "--runs-dir", str(tmp / "paper"),
                          "--results-dir", str(tmp / "results")], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr + (tmp / "paper" / "report" / "log.txt").read_text()
    return tmp / "results"


@pytest.mark.parametrize("name", GENERATED)
def test_the_report_regenerates_from_the_archived_records(regenerated, name):
    assert (regenerated / name).read_text() == (ROOT / "results" / name).read_text(), f"results/{name} is stale"


def test_the_report_states_each_table_once(regenerated):
    tables = [block for block in (regenerated / "REPORT.md").read_text().split("\n\n") if block.startswith("| ")]
    assert len(tables) == len(set(tables))


def test_the_report_leaves_the_archived_run_metrics_as_they_are(regenerated):
    for p in sorted((ROOT / "results" / "metrics").glob("*.json")):
        assert (regenerated / "metrics" / p.name).read_bytes() == p.read_bytes(), f"results/metrics/{p.name} changed"
