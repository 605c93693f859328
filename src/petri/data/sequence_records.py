"""Sequences (lists of arrays, token lists) to sharded ``SequenceExample`` TFRecords plus
``meta_data.json``: what ``TFRecordSequencePipeline`` reads back."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from petri.data.records.features import BYTES, FeatureSpec
from petri.data.records.meta_data import split_name, write_meta_data
from petri.data.records.sequence_example import make_sequence_example
from petri.data.records.shards import ShardedRecordWriter

__all__ = ["write_sequence_records"]


def _step_spec(name: str, steps: list[np.ndarray]) -> FeatureSpec:
    first = steps[0]
    if first.dtype.kind in ("S", "U", "O"):
        return FeatureSpec(name, BYTES, (None,))
    dtype = np.float32 if first.dtype.kind == "f" else np.int64
    return FeatureSpec(name, str(np.dtype(dtype)), (None, *first.shape[1:]))


def write_sequence_records(
    sequences: Mapping[str, Any] | list[Any],
    out_dir: str | os.PathLike[str],
    prefix: str,
    num_shards: int = 1,
    *,
    context: Mapping[str, Any] | None = None,
    split: str | None = None,
) -> list[Path]:
    """Write one SequenceExample per example, in ``num_shards`` contiguous shards.

    Args:
        sequences: feature name -> one sequence per example (an array ``[T_i, ...]`` or a list
            of ``T_i`` values, such as token ids); a bare list is the feature ``tokens``. The
            features of one example must have the same number of steps.
        out_dir: folder for the shards and ``meta_data.json``.
        prefix: shard names ``<prefix>-0000k-of-0000n.tfrecord``.
        num_shards: how many files.
        context: feature name -> one value per example (a label, an id).
        split: the ``num_samples`` key; default from the prefix (``rows_train`` -> ``train``).

    Returns:
        The shard paths.

    Raises:
        ValueError: no sequence, features of different example counts, or an example whose
            features differ in length.
    """
    named = dict(sequences) if isinstance(sequences, Mapping) else {"tokens": sequences}
    if not named:
        raise ValueError("write_sequence_records expected at least one sequence feature.")
    steps = {name: [np.asarray(s) for s in values] for name, values in named.items()}
    values = {name: list(v) for name, v in (context or {}).items()}
    counts = {name: len(v) for name, v in {**steps, **values}.items()}
    if len(set(counts.values())) != 1:
        raise ValueError(f"every feature needs one value per example; received {counts}.")
    size = next(iter(counts.values()))
    if not size:
        raise ValueError("write_sequence_records received no example.")
    lengths = []
    for index in range(size):
        own = {name: len(sequence[index]) for name, sequence in steps.items()}
        if len(set(own.values())) != 1:
            raise ValueError(f"example {index}: its sequence features differ in length: {own}.")
        lengths.append(next(iter(own.values())))
    with ShardedRecordWriter(out_dir, prefix, num_shards, size) as writer:
        for index in range(size):
            writer.write(
                make_sequence_example(
                    {name: v[index] for name, v in values.items()},
                    {name: sequence[index] for name, sequence in steps.items()},
                )
            )
    context_specs = {
        name: FeatureSpec.from_array(name, np.asarray(v[0])).to_json()
        for name, v in values.items()
    }
    meta: dict[str, Any] = {
        "context_features": context_specs,
        "sequence_features": {name: _step_spec(name, s).to_json() for name, s in steps.items()},
        "num_samples": {split or split_name(prefix): size},
        "sequence_lengths": {split or split_name(prefix): [min(lengths), max(lengths)]},
        "shards": writer.shard_sizes(),
    }
    write_meta_data(out_dir, meta)
    return writer.paths
