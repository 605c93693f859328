"""Whole datasets to sharded records in one call: a folder of images (a class per sub-folder),
a CSV file, or numpy arrays, split into train/eval (or any named splits) by seeded shuffling.

What ``petri convert`` runs. The output folder appears whole or not at all: everything is
written into a temporary folder beside it, which is renamed into place at the end, so a bad
image half-way leaves nothing behind.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from petri._fsync import as_created, fsync_directory
from petri.data.converters import ImagesToRecordsConverter, Progress, no_progress, write_records
from petri.data.records.meta_data import read_meta_data, write_meta_data
from petri.errors import did_you_mean

__all__ = ["IMAGE_SUFFIXES", "convert_csv", "convert_images", "convert_numpy", "parse_split"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
DEFAULT_SPLIT = {"train": 0.8, "eval": 0.2}


def parse_split(text: str) -> dict[str, float]:
    """``"train=0.8,eval=0.2"`` -> ``{"train": 0.8, "eval": 0.2}``.

    Raises:
        ValueError: a part is not ``name=fraction``, a fraction is not in (0, 1], a name
            repeats, or the fractions do not add up to 1.
    """
    shares: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.strip().partition("=")
        try:
            fraction = float(value)
        except ValueError:
            fraction = float("nan")
        if not name or not name.isidentifier() or not 0 < fraction <= 1:
            raise ValueError(
                f"split {text!r}: {part.strip()!r} is not name=fraction with a fraction in "
                "(0, 1], as in train=0.8,eval=0.2."
            )
        if name in shares:
            raise ValueError(f"split {text!r} names {name!r} twice.")
        shares[name] = fraction
    return _checked_split(shares)


def _checked_split(shares: Mapping[str, float]) -> dict[str, float]:
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(
            f"split fractions {dict(shares)} add up to {total:g}; they must add up to 1."
        )
    return dict(shares)


def _counts(size: int, shares: Mapping[str, float]) -> dict[str, int]:
    """Examples per split: rounded shares, the last split taking what rounding leaves."""
    names = list(shares)
    counts = {name: round(size * shares[name]) for name in names[:-1]}
    counts[names[-1]] = size - sum(counts.values())
    empty = [name for name, count in counts.items() if count <= 0]
    if empty:
        raise ValueError(
            f"{size} examples give split {empty[0]!r} no example at {shares[empty[0]]:g}; use "
            "more data or a larger fraction."
        )
    return counts


def _split_indices(size: int, shares: Mapping[str, float], seed: int) -> dict[str, np.ndarray]:
    order = np.random.default_rng(seed).permutation(size)
    parts, start = {}, 0
    for name, count in _counts(size, shares).items():
        parts[name] = np.sort(order[start : start + count])  # each split keeps file order
        start += count
    return parts


class _Staging:
    """A temporary folder beside ``out_dir`` that becomes ``out_dir`` on success only."""

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.target = Path(out_dir)
        if self.target.exists() and (not self.target.is_dir() or any(self.target.iterdir())):
            raise ValueError(
                f"output {str(self.target)!r} already exists and is not an empty folder; "
                "choose a new one (nothing was written)."
            )
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(
            tempfile.mkdtemp(prefix=f".{self.target.name}.", dir=self.target.parent)
        )
        as_created(self.folder)  # mkdtemp's 0700 would hide the dataset from other users

    def __enter__(self) -> Path:
        return self.folder

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            return
        if self.target.is_dir():
            self.target.rmdir()  # empty (checked above)
        os.replace(self.folder, self.target)
        fsync_directory(self.target.parent)  # the shards are fsynced; now their folder's name


def convert_images(
    folder: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    num_shards: int = 1,
    split: Mapping[str, float] | None = None,
    seed: int = 0,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Images in ``folder/<class>/*`` (png, jpeg, bmp, gif; sub-folders sorted by name give
    the class indices) as records ``<name>_<split>-*`` plus ``meta_data.json`` in ``out_dir``,
    where ``name`` is the folder's name. Returns the meta data.

    ``channels`` in the meta data is what the images decode to: 1 for grey, 3 for colour
    (palettes included), 2 or 4 with alpha; a folder mixing grey and colour images records
    colour, and ``TFRecordImagePipeline`` converts each image to it.

    Raises:
        ValueError: no class sub-folder or no image; an image Pillow cannot read (named);
            images of different sizes; a bad split or ``out_dir``.
    """
    from PIL import Image, UnidentifiedImageError

    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"image folder {str(root)!r} does not exist.")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ValueError(
            f"image folder {str(root)!r} has no class sub-folders; put each class's images in "
            "a folder named after it (cats/001.png, dogs/002.png)."
        )
    files: list[Path] = []
    labels: list[int] = []
    for index, name in enumerate(classes):
        found = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        files += found
        labels += [index] * len(found)
    if not files:
        raise ValueError(
            f"image folder {str(root)!r} has class folders {classes} but no image in them "
            f"(looked for {', '.join(IMAGE_SUFFIXES)})."
        )
    shapes, channels = set(), set()
    for path in progress(files, len(files), "checking images"):
        try:
            with Image.open(path) as image:
                image.verify()
            with Image.open(path) as image:
                shapes.add(image.size)
                channels.add(_channels(image))
        except (OSError, UnidentifiedImageError) as error:
            raise ValueError(f"{str(path)!r} is not an image Pillow can read ({error}).") from None
    if len(shapes) > 1:
        raise ValueError(
            f"the images of {str(root)!r} differ in size ({_sizes(shapes)}); a record "
            "dataset needs one size: resize them first."
        )
    ((width, height),) = shapes
    converter = ImagesToRecordsConverter(
        classes,
        colorspace="grayscale" if max(channels) < 3 else "rgb",
        channels=_common_channels(channels),
        height=height,
        width=width,
        store_filenames=True,
    )
    parts = _split_indices(len(files), _checked_split(split or DEFAULT_SPLIT), seed)
    dataset = root.resolve().name or "images"  # `petri convert images . OUT` names "."
    with _Staging(out_dir) as staging:
        for name, indices in parts.items():
            converter.convert(
                [str(files[i]) for i in indices],
                [labels[i] for i in indices],
                staging,
                f"{dataset}_{name}",
                num_shards,
                split=name,
                progress=progress,
            )
    return read_meta_data(Path(out_dir) / "meta_data.json")


def _channels(image: Any) -> int:
    """Channels ``image`` decodes to: a palette is colour (with alpha if it has transparency),
    CMYK and YCbCr become RGB, 16-bit and float images are grey."""
    if image.mode in ("P", "PA"):
        return 4 if image.mode == "PA" or "transparency" in image.info else 3
    bands = image.getbands()
    alpha = "A" in bands
    colour = len(bands) - alpha > 1
    return 1 + 2 * colour + alpha


def _common_channels(channels: set[int]) -> int:
    """One channel count for images that differ (the pipeline converts each image to it):
    colour if any is colour, alpha if any has alpha."""
    colour = any(c >= 3 for c in channels)
    alpha = any(c in (2, 4) for c in channels)
    return 1 + 2 * colour + alpha


def _sizes(shapes: set[tuple[int, int]]) -> str:
    listed = ", ".join(f"{w}x{h}" for w, h in sorted(shapes)[:3])
    return listed + (f" and {len(shapes) - 3} more" if len(shapes) > 3 else "")


def convert_numpy(
    x: Any,
    y: Any,
    out_dir: str | os.PathLike[str],
    num_shards: int = 1,
    split: Mapping[str, float] | None = None,
    seed: int = 0,
    name: str = "data",
    extra_meta: Mapping[str, Any] | None = None,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Arrays ``x`` and ``y`` (or ``.npy`` paths; ``y`` may be None) as records
    ``<name>_<split>-*`` with features ``x`` and ``y`` plus ``meta_data.json`` (whose
    ``label_feature: y`` makes ``TFRecordPipeline`` return ``y`` as the labels). Returns the
    meta data.

    Raises:
        ValueError: a file is missing or not an array; ``x`` and ``y`` differ in length; a
            bad split or ``out_dir``.
    """
    features = _array(x, "x")
    data = {"x": features}
    if y is not None:
        labels = _array(y, "y")
        if len(labels) != len(features):
            raise ValueError(
                f"x has {len(features)} examples but y has {len(labels)}; they must match."
            )
        data["y"] = labels
    parts = _split_indices(len(features), _checked_split(split or DEFAULT_SPLIT), seed)
    with _Staging(out_dir) as staging:
        for part, indices in parts.items():  # meta_data.json merges the splits' entries
            write_records(
                {key: value[indices] for key, value in data.items()},
                staging,
                f"{name}_{part}",
                num_shards,
                split=part,
                progress=progress,
            )
        # label_feature: TFRecordPipeline returns y as the labels without being told
        meta = {**({"label_feature": "y"} if "y" in data else {}), **(extra_meta or {})}
        if meta:
            write_meta_data(staging, meta)
    return read_meta_data(Path(out_dir) / "meta_data.json")


def _array(value: Any, what: str) -> np.ndarray:
    if isinstance(value, str | os.PathLike):
        path = Path(value)
        if not path.is_file():
            raise ValueError(f"{what} file {str(path)!r} does not exist.")
        try:
            value = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ValueError(f"{what} file {str(path)!r} is not a .npy array ({error}).") from None
        if not isinstance(value, np.ndarray):
            raise ValueError(f"{what} file {str(path)!r} is an .npz archive; give one .npy array.")
    array = np.asarray(value)
    if array.ndim == 0 or not len(array):
        raise ValueError(f"{what} has no examples (shape {array.shape}).")
    return array


def convert_csv(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    label: str,
    num_shards: int = 1,
    split: Mapping[str, float] | None = None,
    seed: int = 0,
    progress: Progress = no_progress,
    one_hot: Sequence[str] = (),
) -> dict[str, Any]:
    """A UTF-8 CSV file with a header: every column but ``label`` becomes part of one float32
    feature vector ``x`` (the order is recorded as ``feature_names``), the ``label`` column
    ``y``: int64 when every value is an integer, class indices of the sorted names when any is
    text (recorded as ``classes``), else float32. A text column named in ``one_hot`` becomes
    one indicator per category, its sorted values over the whole file (recorded as
    ``categories``; the features are named ``column=value``), so every split agrees on them.
    Blank lines are skipped. Returns the meta data.

    Raises:
        ValueError: no such file, not UTF-8, no header or rows, ``label`` or a ``one_hot``
            column is not a column (with a did-you-mean), a feature value that is not a number
            (outside ``one_hot`` columns) or a missing value (empty, ``nan``) anywhere, rows of
            different lengths; each named by line and column.
    """
    source = Path(path)
    header, body = _csv_rows(source)
    for name, what in [(label, "label column"), *((c, "one_hot column") for c in one_hot)]:
        if name not in header:
            raise ValueError(
                f"{what} {name!r} is not in {str(source)!r}.{did_you_mean(name, header)} "
                f"Its columns: {', '.join(header)}."
            )
    if label in one_hot:
        raise ValueError(
            f"{label!r} is the label; a text label becomes class indices by itself, so leave "
            "it out of one_hot."
        )
    column = header.index(label)
    names = [name for index, name in enumerate(header) if index != column]
    cells: list[list[str]] = []
    raw_labels = []
    for line, row in body:
        if len(row) != len(header):
            raise ValueError(
                f"{str(source)!r} line {line} has {len(row)} values, the header {len(header)}."
            )
        where = f"{str(source)!r} line {line}, column"
        values = [value for index, value in enumerate(row) if index != column]
        cells.append(
            [
                _present(value, f"{where} {name!r}")
                for name, value in zip(names, values, strict=True)
            ]
        )
        raw_labels.append(_present(row[column], f"{where} {label!r} (the label)"))
    categories = {
        name: sorted({row[position] for row in cells})
        for position, name in enumerate(names)
        if name in one_hot
    }
    feature_names: list[str] = []
    for name in names:
        feature_names += (
            [f"{name}={v}" for v in categories[name]] if name in categories else [name]
        )
    slots = {
        name: {value: i for i, value in enumerate(values)} for name, values in categories.items()
    }
    x = np.zeros((len(body), len(feature_names)), dtype=np.float32)
    for number, ((line, _), row) in enumerate(zip(body, cells, strict=True)):
        position = 0
        for name, value in zip(names, row, strict=True):
            if name in slots:
                x[number, position + slots[name][value]] = 1.0
                position += len(slots[name])
            else:
                x[number, position] = _number(
                    value, f"{str(source)!r} line {line}, column {name!r}"
                )
                position += 1
    y, extra = _labels(raw_labels)
    if categories:
        extra["categories"] = categories
    return convert_numpy(
        x,
        y,
        out_dir,
        num_shards,
        split,
        seed,
        name=source.stem,
        extra_meta={"feature_names": feature_names, "label": label, **extra},
        progress=progress,
    )


def _csv_rows(source: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank rows of a CSV file, each with its line number."""
    if not source.is_file():
        raise ValueError(f"CSV file {str(source)!r} does not exist.")
    rows = []
    try:
        # utf-8-sig: spreadsheet programs start UTF-8 CSVs with a byte-order mark, which
        # would otherwise become part of the first column's name.
        with source.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            for row in reader:
                if any(cell.strip() for cell in row):
                    rows.append((reader.line_num, row))
    except UnicodeDecodeError as error:
        raise ValueError(
            f"CSV file {str(source)!r} is not UTF-8 text ({error}); save it as UTF-8."
        ) from None
    except csv.Error as error:
        raise ValueError(f"CSV file {str(source)!r} is not valid CSV ({error}).") from None
    if len(rows) < 2:
        raise ValueError(f"CSV file {str(source)!r} needs a header and at least one row.")
    return [name.strip() for name in rows[0][1]], rows[1:]


_MISSING = ("", "nan", "na", "n/a", "null", "none")


def _present(value: str, where: str) -> str:
    text = value.strip()
    if text.lower() in _MISSING:
        raise ValueError(f"{where} has a missing value ({value!r}); fill or drop that row first.")
    return text


def _number(value: str, where: str) -> float:
    text = _present(value, where)
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"{where}: {value!r} is not a number (feature columns must be numeric: name a text "
            "column with --one-hot COLUMN (one_hot=[...]) to turn it into indicators, or read "
            "the CSV with input_type 'pandas' and its `categorical` key)."
        ) from None


def _labels(values: list[str]) -> tuple[np.ndarray, dict[str, Any]]:
    try:
        numbers = np.array([float(v) for v in values])
    except ValueError:
        classes = sorted(set(values))
        index = {name: i for i, name in enumerate(classes)}
        labels = np.array([index[v] for v in values], dtype=np.int64)
        return labels, {"classes": classes, "num_classes": len(classes)}
    if np.all(numbers == np.round(numbers)):
        return numbers.astype(np.int64), {}
    return numbers.astype(np.float32)[:, None], {}
