"""Greedy acting through LinearChain: the Q-network's own output, kept in step with training."""

from __future__ import annotations

import copy

import numpy as np
import torch
from tests.rl._helpers import q_model

from petri.rl.memories import Memory
from petri.rl.models._network import LinearChain


def _states(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, 4)).astype(np.float32)


def _greedy(model, states: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    return model.act(states, 0, np.random.default_rng(0), greedy=True)


def _expected(model, states: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    with torch.no_grad():
        return model.q_network(torch.from_numpy(states)).argmax(dim=1).numpy()


def test_acting_uses_the_chain_and_agrees_with_the_network_through_training() -> None:
    model = q_model(graph_fn=[["FullyConnected", {"num_units": 32, "activation": "tanh"}]] * 2)
    assert isinstance(model._acting_q, LinearChain)
    states = _states(256)
    chain_q = model._acting_q(torch.from_numpy(states))
    with torch.no_grad():
        torch.testing.assert_close(chain_q, model.q_network(torch.from_numpy(states)))
    memory = Memory(500, 32)
    rng = np.random.default_rng(1)
    for state in _states(200, seed=2):
        memory.add(state, int(rng.integers(2)), float(rng.standard_normal()), state * 0.9, False)
    before = _greedy(model, states)
    for _ in range(200):
        model.update(memory.sample())
    after = _greedy(model, states)
    np.testing.assert_array_equal(after, _expected(model, states))
    assert (before != after).any()  # training moved the weights the chain reads
    for one in states[:20]:
        assert _greedy(model, one[None])[0] == _expected(model, one[None])[0]


def test_acting_follows_loaded_weights_and_copies() -> None:
    model, other = q_model(), q_model()
    states = _states(256)
    other.q_network.load_state_dict(
        {k: v + torch.randn_like(v) for k, v in other.q_network.state_dict().items()}
    )
    model.load_state_dict(other.state_dict())
    np.testing.assert_array_equal(_greedy(model, states), _expected(other, states))
    twin = copy.deepcopy(model)
    with torch.no_grad():
        for param in twin.q_network.parameters():
            param.mul_(-1.0)
    np.testing.assert_array_equal(_greedy(twin, states), _expected(twin, states))
    np.testing.assert_array_equal(_greedy(model, states), _expected(other, states))


def test_other_networks_act_through_the_modules() -> None:
    dueling = q_model(dueling="mean")
    assert not isinstance(dueling._acting_q, LinearChain)
    states = _states(64)
    np.testing.assert_array_equal(_greedy(dueling, states), _expected(dueling, states))
    hooked = q_model()
    hooked.q_network.head.register_forward_hook(lambda *_: None)
    assert LinearChain.of(hooked.q_network) is None
