"""``BaseConfig``: strict pydantic models that read dicts, YAML/JSON files and lists of both."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from petri.configs._errors import config_error_from_validation
from petri.configs._values import nesting_problem, number_problem
from petri.errors import ConfigError

__all__ = ["BaseConfig", "as_config", "deep_merge", "load_config_source"]

C = TypeVar("C", bound="BaseConfig")


class BaseConfig(BaseModel):
    """Base of every Petri config: unknown keys are errors, values are validated on assignment,
    numbers are finite, never booleans, and integers fit int64 (see ``_values``)."""

    model_config = ConfigDict(
        extra="forbid",
        arbitrary_types_allowed=True,
        populate_by_name=True,
        validate_assignment=True,
        protected_namespaces=(),
        allow_inf_nan=False,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        problem = number_problem(value, field.annotation) if field is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @classmethod
    def read_configs(cls: type[C], config_values: Any) -> C:
        """Build the config from a dict, a ``.yml``/``.yaml``/``.json`` path, or a list of them.

        A list is merged in order (later entries override earlier keys, nested dicts merge).

        Raises:
            ConfigError: a key is unknown, a value has the wrong type, or a name is unknown; the
                message names the key path, the value, what was expected and the closest name.
        """
        if isinstance(config_values, cls):
            return config_values
        sources = config_values if isinstance(config_values, list | tuple) else [config_values]
        merged: dict[str, Any] = {}
        for source in sources:
            merged = deep_merge(merged, load_config_source(source))
        return cls.from_dict(merged)

    @classmethod
    def from_dict(cls: type[C], values: Mapping[str, Any], prefix: str = "") -> C:
        """Validate ``values``; errors become a ``ConfigError`` that names key paths."""
        if not isinstance(values, Mapping):
            raise ConfigError(
                f"Expected a mapping of keys for {cls.__name__}"
                f"{' at ' + prefix if prefix else ''}, "
                f"received {type(values).__name__}: {values!r:.80}.",
                prefix,
                values,
            )
        if not prefix:
            problem = nesting_problem(values)
            if problem:
                path, why = problem
                raise ConfigError(f"Invalid value for `{path[:200]}`: {why}", path, None)
        try:
            return cls.model_validate(dict(values))
        except ValidationError as error:
            raise config_error_from_validation(error, cls, prefix) from None

    def changed_fields(self) -> set[str]:
        """Fields whose value differs from their default: what a config actually asks for (a
        config.yaml that lists every default reads back with the same answer)."""
        changed = set()
        for name, field in type(self).model_fields.items():
            if field.is_required():
                changed.add(name)
                continue
            if _differs(getattr(self, name), field.get_default(call_default_factory=True)):
                changed.add(name)
        return changed

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form; ``type(self).read_configs(self.to_dict()) == self``."""
        return self.model_dump(mode="python")

    def to_yaml(self) -> str:
        """YAML text of :meth:`to_dict` (arrays written as nested lists)."""
        return yaml.safe_dump(_yaml_safe(self.to_dict()), sort_keys=False)


def as_config(value: Any, cls: type[C]) -> C | Any:
    """``value`` as a ``cls`` config: a name selects (``cls(name=value)``), a dict validates;
    a config of that class or a callable passes through as given.

    Raises:
        TypeError: anything else.
    """
    if isinstance(value, cls) or (callable(value) and not isinstance(value, str | dict)):
        return value
    if isinstance(value, str):
        return cls(name=value)
    if isinstance(value, Mapping):
        return cls.from_dict(value)
    raise TypeError(
        f"Expected a {cls.__name__}, a name or a dict; received {type(value).__name__}."
    )


def _differs(value: Any, default: Any) -> bool:
    if value is default:
        return False
    try:
        return bool(value != default)
    except (ValueError, TypeError, RuntimeError):  # arrays and tensors compare elementwise
        return True


def load_config_source(source: Any) -> dict[str, Any]:
    """A dict from a mapping, a config object, or a YAML/JSON file path."""
    if isinstance(source, BaseConfig):
        return source.to_dict()
    if isinstance(source, Mapping):
        return copy.copy(dict(source))
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"Config file {str(path)!r} does not exist.", "", str(path))
        text = path.read_text()
        try:
            if path.suffix.lower() == ".json":
                data = json.loads(text)
            elif path.suffix.lower() in {".yml", ".yaml"}:
                data = yaml.safe_load(text)
            else:
                raise ConfigError(
                    f"Config file {str(path)!r} has extension {path.suffix!r}; "
                    "expected .yml, .yaml or .json.",
                    "",
                    str(path),
                )
        except (json.JSONDecodeError, yaml.YAMLError) as error:
            raise ConfigError(_syntax_message(path, error), "", str(path)) from None
        except RecursionError:
            raise ConfigError(
                f"Config file {str(path)!r} nests lists or mappings too deeply to read; a "
                "config is a few levels of keys.",
                "",
                str(path),
            ) from None
        if not isinstance(data, dict):
            raise ConfigError(
                f"Config file {str(path)!r} must hold a mapping at top level, "
                f"found {type(data).__name__}.",
                "",
                str(path),
            )
        return data
    raise ConfigError(
        f"Cannot read a config from {type(source).__name__}; expected a dict, a .yml/.yaml/.json "
        "path, or a list of those.",
        "",
        source,
    )


def _syntax_message(path: Path, error: Exception) -> str:
    """``<file>, line L, column C: <problem>`` for a YAML or JSON syntax error."""
    if isinstance(error, json.JSONDecodeError):
        line, column, problem = error.lineno, error.colno, error.msg
    else:
        mark = getattr(error, "problem_mark", None)
        if mark is None:
            return f"Config file {str(path)!r} is not valid YAML: {error}"
        line, column = mark.line + 1, mark.column + 1
        problem = " ".join(
            str(part) for part in (getattr(error, "context", None), error.problem) if part
        )
    return (
        f"Config file {str(path)!r}, line {line}, column {column}: {problem}. The file is not "
        f"valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}."
    )


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` over ``base``: nested mappings merge key by key, everything else replaces."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _yaml_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _yaml_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_yaml_safe(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Sequence):
        return [_yaml_safe(v) for v in value]
    return repr(value)
