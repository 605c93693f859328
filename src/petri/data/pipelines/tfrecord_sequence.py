"""``TFRecordSequencePipeline``: ``tf.train.SequenceExample`` shards as padded sequence batches,
with a length feature and, with ``bucket_boundaries``, batches of similar lengths."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from petri.configs import InputDataConfig
from petri.data.pipelines._base import Pipeline
from petri.data.pipelines._sources import RecordSource, TFRecordSource
from petri.data.records.features import BYTES, FeatureSpec
from petri.data.records.meta_data import feature_specs, read_meta_data, split_name
from petri.data.records.sequence_example import parse_sequence_example
from petri.data.records.shards import expand_data_files
from petri.data.records.tfrecord import iter_records
from petri.errors import ConfigError

__all__ = ["TFRecordSequencePipeline"]


class TFRecordSequencePipeline(Pipeline):
    """Reads SequenceExamples: each context feature becomes an array per example, each feature
    list an array ``[T, ...]`` (one row per step), and the feature ``length`` holds ``T``.

    Sequences of different lengths need ``dynamic_pad: true``, which zero-pads each batch to its
    longest sequence (not the dataset's). ``bucket_boundaries: [b0, b1, ...]`` batches examples
    of similar lengths together (TensorFlow's ``bucket_by_sequence_length``), so little of a
    batch is padding; the examples waiting in the buckets are saved in checkpoints with the
    input position, so a resumed run gets the batches an uninterrupted one would. Recurrent
    layers given ``{sequence feature, "length"}`` run each sequence to its own length only.

    Feature names, dtypes and per-step shapes come from ``meta_data.json``
    (``context_features``, ``sequence_features``: what
    :func:`petri.data.write_sequence_records` writes), else from the first record.

    Params:
        data_files: a path, glob or list of them.
        meta_data_file: the dataset's ``meta_data.json``.
        context_features: context features to return (default: all).
        sequence_features: feature lists to return (default: all).
        label_feature: the context feature returned as labels; default ``label`` when there is
            one.

    Example:
        >>> import tempfile
        >>> from petri.data import write_sequence_records
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_sequence_records({"tokens": [[1, 2], [3, 4, 5]]}, folder, "toy_train",
        ...                            context={"label": [0, 1]})
        >>> input_fn = TFRecordSequencePipeline({"batch_size": 2, "dynamic_pad": True,
        ...     "params": {"data_files": f"{folder}/toy_train-*",
        ...                "meta_data_file": f"{folder}/meta_data.json"}})
        >>> features, labels = next(input_fn())
        >>> features["tokens"].tolist(), features["length"].tolist(), labels.tolist()
        ([[1, 2, 0], [3, 4, 5]], [2, 3], [0, 1])
    """

    accepted_params = ("data_files", "meta_data_file", "context_features", "sequence_features")
    length_feature = "length"

    def _build_source(self, input_config: InputDataConfig | None) -> RecordSource:
        files = expand_data_files(self._require("data_files"), f"{self.path}.params.data_files")
        meta_file = self.params.get("meta_data_file")
        meta = read_meta_data(meta_file) if meta_file else {}
        if meta and "sequence_features" in meta:
            context = feature_specs(meta, str(meta_file), "context_features") or {}
            sequences = feature_specs(meta, str(meta_file), "sequence_features") or {}
        else:
            context, sequences = _infer(files)
        self._check_padding(meta, files)
        self.context_specs = self._chosen(context, "context_features")
        self.sequence_specs = self._chosen(sequences, "sequence_features")
        if not self.sequence_specs:
            raise ConfigError(
                f"`{self.path}.params`: the records hold no feature list (sequence feature); "
                "read them with TFRecordPipeline.",
                f"{self.path}.params",
                self.params,
            )
        clash = {self.length_feature} & (set(self.context_specs) | set(self.sequence_specs))
        if clash:
            raise ConfigError(
                f"The records already have a feature named {self.length_feature!r}, which "
                "this pipeline adds (each example's number of steps); rename it.",
                f"{self.path}.params.data_files",
                sorted(clash),
            )
        if "label_feature" not in self.params:
            self.label_key = "label" if "label" in self.context_specs else None
        if self.label_key is not None and self.label_key not in self.context_specs:
            raise ConfigError(
                f"`{self.path}.params.label_feature` is {self.label_key!r}, but the records' "
                f"context features are {sorted(self.context_specs)}.",
                f"{self.path}.params.label_feature",
                self.label_key,
            )
        return TFRecordSource(files)

    def _check_padding(self, meta: dict[str, Any], files: list[str]) -> None:
        """Refuse, before any run starts, to batch sequences that ``meta_data.json`` says vary in
        length without ``dynamic_pad`` (the first batch would fail to stack them)."""
        if self.config.dynamic_pad or self.config.batch_size == 1:
            return
        lengths = meta.get("sequence_lengths") or {}
        splits = {split_name(re.sub(r"-\d+-of-\d+\.\w+$", "", Path(f).name)) for f in files}
        varying = sorted(s for s in splits if len(set(lengths.get(s) or [0])) > 1)
        if varying:
            shortest, longest = lengths[varying[0]]
            raise ConfigError(
                f"`{self.path}.dynamic_pad` is false, but the {varying[0]!r} sequences run from "
                f"{shortest} to {longest} steps (meta_data.json), so a batch cannot stack them; "
                "set dynamic_pad: true to zero-pad each batch to its longest sequence.",
                f"{self.path}.dynamic_pad",
                False,
            )

    def _chosen(self, specs: dict[str, FeatureSpec], key: str) -> dict[str, FeatureSpec]:
        wanted = self.params.get(key)
        if wanted is None:
            return specs
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        if key == "context_features" and self.label_key and self.label_key not in names:
            names.append(self.label_key)
        missing = [name for name in names if name not in specs]
        if missing:
            raise ConfigError(
                f"`{self.path}.params.{key}` names {missing}, which the records do not have; "
                f"they have {sorted(specs)}.",
                f"{self.path}.params.{key}",
                wanted,
            )
        return {name: specs[name] for name in names}

    def decode(self, raw: bytes) -> dict[str, Any]:
        context, sequences = parse_sequence_example(raw, self.context_specs, self.sequence_specs)
        example: dict[str, Any] = {}
        for name, spec in self.context_specs.items():
            if name not in context:
                raise KeyError(f"the record has no context feature {name!r}")
            example[name] = spec.decode(context[name])
        length = None
        for name, spec in self.sequence_specs.items():
            if name not in sequences:
                raise KeyError(f"the record has no feature list {name!r}")
            steps = sequences[name]
            count = len(steps)
            if length is not None and count != length:
                raise ValueError(
                    f"its feature lists differ in length ({name!r} has {count} steps, "
                    f"others {length})"
                )
            length = count
            if spec.is_bytes:  # token text: one value per step gives the list of tokens
                one_each = all(len(step) == 1 for step in steps)
                flat = [step[0] for step in steps] if one_each else steps
            else:
                flat = np.asarray(steps).reshape(-1)
            example[name] = spec.decode(flat)
        example[self.length_feature] = np.asarray(length or 0, dtype=np.int64)
        return example


def _infer(files: list[str]) -> tuple[dict[str, FeatureSpec], dict[str, FeatureSpec]]:
    """Specs from the first record: context features as flat vectors (one value: a scalar),
    feature lists as ``[T, values per step]`` (one integer per step: ``[T]``, tokens)."""
    for path in files:
        for _, data in iter_records(path):
            context, sequences = parse_sequence_example(data)
            context_specs = {
                name: FeatureSpec(
                    name,
                    BYTES if isinstance(value, list) else str(value.dtype),
                    () if len(value) == 1 else (len(value),),
                )
                for name, value in context.items()
            }
            sequence_specs = {}
            for name, steps in sequences.items():
                if isinstance(steps, list):
                    sequence_specs[name] = FeatureSpec(name, BYTES, (None,))
                    continue
                width = steps.shape[1] if steps.ndim == 2 else 1
                tokens = steps.dtype.kind == "i" and width == 1
                shape = (None,) if tokens else (None, width)
                sequence_specs[name] = FeatureSpec(name, str(steps.dtype), shape)
            return context_specs, sequence_specs
    raise ConfigError(f"The record files {files} hold no record to infer features from.")
