"""Today's distillation against tests/data/reference_steps.pt, written by tools/make_reference_steps.py from the code
before the speed work (channels-last, pool-before-ReLU, the pure functional forward): the numbers must not move beyond
float rounding."""
from pathlib import Path

import pytest
import torch

from reference_cases import CASES, run_case

REFERENCE = torch.load(Path(__file__).parent/"data"/"reference_steps.pt", weights_only=True)


@pytest.mark.parametrize("name", list(CASES))
def test_outer_iterations_match_the_reference(name):
    got, want = run_case(**CASES[name]), REFERENCE[name]
    torch.testing.assert_close(torch.tensor(got["losses"]), torch.tensor(want["losses"]), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(got["lrs"], want["lrs"], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(got["images"], want["images"], rtol=0, atol=1e-3)


def test_the_reference_is_sensitive():
    "A changed recipe (another seed) gives other numbers, so the comparison above can fail."
    got = run_case(**CASES["mnist-lenet"], seed=4)
    assert not torch.allclose(got["images"], REFERENCE["mnist-lenet"]["images"], atol=1e-3)
