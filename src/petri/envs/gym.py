"""``GymEnvironment``: a gymnasium environment (or a vector of them) with the seed's interface."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from petri.envs import _state
from petri.envs._base import EnvSpec
from petri.errors import UnknownNameError, did_you_mean

__all__ = ["GymEnvironment"]


class GymEnvironment:
    """A gymnasium environment by id, stepped with numpy arrays.

    After an episode ends (``done``) the environment resets itself at once, as gymnasium's
    vector environments do in their ``SAME_STEP`` mode: ``step`` still reports the episode's
    final observation as ``next_state``, and :attr:`state` already holds the first observation
    of the next episode. Seed-style code that calls ``reset()`` after ``done`` keeps working.

    Args:
        env_id: a registered gymnasium id (``'CartPole-v1'``; the seed's ``'CartPole-v0'`` too).
        seed: seeds the first reset and the action space (sub-environment ``i`` gets
            ``seed + i``); None draws fresh entropy.
        num_envs: more than 1 builds a synchronous gymnasium vector environment; then every
            array has a leading ``num_envs`` dimension.
        render_mode: gymnasium's render mode (``'rgb_array'``, ``'human'``).
        video_dir: record episode videos there (gymnasium's ``RecordVideo``, needs moviepy);
            implies ``render_mode='rgb_array'``. Single environments only.
        **kwargs: passed to ``gymnasium.make``.

    Raises:
        UnknownNameError: ``env_id`` is not registered in gymnasium.
        ValueError: an unsupported action/observation space, ``num_envs < 1``, or
            ``video_dir`` with ``num_envs > 1``.

    Example:
        >>> env = GymEnvironment("CartPole-v1", seed=0)
        >>> env.num_states, env.num_actions
        (4, 2)
        >>> state = env.reset()
        >>> env.step(0).reward
        1.0
    """

    def __init__(
        self,
        env_id: str,
        seed: int | None = None,
        num_envs: int = 1,
        render_mode: str | None = None,
        video_dir: str | Path | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(
                f"GymEnvironment expected num_envs to be a positive integer. Received: "
                f"num_envs={num_envs!r}."
            )
        if video_dir is not None and num_envs > 1:
            raise ValueError(
                f"GymEnvironment records videos of a single environment; received "
                f"video_dir={str(video_dir)!r} with num_envs={num_envs}. Use num_envs=1."
            )
        self.env_id = env_id
        self.seed = seed
        self.num_envs = num_envs
        self.is_vector = num_envs > 1
        self.env = _make(env_id, num_envs, render_mode, video_dir, kwargs)
        observation_space, action_space = self._spaces()
        self.state_shape: tuple[int, ...] = tuple(observation_space.shape or ())
        if not self.state_shape:
            raise ValueError(
                f"{env_id!r} has observation space {observation_space}; GymEnvironment needs a "
                "Box observation space (flatten other spaces with a gymnasium wrapper)."
            )
        self.num_states = int(np.prod(self.state_shape))
        self.is_continuous, self.num_actions, self.action_low, self.action_high = _actions(
            env_id, action_space
        )
        self.action_space = action_space
        self.max_episode_steps: int | None = getattr(
            getattr(self._single(), "spec", None), "max_episode_steps", None
        )
        if seed is not None:
            self.env.action_space.seed(seed)
            if self.is_vector:  # gymnasium gives the first one fresh entropy: keep runs equal
                for index, env in enumerate(self._environments()):
                    env.action_space.seed(seed + index)
        self.state: np.ndarray | None = None
        self._next_seed = seed

    # ------------------------------------------------------------------ interface
    def reset(self) -> np.ndarray:
        """Start a new episode (every sub-environment); returns the first observation."""
        observation, _ = self.env.reset(seed=self._next_seed)
        self._next_seed = None  # seed only the first reset; later ones continue its stream
        self.state = np.asarray(observation, dtype=np.float32)
        return self.state

    def step(self, action: Any) -> EnvSpec:
        """Take ``action`` in the current state; see the class docstring for resets."""
        if self.state is None:
            self.reset()
        if self.is_continuous:
            action = np.clip(
                np.asarray(action, dtype=np.float32).reshape(self._action_shape()),
                self.action_low,
                self.action_high,
            )
        elif not self.is_vector:
            action = int(action)
        observation, reward, terminated, truncated, info = self.env.step(action)
        observation = np.asarray(observation, dtype=np.float32)
        state = self.state
        if self.is_vector:
            done = np.logical_or(terminated, truncated)
            next_state = observation
            if done.any():
                next_state = observation.copy()
                final = info["final_obs"]
                for index in np.flatnonzero(done):
                    next_state[index] = final[index]
            self.state = observation
            reward = np.asarray(reward, dtype=np.float32)
        else:
            done = bool(terminated or truncated)
            terminated, truncated, reward = bool(terminated), bool(truncated), float(reward)
            next_state = observation
            if done:
                observation, _ = self.env.reset()
                observation = np.asarray(observation, dtype=np.float32)
            self.state = observation
        return EnvSpec(action, state, reward, done, next_state, terminated, truncated, info)

    @property
    def can_save_state(self) -> bool:
        """Whether :meth:`get_state` can save the episode in flight (every sub-environment's
        ``unwrapped`` exposes a numeric ``state``: gymnasium's classic-control environments)."""
        return all(_state.savable(env) for env in self._environments())

    def get_state(self) -> dict[str, Any] | None:
        """Everything the next step depends on, or None when the environment cannot be saved.

        That is each sub-environment's ``unwrapped.state`` (and CartPole's
        ``steps_beyond_terminated``, Pendulum's ``last_u``), its RNG, the action space's RNG,
        ``TimeLimit``'s elapsed steps, the last observation and whether the first reset's seed
        is still to come; tensors and plain values only, as checkpoints need.
        """
        if not self.can_save_state:
            return None
        observation = self.state
        return {
            "observation": None if observation is None else torch.from_numpy(observation.copy()),
            "next_seed": self._next_seed,
            "envs": [_state.capture(env) for env in self._environments()],
            "action_space": _state.capture_generator(self.env.action_space)
            if self.is_vector
            else None,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned: the next ``step`` continues that episode.

        Raises:
            ValueError: ``state`` was saved from a different number of sub-environments or
                wrappers.
        """
        environments = self._environments()
        if len(state["envs"]) != len(environments):
            raise ValueError(
                f"The saved state holds {len(state['envs'])} environments; this "
                f"GymEnvironment has {len(environments)}."
            )
        for env, saved in zip(environments, state["envs"], strict=True):
            _state.restore(env, saved)
        if state["action_space"] is not None:
            _state.restore_generator(self.env.action_space, state["action_space"])
        observation = state["observation"]
        self.state = None if observation is None else observation.numpy().copy()
        self._next_seed = state["next_seed"]

    def sample_action(self) -> Any:
        """A uniformly random action (one per sub-environment when vectorised)."""
        return self.env.action_space.sample()

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()

    def __repr__(self) -> str:
        return (
            f"GymEnvironment({self.env_id!r}, num_envs={self.num_envs}, "
            f"num_states={self.num_states}, num_actions={self.num_actions}, "
            f"continuous={self.is_continuous})"
        )

    # ------------------------------------------------------------------ helpers
    def _spaces(self) -> tuple[Any, Any]:
        if self.is_vector:
            return self.env.single_observation_space, self.env.single_action_space
        return self.env.observation_space, self.env.action_space

    def _single(self) -> Any:
        return self.env.envs[0] if self.is_vector and hasattr(self.env, "envs") else self.env

    def _environments(self) -> list[Any]:
        return list(self.env.envs) if self.is_vector else [self.env]

    def _action_shape(self) -> tuple[int, ...]:
        single = tuple(self.action_space.shape)
        return (self.num_envs, *single) if self.is_vector else single


def _make(
    env_id: str,
    num_envs: int,
    render_mode: str | None,
    video_dir: str | Path | None,
    kwargs: dict[str, Any],
) -> Any:
    import gymnasium as gym

    if video_dir is not None:
        render_mode = render_mode or "rgb_array"
    try:
        if num_envs > 1:
            from gymnasium.vector import AutoresetMode

            return gym.make_vec(
                env_id,
                num_envs=num_envs,
                vectorization_mode="sync",
                vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
                render_mode=render_mode,
                **kwargs,
            )
        env = gym.make(env_id, render_mode=render_mode, **kwargs)
    except gym.error.Error as error:
        if isinstance(error, gym.error.DependencyNotInstalled):
            raise
        known = sorted(gym.registry)
        hint = did_you_mean(env_id, known)
        raise UnknownNameError(
            f"Unknown environment id {env_id!r} ({error}).{hint} Expected a gymnasium id such "
            "as 'CartPole-v1' or 'Pendulum-v1'; list them with gymnasium.pprint_registry(), "
            "and register your own with gymnasium.register(id, entry_point)."
        ) from None
    if video_dir is not None:
        from gymnasium.wrappers import RecordVideo

        try:
            env = RecordVideo(env, str(video_dir), disable_logger=True)
        except gym.error.DependencyNotInstalled as error:
            raise ValueError(
                f"video_dir={str(video_dir)!r} needs moviepy ({error}); install it with "
                "`pip install moviepy` or drop video_dir."
            ) from None
    return env


def _actions(env_id: str, space: Any) -> tuple[bool, int, Any, Any]:
    from gymnasium import spaces

    if isinstance(space, spaces.Discrete):
        return False, int(space.n), None, None
    if isinstance(space, spaces.Box):
        low = np.asarray(space.low, dtype=np.float32)
        high = np.asarray(space.high, dtype=np.float32)
        return True, int(np.prod(space.shape)), low, high
    raise ValueError(
        f"{env_id!r} has action space {space}; GymEnvironment supports Discrete and Box action "
        "spaces."
    )
