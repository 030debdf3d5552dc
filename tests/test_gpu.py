"""The GPU path: skipped where torch sees no CUDA device (every CPU-only machine, CI here)."""
import warnings

import pytest
import torch

from reference_cases import CASES, random_dataset, run_case

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
@pytest.mark.parametrize("name", ["mnist-qlenet", "cifar10-qlenet", "cifar10-lenet"])
def test_cuda_matches_the_cpu(name):
    "A few outer iterations on the GPU give the CPU's numbers up to float rounding (different kernels)."
    cpu, gpu = run_case(**CASES[name]), run_case(**CASES[name], device="cuda")
    torch.testing.assert_close(torch.tensor(gpu["losses"]), torch.tensor(cpu["losses"]), rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(gpu["lrs"].cpu(), cpu["lrs"], rtol=1e-3, atol=1e-5)


@cuda
def test_an_outer_iteration_waits_for_the_device_once():
    "The training set lives on the GPU and the iteration's only synchronisation is reading its loss."
    from qdd.distill import Distiller, recipe
    d = Distiller(recipe("random3x32", preset="cifar10", model="qlenet", batch_size=64, epochs=1, eval_every=0),
                  random_dataset(3, 32), device="cuda")
    assert d.train_x.is_cuda and d.train_y.is_cuda
    d.outer_step()  # warm-up: first calls initialise CUDA state
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            d.outer_step()
    finally: torch.cuda.set_sync_debug_mode("default")
    syncs = [w for w in caught if "synchroniz" in str(w.message)]
    assert len(syncs) <= 1, [str(w.message) for w in syncs]


def test_the_device_is_recorded():
    "Every run records its thread policy and device, on any machine."
    from qdd.distill import Distiller, recipe
    d = Distiller(recipe("random1x28", preset="mnist", model="lenet", batch_size=64, epochs=1, eval_every=0),
                  random_dataset(1, 28), device="cpu")
    assert d.threads["device"] == "cpu" and d.threads["threads"] >= 1
    assert d.result().history["threads"] == d.threads
