"""Acceptance: after a fixed training budget, the final greedy policy solves its environment.

Marked slow (CI runs them too; ``-m "not slow"`` leaves them out). Each seed trains for the
whole budget, then ``agent.evaluate`` plays the final greedy policy for ``EPISODES`` episodes
on an evaluation environment seeded apart (seed + 100); that mean return is the seed's result.
Nothing stops early on a good evaluation window and no best window is kept: what is judged is
the policy that training ends with.

Verdict: the target holds for at least 2 of seeds 0, 1, 2, that is, for the median seed.
RL outcomes across seeds are close to bimodal (a run learns, or it collapses), so a mean over
three seeds answers the question badly: one collapsed seed pulls two good ones under the
target, one lucky seed lifts two poor ones over it. The median needs two of three independent
runs to succeed, which one outlier in either direction cannot decide. Seeds run in turn until
the verdict is decided (two passed or two failed), which gives the verdict all three would.

Targets are set where a single seed passes reliably, so that the 2-of-3 verdict does not
flip with numerically harmless changes (final returns measured on one torch thread):

- PPO (100k steps) and TRPO (100k): return >= 475; PPO's seeds 0-6 and TRPO's 0-9 all ended
  at 500.
- VPG (200k): >= 450; seeds 0-9 ended between 472 and 500 (one below 475).
- DQN and DDQN (50k): >= 195, CartPole-v0's "solved". Q-learning's final snapshot is noisy:
  a seed that held 500 at 40k steps can sit at 45 at 50k (docs/benchmarks.md sees the same
  in Stable-Baselines3: mean 342 over five seeds). DQN's seeds 0-9 ended between 328 and 500,
  but only 7 of them >= 475; DDQN's 9 >= 195 (one at 140), 8 >= 475. At 475 the 2-of-3
  verdict would fail about one time in five (DQN) or ten (DDQN); at 195, almost never for
  DQN and about one time in thirty for DDQN.
- NAF (20k, Pendulum-v1): better than -400; seeds 0-2 ended between -184 and -149.

Settings: DQN's are rl-baselines3-zoo's for CartPole-v1 (bench/rl_dqn.py); DDQN's are the
same with the learning rate decaying tenfold over the run (with the zoo's constant rate, 3 of
seeds 0-9 ended between 52 and 119); PPO's are the zoo's; VPG's and TRPO's are
examples/rl/vpg_cartpole.yaml's and trpo_cartpole.yaml's (their budgets too);
NAF's are examples/rl/naf_pendulum.yaml's. Run with ``-s`` to see each seed's final return.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

import petri as plx
from petri.envs import GymEnvironment
from petri.estimators import Agent, PGAgent

pytestmark = pytest.mark.slow

EPISODES = 20  # greedy episodes per final evaluation


def _graph(units: int, layers: int, activation: str) -> list[Any]:
    return [["FullyConnected", {"num_units": units, "activation": activation}]] * layers


def _final_return(
    agent: Any, env_id: str, seed: int, budget: int, num_envs: int = 1, **train_kwargs: Any
) -> float:
    """Train for the whole budget, then the final greedy policy's mean return."""
    agent.train(
        GymEnvironment(env_id, seed=seed, num_envs=num_envs), max_steps=budget, **train_kwargs
    )
    assert agent.global_step >= budget - num_envs
    evaluation = agent.evaluate(GymEnvironment(env_id, seed=seed + 100), episodes=EPISODES)
    return float(evaluation["return_mean"])


def _two_of_three(name: str, target: float, run: Callable[[int], float]) -> dict[int, float]:
    """Seed -> final return, for seeds 0, 1, 2 in turn until two pass or two fail."""
    returns: dict[int, float] = {}
    for seed in (0, 1, 2):
        torch.manual_seed(seed)  # the model is built before the Agent seeds torch
        returns[seed] = run(seed)
        passed = _passed(returns, target)
        if passed >= 2 or len(returns) - passed >= 2:
            break
    rounded = {seed: round(value, 1) for seed, value in returns.items()}
    print(f"{name}: final greedy return per seed (target {target}): {rounded}")
    return returns


def _passed(returns: dict[int, float], target: float) -> int:
    return sum(value >= target for value in returns.values())


def _run_config(seed: int) -> dict[str, Any]:
    return {"seed": seed, "log_step_count_steps": 10_000, "num_threads": 1}


# ------------------------------------------------------------------------- trainers
def train_q_learning(
    cls: str, seed: int, model_dir: Path, end_learning_rate: float | None = None
) -> float:
    decay = {}
    if end_learning_rate is not None:
        decay = {
            "decay_type": "polynomial_decay",
            "decay_steps": 24_500,  # gradient steps in 50k: 191 updates x 128
            "end_learning_rate": end_learning_rate,
        }
    model = getattr(plx.models, cls)(
        graph_fn=_graph(256, 2, "relu"),
        num_states=4,
        num_actions=2,
        optimizer_config=plx.configs.OptimizerConfig(name="adam", learning_rate=2.3e-3, **decay),
        exploration_config=plx.rl.explorations.LinearExploration(1.0, 0.04, 8000),
        target_update_frequency=128,  # SB3's target_update_interval 10 at train_freq 256
    )
    agent = Agent(
        model, plx.rl.memories.Memory(100_000, 64), model_dir=model_dir, config=_run_config(seed)
    )
    return _final_return(
        agent,
        "CartPole-v1",
        seed,
        budget=50_000,
        first_update=1000,
        update_frequency=256,
        gradient_steps=128,
    )


def train_ppo(seed: int, model_dir: Path) -> float:
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
        model, plx.rl.memories.BatchMemory(256), model_dir=model_dir, config=_run_config(seed)
    )
    return _final_return(agent, "CartPole-v1", seed, budget=100_000, num_envs=8)


def train_vpg(seed: int, model_dir: Path) -> float:
    model = plx.models.VPGModel(
        graph_fn=_graph(64, 1, "tanh"),
        num_states=4,
        num_actions=2,
        optimizer_config=plx.configs.OptimizerConfig(name="adam", learning_rate=1e-2),
    )
    agent = PGAgent(
        model, plx.rl.memories.BatchMemory(2000), model_dir=model_dir, config=_run_config(seed)
    )
    return _final_return(agent, "CartPole-v1", seed, budget=200_000, num_envs=4)


def train_trpo(seed: int, model_dir: Path) -> float:
    model = plx.models.TRPOModel(
        graph_fn=_graph(64, 2, "tanh"),
        num_states=4,
        num_actions=2,
        optimizer_config=plx.configs.OptimizerConfig(name="adam", learning_rate=1e-3),
        max_kl=0.01,
        gae_lambda=0.95,
        value_iterations=10,
    )
    agent = PGAgent(
        model, plx.rl.memories.BatchMemory(2048), model_dir=model_dir, config=_run_config(seed)
    )
    return _final_return(agent, "CartPole-v1", seed, budget=100_000, num_envs=4)


def train_naf(seed: int, model_dir: Path) -> float:
    model = plx.models.NAFModel(
        graph_fn=_graph(64, 2, "relu"),
        loss_config="mean_squared_error",
        num_states=3,
        num_actions=1,
        optimizer_config=plx.configs.OptimizerConfig(name="adam", learning_rate=1e-3),
        exploration_config=plx.configs.ExplorationConfig(module="ornstein_uhlenbeck", sigma=0.3),
        action_bounds=(-2.0, 2.0),
        tau=0.005,
        discount=0.98,
    )
    agent = Agent(
        model, plx.rl.memories.Memory(100_000, 64), model_dir=model_dir, config=_run_config(seed)
    )
    return _final_return(
        agent,
        "Pendulum-v1",
        seed,
        budget=20_000,
        first_update=1000,
        update_frequency=1,
        gradient_steps=2,
    )


# ---------------------------------------------------------------------------- tests
def _check(name: str, target: float, train: Callable[[int, Path], float], root: Path) -> None:
    returns = _two_of_three(name, target, lambda seed: train(seed, root / str(seed)))
    assert _passed(returns, target) >= 2, returns


@pytest.mark.parametrize(("cls", "end_learning_rate"), [("DDQNModel", 2.3e-4), ("DQNModel", None)])
def test_q_learning_final_policy_balances_cartpole_after_50k_steps(
    tmp_path: Path, cls: str, end_learning_rate: float | None
) -> None:
    def train(seed: int, path: Path) -> float:
        return train_q_learning(cls, seed, path, end_learning_rate)

    _check(cls, 195.0, train, tmp_path)


def test_ppo_final_policy_balances_cartpole_after_100k_steps(tmp_path: Path) -> None:
    _check("PPOModel", 475.0, train_ppo, tmp_path)


def test_vpg_final_policy_balances_cartpole_after_200k_steps(tmp_path: Path) -> None:
    _check("VPGModel", 450.0, train_vpg, tmp_path)


def test_trpo_final_policy_balances_cartpole_after_100k_steps(tmp_path: Path) -> None:
    _check("TRPOModel", 475.0, train_trpo, tmp_path)


def test_naf_final_policy_beats_minus_400_on_pendulum_after_20k_steps(tmp_path: Path) -> None:
    _check("NAFModel", -400.0, train_naf, tmp_path)
