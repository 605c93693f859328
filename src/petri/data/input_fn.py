"""Build an input function from an ``InputDataConfig`` or ``PipelineConfig`` (what
``create_experiment`` does)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from petri.configs import InputDataConfig, PipelineConfig
from petri.data._arrays import load_array
from petri.data.numpy_input import numpy_input_fn, to_tensor
from petri.data.pipelines import PIPELINES
from petri.errors import ConfigError
from petri.registry import Registry

__all__ = ["INPUT_TYPES", "create_input_fn", "load_array"]

INPUT_TYPES: Registry = Registry(
    "input type",
    {"numpy": "numpy", "dataset": "dataset", "pandas": "pandas"},
    home="petri.data.INPUT_TYPES",
)
"""``InputDataConfig.input_type``: ``numpy`` (x/y arrays or files), ``dataset`` (built-in),
``pandas`` (a DataFrame or a CSV/Parquet file)."""


def _as_input_config(config: Any, path: str) -> InputDataConfig:
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
    load_dataset: Callable[[str, str], tuple[Any, Any]] | None = None,
) -> Any:
    """The input function ``config`` describes; ``path`` prefixes key paths in errors.

    ``config`` is an ``InputDataConfig``, a ``PipelineConfig`` or the dict of either. A
    ``pipeline_config.module`` selects a pipeline from :data:`petri.data.PIPELINES`
    (``TFRecordImagePipeline``, ...); otherwise ``input_type`` ``numpy`` or ``dataset`` gives a
    ``numpy_input_fn``. ``seed`` is the shuffling seed when the pipeline config sets none.
    ``load_dataset(name, split) -> (x, y)`` reads ``input_type: dataset`` (the builder passes
    ``petri.datasets.load_split``).

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
    _check_used(config, path)
    if pipeline.module is not None:
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
        name = config.x if isinstance(config.x, str) else pipeline.params.get("dataset")
        split = pipeline.params.get("split", "train")
        if not isinstance(name, str) or not name:
            raise ConfigError(
                f"`{path}.x` must name a built-in dataset (such as 'digits') for input_type "
                f"'dataset'; received {config.x!r:.60}.",
                f"{path}.x",
                config.x,
            )
        if load_dataset is None:
            raise ConfigError(
                f"`{path}.input_type` 'dataset' needs a dataset reader: build the input with "
                "petri.experiments.create_experiment, or pass "
                "load_dataset=petri.datasets.load_split.",
                f"{path}.input_type",
                input_type,
            )
        try:
            x, y = load_dataset(name, split)
        except KeyError as error:
            message = error.args[0] if error.args else error
            raise ConfigError(
                f"Invalid value for `{path}.x`: {message}", f"{path}.x", name
            ) from None
        except ValueError as error:
            key = f"{path}.pipeline_config.params.split"
            raise ConfigError(f"Invalid value for `{key}`: {error}", key, split) from None
    elif input_type == "pandas":
        from petri.data.pandas_input import frame_arrays, read_frame

        frame = read_frame(config.x, f"{path}.x")
        x, y, categories = frame_arrays(
            frame, config.x_columns, config.y_column, config.categorical, path
        )
    else:
        raise ConfigError(
            f"`{path}.input_type` {input_type!r} has no reader yet; use 'numpy', 'dataset' or "
            "'pandas'.",
            f"{path}.input_type",
            input_type,
        )
    x = _as_examples(x, f"{path}.x")
    y = _as_examples(y, f"{path}.y")
    try:
        input_fn = numpy_input_fn(
            x,
            y,
            batch_size=pipeline.batch_size,
            num_epochs=pipeline.num_epochs,
            shuffle=pipeline.shuffle,
            seed=pipeline.seed if pipeline.seed is not None else seed,
            allow_smaller_final_batch=pipeline.allow_smaller_final_batch,
        )
    except ValueError as error:  # x and y hold different numbers of examples
        raise ConfigError(
            f"`{path}.y` does not fit `{path}.x`: {error}", f"{path}.y", None
        ) from None
    if input_type == "pandas":
        input_fn.categories = categories  # the builder checks train and eval agree
    return input_fn


def _as_examples(value: Any, path: str) -> Any:
    """``value`` (an array, a list, or a dict of them) as tensors with one row per example;
    anything else is a ConfigError naming ``path``."""
    if value is None:
        return None
    if isinstance(value, dict):
        if not value:
            raise ConfigError(f"`{path}` is an empty mapping; it needs a feature.", path, value)
        return {str(key): _as_examples(item, f"{path}.{key}") for key, item in value.items()}
    try:
        tensor = to_tensor(value)
    except (TypeError, ValueError, RuntimeError, OverflowError) as error:
        raise ConfigError(
            f"`{path}` must be numbers forming one array (rows of one shape); received "
            f"{type(value).__name__} {str(value)[:60]!r}: {str(error).splitlines()[0][:200]}",
            path,
            type(value).__name__,
        ) from None
    if tensor.dim() == 0 or tensor.shape[0] == 0:
        raise ConfigError(
            f"`{path}` must hold at least one example (one row per example); received an "
            f"array of shape {tuple(tensor.shape)}.",
            path,
            tuple(tensor.shape),
        )
    return tensor


# Pipeline keys that only record pipelines (``pipeline_config.module``) read.
_PIPELINE_ONLY = (
    "dynamic_pad",
    "bucket_boundaries",
    "min_after_dequeue",
    "capacity",
    "num_threads",
    "definition",
)


def _check_used(config: InputDataConfig, path: str) -> None:
    """Keys the chosen reader would not read are refused, by key path."""
    pipeline = config.pipeline_config
    prefix = f"{path}." if path else ""
    if pipeline.module is None:
        given = [key for key in _PIPELINE_ONLY if key in pipeline.changed_fields()]
        extra = set(pipeline.params) - ({"split", "dataset"} if config.input_type else set())
        if given or extra:
            key = given[0] if given else f"params.{sorted(extra)[0]}"
            raise ConfigError(
                f"`{prefix}pipeline_config.{key}` applies to record pipelines; "
                f"{config.input_type or 'this'} input reads arrays with batch_size, num_epochs, "
                "shuffle, seed and allow_smaller_final_batch. Set pipeline_config.module: "
                "NumpyPipeline to use pipeline features on arrays, or remove it.",
                f"{prefix}pipeline_config.{key}",
                getattr(pipeline, key, None) if given else pipeline.params,
            )
        return
    if "input_type" in config.changed_fields() and config.input_type is not None:
        raise ConfigError(
            f"`{prefix}input_type` and `{prefix}pipeline_config.module` both choose the reader; "
            "give one.",
            f"{prefix}input_type",
            config.input_type,
        )
    reads_arrays = PIPELINES.name_of(PIPELINES.get(pipeline.module)) == "NumpyPipeline"
    for key in ("x", "y"):
        if getattr(config, key) is not None and not reads_arrays:
            raise ConfigError(
                f"`{prefix}{key}` is read by NumpyPipeline (or input_type: numpy), not by "
                f"{pipeline.module!r}, which reads files named in pipeline_config.params.",
                f"{prefix}{key}",
                "<array>",
            )
