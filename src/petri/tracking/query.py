"""Asking the run log: a run by name or path, a run's value of a key, the filter language of
``petri ls`` (``eval/streaming_accuracy>0.9``, ``status=crashed``, ``name~lenet``) and sorting.
Rendering lives with the command line; the dashboard will reuse these."""

from __future__ import annotations

import json
import math
import operator
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

from petri.tracking.reader import Run, list_runs, load

__all__ = [
    "builtin_keys",
    "parse_filter",
    "ranked_metrics",
    "resolve_run",
    "sort_runs",
    "value_of",
    "varying_tags",
]

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    "==": operator.eq,
    "=": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
    "~": lambda value, text: str(text) in str(value),
}
_FILTER = re.compile(r"^\s*([^<>=!~]+?)\s*(>=|<=|!=|==|=|>|<|~)\s*(.*?)\s*$")
_BUILTIN_KEYS = ("name", "version", "status", "step", "created", "path")


def _number(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return {"true": True, "false": False}.get(text.lower(), text)


def value_of(run: Run, key: str) -> Any:
    """``key`` of a run for sorting and filtering: built-ins, final metrics, then tags."""
    if key == "name":
        return run.name
    if key == "version":
        return run.version
    if key == "status":
        return run.status
    if key == "step":
        return run.last_step
    if key == "created":
        return run.created
    if key == "path":
        return run.path
    final = run.final
    if key in final:
        return final[key]
    return run.tags.get(key)


def parse_filter(expression: str) -> Callable[[Run], bool]:
    """``'acc>0.9'``, ``'status=crashed'``, ``'name~mnist'`` as a predicate over runs.

    Raises:
        ValueError: the expression is not ``KEY OP VALUE`` with OP in >=, <=, !=, ==, =, >, <, ~.
    """
    match = _FILTER.match(expression)
    if not match:
        raise ValueError(
            f"Bad filter {expression!r}: expected KEY OP VALUE with OP one of "
            f"{', '.join(_OPERATORS)}, e.g. 'acc>0.9' or 'status=finished'."
        )
    key, symbol, text = match.groups()
    compare = _OPERATORS[symbol]
    expected = text if symbol == "~" else _number(text)

    def predicate(run: Run) -> bool:
        value = value_of(run, key)
        if value is None:
            return False
        try:
            return bool(compare(value, expected))
        except TypeError:
            return bool(compare(str(value), str(expected)))

    return predicate


def sort_runs(runs: list[Run], key: str, descending: bool) -> list[Run]:
    """Runs ordered by ``key`` (numbers before text); runs without it always come last."""
    present, missing = [], []
    for run in runs:
        value = value_of(run, key)
        (missing if value is None else present).append((value, run))

    def order(item: tuple[Any, Run]) -> tuple[Any, ...]:
        value, _ = item
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (0, value, "")
        return (1, 0, str(value))

    present.sort(key=order, reverse=descending)
    return [run for _, run in present] + [run for _, run in missing]


def resolve_run(spec: str, save_dir: str) -> Run:
    """A run from a path, ``name/version_<n>``, ``name:<n>``, ``name/<n>`` or ``name`` (latest).

    Raises:
        FileNotFoundError: nothing matches ``spec``.
    """
    if os.path.isdir(spec):
        try:
            return load(spec)
        except FileNotFoundError:
            pass
    name, version = spec, None
    for separator in (":", "/"):
        head, sep, tail = spec.rpartition(separator)
        if sep and head:
            tail = tail.removeprefix("version_").removeprefix("v")
            if tail.isdigit():
                name, version = head, int(tail)
                break
    candidates = [run for run in list_runs(save_dir) if run.name == name]
    if version is not None:
        candidates = [run for run in candidates if run.version == version]
    if not candidates:
        raise FileNotFoundError(
            f"No run {spec!r}: expected a run folder, or NAME, NAME:VERSION or "
            f"NAME/version_N under {os.path.abspath(save_dir)} (see `petri ls`)."
        )
    return max(candidates, key=lambda run: run.version)


def builtin_keys() -> tuple[str, ...]:
    """Keys ``--sort``/``--filter`` understand besides metric and tag names."""
    return _BUILTIN_KEYS


_SKIP_METRICS = {"global_step", "step", "created_at", "epoch"}
# Words of the metrics that say how good a run is, best first (an RL run's is its return).
_KEY_WORDS = ("acc", "return_mean", "reward", "loss", "error")
_COUNTS = ("episodes", "episode", "steps", "length_mean")


def ranked_metrics(runs: Sequence[Run]) -> list[str]:
    """The runs' numeric final metrics, the ones that say how good a run is first: evaluation
    before training, then accuracy, an RL agent's return, loss, error, by how many runs have
    them; counts (``eval/episodes``) and timings last."""
    counts: dict[str, int] = {}
    for run in runs:
        for key, value in run.final.items():
            if key in _SKIP_METRICS or isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                counts[key] = counts.get(key, 0) + 1

    def rank(key: str) -> tuple[int, int, int, str]:
        evaluation = 0 if key.startswith("eval") else 1
        usual = next(
            (i for i, word in enumerate(_KEY_WORDS) if word in key),
            len(_KEY_WORDS) + (1 if key.endswith(_COUNTS) or key.startswith("time/") else 0),
        )
        return (evaluation, usual, -counts[key], key)

    return sorted(counts, key=rank)


def varying_tags(runs: Sequence[Run], by_name: bool = False) -> list[str]:
    """Tags whose value differs between the runs (or is missing in some); with ``by_name``,
    between runs of the same experiment name (so ``ls`` shows what was varied in each)."""
    if by_name:
        groups: dict[str, list[Run]] = {}
        for run in runs:
            groups.setdefault(run.name, []).append(run)
        keys: dict[str, None] = {}
        for group in groups.values():
            if len(group) > 1:
                keys.update(dict.fromkeys(varying_tags(group)))
        return list(keys)
    values: dict[str, set[str]] = {}
    order: dict[str, int] = {}
    for run in runs:
        for key, value in run.tags.items():
            values.setdefault(key, set()).add(_same(value))
            order.setdefault(key, len(order))
    keys = sorted(values, key=order.__getitem__)
    if len(runs) <= 1:
        return keys
    return [k for k in keys if len(values[k]) > 1 or sum(k in r.tags for r in runs) < len(runs)]


def _same(value: Any) -> str:
    """A tag's value as compared between runs (4 significant digits for floats, as shown)."""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.4g}"
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    return str(value)
