"""Dotted key paths into config data, reaching into lists: ``a.b[1][1].c``.

One syntax for ``--set`` overrides and for search spaces, so a path that names the second
layer's ``num_units`` (``model_config.graph_config.definition[1][1].num_units``) means the same
in both.
"""

from __future__ import annotations

import re
from typing import Any

from petri.errors import ConfigError

__all__ = ["format_path", "get_path", "parse_path", "set_path"]

_PART = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]|(\.)")


def parse_path(path: str) -> list[str | int]:
    """``"a.b[1][1].c"`` -> ``["a", "b", 1, 1, "c"]``.

    Raises:
        ConfigError: an empty path, an empty key (``a..b``) or a malformed index (``a[x]``).
    """
    text = path.strip()
    parts: list[str | int] = []
    position, expect_key = 0, True
    while position < len(text):
        match = _PART.match(text, position)
        if match is None:
            raise ConfigError(
                f"Key path {path!r} is malformed at {text[position:]!r}: keys are separated by "
                "'.', list positions written [0], [1], ...",
                path,
            )
        key, index, dot = match.groups()
        if dot:
            if expect_key:
                raise ConfigError(f"Key path {path!r} has an empty key.", path)
            expect_key = True
        elif index is not None:
            if expect_key and parts:
                raise ConfigError(f"Key path {path!r} has an empty key before [{index}].", path)
            parts.append(int(index))
            expect_key = False
        else:
            if not expect_key:
                raise ConfigError(f"Key path {path!r}: a '.' must separate keys.", path)
            parts.append(key.strip())
            expect_key = False
        position = match.end()
    if not parts or expect_key:
        raise ConfigError(f"Key path {path!r} is empty or ends with '.'.", path)
    if isinstance(parts[0], int):
        raise ConfigError(f"Key path {path!r} must start with a key, not a list position.", path)
    return parts


def format_path(parts: list[str | int]) -> str:
    """The inverse of :func:`parse_path`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def get_path(values: Any, path: str | list[str | int]) -> Any:
    """The value at ``path`` (KeyError/IndexError when it is not there)."""
    node = values
    for part in parse_path(path) if isinstance(path, str) else path:
        node = node[part]
    return node


def set_path(values: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set ``value`` at ``path`` in ``values`` (in place; returned for chaining).

    Missing mapping keys are created; list positions must exist (a list is not grown by a
    path). A key path through a value that is neither a mapping nor a list is an error naming
    where it stopped.
    """
    parts = parse_path(path)
    node: Any = values
    for depth, part in enumerate(parts[:-1]):
        node = _child(node, part, parts, depth, path, create=not isinstance(parts[depth + 1], int))
    last = parts[-1]
    if isinstance(last, int):
        _check_index(node, last, parts, len(parts) - 1, path)
    elif not isinstance(node, dict):
        _not_a_mapping(node, parts, len(parts) - 1, path)
    node[last] = value
    return values


def _child(node: Any, part: str | int, parts: list, depth: int, path: str, create: bool) -> Any:
    if isinstance(part, int):
        _check_index(node, part, parts, depth, path)
        return node[part]
    if not isinstance(node, dict):
        _not_a_mapping(node, parts, depth, path)
    child = node.get(part)
    if child is None:
        if not create:
            raise ConfigError(
                f"`{format_path(parts[: depth + 1])}` is not set, so it has no position "
                f"[{parts[depth + 1]}] ({path}).",
                path,
            )
        child = node[part] = {}
    return child


def _check_index(node: Any, index: int, parts: list, depth: int, path: str) -> None:
    where = format_path(parts[:depth]) or "the config"
    if not isinstance(node, list | tuple):
        raise ConfigError(
            f"`{where}` holds {node!r:.60}, not a list, so it has no position [{index}] ({path}).",
            path,
        )
    if not -len(node) <= index < len(node):
        raise ConfigError(
            f"`{where}` has {len(node)} items, so position [{index}] does not exist ({path}).",
            path,
        )


def _not_a_mapping(node: Any, parts: list, depth: int, path: str) -> None:
    where = format_path(parts[:depth]) or "the config"
    raise ConfigError(
        f"`{where}` holds {node!r:.60}, not a mapping, so it has no key {parts[depth]!r} "
        f"({path}).",
        path,
    )
