"""One distillation-style step for LeNet and the quantum LeNet on MNIST-shaped random data: 3 unrolled SGD steps
(graph kept) on 10 learnable images with 3 learnable step sizes, then cross-entropy of the stepped model on a real
batch of 1024, backward to the images and the step sizes. Prints the median time of each (interleaved repeats after
warm-up) and their ratio.
Usage: python bench/models.py [--batch 1024] [--repeats 9]"""
import argparse, os, statistics, time, warnings

import torch
import torch.nn.functional as F

from qdd.models import functional_forward, make_model, trainable_params

warnings.filterwarnings("ignore", message=".*non-trainable.*")


def distillation_step(model, images, labels, lrs, x_real, y_real):
    "Unrolled inner SGD steps on the learnable images, then the outer loss backward."
    params = trainable_params(model)
    for lr in lrs:
        loss = F.cross_entropy(functional_forward(model, params, images), labels)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        params = {k: p - lr * g for (k, p), g in zip(params.items(), grads)}
    F.cross_entropy(functional_forward(model, params, x_real), y_real).backward()


def main(batch=1024, repeats=9):
    torch.manual_seed(0)
    images = torch.randn(10, 1, 28, 28, requires_grad=True)
    lrs = torch.full((3,), 0.02, requires_grad=True)
    x_real, y_real = torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    models = {"LeNet": make_model("lenet"), "QuantumLeNet": make_model("qlenet")}
    step = lambda m: distillation_step(m, images, torch.arange(10), lrs, x_real, y_real)
    times = {k: [] for k in models}
    for m in models.values(): step(m); step(m)  # warm-up
    for _ in range(repeats):
        for k, m in models.items():
            images.grad = lrs.grad = None
            t = time.perf_counter(); step(m); times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"distillation step, MNIST shape, 10 images x 3 unrolled steps, real batch {batch} (median of {repeats}; "
          f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f})")
    for k, v in med.items():
        print(f"  {k:14s} {v * 1e3:8.1f} ms   (min {min(times[k]) * 1e3:.1f}, max {max(times[k]) * 1e3:.1f})")
    print(f"  QuantumLeNet / LeNet: {med['QuantumLeNet'] / med['LeNet']:.2f}x")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1024); ap.add_argument("--repeats", type=int, default=9)
    main(**vars(ap.parse_args()))
