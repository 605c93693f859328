"""The run log: test_tube's ``Experiment`` (seed 004) and readers for what it writes.

``import petri.tracking`` loads the standard library only; numpy, PIL and torch load when a run
first needs them. ``SummaryHook`` (which needs torch) is imported on first access.
"""

from __future__ import annotations

from typing import Any

from petri.tracking._lock import RunLockedError
from petri.tracking._tags import RunFileError
from petri.tracking.experiment import DEFAULT_SAVE_DIR, Experiment
from petri.tracking.hyperopt import HyperOptArgumentParser
from petri.tracking.reader import Run, list_runs, load

__all__ = [
    "DEFAULT_SAVE_DIR",
    "Experiment",
    "HyperOptArgumentParser",
    "Run",
    "RunFileError",
    "RunLockedError",
    "SummaryHook",
    "list_runs",
    "load",
]


def __getattr__(name: str) -> Any:
    if name == "SummaryHook":
        # torch (heavy) loads only for summaries: a test_tube-style run log stays stdlib-only
        from petri.tracking.summaries import SummaryHook

        return SummaryHook
    raise AttributeError(f"module 'petri.tracking' has no attribute {name!r}")
