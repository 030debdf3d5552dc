"""Issue 26, damaged files: distilled sets, checkpoints and seed records carry a content hash, checked on every load.
A damaged file is refused by name with a fix that works where it lies, and it is kept; values no run writes are
refused; files written before the hash existed (the committed archive) still load."""
import dataclasses
import json
from pathlib import Path

import pytest
import torch

from qdd.cli import main
from qdd.config import recipe
from qdd.core import HASH_KEY, FileFormatError, load_file, save_torch
from qdd.data import toy_dataset
from qdd.distilled import load_distilled, save_distilled
from qdd.seeds import archive_records, read_study, restore_records, run_seed
from test_bad_input import TINY, copy_run, fails, folder, private_cache, run  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parent.parent


def flip_bit(path: Path, tensor: torch.Tensor) -> bytes:
    "Flip the lowest bit of the first byte of `tensor`'s data inside the torch file `path`; the damaged bytes."
    raw = bytearray(path.read_bytes())
    at = raw.find(tensor.contiguous().numpy().tobytes())
    assert at >= 0, "the tensor's data is stored as it is in the file"
    raw[at] ^= 0x01
    path.write_bytes(raw)
    return bytes(raw)


def distill(folder, out, *extra):
    return main(["distill", "--dataset", folder, *TINY, *extra, "--out", str(out)])


# --- distilled sets ------------------------------------------------------------------------------------------------

def test_one_flipped_bit_in_a_distilled_set_is_refused_kept_and_rewritten_as_the_message_says(folder, run, tmp_path,
                                                                                               capsys):
    out = copy_run(run, tmp_path / "d")
    good = load_distilled(out)
    damaged = flip_bit(out / "distilled.pt", good.images)
    fails(["evaluate", str(out)], capsys, f"{out / 'distilled.pt'} is a damaged distilled set (its content does not "
          "match the sha256 written with it", "kept as it is for inspection", "rerun the distillation that made it")
    assert (out / "distilled.pt").read_bytes() == damaged  # kept for inspection
    assert distill(folder, out) == 0  # the fix: the same command writes the set again from the run's checkpoint
    again = load_distilled(out)
    assert torch.equal(again.images, good.images) and torch.equal(again.lrs, good.lrs)


@pytest.mark.parametrize("change, why", [
    (lambda d: dict(lrs=torch.full_like(d.lrs, float("nan"))), "learning rate nan at step 1; a run writes finite lrs"),
    (lambda d: dict(lrs=-d.lrs), "at step 1; a run writes finite lrs >= 0"),
    (lambda d: dict(lrs=torch.full_like(d.lrs, float("inf"))), "learning rate inf at step 1"),
    (lambda d: dict(labels=d.labels + 10), "outside the 10 classes 0..9"),
    (lambda d: dict(images=d.images * float("nan")), "images with NaN or infinite pixels"),
])
def test_a_distilled_set_with_values_no_run_writes_is_refused(run, tmp_path, capsys, change, why):
    good = load_distilled(run)
    save_distilled(dataclasses.replace(good, **change(good)), tmp_path / "distilled.pt")  # hashed: only values wrong
    fails(["evaluate", str(tmp_path)], capsys, f"{tmp_path / 'distilled.pt'} is a damaged distilled set", why)


# --- checkpoints ---------------------------------------------------------------------------------------------------

def test_a_checkpoint_with_a_flipped_bit_is_refused_and_moved_aside_the_run_starts_over(folder, run, tmp_path, capsys):
    out = copy_run(run, tmp_path / "d")
    ck = out / "checkpoint.pt"
    damaged = flip_bit(ck, load_file(ck, "checkpoint", "")["raw_lrs"])
    err = fails(["distill", "--dataset", folder, *TINY, "--out", str(out)], capsys,
                f"{ck} is a damaged checkpoint (its content does not match the sha256", f"`mv {ck} {ck}.damaged`",
                "starts over from iteration 0")
    assert "\n" not in err.strip()  # one line
    assert ck.read_bytes() == damaged
    ck.rename(f"{ck}.damaged")  # what the message says
    assert distill(folder, out) == 0
    # started over from 0 and, being deterministic, ended where the first run did
    assert torch.equal(load_distilled(out).images, load_distilled(run).images)
    assert Path(f"{ck}.damaged").read_bytes() == damaged  # still there for inspection


@pytest.mark.parametrize("change, why", [
    (dict(iteration=-1), "iteration -1; a run writes a whole number >= 0"),
    (dict(iteration=0.5), "iteration 0.5"),
    (dict(executions=-3), "executions -3"),
    (dict(seconds=float("nan")), "seconds nan"),
])
def test_a_checkpoint_with_values_no_run_writes_is_refused(folder, run, tmp_path, capsys, change, why):
    out = copy_run(run, tmp_path / "d")
    state = load_file(out / "checkpoint.pt", "checkpoint", "")
    save_torch({**state, **change}, out / "checkpoint.pt")
    fails(["distill", "--dataset", folder, *TINY, "--out", str(out)], capsys,
          f"{out / 'checkpoint.pt'} is a damaged checkpoint", why)


def test_a_checkpoint_with_nan_learning_rates_is_refused(folder, run, tmp_path, capsys):
    out = copy_run(run, tmp_path / "d")
    state = load_file(out / "checkpoint.pt", "checkpoint", "")
    save_torch({**state, "raw_lrs": state["raw_lrs"] * float("nan")}, out / "checkpoint.pt")
    fails(["distill", "--dataset", folder, *TINY, "--out", str(out)], capsys, "NaN or infinite values in raw_lrs")


# --- seed records --------------------------------------------------------------------------------------------------

STUDY_BASE = dict(dataset="toy", preset="mnist", model="lenet", epochs=1, batch_size=100, eval_every=1)


def read_v(root: Path) -> dict:
    "The study's records under `root`: its one variant, v, and seed 0."
    return read_study(STUDY_BASE, {"v": {}}, [0], root)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    "A one-seed study run (root) and its archive."
    root, archive = tmp_path_factory.mktemp("study"), tmp_path_factory.mktemp("archive")
    cfg = recipe(**STUDY_BASE, seed=0)
    run_seed(cfg, root / "v" / "seed0", toy_dataset(200, n_test=50))
    archive_records(root, archive)
    return root, archive, cfg


def damage_record(path: Path) -> str:
    "Change one digit of the final accuracy in the JSON record at `path` (still valid JSON); the damaged text."
    text = path.read_text()
    acc = json.loads(text)["final_test_acc"]
    damaged = text.replace(f'"final_test_acc": {acc}', f'"final_test_acc": {acc + 1}', 1)
    assert damaged != text
    path.write_text(damaged)
    return damaged


def test_a_damaged_record_in_a_run_folder_is_refused_and_deleting_it_restores_the_archived_copy(study, tmp_path):
    root, archive, _ = study
    fresh = tmp_path / "runs"
    restore_records(archive, fresh)
    rec = fresh / "v" / "seed0" / "record.json"
    damaged = damage_record(rec)
    with pytest.raises(FileFormatError, match="record.json is a damaged seed record") as e:
        read_v(fresh)
    assert str(rec) in str(e.value) and "delete it: the paper runner puts back the copy archived" in str(e.value)
    assert rec.read_text() == damaged
    rec.unlink()  # the fix
    assert restore_records(archive, fresh) == 1
    assert read_v(fresh) == read_v(root) and len(read_v(root)["v"]) == 1


def test_a_damaged_archived_record_is_named_where_it_can_be_mended_not_restored(study, tmp_path):
    _, archive, _ = study
    kept = tmp_path / "archive"
    (kept / "v").mkdir(parents=True)
    (kept / "v" / "seed0.json").write_text((archive / "v" / "seed0.json").read_text())
    damaged = damage_record(kept / "v" / "seed0.json")
    with pytest.raises(FileFormatError, match="is a damaged archived seed record") as e:
        restore_records(kept, tmp_path / "runs")
    assert f"git checkout -- {kept / 'v' / 'seed0.json'}" in str(e.value)
    assert not (tmp_path / "runs" / "v" / "seed0" / "record.json").exists()  # the damage is not spread
    assert (kept / "v" / "seed0.json").read_text() == damaged


def test_a_deleted_run_record_without_an_archive_is_recomputed_from_the_checkpoint(study, tmp_path):
    root, _, cfg = study
    folder = copy_run(root / "v" / "seed0", tmp_path / "seed0")
    before = load_file(folder / "record.json", "seed record", "")
    damage_record(folder / "record.json")
    with pytest.raises(FileFormatError, match="delete it"):
        run_seed(cfg, folder, toy_dataset(200, n_test=50))
    (folder / "record.json").unlink()
    run_seed(cfg, folder, toy_dataset(200, n_test=50))
    after = load_file(folder / "record.json", "seed record", "")
    assert [after[k] for k in ("final_test_acc", "evals", "iterations")] == \
        [before[k] for k in ("final_test_acc", "evals", "iterations")]


# --- files from before the hash ------------------------------------------------------------------------------------

def test_files_written_before_the_hash_still_load(folder, run, tmp_path):
    out = copy_run(run, tmp_path / "d")
    for name in ("distilled.pt", "checkpoint.pt"):  # rewritten as older code wrote them: no digest
        content = torch.load(out / name, weights_only=True)
        assert HASH_KEY in content
        torch.save({k: v for k, v in content.items() if k != HASH_KEY}, out / name)
    assert torch.equal(load_distilled(out).images, load_distilled(run).images)
    assert distill(folder, out) == 0  # resumes the unhashed checkpoint (at its end)
    archived = sorted((ROOT / "results" / "seeds").glob("*/*/seed*.json"))
    legacy = [p for p in archived if HASH_KEY not in json.loads(p.read_text())]  # committed before files had a digest
    assert len(legacy) >= 100 and len(legacy) < len(archived)  # and the records made since carry one
    for p in archived: load_file(p, "seed record", "")
