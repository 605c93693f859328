"""``Pipeline``: a ``PipelineConfig`` turned into a resumable input function.

A pipeline names a record source (which shards, how to read a record) and how to decode a
record into features. Everything else is shared: epochs, shard shuffling and interleaving, the
shuffle buffer, per-feature processors, batching, reader processes and resume state.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch

from petri.configs import InputDataConfig, PipelineConfig
from petri.data.pipelines._batching import Batcher, BucketingBatcher
from petri.data.pipelines._iterator import PipelineBatches
from petri.data.pipelines._sources import RecordSource
from petri.data.pipelines._stream import RecordStream
from petri.data.processors import PROCESSORS, build_processors
from petri.distributed import data_shard
from petri.errors import ConfigError, did_you_mean

__all__ = ["Pipeline"]

_COMMON_PARAMS = ("label_feature", "cycle_length", "start_method", "prefetch", "cache")
_MAX_OPEN_SHARDS = 16


def _as_pipeline_config(config: Any, path: str) -> PipelineConfig:
    if config is None:
        return PipelineConfig()
    if isinstance(config, PipelineConfig):
        return config
    return PipelineConfig.from_dict(config, prefix=path)


def _to_tensor(value: Any) -> Any:
    if not isinstance(value, np.ndarray):
        return value
    tensor = torch.from_numpy(value)
    return tensor.float() if tensor.dtype == torch.float64 else tensor


class Pipeline:
    """Base class of the record pipelines; an instance is an input function.

    Calling it returns a fresh :class:`PipelineBatches` iterator of ``(features, labels)``
    batches. The iterator has ``state_dict``/``load_state_dict``, which the Estimator stores in
    every checkpoint so a resumed run neither repeats nor skips examples.

    Args:
        config: a ``PipelineConfig`` (or its dict): ``batch_size``, ``num_epochs`` (None =
            forever), ``shuffle``, ``allow_smaller_final_batch``, ``dynamic_pad``,
            ``num_threads`` (reader processes; 1 reads in this process), ``min_after_dequeue``
            or ``capacity`` (shuffle-buffer size), ``seed``, ``definition`` (per-feature
            processors) and ``params``.
        seed: shuffling seed used when ``config.seed`` is None (the Experiment passes the run's
            seed); None draws one from torch's global generator.
        input_config: the enclosing ``InputDataConfig`` (``NumpyPipeline`` reads its x/y).
        path: key path of ``config`` in error messages.
        **params: override ``config.params``.

    Common params: ``label_feature`` (the feature returned as labels; None for none),
    ``cycle_length`` (shards read at once when shuffling; default all, at most 16),
    ``cache`` (keep decoded examples in memory so later epochs skip decoding; for data that
    fits in memory), ``start_method`` (reader processes' multiprocessing start method; default
    fork where available) and ``prefetch`` (batches each reader keeps ready; default 4).

    Subclasses set :attr:`accepted_params` and implement :meth:`_build_source` and
    :meth:`decode`; ``decode`` runs in reader processes, so it must use only the instance's
    plain attributes.
    """

    accepted_params: ClassVar[tuple[str, ...]] = ()
    default_feature: ClassVar[str | None] = None
    """The feature a bare ``definition`` list processes (``image`` for image pipelines)."""
    default_label: ClassVar[str | None] = "label"
    default_buffer_size: ClassVar[int] = 1000
    length_feature: ClassVar[str | None] = None
    """The feature holding each example's length, for ``bucket_boundaries`` (sequence
    pipelines); None: the pipeline's examples have no length to bucket by."""

    def __init__(
        self,
        config: PipelineConfig | Mapping[str, Any] | None = None,
        *,
        seed: int | None = None,
        input_config: InputDataConfig | None = None,
        path: str = "pipeline_config",
        **params: Any,
    ) -> None:
        self.config = _as_pipeline_config(config, path)
        self.path = path
        self.params = {**self.config.params, **params}
        self._check_params()
        if self.config.seed is not None:
            seed = self.config.seed
        elif seed is None:
            seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        self.seed = int(seed) % 2**64  # numpy's seed sequences take non-negative integers
        self.label_key: str | None = self.params.get("label_feature", self.default_label)
        self.bare_feature: str | None = None
        self.cycle_length = self.params.get("cycle_length")
        methods = multiprocessing.get_all_start_methods()
        self.start_method = self.params.get("start_method") or (
            "fork" if "fork" in methods else None
        )
        self.prefetch = int(self.params.get("prefetch", 4))
        if self.config.bucket_boundaries is not None and self.length_feature is None:
            raise ConfigError(
                f"`{path}.bucket_boundaries` groups sequences by length, and "
                f"{type(self).__name__} has no lengths; use TFRecordSequencePipeline or remove "
                "it.",
                f"{path}.bucket_boundaries",
                self.config.bucket_boundaries,
            )
        self.source: RecordSource = self._build_source(input_config)
        self.processors = build_processors(
            self.config.definition, PROCESSORS, self.default_feature, f"{path}.definition"
        )

    @classmethod
    def from_config(
        cls,
        config: PipelineConfig | Mapping[str, Any],
        seed: int | None = None,
        input_config: InputDataConfig | None = None,
        path: str = "pipeline_config",
    ) -> Pipeline:
        """Build the pipeline ``config`` describes (what ``create_input_fn`` calls)."""
        return cls(config, seed=seed, input_config=input_config, path=path)

    # ------------------------------------------------------------- subclass API
    def _build_source(self, input_config: InputDataConfig | None) -> RecordSource:
        raise NotImplementedError

    def decode(self, raw: Any) -> dict[str, Any]:
        """One raw record as a dict of feature values (numpy arrays, bytes)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ running
    @property
    def label(self) -> str | None:
        """``pipeline_config.name`` (the seed's ``name: 'train'``): names the reader processes
        (``petri-reader-train-0``), as ``ps`` and tracebacks show them."""
        return self.config.name

    def __call__(self, shard: tuple[int, int] | None = None) -> PipelineBatches:
        """A fresh iterator; ``shard=(index, count)`` reads that share of the records (by
        default this process's share in a distributed run, else all of them)."""
        return PipelineBatches(self, data_shard() if shard is None else shard)

    @property
    def finite(self) -> bool:
        """Whether the input ends (``num_epochs`` set)."""
        return self.config.num_epochs is not None

    @property
    def num_workers(self) -> int:
        """Reader processes: ``num_threads`` capped at the number of shards; 0 = in-process."""
        workers = min(self.config.num_threads, self.source.num_shards)
        return workers if workers > 1 else 0

    @property
    def buffer_size(self) -> int:
        """Shuffle-buffer capacity in records, over all readers."""
        config = self.config
        return int(config.min_after_dequeue or config.capacity or self._default_buffer_size())

    def _default_buffer_size(self) -> int:
        return self.default_buffer_size

    def make_batcher(
        self, worker: int, num_workers: int, shard: tuple[int, int] = (0, 1)
    ) -> Batcher:
        """The batcher of reader ``worker`` of ``num_workers`` (0 of 1 in-process), reading
        share ``shard`` of its records."""
        readers = max(num_workers, 1)
        shards = [s for s in range(self.source.num_shards) if s % readers == worker]
        config = self.config
        stream = RecordStream(
            self.source,
            shards,
            num_epochs=config.num_epochs,
            shuffle=config.shuffle,
            seed=self.seed,
            buffer_size=math.ceil(self.buffer_size / readers),
            cycle_length=int(self.cycle_length or min(len(shards), _MAX_OPEN_SHARDS)),
            stream=worker,
            allow_empty=num_workers > 1,
        )
        options: dict[str, Any] = {
            "batch_size": config.batch_size,
            "allow_smaller_final_batch": config.allow_smaller_final_batch,
            "dynamic_pad": config.dynamic_pad,
            "seed": self.seed,
            "cache": bool(self.params.get("cache", False)),
            "shard": shard,
        }
        parts = (stream, self.decode, self.processors, self.source.where)
        if config.bucket_boundaries is not None:
            return BucketingBatcher(
                *parts,
                boundaries=config.bucket_boundaries,
                length_key=str(self.length_feature),
                **options,
            )
        return Batcher(*parts, **options)

    def to_batch(self, batch: dict[str, Any]) -> tuple[Any, Any]:
        """A collated batch as ``(features, labels)`` tensors."""
        features = {name: _to_tensor(value) for name, value in batch.items()}
        labels = None
        if self.label_key is not None:
            if self.label_key not in features:
                raise KeyError(
                    f"{type(self).__name__}: label feature {self.label_key!r} is not among the "
                    f"features {sorted(features)}; set params.label_feature (null for none)."
                )
            labels = features.pop(self.label_key)
        if self.bare_feature is not None:
            return features[self.bare_feature], labels
        return features, labels

    # ----------------------------------------------------------------- helpers
    def _check_params(self) -> None:
        accepted = (*self.accepted_params, *_COMMON_PARAMS)
        for key in self.params:
            if key not in accepted:
                hint = did_you_mean(key, accepted)
                raise ConfigError(
                    f"`{self.path}.params` has the key {key!r}, which {type(self).__name__} does "
                    f"not accept.{hint} Accepted: {', '.join(accepted)}.",
                    f"{self.path}.params.{key}",
                    self.params[key],
                )

    def _require(self, key: str) -> Any:
        value = self.params.get(key)
        if value is None:
            raise ConfigError(
                f"{type(self).__name__} needs `{self.path}.params.{key}`.",
                f"{self.path}.params.{key}",
                None,
            )
        return value

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(batch_size={self.config.batch_size}, "
            f"num_epochs={self.config.num_epochs}, shuffle={self.config.shuffle}, "
            f"shards={self.source.num_shards})"
        )
