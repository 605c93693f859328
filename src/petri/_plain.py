"""One serialiser: any config value as plain YAML/JSON data (the run's config.yaml, its tags).

Classes and functions become ``"module:qualname"`` (what ``Registry.get`` resolves back), numpy
and torch values become numbers or lists, unless the caller decides where an array goes
(``arrays``: written beside config.yaml, or summarised for a tag).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath
from typing import Any

__all__ = ["qualified_name", "to_plain"]

ArrayHandler = Callable[[str, Any], Any]


def qualified_name(obj: Any) -> str:
    """``module:qualname`` of a class or function, as ``Registry.get`` imports it back."""
    return f"{obj.__module__}:{obj.__qualname__}"


def to_plain(value: Any, arrays: ArrayHandler | None = None, path: str = "") -> Any:
    """``value`` as dicts, lists, strings, numbers, booleans and None.

    Args:
        value: a config dict (``BaseConfig.to_dict()``) or any value in one.
        arrays: called with ``(key_path, array)`` for every numpy array, tensor or pandas
            DataFrame; what it returns takes the array's place. None writes arrays as nested
            lists (a DataFrame as column -> list).
        path: the key path of ``value`` (for ``arrays``).
    """
    if isinstance(value, Mapping):
        return {
            str(k): to_plain(v, arrays, f"{path}.{k}" if path else str(k))
            for k, v in value.items()
        }
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if isinstance(value, PurePath):
        return str(value)
    if type(value).__name__ == "DataFrame" and type(value).__module__.startswith("pandas"):
        return arrays(path, value) if arrays is not None else value.to_dict("list")
    if hasattr(value, "shape") and hasattr(value, "tolist"):  # numpy arrays, tensors, scalars
        if getattr(value, "ndim", 0) == 0:
            return value.item()
        return arrays(path, value) if arrays is not None else value.tolist()
    if inspect.isclass(value) or inspect.isfunction(value) or inspect.ismethod(value):
        return qualified_name(value)
    if isinstance(value, Sequence):
        return [to_plain(v, arrays, f"{path}[{i}]") for i, v in enumerate(value)]
    if hasattr(value, "model_dump"):  # a config object inside a plain dict
        return to_plain(value.model_dump(mode="python"), arrays, path)
    if callable(value) and hasattr(value, "__qualname__") and hasattr(value, "__module__"):
        return qualified_name(value)
    return repr(value)
