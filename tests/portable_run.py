"""Print, as JSON, the SHA-256 of the final tensors of a short portable distillation: 3 outer iterations of LeNet and
of the quantum LeNet on seeded random MNIST-shaped data (no files needed), with the provenance of the run. The
portable mode is entered before torch starts, so run this file in a fresh interpreter: `python tests/portable_run.py`.
tests/data/portable_reference.json holds what tools/make_portable_reference.py recorded; tests/test_portable.py
compares."""
import sys
from pathlib import Path

from qdd.provenance import enter_portable

enter_portable()  # before torch: the variables are read when it starts

import hashlib, json, warnings  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_cases import run_case  # noqa: E402

CASES = {"mnist-lenet": dict(model="lenet", shape=(1, 28), preset="mnist", iterations=3),
         "mnist-qlenet": dict(model="qlenet", shape=(1, 28), preset="mnist", hermitian="trainable", iterations=3)}


def sha(t) -> str:
    return hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()


def portable_hashes() -> dict:
    "Case -> hashes of the final images, learned lrs and the outer losses (float32 values)."
    import torch
    from qdd.core import configure_threads
    configure_threads(1)
    out = {}
    for name, case in CASES.items():
        r = run_case(**case)
        out[name] = dict(images=sha(r["images"]), lrs=sha(r["lrs"]), losses=sha(torch.tensor(r["losses"])),
                         loss=r["losses"][-1])
    return out


if __name__ == "__main__":
    warnings.filterwarnings("ignore", message=".*non-trainable.*")
    from qdd.provenance import provenance
    print(json.dumps(dict(hashes=portable_hashes(), provenance=provenance())))
