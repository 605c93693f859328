"""Validation of names that select a registered class (``name``/``module`` keys)."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from petri.errors import closest_name
from petri.registry import Registry

__all__ = ["check_extra_kwargs", "check_name", "registry"]

# family -> (module, registry attribute); imported only when a config is validated.
_REGISTRIES = {
    "layer": ("petri.layers", "LAYERS"),
    "loss": ("petri.losses", "LOSSES"),
    "metric": ("petri.metrics", "METRICS"),
    "optimizer": ("petri.optimizers", "OPTIMIZERS"),
    "decay": ("petri.optimizers", "DECAYS"),
    "model": ("petri.models", "MODELS"),
    "input_type": ("petri.data", "INPUT_TYPES"),
    "pipeline": ("petri.data", "PIPELINES"),
    "hook": ("petri.estimators.hooks", "HOOKS"),
    "estimator": ("petri.estimators", "ESTIMATORS"),
    "environment": ("petri.envs", "ENVIRONMENTS"),
    "memory": ("petri.rl.memories", "MEMORIES"),
    "exploration": ("petri.rl.explorations", "EXPLORATIONS"),
}


def registry(family: str) -> Registry[Any]:
    module, attribute = _REGISTRIES[family]
    return getattr(importlib.import_module(module), attribute)


def check_name(value: Any, family: str) -> Any:
    """Keep a registered name as written, turn a registered class into its name, accept classes.

    Raises:
        ValueError: the name is not registered (message has the did-you-mean and known names).
    """
    if value is None:
        return None
    reg = registry(family)
    if isinstance(value, str):
        if value not in reg:
            suggestion = reg.suggest(value)
            hint = f" Did you mean {suggestion!r}?" if suggestion else ""
            raise ValueError(
                f"Unknown {family} name.{hint} Expected one of: {', '.join(reg.names())}."
            )
        return value
    if inspect.isclass(value) or callable(value):
        return reg.name_of(value) or value
    raise ValueError(
        f"Expected a {family} name (string) or class, received {type(value).__name__}."
    )


def check_extra_kwargs(extras: dict[str, Any], accepted: list[str], what: str) -> None:
    """Raise a ValueError for the first extra key that ``what`` does not accept."""
    for key in extras:
        if key not in accepted:
            suggestion = closest_name(key, accepted)
            hint = f" Did you mean {suggestion!r}?" if suggestion else ""
            raise ValueError(
                f"{what} does not accept the key {key!r}.{hint} "
                f"Accepted: {', '.join(accepted) or 'no extra keys'}."
            )
