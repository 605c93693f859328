"""``TFRecordPipeline``: every feature of the Examples in TFRecord shards, as arrays."""

from __future__ import annotations

from typing import Any

from petri.configs import InputDataConfig
from petri.data.pipelines._base import Pipeline
from petri.data.pipelines._sources import RecordSource, TFRecordSource
from petri.data.records.example import parse_example
from petri.data.records.features import FeatureSpec, infer_specs
from petri.data.records.meta_data import feature_specs, read_meta_data
from petri.data.records.shards import expand_data_files
from petri.data.records.tfrecord import iter_records
from petri.errors import ConfigError

__all__ = ["TFRecordPipeline"]


class TFRecordPipeline(Pipeline):
    """Reads TFRecord shards of ``tf.train.Example`` protos; each feature becomes an array.

    Feature names, dtypes and shapes come from ``meta_data.json``'s ``features`` when
    ``params.meta_data_file`` is given (what :func:`petri.data.write_records` writes); otherwise
    they are inferred from the first 100 records (one value in each: a scalar; ``n`` in each: a
    vector; varying counts: a vector of varying length, batched with ``dynamic_pad``).
    Byte-string features come as lists of bytes.

    Params:
        data_files: a path, glob or list of them (``/data/sin_train-*``).
        meta_data_file: the ``meta_data.json`` describing the features.
        label_feature: the feature returned as labels; default: meta_data.json's
            ``label_feature`` (``petri convert`` writes ``y``), else ``label`` when there is one.
        features: names of the features to return (default: all).

    Example:
        >>> import numpy as np, tempfile
        >>> from petri.data import write_records
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_records({"x": np.arange(6.0)[:, None], "y": np.arange(6)}, folder, "toy")
        >>> input_fn = TFRecordPipeline(
        ...     {"batch_size": 4, "params": {"data_files": f"{folder}/toy-*",
        ...      "meta_data_file": f"{folder}/meta_data.json", "label_feature": "y"}})
        >>> [(tuple(f["x"].shape), tuple(y.shape)) for f, y in input_fn()]
        [((4, 1), (4,)), ((2, 1), (2,))]
    """

    accepted_params = ("data_files", "meta_data_file", "features")
    default_label = None

    def _build_source(self, input_config: InputDataConfig | None) -> RecordSource:
        files = expand_data_files(self._require("data_files"), f"{self.path}.params.data_files")
        self.files = files
        meta_file = self.params.get("meta_data_file")
        self.meta_data = read_meta_data(meta_file) if meta_file else {}
        specs = feature_specs(self.meta_data, str(meta_file)) if self.meta_data else None
        self.specs: dict[str, FeatureSpec] = specs or self._infer(files)
        wanted = self.params.get("features")
        if "label_feature" not in self.params:
            recorded = self.meta_data.get("label_feature")  # petri convert writes y there
            if recorded in self.specs:
                self.label_key = recorded
            elif "label" in self.specs:
                self.label_key = "label"
        if wanted is not None:
            names = [wanted] if isinstance(wanted, str) else list(wanted)
            if self.label_key and self.label_key not in names:
                names.append(self.label_key)
            missing = [n for n in names if n not in self.specs]
            if missing:
                raise ConfigError(
                    f"`{self.path}.params.features` names {missing}, which the records do not "
                    f"have; they have {sorted(self.specs)}.",
                    f"{self.path}.params.features",
                    wanted,
                )
            self.specs = {n: self.specs[n] for n in names}
        if self.label_key is not None and self.label_key not in self.specs:
            raise ConfigError(
                f"`{self.path}.params.label_feature` is {self.label_key!r}, but the records have "
                f"the features {sorted(self.specs)}.",
                f"{self.path}.params.label_feature",
                self.label_key,
            )
        return TFRecordSource(files)

    @staticmethod
    def _infer(files: list[str], limit: int = 100) -> dict[str, FeatureSpec]:
        """Specs from the first ``limit`` records (see :func:`infer_specs`)."""
        parsed = []
        for path in files:
            for _, data in iter_records(path):
                parsed.append(parse_example(data))
                if len(parsed) >= limit:
                    return infer_specs(parsed)
        if not parsed:
            raise ConfigError(f"The record files {files} hold no record to infer features from.")
        return infer_specs(parsed)

    def decode(self, raw: bytes) -> dict[str, Any]:
        parsed = parse_example(raw, self.specs)
        example = {}
        for name, spec in self.specs.items():
            if name not in parsed:
                raise KeyError(
                    f"the record has no feature {name!r} (it has "
                    f"{sorted(parse_example(raw))}); fix meta_data.json or params.features."
                )
            example[name] = spec.decode(parsed[name])
        return example
