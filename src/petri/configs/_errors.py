"""Turn pydantic's validation errors into one ``ConfigError`` that names key paths."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from petri.errors import ConfigError, did_you_mean

__all__ = ["config_error_from_validation"]


def _model_classes(annotation: Any) -> list[type[BaseModel]]:
    """Config classes reachable from a field annotation (through Optional, list, dict, Union)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is None:
        return []
    found: list[type[BaseModel]] = []
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType or origin in (list, tuple):
        for arg in args:
            found.extend(_model_classes(arg))
    elif origin is dict and args:
        found.extend(_model_classes(args[-1]))
    elif origin is typing.Annotated and args:
        found.extend(_model_classes(args[0]))
    return found


def _fields_at(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Names of the keys accepted by the config found at ``loc`` below ``root``."""
    classes = [root]
    for part in loc:
        if isinstance(part, int):
            continue
        next_classes: list[type[BaseModel]] = []
        for cls in classes:
            field = cls.model_fields.get(part) or _field_by_alias(cls, str(part))
            if field is not None:
                next_classes.extend(_model_classes(field.annotation))
        if not next_classes:
            return []
        classes = next_classes
    names: list[str] = []
    for cls in classes:
        names.extend(_accepted_keys(cls))
    return sorted(set(names))


def _aliases(field: Any) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, str):
        return [alias]
    return [c for c in getattr(alias, "choices", None) or [] if isinstance(c, str)]


def _field_by_alias(cls: type[BaseModel], alias: str) -> Any:
    for field in cls.model_fields.values():
        if alias in _aliases(field) or field.alias == alias:
            return field
    return None


def _accepted_keys(cls: type[BaseModel]) -> list[str]:
    keys: list[str] = []
    for name, field in cls.model_fields.items():
        aliases = _aliases(field)
        keys.extend(aliases if field.alias and field.alias != name else [name, *aliases])
    return list(dict.fromkeys(keys))


def _path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _is_internal(part):
            text += f".{part}" if text else str(part)
    return text


def _is_internal(part: Any) -> bool:
    # pydantic adds union-member and function-validator tags to ``loc``; they are not keys.
    text = str(part)
    return (
        text.startswith(("function-", "tagged-union"))
        or "[" in text
        or text in {"list", "dict", "str", "int", "float", "bool", "tuple", "none", "is-instance"}
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def config_error_from_validation(
    error: ValidationError, root: type[BaseModel], prefix: str = ""
) -> ConfigError:
    """One ConfigError listing every problem with its key path, value, expectation and hint."""
    lines: list[str] = []
    first_path = ""
    first_value: Any = None
    seen: set[str] = set()
    for item in error.errors(include_url=False):
        loc = tuple(p for p in item["loc"] if not _is_internal(p))
        path = _path(((prefix,) if prefix else ()) + loc)
        value = item.get("input")
        kind = item["type"]
        if kind == "extra_forbidden":
            accepted = _fields_at(root, loc[:-1])
            bad_key = str(loc[-1]) if loc else "?"
            hint = did_you_mean(bad_key, accepted)
            line = (
                f"Unknown key `{path}` (value {_short(value)}).{hint} "
                f"Expected one of: {', '.join(accepted)}."
            )
        elif kind == "missing":
            line = f"Missing required key `{path}`."
        else:
            message = item["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            if path:
                line = f"Invalid value for `{path}`: received {_short(value)}. {message}"
            else:  # a check across keys: its message names them
                line = f"Invalid config: {message}"
        if line in seen:
            continue
        seen.add(line)
        if not lines:
            first_path, first_value = path, value
        lines.append(line)
    if len(lines) == 1:
        return ConfigError(lines[0], first_path, first_value)
    body = "\n".join(f"  - {line}" for line in lines)
    return ConfigError(f"{len(lines)} problems in the config:\n{body}", first_path, first_value)
