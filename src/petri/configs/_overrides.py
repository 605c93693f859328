"""``key.path=value`` overrides from the command line, applied to a config dict."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from petri.configs._paths import set_path
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
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        try:
            set_path(values, path, value)
        except ConfigError as error:
            raise ConfigError(f"Override {item!r}: {error}", path.strip(), raw) from None
    return values
