"""A sum tree (and min tree) over priorities, updated and searched in vectorised numpy."""

from __future__ import annotations

import numpy as np

__all__ = ["SumTree"]


class SumTree:
    """Binary trees whose leaves are priorities: O(log n) update, prefix-sum search and min.

    Node 1 is the root, node ``i`` has children ``2i`` and ``2i + 1``, and leaf ``j`` is node
    ``capacity + j`` (capacity is ``size`` rounded up to a power of two; unused leaves are 0 in
    the sum tree and +inf in the min tree).
    """

    def __init__(self, size: int) -> None:
        self.capacity = 1 << max(size - 1, 1).bit_length()
        self.depth = self.capacity.bit_length() - 1
        self.sums = np.zeros(2 * self.capacity, dtype=np.float64)
        self.mins = np.full(2 * self.capacity, np.inf, dtype=np.float64)

    @property
    def total(self) -> float:
        return float(self.sums[1])

    @property
    def min(self) -> float:
        return float(self.mins[1])

    def __getitem__(self, index: np.ndarray) -> np.ndarray:
        return self.sums[np.asarray(index) + self.capacity]

    def update(self, index: np.ndarray, priority: np.ndarray) -> None:
        """Set leaves ``index`` to ``priority`` and recompute their ancestors, level by level."""
        node = np.asarray(index, dtype=np.int64) + self.capacity
        self.sums[node] = priority
        self.mins[node] = priority
        for _ in range(self.depth):
            node = np.unique(node >> 1)
            left, right = 2 * node, 2 * node + 1
            self.sums[node] = self.sums[left] + self.sums[right]
            self.mins[node] = np.minimum(self.mins[left], self.mins[right])

    def find(self, values: np.ndarray) -> np.ndarray:
        """Leaves whose prefix-sum interval holds each value in ``values`` (``0 <= v < total``)."""
        values = np.array(values, dtype=np.float64)
        node = np.ones(len(values), dtype=np.int64)
        for _ in range(self.depth):
            left = 2 * node
            left_sum = self.sums[left]
            go_right = values >= left_sum
            values = np.where(go_right, values - left_sum, values)
            node = np.where(go_right, left + 1, left)
        return node - self.capacity
