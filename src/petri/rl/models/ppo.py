"""``PPOModel``: proximal policy optimization with the clipped objective (Schulman et al. 2017)."""

from __future__ import annotations

from typing import Any

import torch

from petri.rl.memories import RolloutBatch
from petri.rl.models._base import UpdateResult
from petri.rl.models._policy import PolicyGradientModel

__all__ = ["PPOModel", "clipped_surrogate"]


def clipped_surrogate(
    ratio: torch.Tensor, advantages: torch.Tensor, clip_range: float
) -> torch.Tensor:
    """``min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A)`` per sample (to be maximized)."""
    clipped = torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
    return torch.minimum(ratio * advantages, clipped * advantages)


class PPOModel(PolicyGradientModel):
    """Several epochs of minibatch steps on the clipped surrogate, value loss and entropy bonus.

    Args:
        num_epochs: passes over each batch.
        minibatch_size: samples per gradient step (None: the whole batch).
        clip_range: epsilon of the clipped objective.
        See ``PolicyGradientModel`` for the rest (GAE lambda default 0.95).
    """

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
        num_epochs: int = 10,
        minibatch_size: int | None = 64,
        clip_range: float = 0.2,
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
            num_states,
            num_actions,
            optimizer_config,
            is_continuous,
            discount,
            gae_lambda,
            normalize_advantages,
            value_coefficient,
            entropy_coefficient,
            summaries,
            clip_gradients,
            name,
        )
        if num_epochs < 1 or (minibatch_size is not None and minibatch_size < 1):
            raise ValueError(
                f"PPOModel expected num_epochs >= 1 and minibatch_size >= 1 (or None). "
                f"Received: num_epochs={num_epochs!r}, minibatch_size={minibatch_size!r}."
            )
        if not 0.0 < clip_range < 1.0:
            raise ValueError(f"PPOModel expected clip_range in (0, 1). Received: {clip_range!r}.")
        self.num_epochs, self.minibatch_size = num_epochs, minibatch_size
        self.clip_range = float(clip_range)
        self._finish_policy()

    def update(self, batch: RolloutBatch) -> UpdateResult:
        """``num_epochs`` passes of shuffled minibatch steps on one on-policy batch."""
        flat = self._flat_batch(batch)
        states, actions = flat["states"], flat["actions"]
        with torch.no_grad():
            old_log_probs, _ = self.log_probs(states, actions)
        for index in self._minibatches(len(states), self.num_epochs, self.minibatch_size):
            log_probs, entropy = self.log_probs(states[index], actions[index])
            ratio = (log_probs - old_log_probs[index]).exp()
            advantages = self._normalized(flat["advantages"][index])
            policy_loss = -clipped_surrogate(ratio, advantages, self.clip_range).mean()
            loss, logs = self._joint_loss(
                policy_loss, entropy, states[index], flat["returns"][index]
            )
            self._optimize(loss)
        self.num_updates += 1
        with torch.no_grad():
            clip_fraction = ((ratio - 1.0).abs() > self.clip_range).float().mean()
            approx_kl = (old_log_probs[index] - log_probs).mean()
        return UpdateResult(
            {**logs, "policy/approx_kl": approx_kl, "policy/clip_fraction": clip_fraction}
        )
