"""Replay memories: uniform, prioritized (hand-computed probabilities and weights), batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from petri.rl.memories import MEMORIES, BatchMemory, Memory, PrioritizedMemory
from petri.rl.memories._sum_tree import SumTree


def _fill(memory: Memory, count: int) -> None:
    for t in range(count):
        memory.add([t, t], t % 2, float(t), [t + 1, t + 1], t == count - 1)


def test_uniform_add_sample_and_wraparound() -> None:
    memory = Memory(size=5, batch_size=4, rng=0)
    _fill(memory, 8)
    assert len(memory) == 5
    batch = memory.sample()
    assert batch.states.shape == (4, 2) and batch.actions.dtype == torch.int64
    # the oldest three (t = 0, 1, 2) were overwritten
    assert set(batch.rewards.tolist()) <= {3.0, 4.0, 5.0, 6.0, 7.0}
    np.testing.assert_array_equal(batch.next_states[:, 0], batch.rewards + 1)
    assert batch.weights is None and batch.indices is None


def test_stored_next_state_is_returned_not_the_next_row() -> None:
    memory = Memory(size=10, batch_size=3, rng=0)
    memory.add([0.0], 0, 0.0, [100.0], False)
    memory.add([1.0], 0, 0.0, [200.0], True)
    memory.add([2.0], 0, 0.0, [300.0], False)
    batch = memory.sample()
    for state, next_state, terminal in zip(batch.states, batch.next_states, batch.terminals):
        assert next_state.item() == (state.item() + 1) * 100
        assert terminal.item() == (state.item() == 1.0)


def test_add_batch_and_continuous_actions() -> None:
    memory = Memory(size=10, batch_size=2, rng=0)
    memory.add_batch(
        np.ones((3, 2)), np.zeros((3, 1), np.float32), np.ones(3), np.ones((3, 2)), [0, 1, 0]
    )
    assert len(memory) == 3 and memory.sample().actions.dtype == torch.float32


def test_memory_smaller_than_batch_is_an_error() -> None:
    with pytest.raises(ValueError, match="size >= batch_size"):
        Memory(size=10, batch_size=32)
    with pytest.raises(ValueError, match="positive integer"):
        Memory(size=0)


def test_sampling_before_a_batch_is_stored_is_an_error() -> None:
    memory = Memory(size=10, batch_size=4)
    _fill(memory, 2)
    with pytest.raises(ValueError, match="fewer than batch_size=4"):
        memory.sample()


def test_state_dict_round_trip() -> None:
    memory = Memory(size=6, batch_size=2, rng=3)
    _fill(memory, 4)
    restored = Memory(size=6, batch_size=2, rng=99)
    restored.load_state_dict(memory.state_dict())
    assert len(restored) == 4
    torch.testing.assert_close(restored.sample(), memory.sample())  # same data and RNG


def test_sum_tree() -> None:
    tree = SumTree(5)
    tree.update(np.arange(4), np.array([1.0, 2.0, 3.0, 4.0]))
    assert tree.total == 10.0 and tree.min == 1.0
    np.testing.assert_array_equal(
        tree.find([0.0, 0.99, 1.0, 2.5, 3.0, 5.9, 6.0, 9.99]), [0, 0, 1, 1, 2, 2, 3, 3]
    )


def test_prioritized_probabilities_and_weights_by_hand() -> None:
    memory = PrioritizedMemory(size=4, batch_size=2, rng=0, alpha=0.5, beta=1.0, epsilon=1e-9)
    _fill(memory, 4)
    memory.update_priorities(np.arange(4), [1.0, 4.0, 9.0, 16.0])
    # p**alpha = 1, 2, 3, 4 -> P = 0.1, 0.2, 0.3, 0.4
    np.testing.assert_allclose(memory.probabilities(np.arange(4)), [0.1, 0.2, 0.3, 0.4], rtol=1e-6)
    # w = (N P)^-beta / max w = (0.4, 0.8, 1.2, 1.6)^-1 / 2.5 = 1, 1/2, 1/3, 1/4
    np.testing.assert_allclose(
        memory.importance_weights(np.arange(4)), [1.0, 0.5, 1 / 3, 0.25], rtol=1e-5
    )


def test_prioritized_sampling_frequencies_and_beta_annealing() -> None:
    memory = PrioritizedMemory(size=4, batch_size=4, rng=0, alpha=1.0, beta=0.5, beta_steps=10)
    _fill(memory, 4)
    memory.update_priorities(np.arange(4), [1.0, 2.0, 3.0, 4.0])
    counts = np.zeros(4)
    for _ in range(2000):
        batch = memory.sample()
        counts += np.bincount(batch.indices, minlength=4)
        assert batch.weights is not None and batch.weights.max() <= 1.0
    np.testing.assert_allclose(counts / counts.sum(), [0.1, 0.2, 0.3, 0.4], atol=0.02)
    assert memory.beta == 1.0  # annealed to beta_final after beta_steps samples


def test_new_transitions_get_the_max_priority() -> None:
    memory = PrioritizedMemory(size=8, batch_size=2, rng=0, alpha=1.0)
    _fill(memory, 2)
    memory.update_priorities(np.array([0, 1]), [5.0, 1.0])
    memory.add([9, 9], 0, 0.0, [9, 9], False)
    assert memory.tree[np.array([2])][0] == pytest.approx(5.0 + memory.epsilon)


def test_prioritized_state_dict_round_trip() -> None:
    memory = PrioritizedMemory(size=8, batch_size=2, rng=0)
    _fill(memory, 5)
    memory.update_priorities(np.arange(5), [1, 2, 3, 4, 5])
    restored = PrioritizedMemory(size=8, batch_size=2, rng=1)
    restored.load_state_dict(memory.state_dict())
    np.testing.assert_allclose(
        restored.probabilities(np.arange(5)), memory.probabilities(np.arange(5))
    )


def test_batch_memory_returns_all_then_clears() -> None:
    memory = BatchMemory(batch_size=4)
    for t in range(2):
        memory.add(np.full((2, 3), t), [0, 1], [1.0, 2.0], np.full((2, 3), t + 1), [0, 1], [0, 1])
    assert memory.is_full and len(memory) == 4
    batch = memory.sample()
    assert batch.states.shape == (2, 2, 3) and batch.rewards.shape == (2, 2)
    assert batch.actions.dtype == torch.int64 and len(memory) == 0
    with pytest.raises(ValueError, match="empty"):
        memory.sample()


def test_registry_lists_the_memories() -> None:
    assert MEMORIES.names() == ["BatchMemory", "Memory", "PrioritizedMemory"]
