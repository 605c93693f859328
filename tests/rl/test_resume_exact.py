"""An Agent killed mid-training and resumed from its checkpoint is, at the same step, in the
state an uninterrupted Agent is in: every leaf of it (issue #11 finding 9).

The full training state is flattened into named leaves (weights, optimizer, replay memory,
exploration, counters, every RNG: torch, numpy, Python, the agent's and the memory's
generators, the environment's ``np_random`` and its action space's) together with the episode
in flight (``unwrapped.state``, ``TimeLimit``'s elapsed steps, the last observation, the
return and length so far, the n-step buffer) and compared leaf by leaf.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import petri as plx
from petri.envs import GymEnvironment
from petri.estimators import Agent, PGAgent
from petri.rl.memories import BatchMemory, Memory, PrioritizedMemory
from petri.runtime import seed_everything
from petri.training.hooks import Hook, LoopState

from ._helpers import q_model, small_graph

CHECKPOINT_EVERY = 50
KILLED_AT = 137  # between checkpoints: the resumed run redoes steps 101-137
COMPARED_AT = 260


class _Killed(Exception):
    """Stands for a SIGKILL: the process's state is gone, only the checkpoints remain."""


class _Kill(Hook):
    def after_step(self, state: LoopState) -> None:
        if state.global_step >= KILLED_AT:
            raise _Killed


class _Capture(Hook):
    """Flattens the agent's whole state at ``COMPARED_AT`` (inside the loop: the episode in
    flight is there)."""

    def __init__(self, agent: Any, env: Any) -> None:
        super().__init__(every_n_steps=COMPARED_AT)
        self.agent, self.env = agent, env
        self.leaves: dict[str, Any] = {}

    def after_step(self, state: LoopState) -> None:
        self.leaves = _leaves(self.agent, self.env)


def _leaves(agent: Any, env: Any) -> dict[str, Any]:
    model, flight = agent.model, agent.in_flight
    tree: dict[str, Any] = {
        "model": model.state_dict(),
        "optimizer": model.optimizer.state_dict(),
        "scheduler": model.scheduler.state_dict() if model.scheduler else None,
        "memory": agent.memory.state_dict(),
        "exploration": model.exploration.state_dict(),
        "counters": {
            "timestep": agent.timestep,
            "iterations": agent.iterations,
            "episodes": agent.episodes,
            "num_updates": model.num_updates,
            "recent_returns": list(agent.recent_returns),
            "update_logs": {key: float(value) for key, value in agent.update_logs.items()},
        },
        "rng": {
            "torch": torch.get_rng_state(),
            "numpy": np.random.get_state()[1],
            "python": random.getstate()[1],
            "agent": json.dumps(agent.rng.bit_generator.state),
            "memory": json.dumps(agent.memory.rng.bit_generator.state)
            if hasattr(agent.memory, "rng")
            else None,
        },
        "episode": {
            "returns": flight.returns,
            "lengths": flight.lengths,
            "observation": env.state,
            "nstep": flight.learner.nstep.state_dict()
            if getattr(flight.learner, "nstep", None)
            else None,
        },
        "env": [_env_leaves(sub) for sub in (env.env.envs if env.is_vector else [env.env])],
        "vector_action_space": _generator(env.env.action_space) if env.is_vector else None,
    }
    return dict(_flatten("", tree))


def _env_leaves(env: Any) -> dict[str, Any]:
    unwrapped, wrapper, elapsed = env.unwrapped, env, []
    while wrapper is not unwrapped:
        elapsed.append(getattr(wrapper, "_elapsed_steps", None))
        wrapper = wrapper.env
    return {
        "state": np.asarray(unwrapped.state),
        "np_random": json.dumps(unwrapped.np_random.bit_generator.state),
        "action_space": _generator(unwrapped.action_space),
        "elapsed_steps": elapsed,
    }


def _generator(space: Any) -> str | None:
    rng = space._np_random  # None while unused: reading `np_random` would seed it at random
    return None if rng is None else json.dumps(rng.bit_generator.state)


def _flatten(prefix: str, value: Any) -> Any:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(f"{prefix}/{key}" if prefix else str(key), item)
    elif isinstance(value, list | tuple) and not all(isinstance(v, int | float) for v in value):
        for index, item in enumerate(value):
            yield from _flatten(f"{prefix}[{index}]", item)
    else:
        yield prefix, value


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b))
    return bool(a == b) if not (a != a and b != b) else True  # NaN == NaN here


def _differing(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    assert expected and actual, "the capture hook never ran"
    keys = sorted(set(expected) | set(actual))
    return [key for key in keys if key not in expected or key not in actual] + [
        key
        for key in keys
        if key in expected and key in actual and not _equal(expected[key], actual[key])
    ]


def _dqn() -> tuple[Any, Any]:
    return q_model("DDQNModel", n_steps=3), Memory(500, 16)


def _dqn_mountain_car() -> tuple[Any, Any]:
    return q_model("DDQNModel", n_steps=3, num_states=2, num_actions=3), Memory(500, 16)


def _prioritized() -> tuple[Any, Any]:
    return q_model(), PrioritizedMemory(500, 16)


def _naf() -> tuple[Any, Any]:
    model = plx.models.NAFModel(
        graph_fn=small_graph(),
        num_states=3,
        num_actions=1,
        action_bounds=(-2.0, 2.0),
        exploration_config="ornstein_uhlenbeck",
    )
    return model, Memory(500, 16)


def _ppo_acrobot() -> tuple[Any, Any]:
    model = plx.models.PPOModel(graph_fn=small_graph(), num_states=6, num_actions=3)
    return model, BatchMemory(64)


def _ppo_cartpole() -> tuple[Any, Any]:
    model = plx.models.PPOModel(graph_fn=small_graph(), num_states=4, num_actions=2)
    return model, BatchMemory(64)  # 8 steps of 8 environments


def _vpg_acrobot() -> tuple[Any, Any]:
    model = plx.models.VPGModel(graph_fn=small_graph(), num_states=6, num_actions=3)
    return model, BatchMemory(48)  # 16 steps of 3 environments


# With 8 and 3 environments the global step moves 8 or 3 at a time, so the checkpoints
# (every 50 steps), the kill (137) and the comparison (260) fall inside iterations.
CASES = {
    "ddqn-3-step-cartpole": (_dqn, "CartPole-v1", 1),
    "dqn-prioritized-cartpole-x2": (_prioritized, "CartPole-v1", 2),
    "naf-ou-noise-pendulum": (_naf, "Pendulum-v1", 1),
    "ppo-acrobot": (_ppo_acrobot, "Acrobot-v1", 1),
    "ppo-cartpole-x8": (_ppo_cartpole, "CartPole-v1", 8),
    "vpg-acrobot-x3": (_vpg_acrobot, "Acrobot-v1", 3),
    "ddqn-3-step-mountaincar": (_dqn_mountain_car, "MountainCar-v0", 1),
}


def _run(
    build: Callable[[], tuple[Any, Any]],
    env_id: str,
    num_envs: int,
    model_dir: Path,
    hooks: Callable[[Any, Any], list[Any]],
) -> Any:
    seed_everything(0)
    model, memory = build()
    env = GymEnvironment(env_id, seed=0, num_envs=num_envs)
    agent_class = PGAgent if isinstance(memory, BatchMemory) else Agent
    agent = agent_class(
        model,
        memory,
        model_dir=model_dir,
        config={"seed": 0, "save_checkpoints_steps": CHECKPOINT_EVERY, "log_step_count_steps": 30},
    )
    extra = {} if agent_class is PGAgent else {"first_update": 40, "update_frequency": 3}
    agent.train(env, max_steps=COMPARED_AT + 3 * num_envs, hooks=hooks(agent, env), **extra)
    return agent


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_killed_and_resumed_agent_equals_an_uninterrupted_one(tmp_path: Path, case: str) -> None:
    build, env_id, num_envs = CASES[case]
    captures: list[_Capture] = []

    def capture(agent: Any, env: Any) -> list[Any]:
        captures.append(_Capture(agent, env))
        return [captures[-1]]

    reference = _run(build, env_id, num_envs, tmp_path / "reference", capture)
    with pytest.raises(_Killed):
        _run(build, env_id, num_envs, tmp_path / "killed", lambda agent, env: [_Kill()])
    resumed = _run(build, env_id, num_envs, tmp_path / "killed", capture)

    assert resumed.global_step == reference.global_step >= COMPARED_AT + 3 * num_envs
    differing = _differing(captures[0].leaves, captures[1].leaves)
    assert not differing, (
        f"{len(differing)} of {len(captures[0].leaves)} leaves differ: {differing}"
    )


class _Unsavable(GymEnvironment):
    """An environment that cannot save its state (as MuJoCo or Atari ones cannot)."""

    def get_state(self) -> None:
        return None


def test_an_environment_that_cannot_be_saved_starts_a_new_episode_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows: list[tuple[int, dict[str, Any]]] = []

    class Log:
        def log(self, metrics: dict[str, Any], global_step: int | None = None) -> None:
            rows.append((global_step, metrics))

    def agent() -> Agent:
        seed_everything(0)
        return Agent(
            q_model(),
            Memory(500, 16),
            model_dir=tmp_path,
            config={"seed": 0, "save_checkpoints_steps": CHECKPOINT_EVERY},
            run_log=Log(),
        )

    with pytest.raises(_Killed):
        agent().train(_Unsavable("CartPole-v1", seed=0), max_steps=400, hooks=[_Kill()])
    counted = max(r["episode"] for s, r in rows if r["split"] == "episode" and s <= 100)
    rows.clear()
    with caplog.at_level(logging.WARNING, logger="petri"):
        resumed = agent()
        resumed.train(_Unsavable("CartPole-v1", seed=0), max_steps=300)
        resumed.train(_Unsavable("CartPole-v1", seed=0), max_steps=350)
    warnings = [r for r in caplog.records if "episode in flight" in r.getMessage()]
    assert len(warnings) == 1 and "not counted" in warnings[0].getMessage()
    after = [r["episode"] for _, r in rows if r["split"] == "episode"]
    # the interrupted episode is never counted: the next finished one is `counted + 1`
    assert after == list(range(counted + 1, counted + 1 + len(after)))
    assert resumed.episodes == after[-1]
