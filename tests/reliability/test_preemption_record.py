"""A preempted and resumed run leaves the record of an uninterrupted one (issue #11 item 1).

Training runs in a subprocess that is SIGKILLed at random moments and started again on the same
folder until it finishes; then metrics.csv and the TensorBoard events are audited: every logging
and evaluation step exactly once, in order, and the same steps as an uninterrupted run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from petri.tracking import load

CONFIG = {
    "name": "preempted",
    "train_steps": 400,
    "train_steps_per_iteration": 100,
    "eval_every_n_steps": 100,
    "eval_steps": None,
    "run_config": {
        "seed": 0,
        "log_step_count_steps": 20,
        "save_checkpoints_steps": 50,
        "save_checkpoints_secs": None,
        "num_threads": 1,
    },
    "train_input_data_config": {
        "input_type": "dataset",
        "x": "digits",
        "pipeline_config": {
            "batch_size": 32,
            "num_epochs": None,
            "shuffle": True,
            "params": {"split": "train"},
        },
    },
    "eval_input_data_config": {
        "input_type": "dataset",
        "x": "digits",
        "pipeline_config": {"batch_size": 256, "num_epochs": 1, "params": {"split": "eval"}},
    },
    "model_config": {
        "model_type": "classifier",
        "n_classes": 10,
        "graph_config": {"definition": [["Flatten", {}], ["FullyConnected", {"num_units": 10}]]},
        "optimizer_config": {"name": "adam", "learning_rate": 0.01},
        "eval_metrics_config": [{"name": "streaming_accuracy"}],
    },
}

SCRIPT = (
    "import sys\n"
    "from petri.experiments import create_experiment\n"
    "create_experiment(sys.argv[1], output_dir=sys.argv[2]).continuous_train_and_evaluate()\n"
)


def _start(config: Path, run_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(config), str(run_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _audit(run_dir: Path) -> tuple[list[int], list[int]]:
    rows = load(run_dir).metrics
    train = [r["global_step"] for r in rows if "loss" in r and "eval/loss" not in r]
    evals = [r["global_step"] for r in rows if "eval/loss" in r]
    return train, evals


def _tensorboard_steps(run_dir: Path, tag: str) -> list[int]:
    from tensorboard.backend.event_processing import event_accumulator

    reader = event_accumulator.EventAccumulator(str(run_dir / "tf"), size_guidance={"scalars": 0})
    reader.Reload()
    return [event.step for event in reader.Scalars(tag)]


@pytest.mark.slow
def test_sigkilled_and_resumed_run_has_the_uninterrupted_record(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    reference = tmp_path / "reference"
    started = time.monotonic()
    assert _start(config, reference).wait(timeout=600) == 0
    duration = time.monotonic() - started  # interpreter start included: kills land anywhere
    expected = _audit(reference)
    assert expected == (list(range(20, 401, 20)), [100, 200, 300, 400])

    rng = random.Random(int(os.environ.get("PETRI_KILL_SEED", "0")))
    run_dir = tmp_path / "preempted"
    kills = 0
    for _ in range(12):
        process = _start(config, run_dir)
        deadline = time.monotonic() + rng.uniform(0.3, 0.9) * duration
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if process.poll() is not None:
            assert process.returncode == 0, process.stderr.read().decode()
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
    else:
        assert _start(config, run_dir).wait(timeout=600) == 0
    train, evals = _audit(run_dir)
    assert kills >= 1
    assert train == expected[0], f"after {kills} kills: {train}"
    assert evals == expected[1], f"after {kills} kills: {evals}"
    assert _tensorboard_steps(run_dir, "loss") == expected[0]
    assert _tensorboard_steps(run_dir, "eval/loss") == expected[1]
