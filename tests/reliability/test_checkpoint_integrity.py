"""Checkpoints verify themselves: a damaged newest one is set aside and the previous one used."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from petri.data import numpy_input_fn
from petri.estimators import Estimator
from petri.models import Classifier
from petri.training import checkpoints as ckpt


def _estimator(model_dir: Path) -> Estimator:
    model = Classifier(
        graph_fn=[["FullyConnected", {"num_units": 2}]], n_classes=2, optimizer_config="adam"
    )
    config = {"save_checkpoints_steps": 5, "save_checkpoints_secs": None, "seed": 0}
    return Estimator(model, model_dir=str(model_dir), config=config)


def _train(model_dir: Path, steps: int) -> Estimator:
    x = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
    estimator = _estimator(model_dir)
    estimator.train(numpy_input_fn(x, (x[:, 0] > 0).astype(np.int64), 16, None), steps=steps)
    ckpt.wait_for_checkpoints(model_dir)
    return estimator


@pytest.mark.parametrize(
    "damage",
    ["flip", "truncate", "empty", "garbage"],
)
def test_a_damaged_newest_checkpoint_gives_way_to_the_previous(
    tmp_path: Path, damage: str, caplog
) -> None:
    _train(tmp_path, 10)
    newest = tmp_path / "model.ckpt-10.pt"
    data = bytearray(newest.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x10
    elif damage == "truncate":
        data = data[: len(data) // 3]
    elif damage == "empty":
        data = bytearray()
    else:
        data = bytearray(b"not a checkpoint at all")
    newest.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="petri"):
        resumed = _estimator(tmp_path)
        resumed.get_variable_names()  # reading the variables verifies the newest
        assert resumed.get_variable_value("global_step") == 5
    assert not newest.exists() and (tmp_path / "model.ckpt-10.pt.corrupt").is_file()
    assert "model.ckpt-10.pt" in caplog.text and "damaged" in caplog.text
    x = np.zeros((16, 3), dtype=np.float32)
    resumed.train(numpy_input_fn(x, np.zeros(16, dtype=np.int64), 16, None), steps=1)
    assert resumed.global_step == 6  # training continued from step 5


def test_random_bit_flips_and_truncations_are_never_loaded(
    tmp_path: Path, reliability_report
) -> None:
    _train(tmp_path, 5)
    original = (tmp_path / "model.ckpt-5.pt").read_bytes()
    target = tmp_path / "flipped" / "model.ckpt-5.pt"
    target.parent.mkdir()
    rng = random.Random(0)
    loaded = []
    for case in range(360):
        data = bytearray(original)
        if case < 300:
            position = rng.randrange(len(data))
            data[position] ^= 1 << rng.randrange(8)
        else:
            data = data[: rng.randrange(len(data))]
        target.write_bytes(bytes(data))
        try:
            ckpt.load_checkpoint(target)
            loaded.append(case)
        except (ckpt.CorruptCheckpointError, ValueError):
            pass
    reliability_report.add("damaged checkpoints tried", 360)
    reliability_report.add("corrupt checkpoints loaded", len(loaded))
    assert not loaded


def test_leftover_temporary_files_are_removed_by_the_next_save(tmp_path: Path) -> None:
    _train(tmp_path, 5)
    leftover = tmp_path / ".model.ckpt-abc123.tmp"
    leftover.write_bytes(b"half a checkpoint")
    ckpt.save_checkpoint(tmp_path, {"global_step": 6, "model": {}}, keep_max=None)
    assert not leftover.exists()


def test_checkpoints_of_earlier_versions_still_load(tmp_path: Path) -> None:
    path = tmp_path / "model.ckpt-3.pt"
    torch.save({"format": 1, "global_step": 3, "model": {"w": torch.ones(2)}}, path)
    assert ckpt.load_checkpoint(path)["global_step"] == 3


def _experiment(output_dir: Path):
    from petri.experiments import create_experiment

    x = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
    return create_experiment(
        {
            "name": "damaged",
            "train_steps": 12,
            "schedule": "train",
            "run_config": {
                "seed": 0,
                "log_step_count_steps": 1,
                "save_checkpoints_steps": 5,
                "save_checkpoints_secs": None,
                "verbose": False,
            },
            "train_input_data_config": {
                "x": x,
                "y": (x[:, 0] > 0).astype(np.int64),
                "pipeline_config": {"batch_size": 16, "num_epochs": None, "shuffle": True},
            },
            "model_config": {
                "n_classes": 2,
                "graph_config": {"definition": [["FullyConnected", {"num_units": 2}]]},
                "optimizer_config": {"name": "adam"},
            },
        },
        output_dir=output_dir,
    )


def test_a_resume_past_a_damaged_checkpoint_rewinds_the_record_to_the_one_used(
    tmp_path: Path, reliability_report
) -> None:
    reference = _experiment(tmp_path / "reference")
    reference.train()
    reference.close()
    first = _experiment(tmp_path / "run")
    first.estimator.train(first.train_input_fn, max_steps=10, hooks=first._train_hooks())
    ckpt.wait_for_checkpoints(first.estimator.model_dir)
    first.close()
    newest = Path(first.estimator.model_dir) / "model.ckpt-10.pt"
    newest.write_bytes(newest.read_bytes()[:100])  # a checkpoint cut short

    resumed = _experiment(tmp_path / "run")
    resumed.train()
    resumed.close()
    steps = [row["global_step"] for row in resumed.run.metrics]
    assert steps == list(range(1, 13))  # rows 6-10 of the damaged stretch logged once
    final, expected = (
        ckpt.load_checkpoint(ckpt.latest_checkpoint(e.estimator.model_dir))["model"]
        for e in (resumed, reference)
    )
    assert all(torch.equal(final[k], expected[k]) for k in expected)
    reliability_report.add("damaged checkpoints tried", 1)
