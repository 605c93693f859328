"""``load_array``: a config's ``x``/``y`` as arrays (given inline, or as .npy/.npz paths)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from petri.errors import ConfigError

__all__ = ["load_array"]


def load_array(value: Any, path: str) -> Any:
    """Arrays pass through; a ``.npy``/``.npz`` path is loaded (an ``.npz`` gives a dict)."""
    if not isinstance(value, str | Path):
        return value
    file = Path(value)
    if not file.is_file():
        raise ConfigError(f"`{path}` names {str(file)!r}, which does not exist.", path, value)
    try:
        if file.suffix == ".npy":
            return np.load(file, allow_pickle=False)
        if file.suffix == ".npz":
            with np.load(file, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError) as error:  # damaged, or pickled objects
        raise ConfigError(
            f"`{path}` names {str(file)!r}, which numpy cannot read: {error}", path, value
        ) from None
    raise ConfigError(f"`{path}` names {str(file)!r}; expected a .npy or .npz file.", path, value)
