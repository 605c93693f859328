"""SIGKILLed and resumed RL training leaves the record and the weights of an uninterrupted run
(issue #11 finding 9).

A small DQN on CartPole trains from a YAML config in a subprocess that is SIGKILLed at random
(seeded) moments and started again on the same folder until it finishes; runs follow one
another until at least ``KILLS`` kills were survived. Checkpoints every 150 steps put kills
between checkpoints and now and then into a checkpoint write. Each finished run is audited
against an uninterrupted one: in ``metrics.csv`` and in TensorBoard every logging, evaluation
and episode step once, strictly increasing, the same steps (and values, timings aside); the
final weights and optimizer state equal bit for bit.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from petri.tracking import load
from petri.training import checkpoints as ckpt

KILLS = 10
MUST_BE_ZERO = (
    "rows lost",
    "rows duplicated",
    "evaluations missing",
    "weights differing from an uninterrupted run",
)

CONFIG = {
    "kind": "rl",
    "name": "rl_preempted",
    "run_config": {
        "seed": 0,
        "log_step_count_steps": 100,
        "save_checkpoints_steps": 150,
        "save_checkpoints_secs": None,
        "num_threads": 1,
    },
    "environment_config": {"env_id": "CartPole-v1"},
    "agent_config": {
        "module": "Agent",
        "memory_config": {"module": "Memory", "size": 5000, "batch_size": 32},
    },
    "model_config": {
        "module": "DQNModel",
        "graph_config": {
            "definition": [["FullyConnected", {"num_units": 32, "activation": "relu"}]]
        },
        "optimizer_config": {"module": "adam", "learning_rate": 0.001},
        "exploration_config": {
            "module": "linear",
            "initial": 1.0,
            "final": 0.05,
            "decay_steps": 1500,
        },
        "target_update_frequency": 50,
    },
    "train_steps": 4000,
    "first_update": 200,
    "update_frequency": 4,
    "gradient_steps": 1,
    "eval_every_n_steps": 500,
    "eval_episodes": 2,
    "schedule": "train_and_evaluate",
}

SCRIPT = (
    "import sys\n"
    "from petri.experiments import create_experiment\n"
    "create_experiment(sys.argv[1], output_dir=sys.argv[2]).run_schedule()\n"
)
SPLITS = ("train", "eval", "episode")
TAGS = ("episode/return_mean_100", "eval/return_mean", "episode/return")


def _start(config: Path, run_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(config), str(run_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _finish(process: subprocess.Popen) -> None:
    _, error = process.communicate(timeout=600)
    assert process.returncode == 0, error.decode()


def _rows(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    rows = load(run_dir).metrics
    return {split: [row for row in rows if row.get("split") == split] for split in SPLITS}


def _values(row: dict[str, Any]) -> dict[str, Any]:
    """A row without what depends on the clock."""
    return {k: v for k, v in row.items() if not k.startswith("time/") and k != "created_at"}


def _tensorboard_steps(run_dir: Path) -> dict[str, list[int]]:
    from tensorboard.backend.event_processing import event_accumulator

    reader = event_accumulator.EventAccumulator(str(run_dir / "tf"), size_guidance={"scalars": 0})
    reader.Reload()
    return {tag: [event.step for event in reader.Scalars(tag)] for tag in TAGS}


def _final_state(run_dir: Path) -> dict[str, Any]:
    latest = ckpt.latest_checkpoint(run_dir / "checkpoints")
    assert latest is not None and ckpt.checkpoint_step(latest) == CONFIG["train_steps"]
    return ckpt.load_checkpoint(latest)


def _differing_tensors(expected: Any, actual: Any) -> int:
    """Tensors (and other leaves) of ``actual`` that are not bitwise those of ``expected``."""
    if isinstance(expected, dict):
        keys = set(expected) | set(actual)
        return sum(
            _differing_tensors(expected[k], actual[k]) if k in expected and k in actual else 1
            for k in keys
        )
    if isinstance(expected, torch.Tensor):
        return int(not torch.equal(expected, actual))
    return int(expected != actual)


def _audit(run_dir: Path, reference: Path, report: Counter[str]) -> list[str]:
    """Counts what differs from the reference into ``report``; returns readable problems."""
    problems = []
    expected, actual = _rows(reference), _rows(run_dir)
    for split in SPLITS:
        steps = [row["global_step"] for row in actual[split]]
        wanted = [row["global_step"] for row in expected[split]]
        lost = len(set(wanted) - set(steps))
        duplicated = len(steps) - len(set(steps))
        report["rows lost"] += lost
        report["rows duplicated"] += duplicated
        if split == "eval":
            report["evaluations missing"] += lost
        if steps != wanted:
            problems.append(f"{split} steps {steps} != {wanted}")
        elif [_values(r) for r in actual[split]] != [_values(r) for r in expected[split]]:
            problems.append(f"{split} rows have the steps but not the values of the reference")
    for tag, steps in _tensorboard_steps(run_dir).items():
        wanted = _tensorboard_steps(reference)[tag]
        if steps != wanted or steps != sorted(set(steps)):
            problems.append(f"TensorBoard {tag}: {steps} != {wanted}")
    final, wanted_state = _final_state(run_dir), _final_state(reference)
    differing = _differing_tensors(wanted_state["model"], final["model"])
    report["weights differing from an uninterrupted run"] += differing
    if differing or _differing_tensors(wanted_state["optimizer"], final["optimizer"]):
        problems.append(f"{differing} weight tensors differ from the uninterrupted run's")
    return problems


@pytest.mark.slow
def test_sigkilled_rl_training_resumes_to_the_uninterrupted_record_and_weights(
    tmp_path: Path, reliability_report: Any
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    reference = tmp_path / "reference"
    started = time.monotonic()
    _finish(_start(config, reference))
    duration = time.monotonic() - started  # interpreter start included: kills land anywhere
    expected = _rows(reference)
    assert [r["global_step"] for r in expected["train"]] == list(range(100, 4001, 100))
    assert [r["global_step"] for r in expected["eval"]] == list(range(500, 4001, 500))

    rng = random.Random(int(os.environ.get("PETRI_KILL_SEED", "0")))
    kills = in_writes = runs = 0
    problems: list[str] = []
    counts: Counter[str] = Counter()
    while kills < KILLS:
        runs += 1
        run_dir = tmp_path / f"preempted-{runs}"
        while True:
            process = _start(config, run_dir)
            deadline = time.monotonic() + rng.uniform(0.3, 0.9) * duration
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            if process.poll() is not None or kills >= KILLS:
                _finish(process)  # enough kills: this run finishes
                break
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
            in_writes += any((run_dir / "checkpoints").glob(".model.ckpt-*.tmp"))
        problems += [f"run {runs}: {problem}" for problem in _audit(run_dir, reference, counts)]
    counts["kills survived (RL)"] = kills
    counts["kills during RL checkpoint writes"] = in_writes
    for name in MUST_BE_ZERO:
        counts[name] += 0  # reported even when nothing went wrong
    for name, value in counts.items():
        reliability_report.add(name, value)
    print(f"\n{kills} kills in {runs} runs, {time.monotonic() - started:.0f} s: {dict(counts)}")
    assert not problems, f"after {kills} kills in {runs} runs: {problems}"
    assert all(counts[name] == 0 for name in MUST_BE_ZERO), dict(counts)
