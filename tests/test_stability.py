"""Stability instrumentation: records every iteration, catches and counts divergence, sweeps and resumes."""
import pytest
import torch

from qdd.core import ConfigError
from qdd.distill import Distiller, recipe
from qdd.stability import (LossBlowUp, Probe, divergence_table, hermitian_eigenvalues, instrumented_run, scaled,
                           stability_figures, stability_sweep, stability_table)
from qdd.data import toy_dataset


def cfg(**kw):
    return recipe("mnist", **{"model": "qlenet", "epochs": 2, "batch_size": 50, "eval_every": 0, **kw})


def test_a_run_records_loss_gradients_and_the_spectrum_of_w_T():
    run = instrumented_run(cfg(), toy_dataset(200))
    assert run.diverged is None and len(run.records) == 8 and run.test_acc is not None
    first, last = run.records[0], run.records[-1]
    assert first["grad_images"] > 0 and first["grad_lrs"] > 0 and len(first["lrs"]) == 3
    assert len(first["eigenvalues"]) == 6 and first["spread"] > 0
    assert first["spread"] != last["spread"]  # a trainable Hermitian moves with w_T


def test_eigenvalues_come_from_w_T_when_trainable_and_from_the_buffers_otherwise():
    ds = toy_dataset(200)
    d = Distiller(cfg(hermitian="trainable"), ds); d.outer_step()
    w0 = torch.linalg.eigvalsh(d.model.pqc.hermitians().detach().to(torch.complex128))
    assert not torch.allclose(hermitian_eigenvalues(d), w0)  # the inner steps moved A
    f = Distiller(cfg(hermitian="fixed"), ds); f.outer_step()
    assert torch.allclose(hermitian_eigenvalues(f),
                          torch.linalg.eigvalsh(f.model.pqc.hermitians().detach().to(torch.complex128)))


def test_nan_divergence_is_caught_recorded_and_counted():
    ds = toy_dataset(200)
    runs = stability_sweep(ds, modes=("trainable", "fixed"), multipliers=(1,), epochs=2, train_subset=None,
                           batch_size=50, distill_lr=1e9, progress=False)
    assert all(r.diverged == "nan" for r in runs)
    table = divergence_table(runs)
    assert [(r["hermitian"], r["diverged"], r["rate"], r["nan"]) for r in table] == [("trainable", 1, 1.0, 1),
                                                                                     ("fixed", 1, 1.0, 1)]


def test_a_loss_blow_up_stops_the_run_and_is_counted():
    probe = Probe(blowup=10.0)
    probe._check(0, 2.0, True)
    with pytest.raises(LossBlowUp, match="first-epoch mean"):
        probe._check(1, 25.0, False)
    assert probe.blowups == [1]
    keep_going = Probe(stop_on_blowup=False)
    for i, loss in enumerate([2.0, 2.0, 30.0, 2.0]): keep_going._check(i, loss, i < 2)
    assert keep_going.blowups == [2]


def test_the_multiplier_scales_both_learning_rates_and_bad_input_is_refused():
    c = scaled(cfg(), 2)
    assert (c.lr, c.distill_lr) == (0.02, 0.04)
    with pytest.raises(ConfigError, match="unknown Hermitian mode"):
        stability_sweep(toy_dataset(200), modes=("learned",))
    with pytest.raises(ConfigError, match="blowup must be > 1"):
        stability_sweep(toy_dataset(200), blowup=0.5)


def test_a_sweep_resumes_from_its_cache_and_draws_its_figures(tmp_path):
    ds = toy_dataset(200)
    kw = dict(seeds=(0,), multipliers=(1, 2), epochs=1, train_subset=None, batch_size=100, cache=tmp_path,
              progress=False)
    runs = stability_sweep(ds, **kw)
    assert len(runs) == 6 and len(list(tmp_path.glob("*.json"))) == 6
    assert [r.records for r in stability_sweep(ds, **kw)] == [r.records for r in runs]
    assert {r["hermitian"] for r in stability_table(runs)} == {"trainable", "fixed", "pauliz"}
    assert set(stability_figures(runs)) == {"losses", "grad_images", "grad_lrs", "spread", "divergence"}
