"""Small data sets made on the fly, so distillation and command-line tests need no downloaded files."""
from pathlib import Path

import torch

from qdd.data import _write_png


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


# a distillation of a few seconds on a toy image folder (see toy_image_folder)
TINY = ["--model", "lenet", "--steps", "1", "--passes", "2", "--epochs", "1", "--batch-size", "40", "--eval-every", "0",
        "--no-progress"]
