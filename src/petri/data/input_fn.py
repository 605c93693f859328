"""Build an input function from an ``InputDataConfig`` (what ``create_experiment`` does)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from petri.data.numpy_input import numpy_input_fn
from petri.errors import ConfigError

if TYPE_CHECKING:
    from petri.configs import InputDataConfig

__all__ = ["create_input_fn", "load_array"]


def load_array(value: Any, path: str) -> Any:
    """Arrays pass through; a ``.npy``/``.npz`` path is loaded (an ``.npz`` gives a dict)."""
    if not isinstance(value, str | Path):
        return value
    file = Path(value)
    if not file.is_file():
        raise ConfigError(f"`{path}` names {str(file)!r}, which does not exist.", path, value)
    if file.suffix == ".npy":
        return np.load(file, allow_pickle=False)
    if file.suffix == ".npz":
        with np.load(file, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    raise ConfigError(f"`{path}` names {str(file)!r}; expected a .npy or .npz file.", path, value)


def create_input_fn(config: InputDataConfig, seed: int | None = None, path: str = "") -> Any:
    """The input function ``config`` describes; ``path`` prefixes key paths in errors."""
    pipeline = config.pipeline_config
    input_type = config.input_type
    if input_type == "numpy":
        x = load_array(config.x, f"{path}.x")
        y = load_array(config.y, f"{path}.y")
        if isinstance(y, dict):
            raise ConfigError(
                f"`{path}.y` must be one array, not an .npz archive.", path, config.y
            )
    elif input_type == "dataset":
        from petri.datasets import DATASETS

        name = config.x if isinstance(config.x, str) else pipeline.params.get("dataset")
        split = pipeline.params.get("split", "train")
        try:
            dataset = DATASETS.get(name)
        except KeyError as error:
            raise ConfigError(str(error), f"{path}.x", name) from None
        x, y = dataset.load_split(split)
    else:
        raise ConfigError(
            f"`{path}.input_type` {input_type!r} has no reader yet; use 'numpy' or 'dataset'.",
            f"{path}.input_type",
            input_type,
        )
    return numpy_input_fn(
        x,
        y,
        batch_size=pipeline.batch_size,
        num_epochs=pipeline.num_epochs,
        shuffle=pipeline.shuffle,
        seed=pipeline.seed if pipeline.seed is not None else seed,
        allow_smaller_final_batch=pipeline.allow_smaller_final_batch,
    )
