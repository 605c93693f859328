"""Text for ``petri ls``, ``petri show`` and ``petri compare``: tables over stored runs.

Only the standard library is used, so the commands answer fast (``petri ls`` over 1,000 runs in
well under a second: it reads each run's ``meta.experiment``, ``meta_tags.csv`` and the last
64 KB of ``metrics.csv``).
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Sequence
from typing import Any

from petri.tracking.query import parse_filter, ranked_metrics, sort_runs, varying_tags
from petri.tracking.reader import Run, list_runs

__all__ = ["compare_text", "ls_text", "show_text"]

_MAX_METRICS = 3
_MIN_FOLD = 20  # a folded column keeps at least this many characters on a narrow terminal


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
    return ranked_metrics(runs)[:_MAX_METRICS]


def _column_value(run: Run, key: str) -> Any:
    """A column of ``petri ls``: the run's final value of metric ``key``, else its tag."""
    final = run.final
    return final[key] if key in final else run.tags.get(key)


# ----------------------------------------------------------------------- commands
def ls_text(
    save_dir: str,
    sort: str | None = None,
    filters: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    name: str | None = None,
    reverse: bool = False,
    width: int | None = None,
) -> str:
    """The ``petri ls`` table for the runs under ``save_dir``.

    ``metrics`` names the value columns: final metrics or tags. The tags column (the tags that
    differ between runs of one name) is never cut: it wraps onto more lines to fit ``width``
    (None: the terminal's width).
    """
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
    tag_keys = [key for key in varying_tags(runs, by_name=True) if key not in metric_keys]
    header = ["name", "version", "created", "status", "step", *metric_keys, "tags"]
    rows = []
    for run in runs:
        tags = " ".join(f"{k}={_fmt(run.tags[k])}" for k in tag_keys if k in run.tags)
        rows.append(
            [
                run.name,
                str(run.version),
                _when(run.created),
                run.status,
                _fmt(run.last_step),
                *(_fmt(_column_value(run, k)) for k in metric_keys),
                tags,
            ]
        )
    if width is None:
        width = shutil.get_terminal_size().columns
    count = f"{len(runs)} run{'s' if len(runs) != 1 else ''}"
    return f"{_folded_table(header, rows, width)}\n\n{count}"


def _size(bytes_: int) -> str:
    size = float(bytes_)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def show_text(run: Run, show_all: bool = False, width: int | None = None) -> str:
    """The ``petri show`` report: identity, status, git, tags, final metrics and files.

    Args:
        run: the run.
        show_all: list every tag, the config's defaults too (otherwise the tags the user set
            and the config keys that differ from their defaults).
        width: fold values to this many columns (None: the terminal's width).
    """
    if width is None:
        width = shutil.get_terminal_size().columns
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
    lines.extend(_tag_lines(run, show_all, width))
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


def _tag_lines(run: Run, show_all: bool, width: int) -> list[str]:
    """The tags section of ``petri show``: the config's defaults only with ``--all``."""
    hidden = 0 if show_all else sum(key in run.default_tags for key in run.tags)
    shown = [
        [key, _fmt(value)]
        for key, value in run.tags.items()
        if show_all or key not in run.default_tags
    ]
    if hidden:
        title = f"tags (those set; {hidden} config defaults hidden, --all shows them)"
    else:
        title = "tags" + (" (all)" if show_all and run.default_tags else "")
    if not shown:
        return [title, "  (none)"]
    return [title, _indent(_folded_table(["key", "value"], shown, width - 2))]


def _folded_table(header: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> str:
    """A table whose last column wraps onto more lines instead of running past ``width``."""
    first = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(header[:-1])]
    room = max(width - sum(first) - 2 * len(first), _MIN_FOLD)
    folded: list[list[str]] = []
    for row in rows:
        pieces = _fold(row[-1], room)
        folded.append([*row[:-1], pieces[0]])
        folded.extend([*("" for _ in first), piece] for piece in pieces[1:])
    return _table(header, folded)


def _fold(text: str, width: int) -> list[str]:
    """``text`` in pieces of at most ``width`` characters, so every character is still shown:
    cut between tags (a space) where one fits, else after a key path's ``/`` or a ``,``
    (``model_config/`` ``optimizer_config/`` ``learning_rate=0.001``), else after ``=`` or
    ``-``; a word is cut only when nothing else does."""
    pieces = []
    while len(text) > width:
        cut = text.rfind(" ", 1, width + 1)
        for marks in ("/,", "=-"):
            if cut < 1:
                cut = max(text.rfind(mark, 1, width) for mark in marks)
        cut = cut + 1 if cut >= 1 else width
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    pieces.append(text)
    return pieces


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def compare_text(runs: Sequence[Run], all_tags: bool = False) -> str:
    """The ``petri compare`` report: tags that differ and final metrics side by side."""
    labels = [_label(run) for run in runs]
    if len(set(labels)) < len(labels):
        labels = [run.path for run in runs]
    tag_keys = (
        varying_tags(runs)
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
    metric_keys = list(
        dict.fromkeys([*ranked_metrics(runs), *(k for final in finals for k in final)])
    )
    lines.append("final metrics")
    if metric_keys:
        rows = [[key, *(_fmt(final.get(key)) for final in finals)] for key in metric_keys]
        rows.append(["status", *(run.status for run in runs)])
        lines.append(_indent(_table(["metric", *labels], rows)))
    else:
        lines.append("  (none)")
    return "\n".join(lines)
