"""The algorithms' math against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from petri.rl._nstep import NStepBuffer
from petri.rl.memories import ReplayBatch
from petri.rl.models._network import dueling_aggregate
from petri.rl.models._policy import generalized_advantages
from petri.rl.models.ppo import clipped_surrogate

T = torch.tensor


def _fixed_q(model, online: list, target: list) -> None:
    """Make the online and target networks return fixed Q-values for the two test states."""
    model.q_network = _Table(online)
    model.target_network = _Table(target)


class _Table(torch.nn.Module):
    """Q-values looked up by state index (state = [index])."""

    def __init__(self, rows: list) -> None:
        super().__init__()
        self.rows = T(rows)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.rows[states[:, 0].long()]


def _batch(rewards: list, terminals: list, steps: list | None = None) -> ReplayBatch:
    n = len(rewards)
    return ReplayBatch(
        states=torch.zeros(n, 1),
        actions=torch.zeros(n, dtype=torch.long),
        rewards=T(rewards),
        next_states=torch.arange(n, dtype=torch.float32).view(n, 1),
        terminals=T(terminals),
        steps=T(steps or [1.0] * n),
    )


def test_q_learning_target_uses_the_max_and_stops_at_terminals() -> None:
    from petri.models import DQNModel

    model = DQNModel(graph_fn=torch.nn.Identity(), num_states=1, num_actions=2, discount=0.9)
    _fixed_q(model, online=[[0.0, 0.0], [0.0, 0.0]], target=[[2.0, 5.0], [7.0, 3.0]])
    targets = model.td_targets(_batch([1.0, 1.0], [0.0, 1.0]))
    torch.testing.assert_close(targets, T([1.0 + 0.9 * 5.0, 1.0]))


def test_n_step_targets_discount_by_the_steps_they_span() -> None:
    from petri.models import DQNModel

    model = DQNModel(
        graph_fn=torch.nn.Identity(), num_states=1, num_actions=2, discount=0.9, n_steps=3
    )
    _fixed_q(model, online=[[0.0, 0.0], [0.0, 0.0]], target=[[2.0, 5.0], [7.0, 3.0]])
    targets = model.td_targets(_batch([1.0, 0.5], [0.0, 0.0], steps=[3.0, 2.0]))
    torch.testing.assert_close(targets, T([1.0 + 0.9**3 * 5.0, 0.5 + 0.9**2 * 7.0]))


def test_double_q_target_picks_with_online_values_with_target() -> None:
    from petri.models import DDQNModel

    # online prefers action 0 in row 0 and action 1 in row 1; the target's values are used
    model = DDQNModel(graph_fn=torch.nn.Identity(), num_states=1, num_actions=2, discount=0.9)
    _fixed_q(model, online=[[3.0, 1.0], [0.0, 4.0]], target=[[2.0, 10.0], [6.0, 8.0]])
    targets = model.td_targets(_batch([1.0, 0.5], [0.0, 0.0]))
    torch.testing.assert_close(targets, T([1.0 + 0.9 * 2.0, 0.5 + 0.9 * 8.0]))


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("mean", [[10 + 1 - 2, 10 + 3 - 2], [0 + 0 - 1, 0 + 2 - 1]]),
        ("max", [[10 + 1 - 3, 10 + 3 - 3], [0 + 0 - 2, 0 + 2 - 2]]),
        ("naive", [[11, 13], [0, 2]]),
    ],
)
def test_dueling_aggregation(method: str, expected: list) -> None:
    value = T([[10.0], [0.0]])
    advantage = T([[1.0, 3.0], [0.0, 2.0]])
    torch.testing.assert_close(dueling_aggregate(value, advantage, method), T(expected).float())


def test_unknown_dueling_method() -> None:
    with pytest.raises(ValueError, match="dueling expected one of"):
        dueling_aggregate(T([[0.0]]), T([[0.0]]), "min")


def test_gae_by_hand() -> None:
    # one environment, three steps; the episode terminates at t=1, t=2 starts a new one and the
    # rollout stops mid-episode (bootstrap from V(s'_2)).
    gamma, lam = 0.9, 0.5
    rewards = T([[1.0], [2.0], [3.0]])
    values = T([[0.5], [1.0], [2.0]])
    next_values = T([[1.0], [7.0], [4.0]])
    terminals = T([[0.0], [1.0], [0.0]])
    dones = T([[0.0], [1.0], [0.0]])
    advantages, returns = generalized_advantages(
        rewards, values, next_values, terminals, dones, gamma, lam
    )
    d2 = 3.0 + 0.9 * 4.0 - 2.0  # 4.6
    d1 = 2.0 - 1.0  # terminal: no bootstrap -> 1.0
    d0 = 1.0 + 0.9 * 1.0 - 0.5  # 1.4
    expected = [d0 + gamma * lam * d1, d1, d2]  # no flow from t=2 into t=1 (episode ended)
    torch.testing.assert_close(advantages.view(-1), T(expected))
    torch.testing.assert_close(returns, advantages + values)


def test_gae_truncation_bootstraps_but_does_not_flow() -> None:
    rewards, values = T([[1.0], [1.0]]), T([[0.0], [0.0]])
    next_values = T([[5.0], [5.0]])
    truncated_end = T([[1.0], [0.0]])
    advantages, _ = generalized_advantages(
        rewards, values, next_values, T([[0.0], [0.0]]), truncated_end, 0.5, 1.0
    )
    torch.testing.assert_close(advantages.view(-1), T([1.0 + 0.5 * 5.0, 1.0 + 0.5 * 5.0]))


def test_ppo_clipping() -> None:
    ratio = T([0.5, 1.0, 1.5, 0.5, 1.5])
    advantages = T([1.0, 1.0, 1.0, -1.0, -1.0])
    # A>0: min(r, clip(r)) -> 0.5, 1.0, 1.2 ; A<0: min(-r, -clip(r)) -> -0.8, -1.5
    torch.testing.assert_close(
        clipped_surrogate(ratio, advantages, 0.2), T([0.5, 1.0, 1.2, -0.8, -1.5])
    )


def _step(buffer: NStepBuffer, t: int, terminated: bool = False, truncated: bool = False):
    done = terminated or truncated
    return buffer.add(
        np.array([[float(t)]]),
        np.array([t]),
        np.array([float(t + 1)]),
        np.array([[float(t + 1)]]),
        np.array([terminated]),
        np.array([done]),
    )


def test_nstep_transitions_with_truncation() -> None:
    buffer = NStepBuffer(n=3, discount=0.5)
    assert _step(buffer, 0) == [] and _step(buffer, 1) == []
    (first,) = _step(buffer, 2)  # rewards 1, 2, 3
    assert first[2] == pytest.approx(1 + 0.5 * 2 + 0.25 * 3) and first[5] == 3
    assert first[3][0] == 3.0 and first[4] is False
    out = _step(buffer, 3, truncated=True)  # rewards 4 ends the episode by time limit
    assert [t[5] for t in out] == [3, 2, 1]
    assert out[0][2] == pytest.approx(2 + 0.5 * 3 + 0.25 * 4)
    assert all(t[4] is False for t in out)  # truncated: not terminal, bootstrap from s'
    assert all(t[3][0] == 4.0 for t in out)


def test_nstep_termination_is_terminal() -> None:
    buffer = NStepBuffer(n=2, discount=0.9)
    out = _step(buffer, 0, terminated=True)
    assert len(out) == 1 and out[0][4] is True and out[0][5] == 1


def test_conjugate_gradient_on_a_known_system() -> None:
    from petri.rl.models.trpo import conjugate_gradient

    a = T([[4.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    b = T([1.0, 2.0], dtype=torch.float64)
    x = conjugate_gradient(lambda v: a @ v, b, iterations=10)
    torch.testing.assert_close(x, T([1 / 11, 7 / 11], dtype=torch.float64))  # exact in 2 steps


def test_naf_advantage_by_hand() -> None:
    from petri.rl.models.naf import naf_advantage

    lower = T([[[2.0, 0.0], [1.0, 1.0]]])  # P = L L^T = [[4, 2], [2, 2]]
    advantage = naf_advantage(T([[1.0, 1.0]]), T([[0.0, 0.0]]), lower)
    torch.testing.assert_close(advantage, T([-0.5 * (4 + 2 + 2 + 2)]))
