"""Text for ``petri ls``, ``petri show`` and ``petri compare``: tables over stored runs.

Only the standard library is used, so the commands answer fast (``petri ls`` over 1,000 runs in
well under a second: it reads each run's ``meta.experiment``, ``meta_tags.csv`` and the last
64 KB of ``metrics.csv``).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from typing import Any

from petri.tracking.query import parse_filter, sort_runs
from petri.tracking.reader import Run, list_runs

__all__ = ["compare_text", "ls_text", "show_text"]

_SKIP_METRICS = {"global_step", "step", "created_at", "epoch"}
_MAX_METRICS = 3
_TAG_WIDTH = 60


# ------------------------------------------------------------------------ helpers


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4g}"
    if isinstance(value, list | dict):
        import json

        return json.dumps(value)
    return str(value)


def _when(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp)) if timestamp else "-"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def _label(run: Run) -> str:
    return f"{run.name}/v{run.version}"


def _key_metrics(runs: Sequence[Run], wanted: Sequence[str] | None) -> list[str]:
    if wanted:
        return list(wanted)
    counts: dict[str, int] = {}
    for run in runs:
        for key, value in run.final.items():
            if key in _SKIP_METRICS or isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                counts[key] = counts.get(key, 0) + 1

    def rank(key: str) -> tuple[int, int, int, str]:
        evaluation = 0 if key.startswith("eval") else 1
        usual = 0 if any(word in key for word in ("acc", "loss", "error", "reward")) else 1
        return (evaluation, usual, -counts[key], key)

    return sorted(counts, key=rank)[:_MAX_METRICS]


def _varying_tags(runs: Sequence[Run], by_name: bool = False) -> list[str]:
    """Tags whose value differs between the runs (or is missing in some); with ``by_name``,
    between runs of the same experiment name (so ``ls`` shows what was varied in each)."""
    if by_name:
        groups: dict[str, list[Run]] = {}
        for run in runs:
            groups.setdefault(run.name, []).append(run)
        keys: dict[str, None] = {}
        for group in groups.values():
            if len(group) > 1:
                keys.update(dict.fromkeys(_varying_tags(group)))
        return list(keys)
    values: dict[str, set[str]] = {}
    order: dict[str, int] = {}
    for run in runs:
        for key, value in run.tags.items():
            values.setdefault(key, set()).add(_fmt(value))
            order.setdefault(key, len(order))
    keys = sorted(values, key=order.__getitem__)
    if len(runs) <= 1:
        return keys
    return [k for k in keys if len(values[k]) > 1 or sum(k in r.tags for r in runs) < len(runs)]


# ----------------------------------------------------------------------- commands
def ls_text(
    save_dir: str,
    sort: str | None = None,
    filters: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    name: str | None = None,
    reverse: bool = False,
) -> str:
    """The ``petri ls`` table for the runs under ``save_dir``."""
    predicates = [parse_filter(f) for f in filters]
    runs = list_runs(save_dir, name=name)
    runs = [run for run in runs if all(p(run) for p in predicates)]
    if not runs:
        where = os.path.abspath(save_dir)
        extra = " matching the filters" if filters else ""
        return f"No runs{extra} under {where}."
    if sort:
        runs = sort_runs(runs, sort.lstrip("-"), sort.startswith("-"))
    if reverse:
        runs.reverse()
    metric_keys = _key_metrics(runs, metrics)
    tag_keys = _varying_tags(runs, by_name=True)
    header = ["name", "version", "created", "status", "step", *metric_keys, "tags"]
    rows = []
    for run in runs:
        final = run.final
        tags = " ".join(f"{k}={_fmt(run.tags[k])}" for k in tag_keys if k in run.tags)
        if len(tags) > _TAG_WIDTH:
            tags = tags[: _TAG_WIDTH - 3] + "..."
        rows.append(
            [
                run.name,
                str(run.version),
                _when(run.created),
                run.status,
                _fmt(run.last_step),
                *(_fmt(final.get(k)) for k in metric_keys),
                tags,
            ]
        )
    return _table(header, rows) + f"\n\n{len(runs)} run{'s' if len(runs) != 1 else ''}"


def _size(bytes_: int) -> str:
    size = float(bytes_)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def show_text(run: Run) -> str:
    """The ``petri show`` report: identity, status, git, tags, final metrics and files."""
    meta = run.meta
    lines = [
        f"run          {run.path}",
        f"name         {run.name}",
        f"version      {run.version}",
        f"status       {run.status}",
        f"created      {_when(run.created)}",
    ]
    if meta.get("host") or meta.get("pid"):
        lines.append(f"process      pid {meta.get('pid')} on {meta.get('host')}")
    if meta.get("description"):
        lines.append(f"description  {meta['description']}")
    if meta.get("error"):
        lines.append(f"error        {meta['error']}")
    git = meta.get("git")
    if isinstance(git, dict):
        commit = (git.get("commit") or "no commit")[:12]
        dirty = ", dirty" if git.get("dirty") else ""
        tag = f", tag {meta['git_tag']}" if meta.get("git_tag") else ""
        lines.append(f"git          {commit} ({git.get('branch')}{dirty}{tag})")
    lines.append("")
    lines.append("tags")
    if run.tags:
        lines.append(
            _indent(_table(["key", "value"], [[k, _fmt(v)] for k, v in run.tags.items()]))
        )
    else:
        lines.append("  (none)")
    lines.append("")
    rows = run.metrics
    final = run.final
    lines.append(f"final metrics ({len(rows)} rows, last step {_fmt(run.last_step)})")
    if final:
        lines.append(
            _indent(_table(["metric", "value"], [[k, _fmt(v)] for k, v in final.items()]))
        )
    else:
        lines.append("  (none)")
    lines.append("")
    lines.append("files")
    files = [
        [path, _size(size), f"{count} files" if path.endswith("/") else ""]
        for path, size, count in run.files()
    ]
    lines.append(_indent(_table(["path", "size", ""], files)))
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def compare_text(runs: Sequence[Run], all_tags: bool = False) -> str:
    """The ``petri compare`` report: tags that differ and final metrics side by side."""
    labels = [_label(run) for run in runs]
    if len(set(labels)) < len(labels):
        labels = [run.path for run in runs]
    tag_keys = (
        _varying_tags(runs)
        if not all_tags
        else list(dict.fromkeys(k for run in runs for k in run.tags))
    )
    lines = ["tags" + (" (all)" if all_tags else " that differ")]
    if tag_keys:
        rows = [[key, *(_fmt(run.tags.get(key)) for run in runs)] for key in tag_keys]
        lines.append(_indent(_table(["tag", *labels], rows)))
    else:
        lines.append("  (none: every tag is equal)")
    lines.append("")
    finals = [run.final for run in runs]
    metric_keys = list(dict.fromkeys(k for final in finals for k in final))
    lines.append("final metrics")
    if metric_keys:
        rows = [[key, *(_fmt(final.get(key)) for final in finals)] for key in metric_keys]
        rows.append(["status", *(run.status for run in runs)])
        lines.append(_indent(_table(["metric", *labels], rows)))
    else:
        lines.append("  (none)")
    return "\n".join(lines)
