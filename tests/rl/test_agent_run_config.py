"""The Agent honours the RunConfig keys it accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from petri.envs import GymEnvironment
from petri.estimators import Agent
from petri.experiments import create_experiment

from ._helpers import q_model


def accumulator(directory: Path):
    from tensorboard.backend.event_processing import event_accumulator

    reader = event_accumulator.EventAccumulator(str(directory), size_guidance={"histograms": 0})
    reader.Reload()
    return reader


def test_rl_summaries_are_written_every_save_summary_steps(tmp_path: Path) -> None:
    experiment = create_experiment(
        {
            "kind": "rl",
            "name": "summaries",
            "output_dir": str(tmp_path),
            "environment_config": {"env_id": "CartPole-v1", "seed": 0},
            "run_config": {"seed": 0, "save_summary_steps": 100},
            "model_config": {
                "module": "DQNModel",
                "graph_config": {"definition": [["FullyConnected", {"num_units": 8}]]},
                "summaries": ["variables", "loss"],
                "target_update_frequency": 10,
            },
            "train_steps": 400,
            "first_update": 50,
            "update_frequency": 1,
            "schedule": "train",
        }
    )
    experiment.run_schedule()
    events = accumulator(experiment.output_dir / "tf")
    histograms = events.Tags()["histograms"]
    assert any(tag.startswith("variables/q_network") for tag in histograms), histograms
    steps = sorted({event.step for event in events.Histograms(histograms[0])})
    assert steps == [100, 200, 300, 400]
    assert [e.step for e in events.Scalars("summaries/loss")] == [100, 200, 300, 400]


def test_agent_keeps_hourly_checkpoints_as_configured(tmp_path: Path, monkeypatch) -> None:
    from petri.rl import agent as agent_module

    kept: list[tuple[int, float]] = []
    save = agent_module.ckpt.save_checkpoint

    def recording(directory, state, keep_max=None, keep_every_n_hours=None):
        kept.append((keep_max, keep_every_n_hours))
        return save(directory, state, keep_max, keep_every_n_hours)

    monkeypatch.setattr(agent_module.ckpt, "save_checkpoint", recording)
    config = {"keep_checkpoint_max": 2, "keep_checkpoint_every_n_hours": 0.5}
    agent = Agent(q_model(), model_dir=str(tmp_path), config=config)
    agent.train(GymEnvironment("CartPole-v1", seed=0), steps=60, first_update=20)
    assert kept and set(kept) == {(2, 0.5)}


def test_agent_sets_the_thread_count_when_it_trains(tmp_path: Path) -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        agent = Agent(q_model(), model_dir=str(tmp_path), config={"num_threads": 1})
        assert torch.get_num_threads() == 2  # constructors change nothing
        agent.train(GymEnvironment("CartPole-v1", seed=0), steps=10, first_update=5)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_agent_shows_progress_unless_verbose_is_false(tmp_path: Path, caplog) -> None:
    import logging

    def train(verbose: bool) -> list[str]:
        caplog.clear()
        experiment = create_experiment(
            {
                "kind": "rl",
                "name": "progress",
                "output_dir": str(tmp_path / str(verbose)),
                "environment_config": {"env_id": "CartPole-v1", "seed": 0},
                "run_config": {"seed": 0, "log_step_count_steps": 50, "verbose": verbose},
                "model_config": {
                    "module": "DQNModel",
                    "graph_config": {"definition": [["FullyConnected", {"num_units": 8}]]},
                },
                "train_steps": 100,
                "first_update": 50,
                "schedule": "train_and_evaluate",
                "eval_episodes": 1,
            }
        )
        with caplog.at_level(logging.INFO, logger="petri"):
            experiment.run_schedule()
        return [r.getMessage() for r in caplog.records if r.name == "petri"]

    shown = train(True)
    assert [m.split(":")[0] for m in shown if m.startswith("step ")] == [
        "step 50/100",
        "step 100/100",
    ]
    assert "ETA" in next(m for m in shown if m.startswith("step 50/"))
    assert any(m.startswith("Evaluation at step 100") for m in shown)
    assert not [m for m in train(False) if m.startswith(("step ", "Evaluation"))]


def test_agent_keeps_freed_host_memory_while_it_trains_under_retain(tmp_path: Path) -> None:
    from petri.estimators import Hook
    from petri.host_memory import retaining, retention_unavailable

    if retention_unavailable():
        pytest.skip(str(retention_unavailable()))

    class Seen(Hook):
        def __init__(self) -> None:
            self.retaining: set[bool] = set()

        def after_step(self, state: Any) -> None:
            self.retaining.add(retaining())

    for mode in ("retain", "system"):
        agent = Agent(q_model(), model_dir=str(tmp_path / mode), config={"host_memory": mode})
        seen = Seen()
        env = GymEnvironment("CartPole-v1", seed=0)
        agent.train(env, steps=20, first_update=5, hooks=[seen])
        assert seen.retaining == {mode == "retain"}
        assert not retaining()
