"""``NAFModel``: continuous Q-learning with normalized advantage functions (Gu et al. 2016)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from petri.layers.core import FullyConnected
from petri.layers.initializers import get_initializer
from petri.rl.memories import ReplayBatch
from petri.rl.models._base import TDModel, UpdateResult
from petri.rl.models._network import GraphNetwork

__all__ = ["NAFModel", "naf_advantage"]

# Two guards against a collapse seen on Pendulum-v1 (mu at +2 in every state, P = L L^T at its
# floor e^-10, the greedy policy frozen): once P is tiny, Q ignores the action, mu gets no
# signal, drifts into tanh's flat tail and its gradient never comes back. (1) The heads start
# with a tenth of the graph's default weights, so mu starts mid-range and P near the identity in
# every state (DDPG starts its last layers small too, Lillicrap et al. 2016, section 7). (2) L's
# diagonal is exp(tanh(x)), in [1/e, e], so P cannot collapse: det P >= e^(-2 num_actions), in
# action units. With examples/rl/naf_pendulum.py's settings, without them 0 of 3 seeds beat -400
# within 20,000 steps; with them 6 of 6 (seeds 0-5) did within 5,000.
_HEAD_INIT_FACTOR = 0.1


def naf_advantage(actions: torch.Tensor, mu: torch.Tensor, lower: torch.Tensor) -> torch.Tensor:
    """``A(s, a) = -1/2 (a - mu)^T L L^T (a - mu)`` with ``L`` lower triangular ``[B, n, n]``."""
    diff = (actions - mu).unsqueeze(-1)  # [B, n, 1]
    projected = lower.transpose(1, 2) @ diff  # L^T (a - mu)
    return -0.5 * projected.square().sum(dim=(1, 2))


class _NAFNetwork(nn.Module):
    """State value ``V``, greedy action ``mu`` and the Cholesky factor ``L`` of ``P``.

    ``mu`` is ``tanh`` squashed into the action bounds (when given); ``L``'s diagonal is
    ``exp(tanh(x))`` and its heads start small (see the note above).
    """

    def __init__(self, body: GraphNetwork, num_actions: int, bounds: Any) -> None:
        super().__init__()
        self.body = body
        self.num_actions = num_actions
        small = get_initializer("uniform_scaling", factor=_HEAD_INIT_FACTOR)
        self.value = FullyConnected(num_units=1, weights_init=small)
        self.mu = FullyConnected(num_units=num_actions, weights_init=small)
        self.entries = FullyConnected(
            num_units=num_actions * (num_actions + 1) // 2, weights_init=small
        )
        rows, cols = torch.tril_indices(num_actions, num_actions)
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)
        self.register_buffer("diagonal", rows == cols, persistent=False)
        if bounds is None:
            self.register_buffer("center", None, persistent=False)
            self.register_buffer("scale", None, persistent=False)
        else:
            low = torch.as_tensor(bounds[0], dtype=torch.float32).expand(num_actions)
            high = torch.as_tensor(bounds[1], dtype=torch.float32).expand(num_actions)
            self.register_buffer("center", (high + low) / 2, persistent=False)
            self.register_buffer("scale", (high - low) / 2, persistent=False)

    def forward(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features = self.body(states)
        mu = self.mu(features)
        if self.scale is not None:
            mu = torch.tanh(mu) * self.scale + self.center
        entries = self.entries(features)
        entries = torch.where(self.diagonal, torch.tanh(entries).exp(), entries)
        lower = entries.new_zeros(len(states), self.num_actions, self.num_actions)
        lower[:, self.rows, self.cols] = entries
        return self.value(features).squeeze(-1), mu, lower


class NAFModel(TDModel):
    """``Q(s, a) = V(s) + A(s, a)`` with a quadratic advantage, so ``argmax_a Q = mu(s)``.

    Targets ``r + discount**k (1 - terminal) V_target(s')`` come from a target network moved
    towards the online one by ``tau`` every ``target_update_frequency`` updates.

    Args:
        action_bounds: ``(low, high)`` (scalars or per-dimension); ``mu`` is squashed into them
            with tanh. None leaves ``mu`` unbounded (the environment clips actions).
        target_update_frequency, tau, n_steps: as in ``DQNModel`` (here soft updates every
            update by default, tau 0.001 as in the paper).
        See ``RLModel`` for the rest (loss default ``huber_loss``; exploration default
        Gaussian noise, ``sigma`` 0.1, added to ``mu``; no gradient clipping by default:
        Q-values of hundreds make clipped updates crawl).
    """

    discrete_actions = False
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
        target_update_frequency: int = 1,
        tau: float | None = 0.001,
        n_steps: int = 1,
        discount: float = 0.99,
        action_bounds: tuple[Sequence[float] | float, Sequence[float] | float] | None = None,
        summaries: str | list[str] | None = None,
        clip_gradients: float | None = None,
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
        self.action_bounds = action_bounds
        if action_bounds is not None:
            self._low = np.broadcast_to(np.asarray(action_bounds[0], np.float32), num_actions)
            self._high = np.broadcast_to(np.asarray(action_bounds[1], np.float32), num_actions)
        self.network = _NAFNetwork(
            GraphNetwork(graph_fn, self.mode), self.num_actions, action_bounds
        )
        self._finish_td(self.network)

    def act(
        self, states: np.ndarray, timestep: int, rng: np.random.Generator, greedy: bool = False
    ) -> np.ndarray:
        """``mu(s)`` plus the exploration's noise (none when ``greedy``)."""
        with torch.no_grad():
            mu = self.network(self.as_input(states))[1].cpu().numpy()
        if greedy:
            self.last_exploration_rate = 0.0
            return mu
        self.last_exploration_rate = self.exploration.rate(timestep)
        actions = mu + self.exploration.noise(timestep, mu.shape, rng)
        if self.action_bounds is not None:
            actions = np.clip(actions, self._low, self._high)
        return actions.astype(np.float32)

    def predictions(self, states: torch.Tensor) -> dict[str, torch.Tensor]:
        value, mu, _ = self.network(states)
        return {"actions": mu, "values": value}

    def update(self, batch: ReplayBatch) -> UpdateResult:
        """One NAF step: ``Q(s, a) = V(s) + A(s, a)`` towards ``r + gamma * V_target(s')``."""
        q_values, targets = self._q_and_targets(batch)
        if batch.weights is None:
            loss = self._loss(q_values, targets)
        else:  # prioritized replay: importance-weighted mean
            loss = self._loss(q_values, targets, weights=batch.weights)
        self._optimize(loss)
        self.num_updates += 1
        if self.num_updates % self.target_update_frequency == 0:
            self.sync_target()  # Polyak average with tau (0.001 by default)
        logs = {"losses/td_loss": loss.detach(), "q_values/mean": q_values.detach().mean()}
        if batch.weights is None:
            return UpdateResult(logs)
        return UpdateResult(logs, (targets - q_values).detach())

    def loss(self, batch: ReplayBatch) -> torch.Tensor:
        """The TD loss on ``batch`` without a step (for the seed-style spec)."""
        return self._loss(*self._q_and_targets(batch))

    def _q_and_targets(self, batch: ReplayBatch) -> tuple[torch.Tensor, torch.Tensor]:
        value, mu, lower = self.network(batch.states)
        q_values = value + naf_advantage(batch.actions.view_as(mu), mu, lower)
        with torch.no_grad():
            discounts = self.discount if self.n_steps == 1 else self.discount**batch.steps
            next_values = self.target_network(batch.next_states)[0]
            targets = batch.rewards + discounts * (1.0 - batch.terminals) * next_values
        return q_values, targets
