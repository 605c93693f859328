"""The run log: test_tube's ``Experiment`` (seed 004) and readers for what it writes.

``import petri.tracking`` loads the standard library only; numpy, PIL and torch load when a run
first needs them. ``SummaryHook`` (which needs torch) is imported on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from petri.tracking.experiment import DEFAULT_SAVE_DIR, Experiment
from petri.tracking.reader import Run, list_runs, load

if TYPE_CHECKING:
    from petri.tracking.summaries import SummaryHook

__all__ = ["DEFAULT_SAVE_DIR", "Experiment", "Run", "SummaryHook", "list_runs", "load"]


def __getattr__(name: str) -> Any:
    if name == "SummaryHook":
        from petri.tracking.summaries import SummaryHook

        return SummaryHook
    raise AttributeError(f"module 'petri.tracking' has no attribute {name!r}")
