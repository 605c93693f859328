"""``DDQNModel``: double deep Q-learning (van Hasselt et al. 2016)."""

from __future__ import annotations

import torch

from petri.rl.models.dqn import DQNModel

__all__ = ["DDQNModel"]


class DDQNModel(DQNModel):
    """``DQNModel`` with double-Q targets; same arguments (``dueling`` gives dueling DDQN)."""

    def next_state_values(self, next_states: torch.Tensor) -> torch.Tensor:
        """``Q_target(s', argmax_a Q_online(s', a))``: the online network picks the action and
        the target network values it, which removes the max operator's overestimation bias."""
        best = self.q_network(next_states).argmax(dim=1, keepdim=True)
        return self.target_network(next_states).gather(1, best).squeeze(1)
