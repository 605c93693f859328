"""Typed batches the memories return, and shared argument checks."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import numpy as np
import torch

__all__ = ["ReplayBatch", "RolloutBatch", "generator_state", "positive_int", "set_generator"]


class ReplayBatch(NamedTuple):
    """Transitions sampled from a replay memory (first dimension: batch).

    Attributes:
        states: ``[B, *state_shape]`` float32.
        actions: ``[B]`` int64 (discrete) or ``[B, action_dim]`` float32 (continuous).
        rewards: ``[B]`` float32; with n-step returns, the discounted sum of ``steps`` rewards.
        next_states: ``[B, *state_shape]``: the state ``steps`` steps later (never a reset
            observation).
        terminals: ``[B]`` float32, 1.0 where ``next_states`` is terminal (no bootstrapping).
            A time-limit truncation is *not* terminal.
        steps: ``[B]`` float32, how many environment steps ``rewards`` spans (1 without
            n-step returns): targets bootstrap with ``discount ** steps``.
        weights: ``[B]`` importance-sampling weights (prioritized replay), else None.
        indices: positions in the memory (for ``update_priorities``), else None.
    """

    states: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_states: torch.Tensor
    terminals: torch.Tensor
    steps: torch.Tensor
    weights: torch.Tensor | None = None
    indices: np.ndarray | None = None


class RolloutBatch(NamedTuple):
    """On-policy transitions in time order, ``[T, num_envs, ...]``.

    Attributes:
        states, actions, rewards, next_states: as in :class:`ReplayBatch`, with a time and an
            environment dimension.
        terminals: 1.0 where ``next_states`` is terminal (values do not bootstrap).
        dones: 1.0 where the episode ended (terminal or truncated): advantages do not flow
            across this step.
    """

    states: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_states: torch.Tensor
    terminals: torch.Tensor
    dones: torch.Tensor


def positive_int(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(
            f"{owner} expected {name} to be a positive integer. Received: {name}={value!r}."
        )
    return int(value)


def set_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def generator_state(rng: np.random.Generator) -> str:
    """The generator's state as JSON text (checkpoints load with ``weights_only``)."""
    return json.dumps(rng.bit_generator.state)


def restore_generator(rng: np.random.Generator, text: str) -> None:
    rng.bit_generator.state = json.loads(text)
