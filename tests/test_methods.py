"""The methods beyond the paper through the one loop: saved, resumed, replayed and evaluated like Wang et al.'s sets."""
import dataclasses

import pytest
import torch

from qdd.config import recipe
from qdd.data import toy_dataset
from qdd.distill import Distiller, DivergenceError, distill
from qdd.distilled import load_distilled, retarget
from qdd.evaluate import evaluate_distilled


@pytest.fixture(scope="module")
def toy():
    return toy_dataset(200, n_test=100)


def test_a_set_scores_under_evaluate_as_at_the_end_of_its_distillation(toy, tmp_path):
    "One replay path: --inner-frozen alpha holds under `qdd evaluate` too (it used to train alpha there)."
    cfg = recipe("toy", preset="mnist", model="qlenet", epochs=2, batch_size=50, eval_every=1, inner_frozen="alpha")
    dset = distill(cfg, tmp_path, toy, progress=False)
    scored = evaluate_distilled(load_distilled(tmp_path), toy)
    assert scored["test_acc"] == dset.history["eval"][-1][1]


@pytest.mark.parametrize("method,extra", [("wang", dict(labels="learned")), ("dm", {}), ("dc", {}),
                                          ("wang", dict(adaptive_clip=2.0))])
def test_every_method_resumes_bit_for_bit(toy, tmp_path, method, extra):
    "A run killed after 5 iterations and resumed ends exactly where an uninterrupted one does (method state included)."
    cfg = recipe("toy", preset="mnist", method=method, epochs=3, batch_size=50, eval_every=0, checkpoint_every=2,
                 **({"train_epochs": 5} if method != "wang" else {}), **extra)
    whole = Distiller(cfg, toy).run(progress=False)
    Distiller(cfg, toy, tmp_path).run(progress=False, stop_after=5)
    resumed = Distiller(cfg, toy, tmp_path).run(progress=False)
    assert torch.equal(whole.images, resumed.images) and torch.equal(whole.labels, resumed.labels)
    assert whole.method == resumed.method == method


def test_dc_resumes_inside_a_trajectory(tmp_path):
    "With 10 images per class DC trains its network between matches; that network is checkpointed."
    colour = toy_dataset(200, side=32, channels=3, n_test=20)
    cfg = recipe("toy", preset="cifar10", method="dc", epochs=2, batch_size=100, eval_every=0, checkpoint_every=1,
                 train_epochs=2)
    whole = Distiller(cfg, colour).run(progress=False)
    Distiller(cfg, colour, tmp_path).run(progress=False, stop_after=3)
    assert torch.equal(Distiller(cfg, colour, tmp_path).run(progress=False).images, whole.images)


def test_first_order_sets_are_scored_on_fresh_inits_and_move_across_models(toy, tmp_path):
    cfg = recipe("toy", preset="mnist", method="dm", epochs=2, batch_size=100, eval_every=0, train_epochs=20)
    dset = distill(cfg, tmp_path, toy, progress=False)
    assert (dset.init, dset.training["kind"], dset.history["circuit_executions"]) == ("random", "sgd", 0)
    scored = evaluate_distilled(dset, toy, n_inits=5)
    assert scored["n_inits"] == 5 and len(set(scored["test_acc_all"])) > 1  # five different networks
    moved = evaluate_distilled(retarget(dset, "qlenet", dict(hermitian="trainable"), epochs=20), toy, n_inits=5)
    assert moved["n_inits"] == 5 and moved["replay_circuit_executions"] > 0  # the quantum LeNet trained on a LeNet set


def test_dm_on_the_quantum_lenet_runs_no_circuit_unless_asked(toy):
    base = dict(preset="mnist", method="dm", model="qlenet", epochs=1, batch_size=100, eval_every=0, train_epochs=1)
    before = Distiller(recipe("toy", **base), toy); before.outer_step()
    inside = Distiller(recipe("toy", **base, embed="circuit"), toy); inside.outer_step()
    assert before.executions == 0 and inside.executions == 100 + 10  # the real batch and the ten synthetic images


def test_a_dc_step_that_turns_nan_keeps_the_network_of_the_last_finite_step():
    "The checkpoint written at a NaN pairs its iteration with that iteration's network, so a resume redoes the step alike."
    colour = toy_dataset(200, side=32, channels=3, n_test=20)
    d = Distiller(recipe("toy", preset="cifar10", method="dc", epochs=2, batch_size=100, eval_every=0, train_epochs=2), colour)
    d.outer_step(); d.outer_step()
    before = {n: p.detach().clone() for n, p in d.method.net.items()}
    real_loss = d.method.outer_loss
    d.method.outer_loss = lambda *a: real_loss(*a) * float("nan")  # the step computes its network, then its loss is NaN
    with pytest.raises(DivergenceError): d.outer_step()
    assert d.iteration == 2 and all(torch.equal(d.method.net[n], before[n]) for n in before)
