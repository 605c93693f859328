"""``CSVPipeline``: rows of CSV files, one feature per column (or per group of columns)."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from typing import Any

import numpy as np

from petri.configs import InputDataConfig
from petri.data.pipelines._base import Pipeline
from petri.data.pipelines._sources import LineSource, RecordSource
from petri.data.records.shards import expand_data_files
from petri.errors import ConfigError

__all__ = ["CSVPipeline"]


def _guess_dtype(text: str) -> str:
    for dtype, parse in (("int64", int), ("float32", float)):
        try:
            parse(text)
            return dtype
        except ValueError:
            continue
    return "bytes"


class CSVPipeline(Pipeline):
    """Reads CSV files (one shard per file); each column becomes a scalar feature.

    Column types are int64, float32 or bytes, guessed from the first data row unless given in
    ``dtypes``. Records are lines: quoted fields must not contain line breaks.

    Params:
        data_files: a path, glob or list of them.
        header: the first line of each file names the columns (default true).
        columns: column names, for files without a header.
        delimiter: the field separator (default ``,``).
        dtypes: column -> dtype (``float32``, ``int64``, ``bytes``, ...), overriding guesses.
        feature_groups: feature -> list of columns gathered into one float32 vector, e.g.
            ``{"x": ["crim", "zn", "indus"]}``; grouped columns are not features themselves.
        label_feature: the column returned as labels; default ``label`` when there is one.
    """

    accepted_params = ("data_files", "header", "columns", "delimiter", "dtypes", "feature_groups")
    default_label = None

    def _build_source(self, input_config: InputDataConfig | None) -> RecordSource:
        path = f"{self.path}.params"
        files = expand_data_files(self._require("data_files"), f"{path}.data_files")
        self.delimiter = str(self.params.get("delimiter", ","))
        header = bool(self.params.get("header", True))
        with open(files[0], newline="") as file:
            rows = csv.reader(file, delimiter=self.delimiter)
            first = next(rows, None)
            sample = next(rows, None) if header else first
        columns = self.params.get("columns") or (first if header else None)
        if not columns:
            raise ConfigError(
                f"{files[0]!r} has no header; give the column names in `{path}.columns`.",
                f"{path}.columns",
                None,
            )
        self.columns = [str(c).strip() for c in columns]
        dtypes = dict(self.params.get("dtypes") or {})
        self.dtypes = {
            name: str(dtypes.get(name) or (_guess_dtype(sample[i]) if sample else "float32"))
            for i, name in enumerate(self.columns)
        }
        groups: Mapping[str, list[str]] = self.params.get("feature_groups") or {}
        unknown = sorted({c for cols in groups.values() for c in cols} - set(self.columns))
        if unknown:
            raise ConfigError(
                f"`{path}.feature_groups` names columns {unknown} that the files lack; "
                f"columns: {self.columns}.",
                f"{path}.feature_groups",
                dict(groups),
            )
        self.groups = {
            name: [self.columns.index(c) for c in cols] for name, cols in groups.items()
        }
        grouped = {c for cols in groups.values() for c in cols}
        self.singles = [(i, c) for i, c in enumerate(self.columns) if c not in grouped]
        if "label_feature" not in self.params and "label" in self.columns:
            self.label_key = "label"
        if self.label_key is not None and self.label_key not in self.columns + list(groups):
            raise ConfigError(
                f"`{path}.label_feature` is {self.label_key!r}, not a column of {self.columns}.",
                f"{path}.label_feature",
                self.label_key,
            )
        return LineSource(files, skip_header=header)

    def _value(self, text: str, column: str) -> Any:
        dtype = self.dtypes[column]
        if dtype in ("bytes", "string", "str"):
            return text.encode()
        text = text.strip()
        if np.dtype(dtype).kind in "iub":
            return np.array(int(text), dtype=dtype)
        return np.array(float(text) if text else np.nan, dtype=dtype)

    def decode(self, raw: bytes) -> dict[str, Any]:
        fields = next(csv.reader([raw.decode()], delimiter=self.delimiter))
        if len(fields) != len(self.columns):
            raise ValueError(
                f"the row has {len(fields)} fields, the header {len(self.columns)} columns."
            )
        example = {column: self._value(fields[i], column) for i, column in self.singles}
        for name, indices in self.groups.items():
            example[name] = np.array([float(fields[i]) for i in indices], dtype=np.float32)
        return example
