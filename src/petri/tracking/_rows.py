"""What a logged value becomes: a number, a text cell or an image.

``Experiment.log`` handles Python floats and ints inline (the hot path); everything else comes
here: nested dicts are flattened as ``parent/child``, numpy scalars and 0-d (or one-element)
tensors become Python numbers, images are recognised, and any other value is kept as text in the
CSV instead of crashing (test_tube sent arrays to ``add_scalar`` and failed).
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Mapping
from typing import Any

from petri.tracking._media import image_format

__all__ = ["IMAGE", "NUMBER", "TEXT", "expand"]

NUMBER, TEXT, IMAGE = "number", "text", "image"


def expand(key: str, value: Any, out: list[tuple[str, Any, str]]) -> None:
    """Append ``(key, value, kind)`` for ``value`` (several for a nested dict) to ``out``.

    ``None`` values are skipped (an empty cell). For images ``value`` is ``(format, raw)``.
    """
    if value is None:
        return
    kind = type(value)
    if kind is float or kind is int or kind is bool:
        out.append((key, value, NUMBER))
        return
    if kind is str:
        out.append((key, value, TEXT))
        return
    if isinstance(value, Mapping):
        for child, child_value in value.items():
            expand(f"{key}/{child}", child_value, out)
        return
    number = _as_number(value)
    if number is not None:
        out.append((key, number, NUMBER))
        return
    fmt = image_format(key, value)
    if fmt is not None:
        out.append((key, (fmt, value), IMAGE))
        return
    out.append((key, _as_text(value), TEXT))


def _as_number(value: Any) -> float | int | bool | None:
    """numpy scalars and one-element arrays/tensors as Python numbers; None if not one."""
    module = type(value).__module__ or ""
    if module.startswith(("numpy", "torch")):
        if module.startswith("torch") and hasattr(value, "numel"):
            count = value.numel()
        else:
            count = getattr(value, "size", None)
        if count != 1 or getattr(value, "ndim", 0) > 1 or not hasattr(value, "item"):
            return None
        item = value.item()
        return item if isinstance(item, bool | int | float) else None
    if isinstance(value, numbers.Real):
        return int(value) if isinstance(value, numbers.Integral) else float(value)
    return None


def _as_text(value: Any) -> str:
    module = type(value).__module__ or ""
    if module.startswith(("numpy", "torch")) and hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list | tuple | dict):
        try:
            return json.dumps(value, default=str)
        except (TypeError, ValueError):
            pass
    return str(value)
