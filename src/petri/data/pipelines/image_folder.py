"""``ImageFolderPipeline``: image files arranged one sub-folder per class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from petri.configs import InputDataConfig
from petri.data.pipelines._base import Pipeline
from petri.data.pipelines._sources import IndexSource, RecordSource
from petri.data.processors.decode import decode_image, to_chw_float
from petri.errors import ConfigError

__all__ = ["IMAGE_EXTENSIONS", "ImageFolderPipeline", "list_image_folder"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def list_image_folder(
    data_dir: str | Path,
    classes: list[str] | None = None,
    extensions: tuple[str, ...] = IMAGE_EXTENSIONS,
) -> tuple[list[str], list[int], list[str]]:
    """Image files under ``data_dir/<class>/``: ``(paths, labels, classes)``, sorted.

    Raises:
        ConfigError: the folder does not exist, has no class folders, or holds no images.
    """
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise ConfigError(f"Image folder {str(root)!r} does not exist.", "params.data_dir", root)
    names = classes or sorted(p.name for p in root.iterdir() if p.is_dir())
    if not names:
        raise ConfigError(
            f"{str(root)!r} has no sub-folders; put each class's images in its own folder "
            "(data_dir/cat/1.png, data_dir/dog/2.png).",
            "params.data_dir",
            root,
        )
    paths, labels = [], []
    suffixes = {e.lower() for e in extensions}
    for label, name in enumerate(names):
        for path in sorted((root / name).rglob("*")):
            if path.suffix.lower() in suffixes and path.is_file():
                paths.append(str(path))
                labels.append(label)
    if not paths:
        raise ConfigError(
            f"{str(root)!r} holds no images with the extensions {sorted(suffixes)}.",
            "params.data_dir",
            root,
        )
    return paths, labels, list(names)


class ImageFolderPipeline(Pipeline):
    """Images from ``data_dir/<class name>/*.png|jpg``; classes sorted by name get labels 0, 1, ...

    Yields ``image`` (float ``[channels, height, width]`` in [0, 1]) and ``label``. Images of
    different sizes need a ``Resize`` processor in ``definition``. Shuffling is a full
    permutation per epoch.

    Params:
        data_dir: the root folder.
        classes: class folder names in label order (default: every sub-folder, sorted).
        channels: convert every image to 1 (grey), 3 (RGB) or 4 channels (default 3).
        extensions: file suffixes to read.
    """

    accepted_params = ("data_dir", "classes", "channels", "extensions")
    default_feature = "image"

    def _build_source(self, input_config: InputDataConfig | None) -> RecordSource:
        extensions = tuple(self.params.get("extensions") or IMAGE_EXTENSIONS)
        self.paths, self.labels, self.classes = list_image_folder(
            self._require("data_dir"), self.params.get("classes"), extensions
        )
        self.channels = int(self.params.get("channels") or 3)
        return IndexSource(len(self.paths), self.config.num_threads)

    def _default_buffer_size(self) -> int:
        return len(self.paths)

    def decode(self, raw: int) -> dict[str, Any]:
        path = self.paths[raw]
        with open(path, "rb") as file:
            image = decode_image(file.read(), None, self.channels)
        example: dict[str, Any] = {"image": to_chw_float(image)}
        if self.label_key is not None:
            example[self.label_key] = np.int64(self.labels[raw])
        return example
