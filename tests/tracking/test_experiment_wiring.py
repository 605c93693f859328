"""The run log wired into petri.experiments: create_experiment, Experiment, summaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from petri.data import numpy_input_fn
from petri.errors import ConfigError
from petri.estimators import Estimator, RunConfig
from petri.experiments import Experiment, create_experiment
from petri.models import Classifier
from petri.tracking import SummaryHook, list_runs, load

from ._helpers import accumulator

rng = np.random.default_rng(0)
X = rng.random((128, 1, 6, 6)).astype(np.float32)
Y = rng.integers(0, 3, 128)


def config(save_dir: Path, **overrides) -> dict:
    base = {
        "name": "tiny",
        "output_dir": str(save_dir),
        "train_steps": 20,
        "train_steps_per_iteration": 10,
        "eval_every_n_steps": 10,
        "eval_steps": None,
        "run_config": {"seed": 0, "log_step_count_steps": 5, "save_summary_steps": 10},
        "train_input_data_config": {
            "input_type": "numpy",
            "pipeline_config": {"batch_size": 16, "num_epochs": None, "shuffle": True},
            "x": X,
            "y": Y,
        },
        "eval_input_data_config": {
            "input_type": "numpy",
            "pipeline_config": {"batch_size": 64, "num_epochs": 1, "shuffle": False},
            "x": X,
            "y": Y,
        },
        "model_config": {
            "model_type": "classifier",
            "n_classes": 3,
            "loss_config": {"name": "softmax_cross_entropy"},
            "eval_metrics_config": [{"name": "streaming_accuracy"}],
            "optimizer_config": {"name": "adam", "learning_rate": 0.01},
            "summaries": ["loss", "gradients", "activations", "image_input"],
            "graph_config": {
                "name": "net",
                "definition": [["Flatten", {}], ["FullyConnected", {"num_units": 3}]],
            },
        },
    }
    base.update(overrides)
    return base


def test_create_experiment_records_a_versioned_run(tmp_path):
    xp = create_experiment(config(tmp_path))
    run_dir = tmp_path / "tiny" / "version_0"
    assert xp.output_dir == run_dir and Path(xp.estimator.model_dir) == run_dir / "checkpoints"
    results = xp.continuous_train_and_evaluate()
    assert results["global_step"] == 20
    assert (run_dir / "checkpoints" / "model.ckpt-20.pt").is_file()
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["name"] == "tiny"
    run = load(run_dir)
    assert run.status == "finished"
    assert run.tags["model_config/optimizer_config/learning_rate"] == 0.01
    assert run.tags["train_steps"] == 20 and run.tags["name"] == "tiny"
    assert run.tags["train_input_data_config/x"].startswith("<array shape=(128, 1, 6, 6)")
    train = [r for r in run.metrics if "loss" in r]
    assert [r["global_step"] for r in train] == [5, 10, 15, 20]
    assert {"learning_rate", "steps_per_sec"} <= set(train[0])
    evals = [r for r in run.metrics if "eval/streaming_accuracy" in r]
    assert [r["global_step"] for r in evals] == [10, 20]
    assert evals[-1]["eval/streaming_accuracy"] == pytest.approx(results["streaming_accuracy"])
    reader = accumulator(run_dir / "tf")
    tags = reader.Tags()
    assert {"loss", "eval/loss", "summaries/loss", "summaries/gradient_norm"} <= set(
        tags["scalars"]
    )
    assert [e.step for e in reader.Scalars("summaries/loss")] == [10, 20]
    assert any(t.startswith("gradients/") for t in tags["histograms"])
    assert any(t.startswith("activations/") for t in tags["histograms"])
    assert not any(t.startswith("variables/") for t in tags["histograms"])
    assert "image_input/0" in tags["images"]
    # The same config again: the next version; version=0 resumes the first run.
    second = create_experiment(config(tmp_path))
    assert second.output_dir == tmp_path / "tiny" / "version_1"
    second.close()
    resumed = create_experiment(  # more steps: a changed config, allowed explicitly
        config(tmp_path, version=0, train_steps=25), allow_config_change=True
    )
    assert resumed.estimator.global_step == 20
    resumed.train()
    assert [r.version for r in list_runs(tmp_path)] == [0, 1]
    assert load(run_dir).last_step == 25


def test_a_failing_schedule_marks_the_run_crashed(tmp_path):
    xp = create_experiment(config(tmp_path))

    def broken_input():
        raise RuntimeError("the data went away")

    xp.train_input_fn = broken_input
    with pytest.raises(RuntimeError, match="went away"):
        xp.train()
    run = load(xp.output_dir)
    assert run.status == "crashed" and "went away" in run.meta["error"]


def test_experiment_from_python_objects_logs_in_its_model_dir(tmp_path):
    model = Classifier(
        graph_fn=[["Flatten", {}], ["FullyConnected", {"num_units": 3}]],
        n_classes=3,
        optimizer_config={"name": "adam", "learning_rate": 0.01},
        eval_metrics_config=["streaming_accuracy"],
    )
    estimator = Estimator(model, model_dir=tmp_path / "model", config=RunConfig(seed=0))
    xp = Experiment(
        estimator,
        numpy_input_fn(X, Y, batch_size=16, num_epochs=None, shuffle=True),
        numpy_input_fn(X, Y, batch_size=64),
        train_steps=10,
        eval_steps=None,
    )
    xp.train_and_evaluate()
    xp.evaluate(name="holdout")
    run = load(tmp_path / "model")
    assert run.status == "finished" and run.tags["run_config/seed"] == 0
    assert "eval/streaming_accuracy" in run.final and "eval_holdout/loss" in run.final
    quiet = Experiment(Estimator(model, model_dir=tmp_path / "other"), None, None, run=False)
    assert quiet.run is None


class _Probe(torch.nn.Module):
    """Counts forward hooks present on each call."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 2)
        self.hooked_calls: list[int] = []

    def forward(self, x):
        self.hooked_calls.append(len(self.layer._forward_hooks))
        return self.layer(x)


def test_summary_hook_runs_only_on_summary_steps(tmp_path):
    from petri.estimators import HookList, LoopState
    from petri.tracking import Experiment as RunLog

    run = RunLog(save_dir=tmp_path, autosave=True)
    model = _Probe()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    hooks = HookList([SummaryHook(run, "all", every_n_steps=3)])
    state = LoopState("train", model=model, optimizer=optimizer, learning_rate=0.1)
    hooks.begin(state)
    for step in range(1, 10):
        state.features = torch.rand(5, 4)
        hooks.before_step(state)
        loss = model(state.features).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        state.global_step, state.loss = step, loss.detach()
        hooks.after_step(state)
    hooks.end(state)
    run.close()
    assert model.hooked_calls == [0, 0, 1, 0, 0, 1, 0, 0, 1]
    reader = accumulator(run.get_tensorboard_path())
    assert [e.step for e in reader.Histograms("activations/layer")] == [3, 6, 9]
    assert [e.step for e in reader.Histograms("variables/layer/weight")] == [3, 6, 9]
    assert [e.step for e in reader.Scalars("summaries/learning_rate")] == [3, 6, 9]
    with pytest.raises(ValueError, match="Unknown summaries"):
        SummaryHook(run, ["losses"])


def test_a_run_begun_before_new_config_keys_existed_resumes(tmp_path):
    """A config.yaml written by an older Petri lacks the keys added since (with their
    defaults); resuming compares it with those defaults filled in, not as a change."""
    first = create_experiment(config(tmp_path))
    first.train()
    path = tmp_path / "tiny" / "version_0" / "config.yaml"
    stored = yaml.safe_load(path.read_text())
    for key in ("x_columns", "y_column", "categorical"):  # keys of issue #16
        del stored["train_input_data_config"][key]
    del stored["run_config"]["precision"]  # a key of issue #15
    path.write_text(yaml.safe_dump(stored))
    resumed = create_experiment(config(tmp_path, version=0))
    assert resumed.estimator.global_step == 20
    resumed.close()
    changed = dict(stored, train_steps=99)
    path.write_text(yaml.safe_dump(changed))
    with pytest.raises(ConfigError, match=r"(?s)started with another config.*-train_steps: 99"):
        create_experiment(config(tmp_path, version=0))
