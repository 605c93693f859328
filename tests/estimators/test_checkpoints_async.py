"""Background checkpoint writes: snapshots, ordering, errors, and readers that wait."""

from __future__ import annotations

import pytest
import torch

from petri.training import checkpoints as ckpt


def _state(step: int, weight: torch.Tensor) -> dict:
    return {"global_step": step, "model": {"w": weight}, "optimizer": {"state": {0: [weight]}}}


def test_async_save_snapshots_the_state_before_returning(tmp_path):
    weight = torch.zeros(1000)
    path = ckpt.save_checkpoint_async(tmp_path, _state(3, weight))
    weight.add_(1.0)  # training goes on changing the live tensor
    loaded = ckpt.load_checkpoint(path)  # waits for the write
    assert loaded["global_step"] == 3
    assert torch.count_nonzero(loaded["model"]["w"]) == 0
    assert torch.count_nonzero(loaded["optimizer"]["state"][0][0]) == 0


def test_async_saves_land_in_order_and_prune(tmp_path):
    for step in range(1, 11):
        ckpt.save_checkpoint_async(tmp_path, _state(step, torch.full((10,), float(step))), 3)
    paths = ckpt.list_checkpoints(tmp_path)
    assert [ckpt.checkpoint_step(p) for p in paths] == [8, 9, 10]
    assert ckpt.load_checkpoint(paths[-1])["model"]["w"][0] == 10.0
    assert not list(tmp_path.glob("*.tmp"))


def test_background_write_error_surfaces_at_the_next_read(tmp_path, monkeypatch):
    def broken_save(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(ckpt.torch, "save", broken_save)
    ckpt.save_checkpoint_async(tmp_path, _state(1, torch.zeros(3)))
    ckpt.save_checkpoint_async(tmp_path, _state(2, torch.zeros(3)))
    with pytest.raises(OSError, match="No space left"):
        ckpt.wait_for_checkpoints(tmp_path)
    monkeypatch.undo()
    assert ckpt.list_checkpoints(tmp_path) == []  # nothing half-written was left behind
    assert not list(tmp_path.glob("*.tmp"))
    ckpt.save_checkpoint(tmp_path, _state(3, torch.zeros(3)))  # and saving works again
    assert [ckpt.checkpoint_step(p) for p in ckpt.list_checkpoints(tmp_path)] == [3]
