"""Write tests/data/portable_reference.json: the SHA-256 of the final tensors of a short portable distillation
(tests/portable_run.py: 3 outer iterations of LeNet and of the quantum LeNet on seeded random MNIST-shaped data), with
the provenance of the run that made it (code version, packages, CPU, kernels) and this command. In the portable mode
these bits do not depend on the x86 CPU, so tests/test_portable.py lets a reader's machine check itself against them.
Rerun only when a change of the numbers is intended (or the pinned torch changes), from committed code, and say why.
Usage: python tools/make_portable_reference.py"""
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(ROOT/"tests"/"portable_run.py")], env=env, check=True,
                         capture_output=True, text=True)
    run = json.loads(out.stdout)
    if not run["provenance"]["code_clean"]:
        sys.exit("commit first: a reference made from uncommitted code cannot be traced")
    run["command"] = "python tools/make_portable_reference.py"
    (ROOT/"tests"/"data"/"portable_reference.json").write_text(json.dumps(run, indent=1) + "\n")
    print(json.dumps(run["hashes"], indent=1))
