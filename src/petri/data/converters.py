"""Converters: numpy arrays and images to sharded TFRecord files plus ``meta_data.json``.

What they write is what TensorFlow's converters wrote, so TensorFlow, the seed library and
other TFRecord readers load it, and Petri's pipelines read TensorFlow's records the same way.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from petri.data.processors.decode import encode_image, image_format_of
from petri.data.records.example import make_example
from petri.data.records.features import BYTES, FeatureSpec
from petri.data.records.meta_data import split_name, write_meta_data
from petri.data.records.shards import ShardedRecordWriter

__all__ = ["ImagesToRecordsConverter", "Progress", "no_progress", "write_records"]

Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]
"""``progress(items, total, description)`` yields ``items``, showing how far it got (the CLI
passes a tqdm bar); the converters take it so the library itself never draws one."""


def no_progress(items: Iterable[Any], total: int, what: str) -> Iterable[Any]:
    """The default :data:`Progress`: ``items`` unchanged."""
    return items


def _as_feature_dict(data: Any) -> dict[str, np.ndarray]:
    if isinstance(data, Mapping):
        arrays = {str(k): np.asarray(v) for k, v in data.items()}
    elif isinstance(data, tuple) and len(data) == 2:
        arrays = {"x": np.asarray(data[0]), "y": np.asarray(data[1])}
    else:
        arrays = {"x": np.asarray(data)}
    if not arrays:
        raise ValueError("write_records expected at least one feature; received none.")
    sizes = {name: (len(a) if a.ndim else -1) for name, a in arrays.items()}
    if len(set(sizes.values())) != 1 or -1 in sizes.values():
        raise ValueError(
            "write_records expected arrays with the same number of examples along the first "
            f"dimension; received lengths {sizes}."
        )
    return arrays


def write_records(
    data: Any,
    out_dir: str | os.PathLike[str],
    prefix: str,
    num_shards: int = 1,
    *,
    split: str | None = None,
    items_to_descriptions: Mapping[str, str] | None = None,
    progress: Progress = no_progress,
) -> list[Path]:
    """Write numpy features as sharded TFRecords of Examples, and describe them in meta_data.json.

    Args:
        data: a dict feature name -> array (first dimension = examples), an ``(x, y)`` pair
            (features ``x`` and ``y``), or one array (feature ``x``). Floats are stored as
            float32, integers and booleans as int64, strings and bytes as bytes.
        out_dir: the folder for the shards and ``meta_data.json`` (created if needed).
        prefix: shard names are ``<prefix>-00000-of-<num_shards>.tfrecord``.
        num_shards: how many files; examples go to them in contiguous runs.
        split: the ``num_samples`` key in meta_data.json; default from the prefix
            (``sin_train`` -> ``train``).
        items_to_descriptions: feature -> description, kept in meta_data.json.
        progress: wraps the examples as they are written (see :data:`Progress`).

    Returns:
        The shard paths, in order.

    Example:
        >>> import numpy as np, tempfile
        >>> paths = write_records({"x": np.zeros((10, 2)), "y": np.arange(10)},
        ...                       tempfile.mkdtemp(), "toy_train", num_shards=2)
        >>> [p.name for p in paths]
        ['toy_train-00000-of-00002.tfrecord', 'toy_train-00001-of-00002.tfrecord']
    """
    arrays = _as_feature_dict(data)
    size = len(next(iter(arrays.values())))
    specs = {name: _spec_of(name, array) for name, array in arrays.items()}
    with ShardedRecordWriter(out_dir, prefix, num_shards, size) as writer:
        for index in progress(range(size), size, f"writing {prefix}"):
            writer.write(make_example({name: array[index] for name, array in arrays.items()}))
    meta: dict[str, Any] = {
        "features": {name: spec.to_json() for name, spec in specs.items()},
        "num_samples": {split or split_name(prefix): size},
        "shards": writer.shard_sizes(),
    }
    if items_to_descriptions:
        meta["items_to_descriptions"] = dict(items_to_descriptions)
    write_meta_data(out_dir, meta)
    return writer.paths


def _spec_of(name: str, array: np.ndarray) -> FeatureSpec:
    """The per-example spec of a feature given as one array of all examples."""
    if array.dtype.kind in ("S", "U", "O"):
        return FeatureSpec(name, BYTES, array.shape[1:])
    dtype = np.float32 if array.dtype == np.float64 else array.dtype
    return FeatureSpec(name, str(np.dtype(dtype)), array.shape[1:])


class ImagesToRecordsConverter:
    """Writes images and class labels as TFRecord Examples with the seed library's keys.

    Each record holds ``image/encoded``, ``image/format``, ``image/height``, ``image/width``,
    ``image/colorspace``, ``image/channels`` and the class under both ``image/class/label``
    (TF-slim, the seed library) and ``class/label``, so readers of either spelling find it.

    Args:
        classes: class names in label order (a list), or label -> name (a dict).
        colorspace: ``grayscale``, ``rgb``, ... (recorded, not converted).
        image_format: ``png`` or ``jpeg``: how numpy images are encoded. Image files keep their
            own encoded bytes and format.
        channels: channels of the images (1 grey, 3 RGB).
        height: the images' height when all share it (recorded in meta_data.json).
        width: the images' width when all share it.
        store_filenames: also store ``image/filename`` (files only).

    Example:
        >>> import numpy as np, tempfile
        >>> converter = ImagesToRecordsConverter(["dark", "light"], "grayscale", "png", 1, 4, 4)
        >>> images = np.zeros((6, 4, 4), dtype=np.uint8); images[3:] = 255
        >>> paths = converter.convert(images, [0, 0, 0, 1, 1, 1], tempfile.mkdtemp(), "toy_train")
        >>> converter.get_meta_data()["num_classes"]
        2
    """

    def __init__(
        self,
        classes: Sequence[str] | Mapping[int, str],
        colorspace: str = "rgb",
        image_format: str = "png",
        channels: int = 3,
        height: int | None = None,
        width: int | None = None,
        store_filenames: bool = False,
    ) -> None:
        if isinstance(classes, Mapping):
            self.labels_to_classes = {int(k): str(v) for k, v in classes.items()}
            self.classes = [self.labels_to_classes[k] for k in sorted(self.labels_to_classes)]
        else:
            self.classes = [str(c) for c in classes]
            if len(set(self.classes)) != len(self.classes):
                raise ValueError(f"`classes` must be unique; received {self.classes}.")
            self.labels_to_classes = dict(enumerate(self.classes))
        image_format = image_format_of(image_format)
        if image_format not in ("png", "jpeg"):
            raise ValueError(f"image_format must be 'png' or 'jpeg'; received {image_format!r}.")
        self.colorspace = colorspace
        self.image_format = image_format
        self.channels = channels
        self.height = height
        self.width = width
        self.store_filenames = store_filenames
        self.num_samples: dict[str, int] = {}

    def get_meta_data(self) -> dict[str, Any]:
        """The seed library's image meta data (``num_samples`` of the splits written so far)."""
        return {
            "classes": self.classes,
            "num_classes": len(self.classes),
            "labels_to_classes": {str(k): v for k, v in self.labels_to_classes.items()},
            "colorspace": self.colorspace,
            "image_format": self.image_format,
            "channels": self.channels,
            "height": self.height,
            "width": self.width,
            "num_samples": dict(self.num_samples),
            "items_to_descriptions": {
                "image": f"A {self.colorspace} image ({self.channels} channel(s)).",
                "label": f"A single integer between 0 and {len(self.classes) - 1}.",
            },
        }

    def create_example(self, image: Any, label: int, filename: str | None = None) -> bytes:
        """One serialized Example for an image (file path, encoded bytes or uint8 array)."""
        encoded, image_format, height, width = self._encoded(image)
        features: dict[str, Any] = {
            "image/encoded": encoded,
            "image/format": image_format,
            "image/height": height,
            "image/width": width,
            "image/colorspace": self.colorspace,
            "image/channels": self.channels,
            "image/class/label": int(label),
            "class/label": int(label),
        }
        if self.store_filenames and filename is not None:
            features["image/filename"] = os.path.basename(filename)
        return make_example(features)

    def convert(
        self,
        images: Any,
        labels: Sequence[int] | np.ndarray,
        out_dir: str | os.PathLike[str],
        prefix: str,
        num_shards: int = 1,
        *,
        split: str | None = None,
        progress: Progress = no_progress,
    ) -> list[Path]:
        """Write ``images`` with ``labels`` as shards ``<prefix>-*`` and update meta_data.json.

        Args:
            images: image file paths, encoded bytes, or a uint8 array
                ``[N, height, width(, channels)]`` (encoded as ``image_format``).
            labels: one class index per image.
            out_dir: folder for the shards and ``meta_data.json``.
            prefix: shard-name prefix; the seed library used ``<dataset>_<split>``.
            num_shards: how many files.
            split: the ``num_samples`` key; default from the prefix.
            progress: wraps the images as they are written (see :data:`Progress`).

        Returns:
            The shard paths.

        Raises:
            ValueError: images and labels differ in number, or a label is not a class index.
        """
        labels = [int(v) for v in np.asarray(labels).reshape(-1)]
        if len(images) != len(labels):
            raise ValueError(f"convert() received {len(images)} images but {len(labels)} labels.")
        bad = [v for v in labels if v not in self.labels_to_classes]
        if bad:
            raise ValueError(
                f"Labels {sorted(set(bad))[:5]} are not class indices of {self.labels_to_classes}."
            )
        with ShardedRecordWriter(out_dir, prefix, num_shards, len(labels)) as writer:
            pairs = progress(zip(images, labels), len(labels), f"writing {prefix}")
            for image, label in pairs:
                filename = os.fspath(image) if isinstance(image, str | os.PathLike) else None
                writer.write(self.create_example(image, label, filename))
        self.num_samples[split or split_name(prefix)] = len(labels)
        write_meta_data(out_dir, {**self.get_meta_data(), "shards": writer.shard_sizes()})
        return writer.paths

    def _encoded(self, image: Any) -> tuple[bytes, str, int, int]:
        from PIL import Image

        if isinstance(image, str | os.PathLike):
            data = Path(image).read_bytes()
        elif isinstance(image, bytes | bytearray):
            data = bytes(image)
        else:
            array = np.asarray(image)
            if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[2] not in (1, 3, 4):
                array = array.transpose(1, 2, 0)  # CHW -> HWC
            data = encode_image(array, self.image_format)
            return data, self.image_format, int(array.shape[0]), int(array.shape[1])
        try:
            with Image.open(io.BytesIO(data)) as opened:  # reads the header only
                width, height = opened.size
                image_format = (opened.format or self.image_format).lower()
        except OSError as error:
            raise ValueError(f"Not an image Pillow can read: {image!r:.80} ({error}).") from None
        return data, image_format_of(image_format), int(height), int(width)
