"""pandas input (``input_type: pandas``): a DataFrame, or a CSV/Parquet file read by pandas,
as the arrays a ``numpy_input_fn`` batches.

Numeric columns become float32 features; text columns are categorical and named in
``categorical``: ``one_hot`` appends one indicator column per category to the feature matrix,
``embed`` gives the column's category ids (int64) as a feature of its own for an embedding
layer. Categories are the column's sorted values unless listed, and train and evaluation inputs
must agree on them (the builder checks). pandas is an optional extra, imported here only.

A DataFrame given inline goes into the run's folder as a file (``save_frame``), as arrays do,
so the run's ``config.yaml`` rebuilds it; ``frame_fingerprint`` compares frames on resume.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from petri._fsync import replace_atomically
from petri.errors import ConfigError, did_you_mean

__all__ = [
    "ENCODINGS",
    "FRAME_SUFFIXES",
    "frame_arrays",
    "frame_fingerprint",
    "is_frame",
    "read_frame",
    "save_frame",
]

FRAME_SUFFIXES = (".csv", ".parquet", ".pq")

ENCODINGS = ("one_hot", "embed")


def is_frame(value: Any) -> bool:
    """Whether ``value`` is a pandas DataFrame (without importing pandas)."""
    return type(value).__name__ == "DataFrame" and type(value).__module__.startswith("pandas")


def save_frame(frame: Any, stem: Path) -> Path:
    """Write ``frame`` whole (atomically) as ``<stem>.parquet``, which keeps every column's
    dtype, or as ``<stem>.csv`` when pyarrow is missing; without its index, which pandas
    input never reads. Returns the file."""
    try:
        import pyarrow  # noqa: F401  (only whether Parquet can be written)
    except ImportError:
        target = stem.parent / f"{stem.name}.csv"
        replace_atomically(target, lambda file: frame.to_csv(file, index=False))
        return target
    target = stem.parent / f"{stem.name}.parquet"
    replace_atomically(target, lambda file: frame.to_parquet(file, index=False), binary=True)
    return target


def frame_fingerprint(frame: Any) -> str:
    """A short digest of ``frame``'s column names and values (not its index or dtypes'
    spelling: a frame read back from its Parquet or CSV file has the same one)."""
    pandas = _pandas("x")
    rows = pandas.util.hash_pandas_object(frame, index=False).to_numpy()
    columns = "\0".join(str(name) for name in frame.columns).encode()
    digest = hashlib.sha1(columns + rows.tobytes()).hexdigest()[:16]
    return f"<frame {tuple(frame.shape)} sha1:{digest}>"


def _pandas(path: str) -> Any:
    try:
        import pandas
    except ImportError:
        raise ConfigError(
            f"`{path}` reads its data with pandas, which is not installed: "
            "pip install 'petri[pandas]' (pandas and pyarrow, for Parquet).",
            path,
            "pandas",
        ) from None
    return pandas


def read_frame(source: Any, path: str) -> Any:
    """``source`` as a DataFrame: one given, or a ``.csv``/``.parquet`` file read by pandas.

    Raises:
        ConfigError: no such file, another suffix, or a file pandas cannot read.
    """
    if is_frame(source):
        return source
    if not isinstance(source, str | os.PathLike):
        raise ConfigError(
            f"`{path}` must be a pandas DataFrame or a .csv/.parquet file for input_type "
            f"'pandas'; received {type(source).__name__}.",
            path,
            type(source).__name__,
        )
    file = Path(source)
    if not file.is_file():
        raise ConfigError(f"`{path}` names {str(file)!r}, which does not exist.", path, source)
    pandas = _pandas(path)
    suffix = file.suffix.lower()
    try:
        if suffix == ".csv":
            return pandas.read_csv(file)
        if suffix in (".parquet", ".pq"):
            return pandas.read_parquet(file)
    except ImportError as error:  # Parquet without pyarrow
        raise ConfigError(
            f"`{path}`: pandas needs pyarrow to read Parquet ({error}); "
            "pip install 'petri[pandas]'.",
            path,
            source,
        ) from None
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"`{path}` names {str(file)!r}, which pandas cannot read: {error}", path, source
        ) from None
    raise ConfigError(
        f"`{path}` names {str(file)!r}; expected a .csv or .parquet file.", path, source
    )


def frame_arrays(
    frame: Any,
    x_columns: list[str] | None,
    y_column: str | None,
    categorical: dict[str, Any] | None,
    path: str,
) -> tuple[Any, Any, dict[str, list[str]]]:
    """``(features, labels, categories)`` of ``frame``: features are the float32 matrix of
    ``x_columns`` (one-hot columns expanded), or ``{"x": matrix, <embedded column>: ids}``
    when a column is embedded; labels are ``y_column`` (int64 class ids for text); categories
    maps each categorical column (and a text label) to its category list.

    Raises:
        ConfigError: an unknown column (with a did-you-mean), a text column not declared
            categorical, an unknown encoding, a missing value, a value outside listed
            categories; every message names its key under ``path``.
    """
    columns = [str(name) for name in frame.columns]
    _known(y_column, columns, f"{path}.y_column")
    chosen = list(x_columns) if x_columns is not None else [c for c in columns if c != y_column]
    for index, name in enumerate(chosen):
        _known(name, columns, f"{path}.x_columns[{index}]")
    encodings = _encodings(categorical or {}, columns, chosen, path)
    parts: list[np.ndarray] = []
    embedded: dict[str, np.ndarray] = {}
    categories: dict[str, list[str]] = {}
    for name in chosen:
        values = frame[name]
        key = f"{path}.x_columns"
        _no_missing(values, name, key)
        if name not in encodings:
            if not _numeric(values):
                raise ConfigError(
                    f"`{key}`: column {name!r} holds text ({_sample(values)}); declare it in "
                    f"`{path}.categorical` as one_hot or embed, or leave it out.",
                    key,
                    name,
                )
            parts.append(values.to_numpy(dtype=np.float32)[:, None])
            continue
        encoding, listed = encodings[name]
        ids, names = _category_ids(values, listed, f"{path}.categorical.{name}")
        categories[name] = names
        if encoding == "one_hot":
            parts.append(np.eye(len(names), dtype=np.float32)[ids])
        else:
            embedded[name] = ids
    matrix = np.concatenate(parts, axis=1) if parts else np.zeros((len(frame), 0), np.float32)
    features: Any = {"x": matrix, **embedded} if embedded else matrix
    labels = None
    if y_column is not None:
        values = frame[y_column]
        _no_missing(values, y_column, f"{path}.y_column")
        if _numeric(values):
            array = values.to_numpy()
            integer = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, bool)
            labels = array.astype(np.int64) if integer else array.astype(np.float32)[:, None]
        else:
            labels, categories[y_column] = _category_ids(values, None, f"{path}.y_column")
    return features, labels, categories


def _known(name: str | None, columns: list[str], key: str) -> None:
    if name is not None and name not in columns:
        raise ConfigError(
            f"Invalid value for `{key}`: received {name!r}, which is not a column."
            f"{did_you_mean(str(name), columns)} Columns: {', '.join(columns)}.",
            key,
            name,
        )


def _encodings(
    categorical: dict[str, Any], columns: list[str], chosen: list[str], path: str
) -> dict[str, tuple[str, list[str] | None]]:
    """Column -> (encoding, listed categories or None) from the ``categorical`` key."""
    out = {}
    for name, spec in categorical.items():
        key = f"{path}.categorical.{name}"
        _known(name, columns, key)
        if name not in chosen:
            raise ConfigError(
                f"`{key}`: column {name!r} is not among the features (x_columns).", key, name
            )
        listed = None
        if isinstance(spec, dict):
            unknown = set(spec) - {"encoding", "categories"}
            if unknown:
                raise ConfigError(
                    f"`{key}` takes encoding and categories; received {sorted(unknown)}.",
                    key,
                    spec,
                )
            listed = [str(c) for c in spec.get("categories") or []] or None
            spec = spec.get("encoding", "one_hot")
        if spec not in ENCODINGS:
            hint = did_you_mean(str(spec), ENCODINGS)
            raise ConfigError(
                f"Invalid value for `{key}`: received {spec!r}.{hint} Expected one of: "
                f"{', '.join(ENCODINGS)}.",
                key,
                spec,
            )
        out[name] = (spec, listed)
    return out


def _category_ids(values: Any, listed: list[str] | None, key: str) -> tuple[Any, list[str]]:
    text = values.astype(str).to_numpy()
    names = listed or sorted(set(text.tolist()))
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted(set(text.tolist()) - set(index))
    if unknown:
        raise ConfigError(
            f"`{key}`: values {unknown[:5]} are not among the listed categories {names}.",
            key,
            unknown[:5],
        )
    return np.array([index[v] for v in text], dtype=np.int64), names


def _numeric(values: Any) -> bool:
    return values.dtype.kind in "biuf"


def _no_missing(values: Any, name: str, key: str) -> None:
    missing = int(values.isna().sum())
    if missing:
        raise ConfigError(
            f"`{key}`: column {name!r} has {missing} missing value(s); fill or drop them "
            "first (frame.fillna / frame.dropna).",
            key,
            name,
        )


def _sample(values: Any) -> str:
    return ", ".join(repr(v) for v in values.head(3).tolist())
