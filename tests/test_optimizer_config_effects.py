"""Every ``OptimizerConfig`` key reaches the optimizer or its learning-rate schedule.

Each case builds the optimizer the way the Estimator and the RL models do
(``petri.optimizers.build_optimizer`` on the config) and checks what the key changed.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from petri.configs import OptimizerConfig
from petri.optimizers import Ftrl, build_optimizer, decayed_learning_rate


def _build(**config: Any) -> tuple[torch.optim.Optimizer, Any]:
    params = list(torch.nn.Linear(3, 2).parameters())
    return build_optimizer(OptimizerConfig(**config), params)


# (config, torch optimizer class, {hyperparameter: expected value}); every optimizer key once.
OPTIMIZER_KEYS = {
    "module": ({"module": "rmsprop"}, torch.optim.RMSprop, {}),
    "name": ({"name": "adagrad"}, torch.optim.Adagrad, {}),
    "learning_rate": ({"name": "sgd", "learning_rate": 0.3}, torch.optim.SGD, {"lr": 0.3}),
    "beta1": ({"name": "adam", "beta1": 0.7}, torch.optim.Adam, {"betas": (0.7, 0.999)}),
    "beta2": ({"name": "adam", "beta2": 0.95}, torch.optim.Adam, {"betas": (0.9, 0.95)}),
    "epsilon": ({"name": "adam", "epsilon": 0.01}, torch.optim.Adam, {"eps": 0.01}),
    "momentum": ({"name": "momentum", "momentum": 0.3}, torch.optim.SGD, {"momentum": 0.3}),
    "rho": ({"name": "adadelta", "rho": 0.5}, torch.optim.Adadelta, {"rho": 0.5}),
    "decay": ({"name": "rmsprop", "decay": 0.8}, torch.optim.RMSprop, {"alpha": 0.8}),
    "initial_accumulator_value": (
        {"name": "adagrad", "initial_accumulator_value": 0.7},
        torch.optim.Adagrad,
        {"initial_accumulator_value": 0.7},
    ),
    "weight_decay": ({"name": "sgd", "weight_decay": 0.2}, torch.optim.SGD, {"weight_decay": 0.2}),
    "amsgrad": ({"name": "adam", "amsgrad": True}, torch.optim.Adam, {"amsgrad": True}),
    "centered": ({"name": "rmsprop", "centered": True}, torch.optim.RMSprop, {"centered": True}),
    "use_nesterov": (
        {"name": "momentum", "use_nesterov": True},
        torch.optim.SGD,
        {"nesterov": True},
    ),
    "l1_regularization_strength": (
        {"name": "ftrl", "l1_regularization_strength": 0.4},
        Ftrl,
        {"l1_regularization_strength": 0.4},
    ),
    "l2_regularization_strength": (
        {"name": "ftrl", "l2_regularization_strength": 0.6},
        Ftrl,
        {"l2_regularization_strength": 0.6},
    ),
    "learning_rate_power": (
        {"name": "ftrl", "learning_rate_power": -0.25},
        Ftrl,
        {"learning_rate_power": -0.25},
    ),
}


@pytest.mark.parametrize("key", sorted(OPTIMIZER_KEYS))
def test_each_optimizer_key_reaches_the_torch_optimizer(key: str) -> None:
    config, cls, expected = OPTIMIZER_KEYS[key]
    optimizer, schedule = _build(**config)
    assert type(optimizer) is cls and schedule is None
    for name, value in expected.items():
        assert optimizer.defaults[name] == value, (key, name)


# (key, decay_type and settings without the key, the key's value); every schedule key once.
SCHEDULE_KEYS = {
    "decay_type": ("exponential_decay", {}, None),
    "decay_steps": ("exponential_decay", {}, 10),
    "decay_rate": ("exponential_decay", {}, 0.5),
    "staircase": ("exponential_decay", {"decay_steps": 10}, True),
    "start_decay_at": ("exponential_decay", {"decay_steps": 10}, 20),
    "stop_decay_at": ("exponential_decay", {"decay_steps": 10}, 15),
    "min_learning_rate": ("exponential_decay", {"decay_steps": 5, "decay_rate": 0.1}, 0.01),
    "boundaries": ("piecewise_constant", {"values": [0.1, 0.05, 0.01]}, [5, 20]),
    "values": ("piecewise_constant", {"boundaries": [5, 20]}, [0.1, 0.02, 0.001]),
    "power": ("polynomial_decay", {"decay_steps": 40}, 3.0),
    "end_learning_rate": ("polynomial_decay", {"decay_steps": 40}, 0.05),
    "cycle": ("polynomial_decay", {"decay_steps": 10}, True),
    "alpha": ("cosine_decay", {"decay_steps": 40}, 0.5),
}


def _curve(decay_type: str | None, steps: int = 50, **settings: Any) -> list[float]:
    optimizer, schedule = _build(name="sgd", learning_rate=0.1, decay_type=decay_type, **settings)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if schedule is not None:
            schedule.step()
    return rates


@pytest.mark.parametrize("key", sorted(SCHEDULE_KEYS))
def test_each_schedule_key_changes_the_learning_rate_curve(key: str) -> None:
    decay_type, settings, value = SCHEDULE_KEYS[key]
    if key == "decay_type":
        with_key, without = _curve(decay_type), _curve(None)
        assert without == [0.1] * 50
    else:
        with_key = _curve(decay_type, **settings, **{key: value})
        if key in ("boundaries", "values"):  # piecewise_constant needs both: vary the key
            other = [10, 30] if key == "boundaries" else [0.1, 0.05, 0.01]
            without = _curve(decay_type, **settings, **{key: other})
        else:
            without = _curve(decay_type, **settings)
    assert with_key != pytest.approx(without), key
    reference = dict(settings)
    if key != "decay_type":
        reference[key] = value
    expected = [
        decayed_learning_rate(decay_type, step, learning_rate=0.1, **reference)
        for step in range(50)
    ]
    assert with_key == pytest.approx(expected)
