"""``DQNModel``: deep Q-learning with a target network (Mnih et al. 2015)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from petri.layers.core import FullyConnected
from petri.models.rl._base import RLModel, UpdateResult
from petri.models.rl._network import DuelingHead, GraphNetwork, Sequential
from petri.rl.memories import ReplayBatch

__all__ = ["DQNModel", "q_learning_targets"]


def q_learning_targets(
    rewards: torch.Tensor,
    terminals: torch.Tensor,
    discounts: torch.Tensor | float,
    next_q_target: torch.Tensor,
) -> torch.Tensor:
    """``r + discount * (1 - terminal) * max_a Q_target(s', a)``.

    ``next_q_target`` holds the target network's Q-values of the *stored* next states (the seed
    took the next row of the sampled batch instead). A truncated transition has
    ``terminal = 0`` and bootstraps.
    """
    return rewards + discounts * (1.0 - terminals) * next_q_target.amax(dim=1)


class DQNModel(RLModel):
    """A Q-network trained towards targets from a periodically synced target network.

    Args:
        mode, graph_fn, loss_config, num_states, num_actions, optimizer_config,
            exploration_config, discount, summaries, clip_gradients, name: see ``RLModel``
            (loss default ``huber_loss``; clip default 10, Stable-Baselines3's).
        target_update_frequency: sync the target network every this many updates (gradient
            steps).
        tau: how far each sync moves the target: 1.0 (None) copies the weights (hard update),
            ``0 < tau < 1`` is a Polyak (soft) update ``target += tau * (online - target)``.
        dueling: ``'mean'``, ``'max'`` or ``'naive'`` for a dueling head (Wang et al. 2016),
            None for a plain linear head.
        n_steps: n-step returns; the Agent stores n-step transitions for the memory.

    Predictions: ``q_values`` and greedy ``actions``.
    """

    default_loss = "huber_loss"

    def __init__(
        self,
        mode: str | None = None,
        graph_fn: Any = None,
        loss_config: Any = None,
        num_states: int | tuple[int, ...] | None = None,
        num_actions: int | None = None,
        optimizer_config: Any = None,
        exploration_config: Any = None,
        target_update_frequency: int = 1000,
        tau: float | None = None,
        dueling: str | None = None,
        n_steps: int = 1,
        discount: float = 0.99,
        summaries: str | list[str] | None = None,
        clip_gradients: float | None = 10.0,
        name: str | None = None,
    ) -> None:
        super().__init__(
            mode,
            graph_fn,
            loss_config,
            num_states,
            num_actions,
            optimizer_config,
            exploration_config,
            discount,
            summaries,
            clip_gradients,
            name,
        )
        owner = type(self).__name__
        if isinstance(target_update_frequency, bool) or not (
            isinstance(target_update_frequency, int) and target_update_frequency >= 1
        ):
            raise ValueError(
                f"{owner} expected target_update_frequency to be a positive integer (updates "
                f"between target syncs). Received: {target_update_frequency!r}."
            )
        if tau is not None and not 0.0 < tau <= 1.0:
            raise ValueError(f"{owner} expected tau in (0, 1] or None. Received: tau={tau!r}.")
        if not isinstance(n_steps, int) or n_steps < 1:
            raise ValueError(f"{owner} expected n_steps >= 1. Received: n_steps={n_steps!r}.")
        self.target_update_frequency = target_update_frequency
        self.tau = 1.0 if tau is None else float(tau)
        self.dueling = dueling
        self.n_steps = n_steps
        head = (
            DuelingHead(self.num_actions, dueling)
            if dueling
            else FullyConnected(num_units=self.num_actions)
        )
        self.q_network = Sequential(GraphNetwork(graph_fn, self.mode), head)
        self._finish([self.q_network])
        self.target_network = copy.deepcopy(self.q_network).requires_grad_(False)
        self._online = list(self.q_network.parameters())
        self._target = list(self.target_network.parameters())

    # ------------------------------------------------------------------ acting
    def act(
        self, states: np.ndarray, timestep: int, rng: np.random.Generator, greedy: bool = False
    ) -> np.ndarray:
        """Epsilon-greedy actions; the network runs only when some state acts greedily."""
        n = len(states)
        epsilon = 0.0 if greedy else self.exploration.rate(timestep)
        self.last_exploration_rate = epsilon
        if n == 1:  # the common case, without array bookkeeping
            if epsilon > 0.0 and rng.random() < epsilon:
                return rng.integers(self.num_actions, size=1)
            with torch.no_grad():
                return self.q_network(torch.from_numpy(states)).argmax(dim=1).numpy()
        explore = rng.random(n) < epsilon if epsilon > 0.0 else None
        if explore is not None and explore.all():
            return rng.integers(self.num_actions, size=n)
        with torch.no_grad():
            actions = self.q_network(torch.from_numpy(states)).argmax(dim=1).numpy()
        if explore is not None and explore.any():
            actions = np.where(explore, rng.integers(self.num_actions, size=n), actions)
        return actions

    def predictions(self, states: torch.Tensor) -> dict[str, torch.Tensor]:
        q_values = self.q_network(states)
        return {"actions": q_values.argmax(dim=1), "q_values": q_values}

    # ------------------------------------------------------------------ learning
    def next_state_values(self, next_states: torch.Tensor) -> torch.Tensor:
        """``max_a Q_target(s', a)`` (``DDQNModel`` overrides this with double Q)."""
        return self.target_network(next_states).amax(dim=1)

    def loss(self, batch: ReplayBatch) -> torch.Tensor:
        return self._td(batch)[0]

    def _td(self, batch: ReplayBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(loss, Q(s, a), targets) on a replay batch."""
        q_values = self.q_network(batch.states).gather(1, batch.actions.view(-1, 1)).view(-1)
        with torch.no_grad():
            discounts = self.discount if self.n_steps == 1 else self.discount**batch.steps
            targets = batch.rewards + discounts * (1.0 - batch.terminals) * (
                self.next_state_values(batch.next_states)
            )
        if batch.weights is None:
            loss = self._loss(q_values, targets)
        else:  # prioritized replay: importance-weighted mean
            loss = self._loss(q_values, targets, weights=batch.weights)
        return loss, q_values, targets

    def update(self, batch: ReplayBatch) -> UpdateResult:
        """One gradient step on the TD loss, then a target sync when one is due."""
        loss, q_values, targets = self._td(batch)
        self._optimize(loss)
        self.num_updates += 1
        if self.num_updates % self.target_update_frequency == 0:
            self.sync_target()
        logs = {"losses/td_loss": loss.detach(), "q_values/mean": q_values.detach().mean()}
        return UpdateResult(logs, (targets - q_values).detach())

    @torch.no_grad()
    def sync_target(self) -> None:
        """Copy (``tau = 1``) or move (``tau < 1``) the target weights to the online ones."""
        if self.tau >= 1.0:
            torch._foreach_copy_(self._target, self._online)
        else:
            torch._foreach_lerp_(self._target, self._online, self.tau)
