"""Explorations and timestep schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from petri.errors import UnknownNameError
from petri.rl.explorations import (
    EXPLORATIONS,
    DecayExploration,
    ExponentialExploration,
    LinearExploration,
    OrnsteinUhlenbeckNoise,
    create_exploration,
    exploration_kwargs,
)
from petri.rl.schedules import Schedule, linear


def test_constant_greedy_random() -> None:
    assert create_exploration("constant").rate(10**6) == 0.5
    assert create_exploration("greedy").rate(0) == 0.0
    assert create_exploration("random").rate(0) == 1.0


def test_decay_defaults_follow_the_seed() -> None:
    decay = DecayExploration()
    assert decay.rate(0) == pytest.approx(0.15)
    assert decay.rate(50_000) == pytest.approx(0.075)
    assert decay.rate(200_000) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("decay_type", "kwargs", "step", "expected"),
    [
        ("exponential_decay", {"decay_steps": 100, "decay_rate": 0.5}, 200, 0.25),
        ("natural_exp_decay", {"decay_steps": 100, "decay_rate": 1.0}, 100, math.exp(-1)),
        ("inverse_time_decay", {"decay_steps": 100, "decay_rate": 1.0}, 100, 0.5),
        ("polynomial_decay", {"decay_steps": 100, "end_value": 0.2}, 50, 0.6),
        ("piecewise_constant", {"boundaries": [10], "values": [1.0, 0.1]}, 11, 0.1),
    ],
)
def test_schedules(decay_type: str, kwargs: dict, step: int, expected: float) -> None:
    assert Schedule(1.0, decay_type, **kwargs)(step) == pytest.approx(expected)


def test_schedule_window_and_floor() -> None:
    schedule = Schedule(
        1.0,
        "exponential_decay",
        decay_steps=10,
        decay_rate=0.5,
        start_decay_at=10,
        stop_decay_at=30,
        min_value=0.3,
    )
    assert schedule(5) == 1.0 and schedule(20) == 0.5 and schedule(1000) == 0.3
    assert linear(1.0, 0.0, 10)(5) == pytest.approx(0.5)


def test_linear_and_exponential() -> None:
    lin = LinearExploration(1.0, 0.04, decay_steps=8000)
    assert lin.rate(0) == 1.0 and lin.rate(4000) == pytest.approx(0.52) and lin.rate(10**5) == 0.04
    exp = ExponentialExploration(1.0, 0.0, decay_steps=100)
    assert exp.rate(100) == pytest.approx(math.exp(-1))


def test_continuous_noise() -> None:
    rng = np.random.default_rng(0)
    gaussian = create_exploration("gaussian", is_continuous=True)
    assert gaussian.noise(0, (1000, 2), rng).std() == pytest.approx(0.1, rel=0.1)
    decay = create_exploration("decay", is_continuous=True)
    assert decay.is_continuous
    ou = OrnsteinUhlenbeckNoise(sigma=0.0, mu=1.0, theta=0.5)
    first = ou.noise(0, (2,), rng)
    np.testing.assert_allclose(first, [1.0, 1.0])  # starts at mu, no diffusion
    ou = OrnsteinUhlenbeckNoise(sigma=0.2)
    samples = np.array([ou.noise(t, (1,), rng)[0] for t in range(200)])
    assert abs(np.corrcoef(samples[:-1], samples[1:])[0, 1]) > 0.5  # time-correlated
    ou.reset()
    assert ou._state is not None and ou._state[0] == 0.0


def test_unknown_exploration_and_kwargs() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'linear'"):
        create_exploration("lineer")
    assert "final" in exploration_kwargs("linear")
    assert EXPLORATIONS.get("OU") is OrnsteinUhlenbeckNoise


def test_bad_rates() -> None:
    with pytest.raises(ValueError, match=r"initial in \[0, 1\]"):
        LinearExploration(initial=2.0)
