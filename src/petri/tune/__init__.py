"""Hyperparameter search: test_tube's ``HyperOptArgumentParser``, and optuna studies whose
trials are runs in the run log (``petri tune``).

``import petri.tune`` stays light; optuna and torch load when a search starts.
"""

from __future__ import annotations

from typing import Any

from petri.tracking.hyperopt import HyperOptArgumentParser, TTNamespace
from petri.tune import objective

__all__ = ["HyperOptArgumentParser", "TTNamespace", "objective", "run", "study_summary", "work"]


def run(config: Any, search_space: Any, **kwargs: Any) -> Any:
    """Search ``search_space`` for ``config``; see :func:`petri.tune._search.run`."""
    from petri.tune._search import run as run_search

    return run_search(config, search_space, **kwargs)


def work(storage: str, study_name: str, **kwargs: Any) -> Any:
    """Join a search in a shared storage; see :func:`petri.tune._search.work`."""
    from petri.tune._search import work as join_search

    return join_search(storage, study_name, **kwargs)


def study_summary(path: Any) -> dict[str, Any]:
    """Read a study's summary file (``study-<name>.json`` beside its runs)."""
    import json
    from pathlib import Path

    return json.loads(Path(path).read_text(encoding="utf-8"))
