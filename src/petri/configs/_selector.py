"""The shape of a ``name``/``module`` key: a name, ``module:qualname``, or the object itself.

Configs only check the shape; the builder resolves names through the registries their own
packages fill (``petri.experiments.validate_config``), so configs import nothing above them.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["check_selector"]


def check_selector(value: Any, family: str, required: bool = False) -> Any:
    """``value`` if it can select a ``family`` object: a non-empty string, a class or a callable
    (or None, unless ``required``: a key that must select something cannot be null).

    Raises:
        ValueError: anything else (a number, a list, an empty string).
    """
    if value is None:
        if required:
            raise ValueError(f"Expected a {family} name; received null (nothing selected).")
        return None
    if isinstance(value, str):
        if not value.strip():
            raise ValueError(f"Expected a {family} name; received an empty string.")
        return value
    if inspect.isclass(value) or callable(value):
        return value
    raise ValueError(
        f"Expected a {family} name (string, or 'module:qualname' for your own) or class; "
        f"received {type(value).__name__}."
    )
