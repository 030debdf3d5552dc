"""Shared fixtures. Tests that need the real data sets ask for `data_dir`: it skips when the data are absent,
except under QDD_REQUIRE_DATA=1 (CI), where a missing data set is a failure rather than a silent skip."""
import os
from pathlib import Path

import pytest

from qdd.core import data_root


def _require(path: Path, what: str):
    if path.exists(): return
    msg = f"{what} not found at {path}: set QDD_DATA to the data root (for example ../shared/data)"
    if os.environ.get("QDD_REQUIRE_DATA") == "1": pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    "The data root holding MNIST and the CIFAR-10 JPEG copy."
    root = data_root()
    _require(root / "MNIST" / "raw" / "train-images-idx3-ubyte", "MNIST")
    _require(root / "cifar10-jpeg" / "train", "the CIFAR-10 JPEG copy")
    return root


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    "An empty QDD_CACHE for the duration of one test."
    monkeypatch.setenv("QDD_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def toy_folder(tmp_path_factory) -> str:
    "The `--dataset` of a small image folder made for the module (see helpers.toy_image_folder)."
    from helpers import toy_image_folder
    return f"imagefolder:{toy_image_folder(tmp_path_factory.mktemp('toy'))}"
