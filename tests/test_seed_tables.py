"""The studies over seeds regenerate exactly from the committed records: the paper profile's `seeds` and `methods`
notebooks, run with --records-only on a copy of results/, read each study's declared seeds from the archive
(results/seeds), run none of the seed runs missing, and write the committed tables byte for byte. The tables hold no
version or time of their own making (the code versions and CPU seconds in them are the records'), so the comparison
is exact. The data root is an empty folder at another path: a report reads records, never the data, and the records
(written where the data lay at /work/shared/data) hold on a machine whose data lies elsewhere."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNNER = [sys.executable, "-c", "import sys; from qdd.paper import main; sys.exit(main(sys.argv[1:]))"]
GENERATED = sorted(p.name for p in (ROOT / "results").glob("seeds*.md")) + ["methods.csv", "methods.md"]
pytestmark = pytest.mark.slow


def files(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seeds")
    shutil.copytree(ROOT / "results", tmp / "results")
    for name in GENERATED: (tmp / "results" / name).unlink()
    (elsewhere := tmp / "data-elsewhere").mkdir()
    out = subprocess.run([*RUNNER, "--profile", "paper", "--only", "seeds", "methods", "--records-only", "--jobs", "1",
                          "--runs-dir", str(tmp / "paper"), "--results-dir", str(tmp / "results")],
                         capture_output=True, text=True, timeout=900, env={**os.environ, "QDD_DATA": str(elsewhere)})
    logs = "".join(p.read_text() for n in ("seeds", "methods") if (p := tmp / "paper" / n / "log.txt").exists())
    assert out.returncode == 0, out.stdout + out.stderr + logs
    return tmp


@pytest.mark.parametrize("name", GENERATED)
def test_the_seed_tables_regenerate_from_the_archived_records(regenerated, name):
    new, committed = (regenerated / "results" / name).read_text(), (ROOT / "results" / name).read_text()
    assert new == committed, f"results/{name} differs"


def test_a_regeneration_runs_no_seed_and_leaves_the_archive_as_it_is(regenerated):
    assert not list((regenerated / "paper" / "seeds").rglob("checkpoint.pt")), "a seed run started"
    assert files(regenerated / "results" / "seeds") == files(ROOT / "results" / "seeds")


def test_the_executed_notebooks_are_kept_with_their_figures_inline(regenerated):
    import json
    for name in ("seeds", "methods"):
        nb = json.loads((regenerated / "results" / "notebooks" / f"{name}.ipynb").read_text())
        images = [o for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
        assert images, f"results/notebooks/{name}.ipynb shows no figure"
