"""What the policy-gradient models (VPG, PPO, TRPO) share: policy and value networks, GAE."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from petri.layers.core import FullyConnected
from petri.rl.memories import RolloutBatch
from petri.rl.models._base import RLModel
from petri.rl.models._network import GraphNetwork, Sequential

__all__ = ["PolicyGradientModel", "generalized_advantages"]


def generalized_advantages(
    rewards: torch.Tensor,
    values: torch.Tensor,
    next_values: torch.Tensor,
    terminals: torch.Tensor,
    dones: torch.Tensor,
    discount: float,
    gae_lambda: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE (Schulman et al. 2016) over ``[T, num_envs]`` rollouts; returns (advantages, returns).

    ``delta_t = r_t + discount * (1 - terminal_t) * V(s'_t) - V(s_t)`` uses each step's *stored*
    next state, so a truncated episode still bootstraps from its final observation, and
    ``A_t = delta_t + discount * gae_lambda * (1 - done_t) * A_{t+1}`` stops at every episode
    end. ``gae_lambda = 1`` gives discounted returns-to-go minus the baseline (REINFORCE with
    baseline); ``returns = advantages + values`` are the value targets.
    """
    deltas = rewards + discount * (1.0 - terminals) * next_values - values
    carry = discount * gae_lambda * (1.0 - dones)
    advantages = torch.zeros_like(deltas)
    last = torch.zeros_like(deltas[0])
    for t in range(deltas.shape[0] - 1, -1, -1):
        last = deltas[t] + carry[t] * last
        advantages[t] = last
    return advantages, advantages + values


class PolicyGradientModel(RLModel):
    """A stochastic policy (categorical logits, or a Gaussian with a learned log-std) and a
    separate value network of the same architecture.

    Args:
        is_continuous: Gaussian policy over ``num_actions`` dimensions instead of a
            categorical one over ``num_actions`` actions.
        gae_lambda: GAE's lambda.
        normalize_advantages: standardize advantages per batch (per minibatch in PPO).
        value_coefficient: weight of the value loss in the joint loss.
        entropy_coefficient: weight of the entropy bonus.
        See ``RLModel`` for the rest. Exploration comes from the stochastic policy itself.
    """

    on_policy: ClassVar[bool] = True
    discrete_actions: bool | None = None  # type: ignore[misc]

    def __init__(
        self,
        mode: str | None = None,
        graph_fn: Any = None,
        num_states: int | tuple[int, ...] | None = None,
        num_actions: int | None = None,
        optimizer_config: Any = None,
        is_continuous: bool = False,
        discount: float = 0.99,
        gae_lambda: float = 0.95,
        normalize_advantages: bool = True,
        value_coefficient: float = 0.5,
        entropy_coefficient: float = 0.0,
        summaries: str | list[str] | None = None,
        clip_gradients: float | None = 0.5,
        name: str | None = None,
    ) -> None:
        super().__init__(
            mode,
            graph_fn,
            None,
            num_states,
            num_actions,
            optimizer_config,
            "greedy",
            discount,
            summaries,
            clip_gradients,
            name,
        )
        if not 0.0 <= gae_lambda <= 1.0:
            raise ValueError(
                f"{type(self).__name__} expected gae_lambda in [0, 1]. Received: {gae_lambda!r}."
            )
        self.is_continuous = bool(is_continuous)
        self.discrete_actions = not self.is_continuous
        self.gae_lambda = float(gae_lambda)
        self.normalize_advantages = normalize_advantages
        self.value_coefficient = float(value_coefficient)
        self.entropy_coefficient = float(entropy_coefficient)
        body = GraphNetwork(graph_fn, self.mode)
        self.policy_network = Sequential(body, FullyConnected(num_units=self.num_actions))
        self.value_network = Sequential(body.clone(), FullyConnected(num_units=1))
        self.log_std = nn.Parameter(torch.zeros(self.num_actions)) if self.is_continuous else None

    # ------------------------------------------------------------------ acting
    def act(
        self, states: np.ndarray, timestep: int, rng: np.random.Generator, greedy: bool = False
    ) -> np.ndarray:
        """Sample from the policy (``greedy``: its mode)."""
        with torch.no_grad():
            out = self.policy_network(self.as_input(states)).cpu().numpy()
        if self.is_continuous:
            if greedy:
                return out
            std = np.exp(self.log_std.detach().cpu().numpy())  # type: ignore[union-attr]
            return (out + std * rng.standard_normal(out.shape)).astype(np.float32)
        if greedy:
            return out.argmax(axis=1)
        probabilities = np.exp(out - out.max(axis=1, keepdims=True))
        cumulative = probabilities.cumsum(axis=1)
        draws = rng.random((len(out), 1)) * cumulative[:, -1:]
        return np.minimum((cumulative <= draws).sum(axis=1), self.num_actions - 1)

    def predictions(self, states: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.policy_network(states)
        values = self.value_network(states).squeeze(-1)
        if self.is_continuous:
            return {"actions": out, "mean": out, "values": values}
        return {
            "actions": out.argmax(dim=1),
            "probabilities": torch.softmax(out, dim=1),
            "values": values,
        }

    # ------------------------------------------------------------------ learning helpers
    def log_probs(self, states: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(log pi(a|s), entropy) per state."""
        out = self.policy_network(states)
        if self.is_continuous:
            log_std = self.log_std.expand_as(out)  # type: ignore[union-attr]
            log_prob = (
                -0.5 * ((actions - out) / log_std.exp()) ** 2
                - log_std
                - 0.5 * math.log(2 * math.pi)
            ).sum(-1)
            entropy = (0.5 + 0.5 * math.log(2 * math.pi) + log_std).sum(-1)
            return log_prob, entropy
        log_softmax = F.log_softmax(out, dim=1)
        log_prob = log_softmax.gather(1, actions.long().view(-1, 1)).squeeze(1)
        entropy = -(log_softmax.exp() * log_softmax).sum(1)
        return log_prob, entropy

    def _flat_batch(self, batch: RolloutBatch) -> dict[str, torch.Tensor]:
        """Advantages and returns on the ``[T, E]`` batch; everything flattened to ``[T*E]``."""
        shape, n = batch.rewards.shape, batch.rewards.numel()
        states = batch.states.reshape(n, *self.state_shape)
        with torch.no_grad():
            values = self.value_network(states).reshape(shape)
            next_states = batch.next_states.reshape(n, *self.state_shape)
            next_values = self.value_network(next_states).reshape(shape)
            advantages, returns = generalized_advantages(
                batch.rewards,
                values,
                next_values,
                batch.terminals,
                batch.dones,
                self.discount,
                self.gae_lambda,
            )
        actions = batch.actions.reshape(n, -1) if self.is_continuous else batch.actions.reshape(n)
        return {
            "states": states,
            "actions": actions,
            "advantages": advantages.reshape(n),
            "returns": returns.reshape(n),
        }

    def _minibatches(self, count: int, passes: int, size: int | None) -> Iterator[torch.Tensor]:
        """Row indices of shuffled minibatches of ``size`` (None: all ``count`` rows at
        once), ``passes`` times over the batch."""
        for _ in range(passes):
            yield from torch.randperm(count).split(size or count)

    def _normalized(self, advantages: torch.Tensor) -> torch.Tensor:
        if not self.normalize_advantages or advantages.numel() < 2:
            return advantages
        return (advantages - advantages.mean()) / (advantages.std() + 1e-8)

    def _value_loss(self, states: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self.value_network(states).squeeze(-1), returns)

    def _joint_loss(
        self,
        policy_loss: torch.Tensor,
        entropy: torch.Tensor,
        states: torch.Tensor,
        returns: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``policy_loss + c_v * value_loss - c_e * mean entropy``, and its parts as logs."""
        value_loss = self._value_loss(states, returns)
        entropy = entropy.mean()
        loss = (
            policy_loss + self.value_coefficient * value_loss - self.entropy_coefficient * entropy
        )
        logs = {
            "losses/policy_loss": policy_loss.detach(),
            "losses/value_loss": value_loss.detach(),
            "policy/entropy": entropy.detach(),
        }
        return loss, logs

    def _reinforce_loss(
        self, flat: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The joint loss with the policy-gradient term ``-log pi(a|s) * A`` on a flat batch."""
        log_probs, entropy = self.log_probs(flat["states"], flat["actions"])
        policy_loss = -(log_probs * self._normalized(flat["advantages"])).mean()
        return self._joint_loss(policy_loss, entropy, flat["states"], flat["returns"])

    def _finish_policy(self) -> None:
        trainable: list[nn.Module | nn.Parameter] = [self.policy_network, self.value_network]
        if self.log_std is not None:
            trainable.append(self.log_std)
        self._finish(trainable)

    def loss(self, batch: RolloutBatch) -> torch.Tensor:
        return self._reinforce_loss(self._flat_batch(batch))[0]
