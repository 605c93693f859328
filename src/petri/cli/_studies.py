"""Text for the searches beside the runs: ``petri ls`` lists them, ``petri show study:NAME``
shows one. Reads the summaries ``petri tune`` writes (``<save_dir>/<name>/study-<study>.json``)
with the standard library only, so neither command loads optuna."""

from __future__ import annotations

import glob
import json
import os
from typing import Any

__all__ = ["find_study", "studies_text", "study_text"]


def _summaries(save_dir: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(glob.glob(os.path.join(save_dir, "*", "study-*.json"))):
        try:
            with open(path, encoding="utf-8") as file:
                found.append((path, json.load(file)))
        except (OSError, ValueError):
            found.append((path, {"study": os.path.basename(path)[6:-5], "damaged": True}))
    return found


def _counts(summary: dict[str, Any]) -> str:
    counts = summary.get("counts") or {}
    parts = ", ".join(f"{n} {state.lower()}" for state, n in sorted(counts.items()))
    return f"{sum(counts.values())} trials ({parts})" if counts else "no trials"


def _best(summary: dict[str, Any]) -> str:
    best = summary.get("best")
    if not best:
        return "no trial completed"
    run = os.path.basename(best.get("run") or "") or "-"
    return f"{summary.get('metric')} {best['value']:.4g} (trial {best['number']}, {run})"


def studies_text(save_dir: str, name: str | None = None) -> str:
    """One line per study under ``save_dir`` (empty when there is none)."""
    lines = []
    for path, summary in _summaries(save_dir):
        experiment = os.path.basename(os.path.dirname(path))
        if name is not None and experiment != name:
            continue
        if summary.get("damaged"):
            lines.append(f"study {summary['study']} ({experiment}): summary damaged: {path}")
            continue
        lines.append(
            f"study {summary['study']} ({experiment}): {_counts(summary)}; best {_best(summary)}"
        )
    if not lines:
        return ""
    return "\n".join(lines) + "\n(petri show study:NAME lists a study's trials)"


def find_study(spec: str, save_dir: str) -> dict[str, Any]:
    """The summary of study ``spec`` (``study:NAME`` or ``NAME``) under ``save_dir``.

    Raises:
        FileNotFoundError: no such study.
    """
    name = spec.removeprefix("study:")
    matches = [s for _, s in _summaries(save_dir) if s.get("study") == name]
    if not matches:
        known = [s.get("study") for _, s in _summaries(save_dir)]
        raise FileNotFoundError(
            f"No study {name!r} under {os.path.abspath(save_dir)}; studies there: "
            f"{', '.join(map(str, known)) or 'none'}."
        )
    return matches[0]


def study_text(summary: dict[str, Any]) -> str:
    """A study: settings, best trial, then every trial with state, objective and params."""
    lines = [
        f"study      {summary['study']}",
        f"objective  {summary.get('direction')} {summary.get('metric')}",
        f"search     sampler {summary.get('sampler')}, pruner {summary.get('pruner')}, "
        f"{summary.get('n_trials')} trials",
        f"trials     {_counts(summary)}",
        f"best       {_best(summary)}",
        "",
    ]
    paths = list((summary.get("space") or {}).keys())
    short = [p.rsplit(".", 1)[-1] for p in paths]
    header = ["trial", "state", "value", "last step", *short, "run"]
    rows = []
    for trial in summary.get("trials", []):
        params = trial.get("params") or {}
        value = trial.get("value")
        rows.append(
            [
                str(trial["number"]),
                trial["state"].lower(),
                "-" if value is None else f"{value:.4g}",
                "-" if trial.get("last_step") is None else str(trial["last_step"]),
                *[_cell(params.get(p)) for p in paths],
                os.path.basename(trial.get("run") or "") or "-",
            ]
        )
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
