"""What a search shows: a live line per finished trial, and the study's summary file.

The summary (``<save_dir>/<name>/study-<study>.json``, replaced atomically after a trial
finishes, at most once a second, and at the end) holds the best trial and a table of all trials
with state, parameters, objective and run folder; ``petri ls`` and ``petri show`` read it.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, TextIO

from petri._fsync import replace_atomically
from petri.tune._study import SearchSettings

__all__ = ["TrialPrinter", "study_summary", "write_summary"]


def study_summary(study: Any, settings: SearchSettings) -> dict[str, Any]:
    """The study as plain data: settings, counts by state, best trial, every trial."""
    trials = []
    for trial in study.get_trials(deepcopy=False):
        trials.append(
            {
                "number": trial.number,
                "state": trial.state.name,
                "value": _finite(trial.value),
                "params": dict(trial.params),
                "run": trial.user_attrs.get("run_dir"),
                "error": trial.user_attrs.get("error"),
                "last_step": max(trial.intermediate_values) if trial.intermediate_values else None,
                "duration_s": trial.duration.total_seconds() if trial.duration else None,
                "retry_of": trial.system_attrs.get("failed_trial"),
            }
        )
    complete = [t for t in trials if t["state"] == "COMPLETE" and t["value"] is not None]
    best = None
    if complete:
        pick = max if settings.direction == "maximize" else min
        best = pick(complete, key=lambda t: t["value"])
    counts: dict[str, int] = {}
    for trial in trials:
        counts[trial["state"]] = counts.get(trial["state"], 0) + 1
    return {
        "study": study.study_name,
        "metric": settings.metric,
        "direction": settings.direction,
        "sampler": settings.sampler,
        "pruner": settings.pruner,
        "n_trials": settings.n_trials,
        "space": settings.space,
        "counts": counts,
        "best": best,
        "trials": trials,
    }


def write_summary(study: Any, settings: SearchSettings, path: Path) -> dict[str, Any]:
    """Write the summary to ``path`` whole or not at all; returns it."""
    summary = study_summary(study, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(path, lambda file: json.dump(summary, file, indent=1))
    return summary


class TrialPrinter:
    """One line per finished trial: number, state, objective, best so far, parameters."""

    def __init__(self, settings: SearchSettings, stream: TextIO | None = None) -> None:
        self.settings = settings
        self.stream = stream or sys.stderr
        self.best: tuple[float, int] | None = None
        self._header = False

    def __call__(self, outcome: dict[str, Any], study: Any) -> None:
        if not self._header:
            print(
                f"{'trial':>5}  {'state':<8}  {self.settings.metric:>12}  {'best':>12}  params",
                file=self.stream,
            )
            self._header = True
        value = outcome.get("value")
        if outcome["state"] == "COMPLETE" and value is not None:
            better = self.best is None or (
                value > self.best[0]
                if self.settings.direction == "maximize"
                else value < self.best[0]
            )
            if better:
                self.best = (value, outcome["number"])
        shown = "-" if value is None else f"{value:.4g}"
        best = "-" if self.best is None else f"{self.best[0]:.4g} (#{self.best[1]})"
        params = ", ".join(
            f"{k.rsplit('.', 1)[-1]}={_short(v)}" for k, v in outcome["params"].items()
        )
        print(
            f"{outcome['number']:>5}  {outcome['state']:<8}  {shown:>12}  {best:>12}  {params}",
            file=self.stream,
            flush=True,
        )


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _finite(value: Any) -> float | None:
    return value if isinstance(value, int | float) and math.isfinite(value) else None
