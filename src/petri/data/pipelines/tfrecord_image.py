"""``TFRecordImagePipeline``: images and class labels from TFRecord shards (seed 002)."""

from __future__ import annotations

from typing import Any

import numpy as np

from petri.configs import InputDataConfig
from petri.data.pipelines._base import Pipeline
from petri.data.pipelines._sources import RecordSource, TFRecordSource
from petri.data.processors.decode import decode_image, to_chw_float
from petri.data.records.example import Example
from petri.data.records.meta_data import read_meta_data
from petri.data.records.shards import expand_data_files

__all__ = ["LABEL_KEYS", "TFRecordImagePipeline"]

LABEL_KEYS = ("image/class/label", "class/label")
"""Where image records keep the class: TF-slim's and the seed library's converters wrote
``image/class/label``; some of the seed library's releases and users' scripts ``class/label``."""


def _first(feature_map: Any, key: str, kind: str) -> Any:
    if key not in feature_map:
        return None
    values = getattr(feature_map[key], kind).value
    return values[0] if len(values) else None


class TFRecordImagePipeline(Pipeline):
    """Decodes image records into ``image`` (float ``[channels, height, width]`` in [0, 1]) and
    ``label`` (int64) features; labels are the ``label`` feature.

    Reads the seed library's feature keys (``image/encoded``, ``image/format``,
    ``image/height``, ``image/width``, ``image/channels``, ``image/class/label`` or
    ``class/label``), which TensorFlow's and TF-slim's image converters also write, so their
    records load unchanged. PNG, JPEG (and other Pillow formats) and ``raw`` pixel bytes decode.

    Params:
        data_files: a path, glob or list of them (``/data/digits_train-*``).
        meta_data_file: the dataset's ``meta_data.json``: supplies ``channels`` and, for
            records without them, ``image_format``, ``height`` and ``width``.
        channels: convert every image to this many channels (overrides the meta data).

    Example:
        >>> import tempfile
        >>> from petri.datasets import digits
        >>> folder = digits.prepare(tempfile.mkdtemp())
        >>> input_fn = TFRecordImagePipeline({"batch_size": 32, "params": {
        ...     "data_files": f"{folder}/digits_eval-*",
        ...     "meta_data_file": f"{folder}/meta_data.json"}})
        >>> features, labels = next(input_fn())
        >>> tuple(features["image"].shape), labels.dtype
        ((32, 1, 8, 8), torch.int64)
    """

    accepted_params = ("data_files", "meta_data_file", "channels")
    default_feature = "image"

    def _build_source(self, input_config: InputDataConfig | None) -> RecordSource:
        files = expand_data_files(self._require("data_files"), f"{self.path}.params.data_files")
        meta_file = self.params.get("meta_data_file")
        self.meta_data = read_meta_data(meta_file) if meta_file else {}
        meta = self.meta_data
        self.channels = self.params.get("channels") or meta.get("channels")
        self.image_format = meta.get("image_format")
        self.height, self.width = meta.get("height"), meta.get("width")
        self.classes = meta.get("classes")
        return TFRecordSource(files)

    def decode(self, raw: bytes) -> dict[str, Any]:
        features = Example.FromString(raw).features.feature
        encoded = _first(features, "image/encoded", "bytes_list")
        if encoded is None:
            raise KeyError(
                f"the record has no 'image/encoded' feature (it has {sorted(features)}); "
                "use TFRecordPipeline for records that are not images."
            )
        image_format = _first(features, "image/format", "bytes_list")
        image_format = image_format.decode() if image_format else self.image_format
        shape = None
        if image_format == "raw":
            shape = (
                _first(features, "image/height", "int64_list") or self.height,
                _first(features, "image/width", "int64_list") or self.width,
                self.channels or _first(features, "image/channels", "int64_list") or 1,
            )
        image = to_chw_float(decode_image(encoded, image_format, self.channels, shape))
        example: dict[str, Any] = {"image": image}
        if self.label_key is not None:
            for key in LABEL_KEYS:
                label = _first(features, key, "int64_list")
                if label is not None:
                    example[self.label_key] = np.int64(label)
                    break
            else:
                raise KeyError(
                    f"the record has no class label ({' or '.join(LABEL_KEYS)}); for unlabelled "
                    "images set params.label_feature: null."
                )
        return example
