"""Input configs: ``PipelineConfig`` (batching, epochs, shuffling) and ``InputDataConfig``."""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

from pydantic import Field, PositiveInt, field_validator, model_validator

from petri.configs._base import BaseConfig
from petri.configs._selector import check_selector

__all__ = ["InputDataConfig", "PipelineConfig"]


class PipelineConfig(BaseConfig):
    """How examples are read and batched.

    ``module`` selects a pipeline class; ``name`` labels it (the seed writes ``name: 'train'``;
    reader processes are named after it).
    """

    module: Any = None
    """Pipeline class or registered name (``TFRecordImagePipeline``, ...)."""
    name: str | None = None
    """A label for the pipeline (``train``/``eval``): names its reader processes."""
    batch_size: PositiveInt = 64
    num_epochs: PositiveInt | None = 1
    """Passes over the data; None repeats forever."""
    shuffle: bool = False
    seed: int | None = None
    """Shuffling seed; None derives it from the run's seed."""
    dynamic_pad: bool = False
    bucket_boundaries: list[int] | None = None
    """Sequence pipelines: batch examples of similar length together (bucket ``i`` holds the
    lengths in ``[b[i-1], b[i])``); see ``TFRecordSequencePipeline``."""
    min_after_dequeue: PositiveInt | None = None
    """Shuffle-buffer size for streaming pipelines."""
    num_threads: PositiveInt = 1
    """Background reader processes for record pipelines."""
    capacity: PositiveInt | None = None
    allow_smaller_final_batch: bool = True
    params: dict[str, Any] = Field(default_factory=dict)
    """Pipeline-specific parameters (``data_files``, ``meta_data_file``, ...)."""
    definition: Any = None
    """Per-feature processors, as the seed library's pipelines took them."""

    @field_validator("module")
    @classmethod
    def _selector(cls, value: Any) -> Any:
        return check_selector(value, "pipeline")

    @model_validator(mode="after")
    def _buffer_fits_capacity(self) -> PipelineConfig:
        low, high = self.min_after_dequeue, self.capacity
        if low is not None and high is not None and high < low:
            raise ValueError(
                f"capacity ({high}) must be >= min_after_dequeue ({low}), as in TensorFlow's "
                "shuffle queues: the shuffle buffer holds min_after_dequeue records and capacity "
                "bounds it."
            )
        return self

    @field_validator("bucket_boundaries")
    @classmethod
    def _increasing_boundaries(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return None
        increasing = all(a < b for a, b in itertools.pairwise(value))
        if not value or value[0] < 1 or not increasing:
            raise ValueError(
                f"bucket_boundaries must be positive lengths in strictly increasing order, such "
                f"as [10, 20, 40]; received {value}."
            )
        return value


class InputDataConfig(BaseConfig):
    """Where a train or eval input comes from.

    ``input_type=InputDataConfig.NUMPY`` with ``x``/``y`` arrays, lists or ``.npy``/``.npz``
    paths; or a ``pipeline_config`` whose ``module`` reads files.
    """

    NUMPY: ClassVar[str] = "numpy"
    DATASET: ClassVar[str] = "dataset"
    PANDAS: ClassVar[str] = "pandas"

    input_type: str | None = None
    pipeline_config: PipelineConfig = Field(default_factory=PipelineConfig)
    x: Any = None
    """Features: an array, a dict of arrays, a list, or a path to ``.npy``/``.npz``."""
    y: Any = None
    """Labels: an array, a list, or a path to ``.npy``; None for unlabelled input."""
    x_columns: list[str] | None = None
    """``pandas``: the feature columns (None: all but ``y_column``)."""
    y_column: str | None = None
    """``pandas``: the label column (None: unlabelled)."""
    categorical: dict[str, Any] | None = None
    """``pandas``: text columns by name -> ``one_hot`` | ``embed`` (or ``{encoding,
    categories}``)."""

    @field_validator("input_type")
    @classmethod
    def _known_input_type(cls, value: str | None) -> str | None:
        return None if value is None else value.lower()

    @model_validator(mode="after")
    def _has_a_source(self) -> InputDataConfig:
        if self.input_type is None and self.x is not None and self.pipeline_config.module is None:
            frame = type(self.x).__name__ == "DataFrame"
            object.__setattr__(self, "input_type", self.PANDAS if frame else self.NUMPY)
        pandas_keys = [k for k in ("x_columns", "y_column", "categorical") if getattr(self, k)]
        if pandas_keys and self.input_type != self.PANDAS:
            raise ValueError(
                f"{', '.join(pandas_keys)} select DataFrame columns; they apply to input_type "
                f"'pandas', not {self.input_type!r}."
            )
        if self.input_type == self.PANDAS and self.x is None:
            raise ValueError(
                "input_type 'pandas' needs `x`: a DataFrame, or a .csv/.parquet file."
            )
        if self.input_type == self.PANDAS and self.y is not None:
            raise ValueError("input_type 'pandas' takes its labels from `y_column`; remove `y`.")
        if self.input_type == self.NUMPY and self.x is None:
            raise ValueError(
                "input_type 'numpy' needs `x` (an array, a dict of arrays, or a .npy/.npz path)."
            )
        if self.input_type is None and self.pipeline_config.module is None and self.x is None:
            raise ValueError(
                "Give either input_type 'numpy' with `x`/`y`, or pipeline_config.module naming "
                "a pipeline."
            )
        return self
