"""Tiny models built the seed's way, shared by the RL tests."""

from __future__ import annotations

from typing import Any

import petri as plx


def small_graph(units: int = 16) -> list[Any]:
    return [["FullyConnected", {"num_units": units, "activation": "relu"}]]


def q_model(cls: str = "DQNModel", **kwargs: Any) -> Any:
    defaults: dict[str, Any] = {
        "graph_fn": small_graph(),
        "num_states": 4,
        "num_actions": 2,
        "optimizer_config": plx.configs.OptimizerConfig(name="adam", learning_rate=1e-3),
        "exploration_config": plx.rl.explorations.LinearExploration(1.0, 0.1, 200),
        "target_update_frequency": 20,
    }
    defaults.update(kwargs)
    return getattr(plx.models, cls)(**defaults)
