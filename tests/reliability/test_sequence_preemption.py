"""A ``petri run`` reading bucketed SequenceExample records, SIGKILLed mid-epoch while examples
wait in its buckets and started again with the same command, trains on the batches of an
uninterrupted run (issue #16, item 2): the loss of every step and the final weights and
optimizer state are equal bit for bit.

The runs are real ``python -m petri run`` processes, so the resume goes through the CLI, the
checkpoint on disk and a fresh interpreter, as after a preemption.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from petri.data import write_sequence_records
from petri.tracking import load
from petri.training.checkpoints import checkpoint_step, latest_checkpoint, load_checkpoint

TRAIN_STEPS = 400
KILL_AFTER_STEP = 60  # the first checkpoint at or past it, well before the end


def _records(folder: Path) -> None:
    """300 sequences of 2-24 steps whose label is the sign of their first feature's sum."""
    rng = np.random.default_rng(0)
    frames = [rng.normal(size=(n, 3)).astype(np.float32) for n in rng.integers(2, 25, 300)]
    labels = [int(f[:, 0].sum() > 0) for f in frames]
    write_sequence_records(
        {"frames": frames}, folder, "toy_train", num_shards=3, context={"label": labels}
    )


def _config(data: Path) -> dict[str, Any]:
    params = {"data_files": f"{data}/toy_train-*", "meta_data_file": f"{data}/meta_data.json"}
    return {
        "name": "sequence_preemption",
        "train_steps": TRAIN_STEPS,
        "train_steps_per_iteration": TRAIN_STEPS,
        "eval_every_n_steps": TRAIN_STEPS,
        "eval_steps": None,
        "export_strategies": None,
        "run_config": {
            "seed": 0,
            "num_threads": 1,
            "log_step_count_steps": 1,  # every batch's loss is in metrics.csv
            "save_checkpoints_steps": 20,
            "save_checkpoints_secs": None,
            "verbose": False,
        },
        "train_input_data_config": {
            "pipeline_config": {
                "module": "TFRecordSequencePipeline",
                "batch_size": 16,
                "num_epochs": None,
                "shuffle": True,
                "min_after_dequeue": 64,
                "dynamic_pad": True,
                "bucket_boundaries": [8, 16],
                "params": params,
            }
        },
        "eval_input_data_config": {
            "pipeline_config": {
                "module": "TFRecordSequencePipeline",
                "batch_size": 100,
                "num_epochs": 1,
                "dynamic_pad": True,
                "params": params,
            }
        },
        "model_config": {
            "model_type": "classifier",
            "n_classes": 2,
            "eval_metrics_config": [{"name": "streaming_accuracy"}],
            "optimizer_config": {"name": "Adam", "learning_rate": 0.01},
            "graph_config": {
                "features": ["frames", "length"],
                "definition": [
                    [
                        "BidirectionalRNN",
                        {
                            "rnncell_fw": ["LSTM", {"num_units": 8}],
                            "rnncell_bw": ["LSTM", {"num_units": 8}],
                        },
                    ],
                    ["FullyConnected", {"num_units": 2}],
                ],
            },
        },
    }


def _petri_run(config: Path, run_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "petri", "-q", "run", str(config), "--output-dir", str(run_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _losses(run_dir: Path) -> dict[int, float]:
    rows = load(run_dir).metrics
    train = [r for r in rows if r.get("loss") not in (None, "") and "eval/loss" not in r]
    steps = [int(r["global_step"]) for r in train]
    assert len(steps) == len(set(steps)), "a step was logged twice"
    return {int(r["global_step"]): float(r["loss"]) for r in train}


def _final_tensors(run_dir: Path) -> dict[str, torch.Tensor]:
    state = load_checkpoint(latest_checkpoint(run_dir))
    assert state["global_step"] == TRAIN_STEPS
    flat = {f"model.{k}": v for k, v in state["model"].items()}
    for group, values in state["optimizer"]["state"].items():
        flat.update({f"optimizer.{group}.{k}": v for k, v in values.items()})
    return flat


@pytest.mark.slow
def test_a_sigkilled_bucketed_run_resumes_to_the_uninterrupted_batches(tmp_path: Path) -> None:
    _records(tmp_path / "data")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(_config(tmp_path / "data")))

    whole = _petri_run(config, tmp_path / "whole")
    assert whole.wait(timeout=300) == 0, whole.stderr.read().decode()[-3000:]

    cut_dir = tmp_path / "cut"
    cut = _petri_run(config, cut_dir)
    deadline = time.monotonic() + 300
    while True:
        newest = latest_checkpoint(cut_dir)
        if newest is not None and checkpoint_step(newest) >= KILL_AFTER_STEP:
            break
        assert cut.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(cut.pid, signal.SIGKILL)
    assert cut.wait() == -signal.SIGKILL
    resumed_from = load_checkpoint(latest_checkpoint(cut_dir))
    assert resumed_from["global_step"] < TRAIN_STEPS  # killed mid-run
    input_state = resumed_from["input"]["batcher"]
    assert sum(len(bucket) for bucket in input_state["buckets"]) > 0  # examples were waiting

    again = _petri_run(config, cut_dir)  # the same command resumes
    assert again.wait(timeout=300) == 0, again.stderr.read().decode()[-3000:]

    expected = _losses(tmp_path / "whole")
    assert sorted(expected) == list(range(1, TRAIN_STEPS + 1))
    assert _losses(cut_dir) == expected  # every step's batch: the same loss, bit for bit
    reference = _final_tensors(tmp_path / "whole")
    final = _final_tensors(cut_dir)
    assert final.keys() == reference.keys()
    assert [k for k, v in final.items() if not torch.equal(v, reference[k])] == []
