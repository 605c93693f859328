"""``tf.train.SequenceExample`` records: context features plus feature lists (one value per time
step), the way TensorFlow stored sequences such as sentences or time series.

Same wire format as TensorFlow's (the message classes of :mod:`petri.data.records.example`), so
TensorFlow, the ``tfrecord`` package and the seed library read what Petri writes and the reverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from petri.data.records.example import SequenceExample, _to_array, fill_feature

__all__ = ["make_sequence_example", "parse_sequence_example"]


def make_sequence_example(
    context: Mapping[str, Any] | None, sequences: Mapping[str, Any]
) -> bytes:
    """Serialize one SequenceExample.

    Args:
        context: feature name -> scalar, array or bytes (one value set per example).
        sequences: feature name -> the steps: an array ``[T, ...]`` or a list of ``T`` values
            (each step flattened into one Feature of the feature list; a list of tokens gives
            one token per step).

    Example:
        >>> data = make_sequence_example({"label": 1}, {"tokens": [4, 8, 15]})
        >>> context, steps = parse_sequence_example(data)
        >>> context["label"], steps["tokens"].ravel()
        (array([1]), array([ 4,  8, 15]))
    """
    example = SequenceExample()
    for name, value in (context or {}).items():
        fill_feature(example.context.feature[name], value)
    lists = example.feature_lists.feature_list
    for name, steps in sequences.items():
        feature_list = lists[name]
        for step in steps if not isinstance(steps, np.ndarray) else list(steps):
            fill_feature(feature_list.feature.add(), step)
    return example.SerializeToString()


def _values(feature: Any) -> Any:
    kind = feature.WhichOneof("kind")
    if kind == "float_list":
        return _to_array(feature.float_list.value, np.float32)
    if kind == "int64_list":
        return _to_array(feature.int64_list.value, np.int64)
    if kind == "bytes_list":
        return list(feature.bytes_list.value)
    return np.zeros(0, dtype=np.float32)


def parse_sequence_example(
    data: bytes | memoryview,
    context_keys: Any = None,
    sequence_keys: Any = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(context, sequences)`` of one serialized SequenceExample: context features as 1-D
    arrays (lists for bytes), and each feature list as a ``[T, values per step]`` array (a
    list of per-step lists for bytes). ``*_keys`` limit what is parsed (None: all).

    Raises:
        google.protobuf.message.DecodeError: ``data`` is not a SequenceExample.
        ValueError: a feature list's steps hold different numbers of values.
    """
    example = SequenceExample.FromString(bytes(data))
    context_map = example.context.feature
    context = {
        name: _values(context_map[name])
        for name in (context_map if context_keys is None else context_keys)
        if name in context_map
    }
    lists = example.feature_lists.feature_list
    sequences: dict[str, Any] = {}
    for name in lists if sequence_keys is None else sequence_keys:
        if name not in lists:
            continue
        steps = [_values(step) for step in lists[name].feature]
        if steps and isinstance(steps[0], list):
            sequences[name] = steps
            continue
        sizes = {len(step) for step in steps}
        if len(sizes) > 1:
            raise ValueError(
                f"feature list {name!r} has steps of different sizes {sorted(sizes)[:4]}; each "
                "step of a sequence feature must hold as many values."
            )
        width = sizes.pop() if sizes else 0
        dtype = steps[0].dtype if steps else np.float32
        sequences[name] = np.stack(steps) if steps else np.zeros((0, width), dtype=dtype)
    return context, sequences
