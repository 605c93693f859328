"""GymEnvironment: sizes, steps, resets, truncation kept apart from termination, saving the
episode in flight, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from petri.envs import ENVIRONMENTS, EnvSpec, GymEnvironment
from petri.errors import UnknownNameError


def test_discrete_sizes_and_step() -> None:
    env = GymEnvironment("CartPole-v1", seed=0)
    assert (env.num_states, env.num_actions, env.is_continuous) == (4, 2, False)
    state = env.reset()
    spec = env.step(1)
    assert isinstance(spec, EnvSpec)
    assert spec.state is state and spec.reward == 1.0 and spec.action == 1
    assert spec.next_state.shape == (4,) and spec.next_state.dtype == np.float32
    assert env.state is spec.next_state


def test_seed_002_cartpole_v0_works() -> None:
    with pytest.warns(DeprecationWarning):
        env = GymEnvironment("CartPole-v0", seed=1)
    assert env.max_episode_steps == 200 and env.num_actions == 2


def test_continuous_bounds_and_clipping() -> None:
    env = GymEnvironment("Pendulum-v1", seed=0)
    assert env.is_continuous and env.num_actions == 1
    np.testing.assert_allclose(env.action_low, [-2.0])
    np.testing.assert_allclose(env.action_high, [2.0])
    env.reset()
    np.testing.assert_allclose(env.step([5.0]).action, [2.0])


def test_truncation_is_not_termination_and_env_resets() -> None:
    env = GymEnvironment("CartPole-v1", seed=0, max_episode_steps=3)
    env.reset()
    specs = [env.step(i % 2) for i in range(3)]
    last = specs[-1]
    assert last.done and last.truncated and not last.terminated
    # next_state is the episode's final observation, the env already holds the next episode's
    assert not np.array_equal(last.next_state, env.state)
    assert not specs[0].done


def test_termination_flags() -> None:
    env = GymEnvironment("CartPole-v1", seed=0)
    env.reset()
    for _ in range(500):
        spec = env.step(0)  # always push left: the pole falls
        if spec.done:
            break
    assert spec.terminated and not spec.truncated


def test_vector_environment_keeps_final_observations() -> None:
    env = GymEnvironment("CartPole-v1", seed=0, num_envs=3, max_episode_steps=4)
    states = env.reset()
    assert states.shape == (3, 4) and env.num_envs == 3
    for _ in range(4):
        spec = env.step(np.zeros(3, dtype=np.int64))
    assert spec.done.all() and spec.truncated.all() and not spec.terminated.any()
    assert spec.reward.shape == (3,)
    assert not np.allclose(spec.next_state, env.state)  # final obs vs reset obs


def test_seeding_is_reproducible() -> None:
    first = GymEnvironment("CartPole-v1", seed=7).reset()
    second = GymEnvironment("CartPole-v1", seed=7).reset()
    np.testing.assert_array_equal(first, second)


def test_unknown_env_id_is_a_clear_error() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'CartPole-v1'"):
        GymEnvironment("CartPol-v1")


def test_bad_num_envs() -> None:
    with pytest.raises(ValueError, match="num_envs"):
        GymEnvironment("CartPole-v1", num_envs=0)


def test_registry() -> None:
    assert ENVIRONMENTS.get("gym_environment") is GymEnvironment


@pytest.mark.parametrize(
    ("env_id", "num_envs"),
    [
        ("CartPole-v1", 1),
        ("Pendulum-v1", 1),
        ("MountainCar-v0", 1),
        ("Acrobot-v1", 1),
        ("CartPole-v1", 3),
    ],
)
def test_a_saved_episode_continues_exactly_in_a_new_env(env_id: str, num_envs: int) -> None:
    original = GymEnvironment(env_id, seed=3, num_envs=num_envs)
    original.reset()
    for _ in range(40):
        original.step(original.sample_action())
    assert original.can_save_state
    buffer = io.BytesIO()
    torch.save(original.get_state(), buffer)  # what a checkpoint does
    buffer.seek(0)
    restored = GymEnvironment(env_id, seed=3, num_envs=num_envs)  # never reset
    restored.set_state(torch.load(buffer, weights_only=True))
    for _ in range(300):  # through time limits and resets
        action = original.sample_action()
        assert np.array_equal(action, restored.sample_action())
        a, b = original.step(action), restored.step(action)
        for field in ("next_state", "reward", "terminated", "truncated"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), field
        assert np.array_equal(original.state, restored.state)


def test_an_environment_without_a_state_array_cannot_be_saved() -> None:
    env = GymEnvironment("CartPole-v1", seed=0)
    env.env.unwrapped.state = None  # as MuJoCo or Atari environments: no `state`
    assert not env.can_save_state and env.get_state() is None
