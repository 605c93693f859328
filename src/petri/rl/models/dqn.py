"""``DQNModel``: deep Q-learning with a target network (Mnih et al. 2015)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from petri.layers.core import FullyConnected
from petri.rl.memories import ReplayBatch
from petri.rl.models._base import TDModel, UpdateResult
from petri.rl.models._network import DuelingHead, GraphNetwork, LinearChain, Sequential

__all__ = ["DQNModel"]


class DQNModel(TDModel):
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
        self._check_td_settings(target_update_frequency, tau, n_steps)
        self.dueling = dueling
        head = (
            DuelingHead(self.num_actions, dueling)
            if dueling
            else FullyConnected(num_units=self.num_actions)
        )
        self.q_network = Sequential(GraphNetwork(graph_fn, self.mode), head)
        self._finish_td(self.q_network)
        self._acting_q = LinearChain.of(self.q_network) or _NoGrad(self.q_network)

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
            return self._acting_q(self.as_input(states)).argmax(dim=1).cpu().numpy()
        explore = rng.random(n) < epsilon if epsilon > 0.0 else None
        if explore is not None and explore.all():
            return rng.integers(self.num_actions, size=n)
        actions = self._acting_q(self.as_input(states)).argmax(dim=1).cpu().numpy()
        if explore is not None and explore.any():
            actions = np.where(explore, rng.integers(self.num_actions, size=n), actions)
        return actions

    def predictions(self, states: torch.Tensor) -> dict[str, torch.Tensor]:
        q_values = self.q_network(states)
        return {"actions": q_values.argmax(dim=1), "q_values": q_values}

    # ------------------------------------------------------------------ learning
    def update(self, batch: ReplayBatch) -> UpdateResult:
        """One DQN step on a replay batch: TD targets, loss, gradient step, target sync
        (copy, or Polyak average with ``tau``)."""
        q_values = self.q_network(batch.states).gather(1, batch.actions.view(-1, 1)).view(-1)
        targets = self.td_targets(batch)
        if batch.weights is None:
            loss = self._loss(q_values, targets)
        else:  # prioritized replay: importance-weighted mean
            loss = self._loss(q_values, targets, weights=batch.weights)
        self._optimize(loss)  # GradientStep: zero grads, backward, clip, optimizer + LR step
        self.num_updates += 1
        if self.num_updates % self.target_update_frequency == 0:
            self.sync_target()
        logs = {"losses/td_loss": loss.detach(), "q_values/mean": q_values.detach().mean()}
        if batch.weights is None:  # uniform replay needs no new priorities
            return UpdateResult(logs)
        return UpdateResult(logs, (targets - q_values).detach())

    @torch.no_grad()
    def td_targets(self, batch: ReplayBatch) -> torch.Tensor:
        """``r + discount**steps * (1 - terminal) * V(s')`` on the *stored* next state (the
        seed took the next row of the batch); a truncated transition (terminal 0) bootstraps."""
        discounts = self.discount if self.n_steps == 1 else self.discount**batch.steps
        next_values = self.next_state_values(batch.next_states)
        return batch.rewards + discounts * (1.0 - batch.terminals) * next_values

    def next_state_values(self, next_states: torch.Tensor) -> torch.Tensor:
        """``max_a Q_target(s', a)`` (``DDQNModel`` overrides this with double Q)."""
        return self.target_network(next_states).amax(dim=1)

    def loss(self, batch: ReplayBatch) -> torch.Tensor:
        """The TD loss on ``batch`` without a step (for the seed-style spec)."""
        q_values = self.q_network(batch.states).gather(1, batch.actions.view(-1, 1)).view(-1)
        return self._loss(q_values, self.td_targets(batch))


class _NoGrad:
    """``network(states)`` without gradients: acting for networks ``LinearChain`` cannot run."""

    def __init__(self, network: torch.nn.Module) -> None:
        self.network = network

    def __call__(self, states: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.network(states)
