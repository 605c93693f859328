"""``DDQNModel``: double deep Q-learning (van Hasselt et al. 2016)."""

from __future__ import annotations

import torch

from petri.rl.models.dqn import DQNModel

__all__ = ["DDQNModel", "double_q_learning_targets"]


def double_q_learning_targets(
    rewards: torch.Tensor,
    terminals: torch.Tensor,
    discounts: torch.Tensor | float,
    next_q_online: torch.Tensor,
    next_q_target: torch.Tensor,
) -> torch.Tensor:
    """``r + discount * (1 - terminal) * Q_target(s', argmax_a Q_online(s', a))``.

    The online network picks the next action and the target network values it, which removes
    the max operator's overestimation bias.
    """
    best = next_q_online.argmax(dim=1, keepdim=True)
    return rewards + discounts * (1.0 - terminals) * next_q_target.gather(1, best).squeeze(1)


class DDQNModel(DQNModel):
    """``DQNModel`` with double-Q targets; same arguments (``dueling`` gives dueling DDQN)."""

    def next_state_values(self, next_states: torch.Tensor) -> torch.Tensor:
        best = self.q_network(next_states).argmax(dim=1, keepdim=True)
        return self.target_network(next_states).gather(1, best).squeeze(1)
