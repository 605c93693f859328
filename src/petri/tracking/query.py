"""Asking the run log: a run by name or path, a run's value of a key, the filter language of
``petri ls`` (``eval/streaming_accuracy>0.9``, ``status=crashed``, ``name~lenet``) and sorting.
Rendering lives with the command line; the dashboard will reuse these."""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Callable
from typing import Any

from petri.tracking.reader import Run, list_runs, load

__all__ = ["builtin_keys", "parse_filter", "resolve_run", "sort_runs", "value_of"]

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
