"""``meta_data.json``: what a directory of record shards holds, as the seed library wrote it.

Image datasets carry the seed library's keys (``classes``, ``num_classes``,
``labels_to_classes``, ``colorspace``, ``image_format``, ``channels``, ``height``, ``width``,
``num_samples`` per split, ``items_to_descriptions``). Generic datasets carry ``features``:
name -> ``{"dtype", "shape"}``. Several splits share one file; each write merges its split in.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from petri._fsync import replace_atomically
from petri.data.records.features import FeatureSpec
from petri.errors import PetriError

__all__ = [
    "META_DATA_FILENAME",
    "feature_specs",
    "read_meta_data",
    "split_name",
    "write_meta_data",
    "MetaDataError",
    "check_shards",
]

META_DATA_FILENAME = "meta_data.json"
SPLITS = ("train", "eval", "infer", "predict", "test", "validation")
_MERGED = (
    "num_samples",
    "items_to_descriptions",
    "features",
    "shards",
    "context_features",
    "sequence_features",
    "sequence_lengths",
)


def split_name(prefix: str) -> str:
    """The split a shard prefix holds: ``digits_train`` -> ``train``; else the prefix itself."""
    for split in SPLITS:
        if prefix == split or prefix.endswith(f"_{split}"):
            return split
    return prefix


def _meta_path(path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    return target / META_DATA_FILENAME if target.is_dir() else target


def read_meta_data(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load ``meta_data.json`` (``path`` is the file or the directory holding it).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a JSON object.
    """
    file = _meta_path(path)
    if not file.is_file():
        raise FileNotFoundError(
            f"No meta data file at {str(file)!r}. Records written by Petri's converters have "
            f"one beside them ({META_DATA_FILENAME}); or leave params.meta_data_file unset."
        )
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise MetaDataError(
            f"{str(file)!r} is damaged: not UTF-8 text at byte {error.start}. Re-create it with "
            "the converter that wrote the records."
        ) from None
    except json.JSONDecodeError as error:
        raise MetaDataError(
            f"{str(file)!r} is damaged: not valid JSON ({error}). Re-create it with the "
            "converter that wrote the records."
        ) from None
    if not isinstance(meta, dict):
        raise MetaDataError(
            f"{str(file)!r} must hold a JSON object; received {type(meta).__name__}."
        )
    return meta


class MetaDataError(PetriError, ValueError):
    """A dataset's ``meta_data.json`` cannot be read; the message names it."""


def check_shards(files: list[str]) -> None:
    """Each record file listed in its folder's ``meta_data.json`` (``shards``: records and
    bytes as written) still has its size: an emptied, truncated or replaced shard is an error
    naming it, instead of a run that trains on part of the data without a word."""
    by_folder: dict[str, dict[str, Any]] = {}
    for name in files:
        folder = os.path.dirname(os.path.abspath(name))
        if folder not in by_folder:
            meta_file = Path(folder) / META_DATA_FILENAME
            shards = read_meta_data(meta_file).get("shards") if meta_file.is_file() else None
            by_folder[folder] = shards if isinstance(shards, dict) else {}
        expected = by_folder[folder].get(os.path.basename(name))
        if not isinstance(expected, dict) or "bytes" not in expected:
            continue
        size = os.path.getsize(name)
        if size != expected["bytes"]:
            raise MetaDataError(
                f"{name} is damaged: {size} bytes, but {META_DATA_FILENAME} says its "
                f"{expected.get('records')} records took {expected['bytes']} (emptied, truncated "
                "or replaced). Re-create it, or drop it from data_files."
            )


def write_meta_data(
    directory: str | os.PathLike[str], meta: Mapping[str, Any], merge: bool = True
) -> Path:
    """Write (or merge into) ``<directory>/meta_data.json`` atomically; returns its path.

    Merging keeps the other splits' ``num_samples``, descriptions and features, so writing the
    train and eval shards one after the other leaves one file describing both.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / META_DATA_FILENAME
    merged: dict[str, Any] = dict(meta)
    if merge and file.is_file():
        old = read_meta_data(file)
        merged = {**old, **meta}
        for key in _MERGED:
            if isinstance(old.get(key), dict) and isinstance(meta.get(key), dict):
                merged[key] = {**old[key], **meta[key]}

    def write(out: Any) -> None:
        json.dump(merged, out, indent=2, sort_keys=False)
        out.write("\n")

    replace_atomically(file, write)
    return file


def feature_specs(
    meta: Mapping[str, Any], source: str = META_DATA_FILENAME, key: str = "features"
) -> dict[str, FeatureSpec] | None:
    """The ``features`` (or another ``key``: a sequence dataset's ``context_features``,
    ``sequence_features``) of a dataset's meta data as specs; None when it has none.

    Raises:
        MetaDataError: an entry is not a feature description (the message names ``source``).
    """
    features = meta.get(key)
    if not features:
        return None
    if not isinstance(features, Mapping):
        raise MetaDataError(
            f"{source}: `{key}` must map names to {{'dtype': ..., 'shape': [...]}}; "
            f"received {type(features).__name__}."
        )
    try:
        return {name: FeatureSpec.from_json(name, value) for name, value in features.items()}
    except (ValueError, TypeError) as error:
        raise MetaDataError(f"{source} is damaged or hand-edited: {error}") from None
