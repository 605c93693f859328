"""Search spaces: YAML keyed by the experiment config's key paths, checked before any trial.

::

    model_config.optimizer_config.learning_rate: {type: float, low: 1.0e-4, high: 0.1, log: true}
    model_config.graph_config.definition[1][1].num_units: {type: int, low: 16, high: 128, step: 16}
    model_config.graph_config.definition[1][1].activation: [relu, tanh]
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petri.configs import load_config_source, parse_path, set_path
from petri.errors import ConfigError

__all__ = ["Param", "apply_params", "grid_of", "read_search_space", "suggest"]

_KINDS = ("float", "int", "categorical")


@dataclass(frozen=True)
class Param:
    """One searched key: a float or int range, or a list of choices."""

    path: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def first(self) -> Any:
        """A value in the space (to check the config accepts this key)."""
        if self.kind == "categorical":
            return self.choices[0]
        return int(self.low) if self.kind == "int" else float(self.low)  # type: ignore[arg-type]

    def to_dict(self) -> Any:
        if self.kind == "categorical":
            return list(self.choices)
        number = int if self.kind == "int" else float
        spec: dict[str, Any] = {
            "type": self.kind,
            "low": number(self.low),
            "high": number(self.high),
        }
        if self.step is not None:
            spec["step"] = self.step
        if self.log:
            spec["log"] = True
        return spec


def read_search_space(source: str | Path | Mapping[str, Any]) -> dict[str, Param]:
    """The search space in a YAML/JSON file or a mapping; every problem is a ``ConfigError``
    naming the key path."""
    raw = load_config_source(source) if not isinstance(source, Mapping) else dict(source)
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(
            "A search space maps config key paths to ranges or lists of choices, e.g. "
            "`model_config.optimizer_config.learning_rate: {type: float, low: 1e-4, high: 0.1, "
            "log: true}`; this one is empty.",
            "search",
            raw,
        )
    return {str(path): _param(str(path), spec) for path, spec in raw.items()}


def _param(path: str, spec: Any) -> Param:
    parse_path(path)  # a malformed path is named before anything else
    if isinstance(spec, list | tuple):
        if not spec:
            raise ConfigError(f"Search space `{path}`: the list of choices is empty.", path, spec)
        return Param(path, "categorical", choices=tuple(spec))
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"Search space `{path}`: expected a list of choices or a mapping with `type` "
            f"(float, int or categorical); received {spec!r:.80}.",
            path,
            spec,
        )
    kind = spec.get("type")
    unknown = set(spec) - {"type", "low", "high", "step", "log", "choices"}
    if kind not in _KINDS or unknown:
        problem = f"unknown keys {sorted(unknown)}" if unknown else f"type {kind!r}"
        raise ConfigError(
            f"Search space `{path}`: {problem}; expected `type` float, int or categorical with "
            "low/high (and step, log) or choices.",
            path,
            spec,
        )
    if kind == "categorical":
        return _param(path, list(spec.get("choices") or []))
    low, high, step, log = (
        spec.get("low"),
        spec.get("high"),
        spec.get("step"),
        spec.get("log", False),
    )
    numbers = [v for v in (low, high, step) if v is not None]
    if (
        low is None
        or high is None
        or any(isinstance(v, bool) or not isinstance(v, int | float) for v in numbers)
        or not all(math.isfinite(v) for v in numbers)
    ):
        raise ConfigError(
            f"Search space `{path}`: a {kind} range needs finite numbers low and high; received "
            f"low={low!r}, high={high!r}.",
            path,
            spec,
        )
    if kind == "int" and any(not float(v).is_integer() for v in numbers):
        raise ConfigError(f"Search space `{path}`: an int range takes whole numbers.", path, spec)
    if low > high or (step is not None and step <= 0) or not isinstance(log, bool):
        raise ConfigError(
            f"Search space `{path}`: expected low <= high, step > 0 and log true/false; "
            f"received low={low}, high={high}, step={step}, log={log!r}.",
            path,
            spec,
        )
    if log and (low <= 0 or step is not None):
        raise ConfigError(
            f"Search space `{path}`: a log scale needs low > 0 and no step.", path, spec
        )
    return Param(path, kind, float(low), float(high), step, log)


def suggest(trial: Any, space: Mapping[str, Param]) -> dict[str, Any]:
    """Ask an optuna trial for a value of every key (the key path is the parameter's name)."""
    values: dict[str, Any] = {}
    for path, param in space.items():
        if param.kind == "categorical":
            values[path] = trial.suggest_categorical(path, list(param.choices))
        elif param.kind == "int":
            values[path] = trial.suggest_int(
                path, int(param.low), int(param.high), step=int(param.step or 1), log=param.log
            )
        else:
            values[path] = trial.suggest_float(
                path, param.low, param.high, step=param.step, log=param.log
            )
    return values


def grid_of(space: Mapping[str, Param]) -> dict[str, list[Any]]:
    """Every value of every key, for a grid search; a float range needs a ``step``."""
    grid: dict[str, list[Any]] = {}
    for path, param in space.items():
        if param.kind == "categorical":
            grid[path] = list(param.choices)
        elif param.step is None and param.kind == "float":
            raise ConfigError(
                f"Search space `{path}`: a grid search needs a list of values or a `step` for a "
                "float range.",
                path,
                param.to_dict(),
            )
        else:
            step = param.step or 1
            count = math.floor((param.high - param.low) / step + 1e-9) + 1  # type: ignore[operator]
            values = [param.low + i * step for i in range(count)]  # type: ignore[operator]
            grid[path] = [int(v) for v in values] if param.kind == "int" else values
    return grid


def apply_params(config: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` with each key path set to its value."""
    result = copy.deepcopy(dict(config))
    for path, value in params.items():
        set_path(result, path, value)
    return result
