"""Memories: uniform replay, prioritized replay and the on-policy batch memory."""

from __future__ import annotations

from petri.registry import Registry
from petri.rl.memories._base import ReplayBatch, RolloutBatch
from petri.rl.memories.batch import BatchMemory
from petri.rl.memories.prioritized import PrioritizedMemory
from petri.rl.memories.uniform import Memory

__all__ = [
    "MEMORIES",
    "BatchMemory",
    "Memory",
    "PrioritizedMemory",
    "ReplayBatch",
    "RolloutBatch",
]

MEMORIES: Registry = Registry(
    "memory",
    {"Memory": Memory, "BatchMemory": BatchMemory, "PrioritizedMemory": PrioritizedMemory},
    home="petri.rl.memories.MEMORIES",
)
"""Memories selectable by ``agent_config.memory_config.module``."""
