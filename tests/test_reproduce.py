"""The paper pipeline end to end at the smoke profile: every run executes through papermill, Table I and the report
are written, and a second invocation skips what is complete."""
import csv
import json
import subprocess
import sys

import pytest

from qdd.paper import profile_runs, reproduce

RUNNER = [sys.executable, "-c", "import sys; from qdd.paper import main; sys.exit(main(sys.argv[1:]))"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, data_dir):
    runs = tmp_path_factory.mktemp("smoke")
    out = subprocess.run([*RUNNER, "--profile", "smoke", "--jobs", "2", "--runs-dir", str(runs),
                          "--results-dir", str(runs / "results")], capture_output=True, text=True, timeout=1500)
    return runs, out


def test_the_smoke_profile_runs_every_notebook(smoke):
    runs, out = smoke
    assert out.returncode == 0, out.stdout + out.stderr
    for run in profile_runs("smoke"):
        assert (runs / run.name / "notebook.ipynb").exists(), run.name
        assert (runs / run.name / "metrics.json").exists() or run.name == "report"


def test_table1_has_a_row_per_dataset_model_and_hermitian_with_paper_numbers(smoke):
    runs, _ = smoke
    rows = list(csv.DictReader(open(runs / "results" / "table1.csv")))
    assert [(r["dataset"].split()[0], r["model"], r["hermitian"]) for r in rows] == [
        ("MNIST", "lenet", "-"), ("MNIST", "qlenet", "trainable"), ("MNIST", "qlenet", "fixed"),
        ("CIFAR-10", "lenet", "-"), ("CIFAR-10", "alexcifarnet", "-"), ("CIFAR-10", "qlenet", "trainable"),
        ("CIFAR-10", "qlenet", "fixed")]
    assert rows[1]["paper_acc"] == "91.9"
    # each row is its run's number
    for r, run in zip(rows, [r for r in profile_runs("smoke") if r.notebook == "distill.ipynb"]):
        assert float(r["ours_acc"]) == round(json.loads((runs / run.name / "metrics.json").read_text())["test_acc"],
                                             2), run.name
    report = (runs / "results" / "REPORT.md").read_text()
    assert "Table I" in report and "JPEG" in report
    for fig in ("fig1_quantum_lenet.png", "fig1_circuit.png", "curves_all.png", "mnist-lenet_distilled.png"):
        assert (runs / "results" / "figures" / fig).stat().st_size > 5000, fig


def test_a_second_invocation_skips_complete_runs(smoke):
    runs, _ = smoke
    log = []
    failed = reproduce("smoke", runs, runs / "results", only=["mnist-lenet"], log=log.append)
    assert failed == [] and log[0].startswith("skip mnist-lenet: complete")


def test_every_executed_notebook_is_kept_beside_the_results_with_its_figures(smoke):
    runs, _ = smoke
    for run in profile_runs("smoke"):
        nb = json.loads((runs / "results" / "notebooks" / f"{run.name}.ipynb").read_text())
        figures = sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
        draws = any("show_figure(" in "".join(c["source"]) for c in nb["cells"])
        assert figures or not draws, f"results/notebooks/{run.name}.ipynb shows no figure"
