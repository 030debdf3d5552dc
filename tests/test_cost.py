"""Quantum cost: analytic counts equal measured counters, frozen angles stay frozen, finite-shot replay runs."""
import torch
import pytest

from qdd.core import ConfigError
from qdd.cost import (compare_costs, distillation_samples, executions_per_sample, full_samples, replay_samples,
                      shot_noise, tapes_per_sample, track_tapes, training_curve)
from qdd.ablations import ablation, angle_change
from qdd.distilled import DistilledSet, build_model
from qdd.distill import Distiller, recipe
from qdd.evaluate import evaluate_distilled
from qdd.models import make_model
from qdd.pqc import PQC
from qdd.data import toy_dataset


@pytest.fixture(scope="module")
def toy():
    return toy_dataset(200)


@pytest.fixture(scope="module")
def distilled(toy):
    d = Distiller(recipe("mnist", model="qlenet", epochs=2, batch_size=50, eval_every=0), toy)
    return d, d.run(progress=False)


def test_analytic_counts_equal_the_measured_counters(toy, distilled):
    d, dset = distilled
    assert dset.history["circuit_executions"] == distillation_samples(d) == 8 * (30 + 50)
    assert evaluate_distilled(dset, toy, max_test=20)["replay_circuit_executions"] == replay_samples(dset) == 30
    curve = training_curve(make_model("qlenet"), toy, epochs=2, batch_size=64, eval_every=1, max_test=20)
    assert curve["executions"] == full_samples(len(toy.train_x), 2, 64) == 2 * 192


def test_the_cost_table_rows_agree_with_their_measurements(toy, distilled):
    _, dset = distilled
    costs = compare_costs(dset, toy, full_epochs=1, batch_size=50, eval_every=1, max_test=50)
    assert [r["counts_match"] for r in costs["rows"][:3]] == [True, True, True]
    assert costs["rows"][0]["executions_hw"] == 30 * executions_per_sample(build_model(dset).pqc) == 30 * (3 + 2 * 54)


def test_parameter_shift_tapes_equal_pennylanes_count():
    pqc = PQC(n_qubits=2, n_layers=1, backend="pennylane", shots=10, hermitian="fixed")
    z = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    with track_tapes(pqc) as t: torch.autograd.grad(pqc(z).sum(), pqc.weights)
    assert t["tapes"] == 3 * tapes_per_sample(pqc, input_gradient=True) == 3 * (1 + 2 * 6 + 2 * 6)


def test_frozen_angles_do_not_change_under_replay(toy):
    cfg = recipe("mnist", model="qlenet", train_pqc=False, epochs=1, batch_size=100, eval_every=0)
    dset = Distiller(cfg, toy).run(progress=False)
    model = build_model(dset)
    assert "pqc.weights" not in dict(model.named_parameters())
    assert angle_change(dset) == 0.0
    rows = ablation(toy, {"frozen": dict(train_pqc=False), "trained": {}}, epochs=1, batch_size=100)
    assert rows[0]["angle_change"] == 0.0 and rows[1]["angle_change"] > 0


def test_a_finite_shot_pennylane_replay_runs(toy):
    # a 2-qubit circuit keeps parameter-shift cheap: (1 + 2 x (6 + 6)) circuits per image and step
    model = make_model("qlenet", seed=0, n_qubits=2, n_layers=1)
    g = torch.Generator().manual_seed(0)
    dset = DistilledSet(images=torch.randn(1, 10, 1, 28, 28, generator=g), labels=torch.arange(10).view(1, 10),
                        lrs=torch.full((1,), 0.02), model="qlenet",
                        model_kwargs=dict(hermitian="trainable", n_qubits=2, n_layers=1),
                        init="fixed", init_seed=0, init_state=model.state_dict(), dataset="toy",
                        normalization=dict(mean=[0.0], std=[1.0]), classes=toy.classes, config={}, code_version="test")
    out = shot_noise(dset, toy, shots=100, max_test=20, replay_on_device=True)
    assert out["tapes"] == out["tapes_expected"] == 20 + 10 * 25
    assert out["replay_on_device"] and out["n_test"] == 20
    assert (out["shots_acc"] * 20 / 100).is_integer()  # a percentage of exactly 20 test images
    with pytest.raises(ConfigError, match="fixed-init"):
        compare_costs(DistilledSet(**{**dset.__dict__, "init": "random"}), toy)
