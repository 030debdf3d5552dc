"""Forward pass + double backward of the PQC at batch 1024: qdd's torch engine versus the PennyLane reference QNode
(`default.qubit`, backprop, torch interface: how the original code ran the circuit). One step is
loss = mean(out^2); g = grad(loss, circuit parameters, create_graph=True); grad(|g|^2, circuit parameters and inputs).
Prints the median time of each (interleaved repeats after warm-up) and their ratio. `--baseline REV` adds the engine
of git revision REV (same process, interleaved) and the new/old ratio; `--batch 10` is the size of a distilled step.
Usage: python bench/pqc.py [--batch 1024] [--repeats 15] [--baseline REV] [--no-pennylane]"""
import argparse, os, statistics, time, warnings

import torch

from qdd.pqc import PQC, reference_qnode

warnings.filterwarnings("ignore", message=".*non-trainable.*")


def double_backward_step(forward, params, inputs):
    "One forward + double backward through `forward()`."
    grads = torch.autograd.grad(forward().square().mean(), params, create_graph=True)
    torch.autograd.grad(sum(g.square().sum() for g in grads), params + [inputs])


def main(batch=1024, repeats=15, baseline=None, pennylane=True):
    torch.manual_seed(0)
    pqc, qnode = PQC(), reference_qnode()
    z = torch.randn(batch, 64, requires_grad=True)
    params = list(pqc.parameters())
    runs = {"torch engine": lambda: double_backward_step(lambda: pqc(z), params, z)}
    if baseline:
        from step import baseline_engine
        old = baseline_engine(baseline)
        runs[f"torch engine @ {baseline}"] = lambda: double_backward_step(
            lambda: old(z, pqc.weights, pqc.herm_real, pqc.herm_imag), params, z)
    if pennylane:
        runs["PennyLane default.qubit"] = lambda: double_backward_step(
            lambda: torch.stack(qnode(z, pqc.weights, pqc.hermitians()), -1), params, z)
    times = {k: [] for k in runs}
    for f in runs.values(): f(); f()  # warm-up
    for _ in range(repeats):
        for k, f in runs.items():
            t = time.perf_counter(); f(); times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"PQC 6 qubits x 3 layers, trainable Hermitians, complex64, batch {batch}: forward + double backward "
          f"(median of {repeats}; torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f})")
    for k, v in med.items():
        print(f"  {k:24s} {v * 1e3:8.1f} ms   (min {min(times[k]) * 1e3:.1f}, max {max(times[k]) * 1e3:.1f})")
    if pennylane: print(f"  speed-up over PennyLane: {med['PennyLane default.qubit'] / med['torch engine']:.1f}x")
    if baseline:
        print(f"  this engine / engine at {baseline}: {med['torch engine'] / med[f'torch engine @ {baseline}']:.2f}x")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1024); ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--baseline", metavar="REV", help="also time the torch engine of git revision REV")
    ap.add_argument("--no-pennylane", dest="pennylane", action="store_false", help="skip the PennyLane reference")
    main(**vars(ap.parse_args()))
