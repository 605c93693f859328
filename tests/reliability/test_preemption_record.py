"""A preempted and resumed run leaves the record of an uninterrupted one (issue #11 item 1).

Training runs in a child process that is SIGKILLed at random moments and started again on the
same folder until it finishes, over and over until ``PETRI_KILLS`` (default 30) kills have
landed. Every finished run is then audited against an uninterrupted one: metrics.csv and the
TensorBoard events hold every logging and evaluation step exactly once and in order, and the
final checkpoint's weights and optimizer state are equal bit for bit.

Children are forked from a forkserver that has already imported torch and Petri, so a restart
costs milliseconds instead of an interpreter start and the kills land in the training itself.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from petri.tracking import load
from petri.training.checkpoints import latest_checkpoint, load_checkpoint

CONFIG = {
    "name": "preempted",
    "train_steps": 600,
    "train_steps_per_iteration": 100,
    "eval_every_n_steps": 100,
    "eval_steps": None,
    "run_config": {
        "seed": 0,
        "log_step_count_steps": 20,
        "save_checkpoints_steps": 30,
        "save_checkpoints_secs": None,
        "num_threads": 1,
        "verbose": False,
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
        "graph_config": {
            "definition": [
                ["Flatten", {}],
                ["FullyConnected", {"num_units": 64, "activation": "relu"}],
                ["FullyConnected", {"num_units": 10}],
            ]
        },
        "optimizer_config": {"name": "adam", "learning_rate": 0.01},
        "eval_metrics_config": [{"name": "streaming_accuracy"}],
    },
}
TRAIN_STEPS = list(range(20, 601, 20))
EVAL_STEPS = list(range(100, 601, 100))


def _train(config: str, run_dir: str) -> None:
    """The trainer: what `petri run` does, in a child of the forkserver."""
    from petri.experiments import create_experiment

    create_experiment(config, output_dir=run_dir).continuous_train_and_evaluate()


@pytest.fixture(scope="module")
def trainers():
    """Processes forked from a server that has imported torch and Petri already."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "petri.experiments", "petri.datasets"])
    return context


def _start(trainers, config: Path, run_dir: Path):
    process = trainers.Process(target=_train, args=(str(config), str(run_dir)))
    process.start()
    return process


def _record(run_dir: Path) -> tuple[list[int], list[int]]:
    rows = load(run_dir).metrics
    train = [r["global_step"] for r in rows if "loss" in r and "eval/loss" not in r]
    evals = [r["global_step"] for r in rows if "eval/loss" in r]
    return train, evals


def _tensorboard_steps(run_dir: Path, tag: str) -> list[int]:
    from tensorboard.backend.event_processing import event_accumulator

    reader = event_accumulator.EventAccumulator(str(run_dir / "tf"), size_guidance={"scalars": 0})
    reader.Reload()
    return [event.step for event in reader.Scalars(tag)]


def _tensors(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Every tensor of the model and optimizer state, by a flat key."""
    flat: dict[str, torch.Tensor] = {}

    def walk(value: Any, key: str) -> None:
        if isinstance(value, torch.Tensor):
            flat[key] = value
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{key}.{k}")
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                walk(v, f"{key}[{i}]")

    walk(state["model"], "model")
    walk(state["optimizer"], "optimizer")
    return flat


def _differing(run_dir: Path, reference: dict[str, torch.Tensor]) -> list[str]:
    final = load_checkpoint(latest_checkpoint(run_dir / "checkpoints"))
    assert final["global_step"] == 600
    tensors = _tensors(final)
    assert tensors.keys() == reference.keys()
    return [key for key, value in tensors.items() if not torch.equal(value, reference[key])]


def _audit(run_dir: Path, reliability_report) -> list[str]:
    """What differs from the uninterrupted record, counted into the suite's report."""
    problems = []
    train, evals = _record(run_dir)
    for name, got, expected in (
        ("train rows", train, TRAIN_STEPS),
        ("eval rows", evals, EVAL_STEPS),
        ("TensorBoard loss", _tensorboard_steps(run_dir, "loss"), TRAIN_STEPS),
        ("TensorBoard eval/loss", _tensorboard_steps(run_dir, "eval/loss"), EVAL_STEPS),
    ):
        lost = len(set(expected) - set(got))
        duplicated = sum(n - 1 for n in Counter(got).values())
        extra = len(set(got) - set(expected))
        reliability_report.add("evaluations missing" if "eval" in name else "rows lost", lost)
        reliability_report.add("rows duplicated", duplicated + extra)
        if got != expected:
            problems.append(f"{run_dir.name} {name}: {got}")
    return problems


@pytest.mark.slow
def test_sigkilled_and_resumed_runs_have_the_uninterrupted_record(
    tmp_path: Path, trainers, reliability_report
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    reference_dir = tmp_path / "reference"
    started = time.monotonic()
    reference = _start(trainers, config, reference_dir)
    reference.join(timeout=600)
    assert reference.exitcode == 0
    duration = time.monotonic() - started
    assert _record(reference_dir) == (TRAIN_STEPS, EVAL_STEPS)
    reference_state = _tensors(load_checkpoint(latest_checkpoint(reference_dir / "checkpoints")))

    wanted = int(os.environ.get("PETRI_KILLS", "30"))
    rng = random.Random(int(os.environ.get("PETRI_KILL_SEED", "0")))
    kills, finished = 0, []
    run_dir = tmp_path / "run_0"
    while kills < wanted or not finished or finished[-1] != run_dir:
        process = _start(trainers, config, run_dir)
        if kills < wanted:
            process.join(timeout=rng.uniform(0.05, 0.6) * duration)
        if process.is_alive() and kills < wanted:
            os.kill(process.pid, signal.SIGKILL)
            process.join()
            if process.exitcode == -signal.SIGKILL:
                kills += 1
                continue
            # else it finished in the instant between is_alive() and the signal: a normal end
        process.join(timeout=600)
        assert process.exitcode == 0
        finished.append(run_dir)
        if kills < wanted:
            run_dir = tmp_path / f"run_{len(finished)}"
    reliability_report.add("kills survived (supervised)", kills)

    problems = [p for run in finished for p in _audit(run, reliability_report)]
    differing = [
        f"{run.name}: {key}" for run in finished for key in _differing(run, reference_state)
    ]
    reliability_report.add("weights differing from an uninterrupted run", len(differing))
    assert not problems, f"after {kills} kills over {len(finished)} runs: {problems}"
    assert not differing, f"after {kills} kills: {differing}"
    leftovers = [p for run in finished for p in run.rglob("*.tmp")]
    reliability_report.add("leaked temp files", len(leftovers))
    assert not leftovers
