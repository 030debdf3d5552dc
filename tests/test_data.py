"""The data layer against the real files: loading, caching, corruption, image folders, sampling, augmentation."""
import warnings

import pytest
import torch

from qdd.core import ConfigError
from qdd.data import (DataError, _IDX_FILES, augment, epoch_batches, load_dataset, normalize, sample_per_class)

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def test_mnist_loads_normalised_and_the_cache_gives_the_same_tensors(data_dir, fresh_cache):
    first = load_dataset("mnist")
    assert len(list(fresh_cache.glob("mnist-*.pt"))) == 1
    second = load_dataset("mnist")
    assert first.train_x.shape == (60000, 1, 28, 28) and first.test_y.shape == (10000,)
    assert torch.equal(first.train_x, second.train_x) and torch.equal(first.test_y, second.test_y)
    assert first.mean == (0.1307,) and first.std == (0.3081,)
    assert abs(first.train_x.mean().item()) < 0.01 and abs(first.train_x.std().item() - 1) < 0.01
    assert first.train_y.bincount().tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def _truncate(data: bytes) -> bytes: return data[:1000]  # as by a crash mid-write
def _flip_a_pixel(data: bytes) -> bytes:  # as by a bad disk sector: the file still loads, with one pixel changed
    at = len(data) // 2
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


@pytest.mark.parametrize("damage, words", [(_truncate, "not a readable data cache"), (_flip_a_pixel, "does not match the sha256")])
def test_a_damaged_cache_is_reported_moved_aside_and_rebuilt_not_used(data_dir, fresh_cache, damage, words):
    reference = load_dataset("mnist")
    cache_file, = fresh_cache.glob("mnist-*.pt")
    damaged = damage(cache_file.read_bytes())
    cache_file.write_bytes(damaged)
    with pytest.warns(UserWarning, match=words):
        again = load_dataset("mnist")
    assert torch.equal(again.train_x, reference.train_x) and torch.equal(again.test_y, reference.test_y)
    assert cache_file.with_suffix(".damaged").read_bytes() == damaged  # kept for inspection
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset("mnist")  # the rebuilt cache is healthy


def test_cifar10_jpeg_copy_loads_as_an_image_folder_in_cifar10_class_order(data_dir):
    ds = load_dataset(f"imagefolder:{data_dir / 'cifar10-jpeg'}")
    assert ds.classes == CIFAR10_CLASSES
    assert ds.train_x.shape == (50000, 3, 32, 32) and ds.test_x.shape == (10000, 3, 32, 32)
    assert ds.train_y.bincount().tolist() == [5000] * 10 and ds.test_y.bincount().tolist() == [1000] * 10
    assert all(abs(m - c) < 0.01 for m, c in zip(ds.mean, (0.4914, 0.4822, 0.4465)))  # near CIFAR-10's own


def test_missing_data_names_the_files_the_folder_and_the_fixes(tmp_path):
    with pytest.raises(DataError) as e:
        load_dataset("mnist", root=tmp_path, cache=False)
    msg = str(e.value)
    assert "train-images-idx3-ubyte" in msg and str(tmp_path / "MNIST" / "raw") in msg
    assert "QDD_DATA" in msg and "download=True" in msg


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="mnist, fashion_mnist, cifar10 or 'imagefolder:PATH'"):
        load_dataset("svhn")


def test_truncated_idx_file_is_reported_as_corrupt(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, size in _IDX_FILES.items():
        (raw / name).write_bytes(b"\0" * (size // 2 if name.startswith("train-images") else size))
    with pytest.raises(DataError, match="train-images-idx3-ubyte is corrupt"):
        load_dataset("mnist", root=tmp_path, cache=False)


def test_image_folder_with_an_undecodable_image_names_the_file(tmp_path):
    from qdd.data import _write_png
    for split in ("train", "test"):
        for c in ("a", "b"):
            _write_png(torch.zeros(3, 4, 4, dtype=torch.uint8), tmp_path / split / c / "0.png")
    (tmp_path / "train" / "b" / "1.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="1.png"):
        load_dataset(f"imagefolder:{tmp_path}", cache=False)


def test_sampling_is_class_balanced_seeded_and_without_replacement():
    labels = torch.arange(10).repeat(50)
    a = sample_per_class(labels, 5, torch.Generator().manual_seed(1))
    b = sample_per_class(labels, 5, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and len(set(a.tolist())) == 50
    assert labels[a].tolist() == [c for c in range(10) for _ in range(5)]
    with pytest.raises(ConfigError):
        sample_per_class(labels, 0)


def test_augmentation_keeps_shape_and_crops_are_shifted_windows_of_the_padded_image():
    from qdd.data import DataSet
    x = torch.randn(64, 3, 32, 32)
    ds = DataSet("t", x, torch.zeros(64, dtype=torch.long), x, torch.zeros(64, dtype=torch.long),
                 (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), ["c"])
    out = augment(ds, x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4), mode="reflect")  # Wang et al.'s CIFAR-10 loader mirrors the edges
    for img, src in zip(out, padded):
        windows = [src[:, i:i + 32, j:j + 32] for i in range(9) for j in range(9)]
        assert any(torch.equal(img, w) or torch.equal(img, w.flip(-1)) for w in windows)
    assert not torch.equal(out, x)


def test_epoch_batches_cover_the_set_once():
    batches = epoch_batches(1000, 128, torch.Generator().manual_seed(0))
    flat = torch.cat(batches)
    assert len(batches) == 7 and len(set(flat.tolist())) == 7 * 128


def test_normalize_matches_the_torchvision_definition():
    raw = torch.randint(0, 256, (2, 1, 5, 5), dtype=torch.uint8)
    assert torch.allclose(normalize(raw, (0.1307,), (0.3081,)), (raw.float() / 255 - 0.1307) / 0.3081, atol=1e-6)
