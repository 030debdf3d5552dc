"The cases of tests/data/reference_steps.pt: a few outer iterations per model on seeded random data."
import torch

CASES = {
    "mnist-lenet": dict(model="lenet", shape=(1, 28), preset="mnist"),
    "mnist-qlenet": dict(model="qlenet", shape=(1, 28), preset="mnist", hermitian="trainable"),
    "mnist-qlenet-fixed": dict(model="qlenet", shape=(1, 28), preset="mnist", hermitian="fixed"),
    "cifar10-qlenet": dict(model="qlenet", shape=(3, 32), preset="cifar10", hermitian="trainable", steps=2),
    "cifar10-lenet": dict(model="lenet", shape=(3, 32), preset="cifar10", steps=2),
    "cifar10-alexcifarnet": dict(model="alexcifarnet", shape=(3, 32), preset="cifar10", steps=1),
}


def random_dataset(channels, side, n=320, seed=0):
    "A seeded random 10-class data set (pure noise) with CIFAR-like normalisation (colour batches get augmented)."
    from qdd.data import toy_dataset
    return toy_dataset(n, side=side, channels=channels, seed=seed, signal=0, n_test=0, mean=0.5, std=0.25,
                       name=f"random{channels}x{side}")


def run_case(model, shape, preset, iterations=4, seed=3, device="cpu", **opts):
    "Losses, images and learned lrs after `iterations` outer steps (batch 64)."
    from qdd.distill import Distiller, recipe
    cfg = recipe(f"random{shape[0]}x{shape[1]}", preset=preset, model=model, batch_size=64, epochs=1, eval_every=0,
                 seed=seed, **opts)
    d = Distiller(cfg, random_dataset(*shape), device=device)
    losses = [d.outer_step() for _ in range(iterations)]
    return dict(losses=losses, images=d.images.detach().cpu().clone(), lrs=d.lrs.detach().cpu().clone())
