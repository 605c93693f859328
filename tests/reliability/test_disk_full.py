"""A full disk is said plainly and damages nothing (issue #11 item 7, suite item c).

A real full disk: a 1 MB tmpfs under a training run (skipped where mounting is not allowed).
Injected ENOSPC: every kind of write Petri makes (checkpoints, metrics rows, meta, tags,
config.yaml, meta_data.json, record shards, exports) fails as a full disk would, and each gives
``DiskFullError`` naming the file, leaves the previous file as it was and no temporary file.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from petri.errors import DiskFullError
from petri.tracking import load

CONFIG = {
    "name": "filler",
    "train_steps": 2000,
    "schedule": "train",
    "run_config": {"seed": 0, "save_checkpoints_steps": 5, "keep_checkpoint_max": 1000,
                   "log_step_count_steps": 5, "verbose": False},
    "train_input_data_config": {"input_type": "dataset", "x": "digits", "pipeline_config": {
        "batch_size": 32, "num_epochs": None, "params": {"split": "train"}}},
    "model_config": {
        "model_type": "classifier", "n_classes": 10,
        "graph_config": {"definition": [["Flatten", {}],
                                        ["FullyConnected", {"num_units": 128}],
                                        ["FullyConnected", {"num_units": 10}]]},
    },
}  # fmt: skip


@pytest.fixture()
def small_disk(tmp_path: Path):
    """A 1 MB tmpfs, unmounted after."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_run_that_fills_the_disk_says_so_and_keeps_its_checkpoints(
    small_disk: Path, tmp_path: Path, reliability_report
) -> None:
    config = tmp_path / "filler.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    done = subprocess.run(
        [sys.executable, "-m", "petri", "run", config, "--output-dir", small_disk / "run"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    reliability_report.add("disk-full cases", 1)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "petri: error: No space left to write" in done.stderr
    assert "Traceback" not in done.stderr and "inline_container" not in done.stderr
    assert "free of" in done.stderr and "intact" in done.stderr
    run_dir = small_disk / "run"
    leftovers = [p for p in run_dir.rglob("*") if p.name.endswith(".tmp")]
    reliability_report.add("leaked temp files", len(leftovers))
    assert not leftovers
    from petri.training.checkpoints import list_checkpoints, load_checkpoint

    checkpoints = list_checkpoints(run_dir)
    assert checkpoints and all(load_checkpoint(p)["global_step"] > 0 for p in checkpoints)
    assert load(run_dir).status == "crashed"


Usage = namedtuple("Usage", "total used free")


@pytest.fixture()
def full_disk(monkeypatch):
    """Every flush to disk and every append fails with ENOSPC, as on a full filesystem."""

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    def inject() -> None:
        monkeypatch.setattr(os, "fsync", no_space)
        monkeypatch.setattr(os, "write", no_space)
        monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**9, 10**9 - 512, 512))

    return inject


def _check(call, target: Path, reliability_report) -> None:
    before = target.read_bytes() if target.exists() else None
    with pytest.raises(DiskFullError) as raised:
        call()
    message = str(raised.value)
    assert target.name in message and "512 bytes free" in message and "intact" in message
    assert (target.read_bytes() if target.exists() else None) == before
    leftovers = [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]
    reliability_report.add("disk-full cases", 1)
    reliability_report.add("leaked temp files", len(leftovers))
    assert not leftovers, leftovers


def test_each_kind_of_write_reports_a_full_disk(tmp_path: Path, full_disk, reliability_report):
    from petri.data import write_records
    from petri.data.records.meta_data import write_meta_data
    from petri.tracking import Experiment
    from petri.tracking._status import write_meta
    from petri.tracking._tags import write_tags
    from petri.training.checkpoints import save_checkpoint

    run = Experiment(save_dir=tmp_path, name="run", version=0, autosave=False)
    run.log({"loss": 1.0}, global_step=1)
    run.save()
    run_dir = Path(run.log_dir)
    save_checkpoint(tmp_path / "ckpt", {"global_step": 1, "model": {"w": torch.ones(3)}})
    write_records({"x": np.zeros((4, 2)), "y": np.arange(4)}, tmp_path / "data", "toy")
    full_disk()
    state = {"global_step": 2, "model": {"w": torch.zeros(3)}}
    checkpoint = tmp_path / "ckpt" / "model.ckpt-2.pt"
    _check(lambda: save_checkpoint(tmp_path / "ckpt", state), checkpoint, reliability_report)
    _check(lambda: write_meta(str(run_dir), {"status": "x"}), run_dir / "meta.experiment",
           reliability_report)  # fmt: skip
    _check(lambda: write_tags(str(run_dir / "meta_tags.csv"), {"a": 1}), run_dir / "meta_tags.csv",
           reliability_report)  # fmt: skip
    _check(lambda: run._csv.rewrite([{"loss": 2.0}]), run_dir / "metrics.csv", reliability_report)
    run._csv.open()
    _check(lambda: run._csv.append([{"global_step": 3, "loss": 0.5}]), run_dir / "metrics.csv",
           reliability_report)  # fmt: skip
    _check(lambda: write_meta_data(tmp_path / "data", {"num_samples": {"x": 1}}),
           tmp_path / "data" / "meta_data.json", reliability_report)  # fmt: skip
    _check(lambda: write_records({"x": np.ones((4, 2))}, tmp_path / "data", "toy"),
           tmp_path / "data" / "toy-00000-of-00001.tfrecord", reliability_report)  # fmt: skip


def test_a_full_disk_during_an_export_is_named(tmp_path: Path, monkeypatch, reliability_report):
    """torch's zip writer fails with "unexpected pos" on a full disk: a DiskFullError too."""
    from petri.export._savedmodel import reporting_disk_full

    def torch_zip_failure() -> None:
        raise RuntimeError(
            "[enforce fail at inline_container.cc:672] . unexpected pos 26432 vs 26324"
        )

    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**9, 10**9 - 512, 512))
    target = tmp_path / "export" / "model.pt2"
    with (
        pytest.raises(DiskFullError, match=r"model\.pt2 .*512 bytes free"),
        reporting_disk_full(target),
    ):
        torch_zip_failure()
    reliability_report.add("disk-full cases", 1)
