"""Distillation: the unrolled gradient is right, divergence is caught, observables behave (resume, refusal and
extension are checked in nbs/05_distilled and nbs/06_distill)."""
import math

import pytest
import torch
import torch.nn.functional as F

from qdd.core import ConfigError
from qdd.replay import fresh_params, unroll
from qdd.distilled import build_model
from qdd.distill import Distiller, DivergenceError, recipe
from qdd.models import functional_forward, make_model, weights_of
from qdd.data import toy_dataset


def test_gradient_through_the_unrolled_steps_matches_finite_differences():
    torch.manual_seed(0)
    model = make_model("lenet", 1, 28, 10, seed=0).double()
    images = torch.randn(1, 10, 1, 28, 28, dtype=torch.float64)
    labels = torch.arange(10).view(1, 10)
    x_real, y_real = torch.randn(16, 1, 28, 28, dtype=torch.float64), torch.randint(0, 10, (16,))
    lrs = torch.tensor([0.05, 0.03, 0.02], dtype=torch.float64, requires_grad=True)

    def outer_loss(lrs_):
        params = unroll(model, fresh_params(model), images, labels, lrs_)
        return F.cross_entropy(functional_forward(model, params, x_real), y_real)

    grad, = torch.autograd.grad(outer_loss(lrs), lrs)
    for i in range(3):
        e = torch.zeros(3, dtype=torch.float64); e[i] = 1e-6
        numeric = (outer_loss(lrs.detach() + e) - outer_loss(lrs.detach() - e)) / 2e-6
        assert math.isclose(grad[i].item(), numeric.item(), rel_tol=1e-4, abs_tol=1e-8)


def test_divergence_stops_with_a_clear_message_and_keeps_the_last_good_state(tmp_path):
    ds = toy_dataset(200)
    cfg = recipe("mnist", epochs=3, batch_size=50, distill_lr=1e9, eval_every=0)
    with pytest.raises(DivergenceError, match="NaN/inf at iteration") as e:
        Distiller(cfg, ds, tmp_path).run(progress=False)
    assert "checkpoint.pt" in str(e.value) and "lower --distill-lr" in str(e.value)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert torch.isfinite(state["images"]).all() and torch.isfinite(state["raw_lrs"]).all()


@pytest.mark.parametrize("hermitian", ["fixed", "trainable"])
def test_a_fixed_hermitian_never_moves_and_a_trainable_one_does(hermitian):
    model = make_model("qlenet", 1, 28, 10, seed=0, hermitian=hermitian)
    before = {n: v.clone() for n, v in weights_of(model).items() if "herm" in n}
    params = fresh_params(model)
    after = unroll(model, params, torch.randn(1, 10, 1, 28, 28), torch.arange(10).view(1, 10), torch.full((3,), 0.1))
    assert ("pqc.herm_real" in params) == (hermitian == "trainable")  # fixed: a buffer, not a trained weight
    for n, v in before.items():  # what the replayed model uses: the trained copy, else the module's buffer
        used = after[n] if n in after else weights_of(model)[n]
        assert torch.equal(used, v) == (hermitian == "fixed"), n


def test_frozen_pqc_keeps_circuit_angles_out_of_the_trained_parameters():
    trained = fresh_params(make_model("qlenet", 1, 28, 10, seed=0))
    frozen = fresh_params(make_model("qlenet", 1, 28, 10, seed=0, train_pqc=False))
    assert any("weights" in n for n in trained) and not any("pqc.weights" in n for n in frozen)


def test_fixed_init_replays_from_the_saved_w0():
    dset = Distiller(recipe("mnist", epochs=1, batch_size=50, seed=3), toy_dataset(200)).run(progress=False)
    a, b = build_model(dset).state_dict(), make_model("lenet", 1, 28, 10, seed=3).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("bad, match", [(dict(ipc=0), "ipc"), (dict(distill_lr=-1.0), "distill.lr"),
                                        (dict(lr=0.0), "lr must be > 0"), (dict(model="vgg"), "unknown model"),
                                        (dict(init="zero"), "init must be"), (dict(decay_factor=2.0), "decay_factor")])
def test_invalid_values_are_rejected(bad, match):
    with pytest.raises(ConfigError, match=match):
        recipe("mnist", **bad)


def test_a_custom_model_resumes_from_the_w0_it_started_with(tmp_path):
    "A module passed in has weights no seed rebuilds: a rerun builds it afresh, and must still continue the same run."
    toy = toy_dataset(100, n_test=20)
    cfg = recipe("toy", preset="mnist", epochs=2, batch_size=50, eval_every=0, checkpoint_every=1)
    net = lambda seed: make_model("lenet", 1, 28, 10, seed=seed)  # as a user's own module, initialised differently each time
    whole = Distiller(cfg, toy, model=net(1)).run(progress=False)
    Distiller(cfg, toy, tmp_path, model=net(1)).run(progress=False, stop_after=2)
    resumed = Distiller(cfg, toy, tmp_path, model=net(2)).run(progress=False)
    assert all(torch.equal(resumed.init_state[k], whole.init_state[k]) for k in whole.init_state)
    assert torch.equal(resumed.images, whole.images) and torch.equal(resumed.lrs, whole.lrs)
