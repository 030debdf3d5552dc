"""Core plumbing: atomic writes survive crashes, seeding reproduces, paths follow the environment."""
import os
import stat
from pathlib import Path

import pytest
import torch

from qdd.core import data_candidates, atomic_write, data_root, save_json, seed_everything


def test_a_crash_inside_atomic_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    save_json({"test_acc": 91.0}, target)
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as f:
            f.write('{"test_acc": ')
            raise RuntimeError("killed")
    assert target.read_text().strip().endswith("}") and "91.0" in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_atomic_files_get_ordinary_permissions(tmp_path):
    save_json({}, tmp_path / "a.json")
    mode = stat.S_IMODE(os.stat(tmp_path / "a.json").st_mode)
    assert mode & stat.S_IRGRP and mode & stat.S_IROTH


def test_seeding_reproduces_torch_draws():
    seed_everything(5); a = torch.randn(4)
    seed_everything(5); b = torch.randn(4)
    assert torch.equal(a, b)


def test_data_root_follows_QDD_DATA(monkeypatch, tmp_path):
    monkeypatch.setenv("QDD_DATA", str(tmp_path))
    assert data_root() == tmp_path
    monkeypatch.delenv("QDD_DATA")
    monkeypatch.chdir(tmp_path)  # no ./data here: the first existing candidate, else ./data
    assert data_root() == next((p for p in data_candidates() if p.is_dir()), Path("data"))
    (tmp_path/"data").mkdir()
    assert data_root() == Path("data")  # ./data comes first
