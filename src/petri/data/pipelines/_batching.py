"""``Batcher``: decode, process and collate the records of one stream into batches."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from petri.data.pipelines._stream import RecordStream
from petri.data.processors._base import Processor, apply_processors, split_deterministic
from petri.errors import PetriError

__all__ = ["Batcher", "BucketingBatcher", "collate"]


def _pad_to(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    pad = [(0, target - size) for size, target in zip(value.shape, shape)]
    return np.pad(value, pad) if any(after for _, after in pad) else value


def collate(examples: list[dict[str, Any]], dynamic_pad: bool = False) -> dict[str, Any]:
    """Stack examples feature by feature: arrays become one array; bytes become a list.

    Raises:
        ValueError: a feature's shape differs between examples and ``dynamic_pad`` is off.
    """
    batch: dict[str, Any] = {}
    for name in examples[0]:
        values = [example[name] for example in examples]
        first = values[0]
        if isinstance(first, bytes | str | list):
            batch[name] = values
            continue
        if isinstance(first, torch.Tensor):
            values = [
                v.numpy() if v.dtype != torch.bfloat16 else v.float().numpy() for v in values
            ]
        try:
            batch[name] = np.stack(values)
            continue
        except ValueError:  # shapes differ: pad them, or say how to
            shapes = {np.shape(v) for v in values}
        if len(shapes) > 1:
            if not dynamic_pad:
                raise ValueError(
                    f"Feature {name!r} has different shapes within a batch: "
                    f"{sorted(shapes)[:4]}. Set pipeline_config.dynamic_pad: true to zero-pad "
                    "to the longest, or add a Resize processor for images."
                )
            if len({len(s) for s in shapes}) > 1:
                raise ValueError(
                    f"Feature {name!r} has values of different ranks {sorted(shapes)[:4]}; "
                    "dynamic_pad pads lengths, not ranks."
                )
            target = tuple(max(sizes) for sizes in zip(*shapes))
            values = [_pad_to(np.asarray(v), target) for v in values]
        batch[name] = np.stack(values)
    return batch


class Batcher:
    """Batches of one :class:`RecordStream`, with the processors' generator.

    Args:
        stream: the records.
        decode: raw record -> dict of feature values.
        processors: per-feature processor chains.
        where: ``(shard, ref) -> str`` locating a record, for decode errors.
        batch_size: examples per batch.
        allow_smaller_final_batch: yield the last, short batch of the input.
        dynamic_pad: zero-pad features of varying length (see :func:`collate`).
        seed: seeds the processors' generator (with the stream number).
        cache: keep every decoded example in memory (keyed by shard and reference), so later
            epochs skip decoding (``tf.data``'s ``cache()``); the cached value is taken after
            each feature's leading deterministic processors (a Resize, a dtype conversion), and
            only the processors from the first random one on run again each epoch.
        shard: ``(index, count)``: keep every ``count``-th record of the stream, starting at
            ``index`` (one rank's share of a distributed run; the ranks' streams are the same,
            so together they take every record once). Skipped records are never decoded.
    """

    def __init__(
        self,
        stream: RecordStream,
        decode: Callable[[Any], dict[str, Any]],
        processors: Mapping[str, list[Processor]],
        where: Callable[[int, int], str],
        *,
        batch_size: int,
        allow_smaller_final_batch: bool,
        dynamic_pad: bool,
        seed: int,
        cache: bool = False,
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        self.stream = stream
        self.shard = shard
        self._offered = 0  # records of the stream seen, ours or not
        self.decode = decode
        self.processors = processors
        self.where = where
        self.batch_size = batch_size
        self.allow_smaller_final_batch = allow_smaller_final_batch
        self.dynamic_pad = dynamic_pad
        self._rng = np.random.default_rng([seed, stream.stream, 2])
        self._cache: dict[tuple[int, int], dict[str, Any]] | None = {} if cache else None
        self._fixed, self._rest = split_deterministic(processors) if cache else ({}, processors)

    def next_batch(self) -> dict[str, Any]:
        """The next collated batch (numpy arrays and lists).

        Raises:
            StopIteration: the input is exhausted.
        """
        examples = []
        while len(examples) < self.batch_size:
            example = self._next_example()
            if example is None:
                break
            examples.append(example)
        if not examples or (
            len(examples) < self.batch_size and not self.allow_smaller_final_batch
        ):
            raise StopIteration
        return collate(examples, self.dynamic_pad)

    def _next_example(self) -> dict[str, Any] | None:
        """The next example of this share of the stream, decoded and processed; None at the
        end of the input."""
        stream, decode, processors, cache = self.stream, self.decode, self._rest, self._cache
        index, count = self.shard
        for shard, ref, raw in stream:
            if count > 1:
                offered = self._offered
                self._offered = offered + 1
                if offered % count != index:
                    continue
            try:
                if cache is None:
                    example = decode(raw)
                else:
                    cached = cache.get((shard, ref))
                    if cached is None:
                        cached = decode(raw)
                        if self._fixed:  # deterministic: no draws from the generator
                            cached = apply_processors(cached, self._fixed, self._rng)
                        cache[shard, ref] = cached
                    example = dict(cached)  # processors replace values, never modify them
                if processors:
                    example = apply_processors(example, processors, self._rng)
            except PetriError:
                raise
            except Exception as error:  # say which record; the original stays chained
                message = error.args[0] if isinstance(error, KeyError) and error.args else error
                raise ValueError(f"{self.where(shard, ref)}: {message}") from error
            return example
        return None

    def state_dict(self) -> dict[str, Any]:
        state = {"stream": self.stream.state_dict(), "rng": self._rng.bit_generator.state}
        if self.shard[1] > 1:
            state["shard"] = list(self.shard)
            state["offered"] = self._offered
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        saved = tuple(int(v) for v in state.get("shard", (0, 1)))
        if saved != tuple(self.shard):
            raise ValueError(
                f"The input position was saved by share {saved[0]} of {saved[1]} of the input, "
                f"but this process reads share {self.shard[0]} of {self.shard[1]}."
            )
        self.stream.load_state_dict(state["stream"])
        self._rng.bit_generator.state = state["rng"]
        self._offered = int(state.get("offered", 0))


class BucketingBatcher(Batcher):
    """Batches of examples of similar length, as TensorFlow's ``bucket_by_sequence_length``:
    each example goes to the bucket of its length (``[0, b0)``, ``[b0, b1)``, ...,
    ``[bn, inf)`` for ``boundaries`` ``b0 < ... < bn``), and a bucket that holds
    ``batch_size`` examples becomes the next batch, padded only to its own longest example.
    When the input ends, the buckets are emptied in order (short batches if
    ``allow_smaller_final_batch``).

    The examples waiting in the buckets are part of :meth:`state_dict`, so a resumed input
    yields exactly the batches an uninterrupted one would.

    Args:
        boundaries: strictly increasing bucket boundaries.
        length_key: the feature holding each example's length.
        **kwargs: see :class:`Batcher`.
    """

    def __init__(self, *args: Any, boundaries: list[int], length_key: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.boundaries = list(boundaries)
        self.length_key = length_key
        self._buckets: list[list[dict[str, Any]]] = [[] for _ in range(len(boundaries) + 1)]

    def next_batch(self) -> dict[str, Any]:
        while True:
            example = self._next_example()
            if example is None:
                return self._flush()
            length = int(np.asarray(example[self.length_key]).reshape(-1)[0])
            bucket = self._buckets[bisect.bisect_right(self.boundaries, length)]
            bucket.append(example)
            if len(bucket) == self.batch_size:
                batch = list(bucket)
                bucket.clear()
                return collate(batch, self.dynamic_pad)

    def _flush(self) -> dict[str, Any]:
        for bucket in self._buckets:
            if bucket and (len(bucket) == self.batch_size or self.allow_smaller_final_batch):
                batch = list(bucket)
                bucket.clear()
                return collate(batch, self.dynamic_pad)
            bucket.clear()  # too few for a batch: dropped, as without buckets
        raise StopIteration

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["buckets"] = [list(bucket) for bucket in self._buckets]
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        saved = state.get("buckets") or [[] for _ in self._buckets]
        if len(saved) != len(self._buckets):
            raise ValueError(
                f"The input position was saved with {len(saved) - 1} bucket boundaries, but "
                f"this pipeline has {len(self.boundaries)}."
            )
        self._buckets = [[_as_numpy(example) for example in bucket] for bucket in saved]


def _as_numpy(example: Mapping[str, Any]) -> dict[str, Any]:
    """An example from a checkpoint (tensors, as states are saved) back as numpy arrays."""
    return {
        name: value.numpy() if isinstance(value, torch.Tensor) else value
        for name, value in example.items()
    }
