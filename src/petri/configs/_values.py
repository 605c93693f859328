"""Checks every config value gets, whatever its key: numbers that are numbers, folder names that
can be folders, and nesting a reader can walk.

YAML reads ``true`` as a bool and Python counts ``True`` as the int 1, so pydantic would take
``version: true`` as version 1; integers past int64 overflow torch and numpy later, deep in a
traceback. Checking here, once for all fields, turns both into a ``ConfigError`` naming the key.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Mapping
from typing import Any

__all__ = [
    "INT64_MAX",
    "MAX_DEPTH",
    "MAX_NAME_BYTES",
    "check_folder_name",
    "check_identifier_name",
    "nesting_problem",
    "number_problem",
]

INT64_MAX = 2**63 - 1
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists a config may have (real ones stay below 10)."""
MAX_NAME_BYTES = 255
"""Longest file name (in UTF-8 bytes) most file systems accept (NAME_MAX)."""


def _types(annotation: Any) -> set[Any]:
    """The plain types an annotation accepts (through Optional, Union and Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _types(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        found: set[Any] = set()
        for arg in typing.get_args(annotation):
            found |= _types(arg)
        return found
    return {origin or annotation}


def _item_annotation(annotation: Any) -> Any:
    """The item type of a ``list[...]`` annotation (through Optional), or None."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _item_annotation(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        for arg in typing.get_args(annotation):
            item = _item_annotation(arg)
            if item is not None:
                return item
        return None
    if origin is list:
        args = typing.get_args(annotation)
        return args[0] if args else None
    return None


def number_problem(value: Any, annotation: Any) -> str | None:
    """Why ``value`` cannot be the number ``annotation`` asks for, or None when it can (or the
    field is not a number). Lists of numbers are checked item by item."""
    accepted = _types(annotation)
    if Any in accepted or bool in accepted:
        return None
    wants_int, wants_float = int in accepted, float in accepted
    if wants_int or wants_float:
        expected = "an integer" if wants_int and not wants_float else "a number"
        if isinstance(value, bool):
            return f"Expected {expected}, received the boolean {value}; write a number."
        if isinstance(value, int) and wants_int and abs(value) > INT64_MAX:
            return f"Expected an integer between -(2**63-1) and 2**63-1; received {value}."
        if isinstance(value, float) and not math.isfinite(value):
            return f"Expected a finite number; received {value}."
        return None
    item = _item_annotation(annotation)
    if item is not None and isinstance(value, list | tuple):
        for index, element in enumerate(value):
            problem = number_problem(element, item)
            if problem:
                return f"Item [{index}]: {problem}"
    return None


def nesting_problem(value: Any, path: str = "", limit: int = MAX_DEPTH) -> tuple[str, str] | None:
    """``(key path, why)`` when ``value`` is nested too deeply to be a config, else None.

    Walks without recursion, so any depth is measured without a RecursionError.
    """
    stack: list[tuple[Any, int, str]] = [(value, 0, path)]
    while stack:
        node, depth, where = stack.pop()
        if depth > limit:
            return where, (
                f"Mappings and lists are nested more than {limit} levels deep; a config is "
                "a few levels of keys."
            )
        if isinstance(node, Mapping):
            for key, child in node.items():
                stack.append((child, depth + 1, f"{where}.{key}" if where else str(key)))
        elif isinstance(node, list | tuple):
            for index, child in enumerate(node):
                if isinstance(child, list | tuple | Mapping):
                    stack.append((child, depth + 1, f"{where}[{index}]"))
    return None


def check_folder_name(value: str, what: str) -> str:
    """``value`` if it can name one folder; a ValueError saying why not otherwise."""
    if not value.strip() or value in (".", ".."):
        raise ValueError(f"Expected a folder name for {what}; received {value!r}.")
    bad = sorted({ch for ch in value if ch in "/\\\0" or ord(ch) < 32})
    if bad:
        raise ValueError(
            f"{what} names a folder and cannot contain {', '.join(map(repr, bad))}; "
            "use letters, digits, '-', '_' or '.'."
        )
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        raise ValueError(
            f"{what} names a folder, and file systems take at most {MAX_NAME_BYTES} bytes; "
            f"received {size} bytes."
        )
    return value


def check_identifier_name(value: str, what: str) -> str:
    """``value`` if it can name a module in a graph (``lenet/conv2d_1``): no dots or slashes."""
    if not value.strip() or any(ch in value for ch in "./\\\0"):
        raise ValueError(
            f"{what} names the graph's scope and cannot be empty or contain '.', '/' or '\\'; "
            f"received {value[:40]!r}."
        )
    return value
