"""Write tests/data/reference_steps.pt: a few outer distillation iterations of every model on seeded random data,
as computed by the code of the commit this is run on. tests/test_reference_steps.py compares today's code with it,
so a speed-up that changes the numbers beyond float tolerance fails. Rerun only when a change of the numbers is
intended, and say why in the commit.
Usage: python tools/make_reference_steps.py"""
import sys, warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent/"tests"))
from reference_cases import CASES, run_case  # noqa: E402

warnings.filterwarnings("ignore", message=".*non-trainable.*")

if __name__ == "__main__":
    from qdd.core import code_version, configure_threads, save_torch
    configure_threads(1)
    out = {name: run_case(**case) for name, case in CASES.items()}
    out["code_version"] = code_version()
    save_torch(out, Path(__file__).resolve().parent.parent/"tests"/"data"/"reference_steps.pt")
    print({k: v["losses"] for k, v in out.items() if k != "code_version"})
