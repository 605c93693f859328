"""``VPGModel``: vanilla policy gradient, REINFORCE with a learned baseline (Williams 1992)."""

from __future__ import annotations

from typing import Any

from petri.rl.memories import RolloutBatch
from petri.rl.models._base import UpdateResult
from petri.rl.models._policy import PolicyGradientModel

__all__ = ["VPGModel"]


class VPGModel(PolicyGradientModel):
    """One gradient step per batch on ``-log pi(a|s) * A + c_v * (V(s) - R)**2``.

    With the default ``gae_lambda=1`` the advantage is the discounted return-to-go minus the
    value baseline (bootstrapped only where a rollout stops mid-episode or an episode was
    truncated). Arguments: see ``PolicyGradientModel``.
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
        gae_lambda: float = 1.0,
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
        self._finish_policy()

    def update(self, batch: RolloutBatch) -> UpdateResult:
        """One step on the policy-gradient loss plus the value (baseline) loss."""
        loss, logs = self._reinforce_loss(self._flat_batch(batch))
        self._optimize(loss)
        self.num_updates += 1
        return UpdateResult(logs)
