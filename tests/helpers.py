"""Small data sets made on the fly, so distillation and command-line tests need no downloaded files."""
from pathlib import Path

import torch

from qdd.data import DataSet, _write_png


def toy_dataset(n_per_class=20, size=28, channels=1, seed=0) -> DataSet:
    "A 10-class data set of noisy images whose mean brightness encodes the class."
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(10).repeat_interleave(n_per_class)
    x = torch.randn(len(y), channels, size, size, generator=g) * 0.5 + (y.float() / 4.5 - 1).view(-1, 1, 1, 1)
    return DataSet("toy", x, y, x.clone(), y.clone(), (0.0,) * channels, (1.0,) * channels, [f"c{i}" for i in range(10)])


def toy_image_folder(root: Path, n_train=12, n_test=4, size=28) -> Path:
    "An image folder `root/{train,test}/c<k>/<i>.png` of grey-level class images; returns `root`."
    g = torch.Generator().manual_seed(0)
    for split, n in (("train", n_train), ("test", n_test)):
        for c in range(10):
            for i in range(n):
                level = 20 + 22 * c
                img = (level + torch.randint(-15, 16, (3, size, size), generator=g)).clamp(0, 255).to(torch.uint8)
                _write_png(img, root / split / f"c{c}" / f"{i}.png")
    return root
