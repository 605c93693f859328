"""``key.path=value`` overrides from the command line, applied to a config dict."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from petri.configs._paths import set_path
from petri.configs._values import MAX_DEPTH, nesting_problem
from petri.errors import ConfigError

__all__ = ["apply_overrides"]


def apply_overrides(values: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Set each ``a.b.c=value`` (value parsed as YAML: numbers, bools, lists) into ``values``.

    Paths reach into lists: ``model_config.graph_config.definition[1][1].num_units=64``.
    """
    for item in overrides:
        if "=" not in item:
            raise ConfigError(
                f"Override {item!r} must look like key.path=value "
                "(e.g. model_config.optimizer_config.learning_rate=0.01).",
                item,
                item,
            )
        path, raw = item.split("=", 1)
        value = _parse(path.strip(), raw)
        try:
            set_path(values, path, value)
        except ConfigError as error:
            raise ConfigError(f"Override {item!r}: {error}", path.strip(), raw) from None
    return values


def _parse(path: str, raw: str) -> Any:
    """``raw`` read as YAML (text that is not YAML stays text). Nesting deeper than a config
    has is refused before YAML, whose reader recurses once per level, sees the text."""
    if _bracket_depth(raw) <= MAX_DEPTH:
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            return raw
        problem = nesting_problem(value, path)
        if problem is None:
            return value
    raise ConfigError(
        f"Override `{path[:200]}`: the value {raw[:40]!r}... nests lists or mappings more than "
        f"{MAX_DEPTH} levels deep; a config is a few levels of keys.",
        path,
        raw[:80],
    )


def _bracket_depth(raw: str) -> int:
    """How deeply the flow-style brackets of ``raw`` nest."""
    depth = deepest = 0
    for char in raw:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest
