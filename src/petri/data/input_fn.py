"""Build an input function from an ``InputDataConfig`` or ``PipelineConfig`` (what
``create_experiment`` does)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from petri.data.numpy_input import numpy_input_fn
from petri.errors import ConfigError

if TYPE_CHECKING:
    from petri.configs import InputDataConfig, PipelineConfig

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


def _as_input_config(config: Any, path: str) -> InputDataConfig:
    from petri.configs import InputDataConfig, PipelineConfig

    if isinstance(config, InputDataConfig):
        return config
    if isinstance(config, PipelineConfig):
        return InputDataConfig(pipeline_config=config)
    if isinstance(config, dict):
        if {"pipeline_config", "input_type", "x"} & set(config):
            return InputDataConfig.from_dict(config, prefix=path)
        return InputDataConfig(pipeline_config=PipelineConfig.from_dict(config, prefix=path))
    raise TypeError(
        f"create_input_fn expected an InputDataConfig, a PipelineConfig or a dict of one; "
        f"received {type(config).__name__}."
    )


def create_input_fn(
    config: InputDataConfig | PipelineConfig | dict[str, Any],
    seed: int | None = None,
    path: str = "",
) -> Any:
    """The input function ``config`` describes; ``path`` prefixes key paths in errors.

    ``config`` is an ``InputDataConfig``, a ``PipelineConfig`` or the dict of either. A
    ``pipeline_config.module`` selects a pipeline from :data:`petri.data.PIPELINES`
    (``TFRecordImagePipeline``, ...); otherwise ``input_type`` ``numpy`` or ``dataset`` gives a
    ``numpy_input_fn``. ``seed`` is the shuffling seed when the pipeline config sets none.

    Example:
        >>> import tempfile
        >>> from petri.datasets import digits
        >>> folder = digits.prepare(tempfile.mkdtemp())
        >>> input_fn = create_input_fn({"module": "TFRecordImagePipeline", "batch_size": 64,
        ...     "params": {"data_files": f"{folder}/digits_eval-*",
        ...                "meta_data_file": f"{folder}/meta_data.json"}})
        >>> sum(len(labels) for _, labels in input_fn())
        360
    """
    config = _as_input_config(config, path)
    pipeline = config.pipeline_config
    if pipeline.module is not None:
        from petri.data import PIPELINES

        pipeline_class = PIPELINES.get(pipeline.module)
        return pipeline_class.from_config(
            pipeline,
            seed=seed,
            input_config=config,
            path=f"{path}.pipeline_config" if path else "pipeline_config",
        )
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
        try:
            x, y = dataset.load_split(split)
        except ValueError as error:
            raise ConfigError(str(error), f"{path}.pipeline_config.params.split", split) from None
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
