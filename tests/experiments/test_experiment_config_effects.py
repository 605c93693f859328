"""``ExperimentConfig`` keys without a test elsewhere change what the experiment does."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import petri.experiments.experiment as experiment_module
from petri.cli import main
from petri.estimators import Estimator, Hook
from petri.experiments import create_experiment
from petri.training.checkpoints import list_checkpoints, wait_for_checkpoints

RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 3)).astype(np.float32)
Y = (X[:, 0] > 0).astype(np.int64)


def _config(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    data = {"input_type": "numpy", "x": X, "y": Y}
    config: dict[str, Any] = {
        "name": "keys",
        "output_dir": str(tmp_path),
        "run_config": {"seed": 0},
        "train_input_data_config": {
            **data,
            "pipeline_config": {"batch_size": 4, "num_epochs": None},
        },
        "eval_input_data_config": {**data, "pipeline_config": {"batch_size": 4}},
        "model_config": {
            "n_classes": 2,
            "graph_config": {"definition": [["FullyConnected", {"num_units": 2}]]},
        },
        "train_steps": 4,
        "eval_steps": None,
    }
    config.update(overrides)
    return config


class _Recorder(Hook):
    """Records ``(label, step)`` for every step of the loops it is attached to."""

    seen: ClassVar[list[tuple[str, int]]] = []

    def __init__(self, label: str) -> None:
        self.label = label

    def after_step(self, state: Any) -> None:
        _Recorder.seen.append((self.label, state.step))


def test_hook_configs_and_eval_steps(tmp_path: Path) -> None:
    _Recorder.seen = []
    hooks = {
        "train_hooks_config": [{"module": _Recorder, "params": {"label": "train"}}],
        "eval_hooks_config": [{"name": _Recorder, "params": {"label": "eval"}}],
    }
    xp = create_experiment(_config(tmp_path / "a", eval_steps=2, **hooks))
    xp.train()
    xp.evaluate()
    assert _Recorder.seen == [
        ("train", 1),
        ("train", 2),
        ("train", 3),
        ("train", 4),
        ("eval", 1),
        ("eval", 2),  # eval_steps=2 of the 4 batches
    ]
    _Recorder.seen = []
    whole = create_experiment(_config(tmp_path / "b", eval_steps=None, **hooks))
    whole.train()
    whole.evaluate()
    assert [step for label, step in _Recorder.seen if label == "eval"] == [1, 2, 3, 4]


def test_eval_delay_secs_and_continuous_eval_throttle_secs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(
        experiment_module,
        "time",
        SimpleNamespace(sleep=slept.append, monotonic=time.monotonic),
    )
    xp = create_experiment(
        _config(tmp_path, eval_delay_secs=7, continuous_eval_throttle_secs=30, train_steps=100)
    )
    xp.estimator.train(xp.train_input_fn, steps=2)
    xp.evaluate()
    assert slept == [7]
    slept.clear()
    calls = []
    xp.continuous_eval(
        evaluate_checkpoint_only_once=False,
        continuous_eval_predicate_fn=lambda results: calls.append(results) or len(calls) < 2,
    )
    assert len(calls) == 2
    assert slept[0] == 7 and 25 < slept[1] <= 30  # throttle minus the evaluation's own time


class _MyEstimator(Estimator):
    """An Estimator subclass, to see that ``estimator_config.module`` selects it."""


def test_estimator_config_module_and_output_dir(tmp_path: Path) -> None:
    checkpoints = tmp_path / "elsewhere"
    xp = create_experiment(
        _config(
            tmp_path / "runs",
            estimator_config={"module": _MyEstimator, "output_dir": str(checkpoints)},
        )
    )
    assert isinstance(xp.estimator, _MyEstimator)
    xp.train()
    wait_for_checkpoints()
    assert [p.name for p in list_checkpoints(checkpoints)] == ["model.ckpt-4.pt"]
    assert not (xp.output_dir / "checkpoints").exists()


def test_schedule_selects_what_petri_run_does(tmp_path: Path) -> None:
    def run(schedule: str) -> list[dict[str, str]]:
        config = _config(tmp_path / schedule, schedule=schedule)
        for key in ("train_input_data_config", "eval_input_data_config"):  # YAML-friendly data
            config[key] = {
                "input_type": "dataset",
                "x": "digits",
                "pipeline_config": {"batch_size": 64, "params": {"split": "eval"}},
            }
        config["train_input_data_config"]["pipeline_config"]["num_epochs"] = None
        config["run_config"]["log_step_count_steps"] = 2  # training rows at steps 2 and 4
        config["model_config"]["n_classes"] = 10
        config["model_config"]["graph_config"]["definition"] = [
            ["Flatten", {}],
            ["FullyConnected", {"num_units": 10}],
        ]
        path = tmp_path / f"{schedule}.yaml"
        path.write_text(yaml.safe_dump(config))
        result = CliRunner().invoke(
            main, ["run", str(path), "--output-dir", str(tmp_path / schedule / "run")]
        )
        assert result.exit_code == 0, result.output
        with open(tmp_path / schedule / "run" / "metrics.csv", newline="") as file:
            return list(csv.DictReader(file))

    trained = run("train")
    assert [row["global_step"] for row in trained] == ["2", "4"]
    assert not any(row.get("eval/loss") for row in trained)  # no evaluation
    evaluated = run("train_and_evaluate")
    assert [row["global_step"] for row in evaluated if row.get("eval/loss")] == ["4"]
