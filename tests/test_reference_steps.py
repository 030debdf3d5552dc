"""Today's distillation against tests/data/reference_steps.pt, written by tools/make_reference_steps.py from the code
before the speed work (channels-last, pool-before-ReLU, the pure functional forward): the numbers must not move beyond
float rounding."""
from pathlib import Path

import pytest
import torch

from reference_cases import CASES, run_case

REFERENCE = torch.load(Path(__file__).parent/"data"/"reference_steps.pt", weights_only=True)
# Measured on one AMD EPYC (AVX-512) under four instruction paths (machine's choice; ATEN_CPU_CAPABILITY=avx2;
# ONEDNN_MAX_CPU_ISA=AVX2; both): the first two outer losses agree to 2.1e-7 relative in every case, which is rounding,
# so they are held to 1e-4. Later iterations amplify rounding: with both variables set, CIFAR-10 LeNet's losses drift
# 1.7e-5 then 4.2e-3 relative, its lrs 4.7e-3, its images 2.1e-2 (AlexCifarNet's images 1.3e-3 with oneDNN AVX2;
# every other case within 4e-5). The whole trajectory is held to about 4x those for losses and lrs and 2x for the
# images, which 4 Adam steps of 0.01 move by about 0.04 at most: that check is weak, the early losses carry the sharp
# one.
EARLY, LOSS_RTOL, LRS_RTOL, IMAGES_ATOL = 2, 2e-2, 2e-2, 0.04


@pytest.mark.parametrize("name", list(CASES))
def test_outer_iterations_match_the_reference(name):
    got, want = run_case(**CASES[name]), REFERENCE[name]
    early = lambda r: torch.tensor(r["losses"][:EARLY])
    torch.testing.assert_close(early(got), early(want), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.tensor(got["losses"]), torch.tensor(want["losses"]), rtol=LOSS_RTOL, atol=1e-5)
    torch.testing.assert_close(got["lrs"], want["lrs"], rtol=LRS_RTOL, atol=1e-6)
    torch.testing.assert_close(got["images"], want["images"], rtol=0, atol=IMAGES_ATOL)


def test_the_reference_is_sensitive():
    "A changed recipe (another seed) gives other numbers, so the comparison above can fail."
    got = run_case(**CASES["mnist-lenet"], seed=4)
    assert not torch.allclose(got["images"], REFERENCE["mnist-lenet"]["images"], atol=IMAGES_ATOL)
