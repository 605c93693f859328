"""scikit-learn's bundled handwritten digits (8x8, 10 classes): real image data, offline."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from petri.data.converters import ImagesToRecordsConverter
from petri.data.records import META_DATA_FILENAME, shard_names

__all__ = ["CLASSES", "NUM_CLASSES", "SPLITS", "load_data", "load_split", "prepare"]

NUM_CLASSES = 10
SPLITS = ("train", "eval")


def load_data(
    test_size: float = 0.2, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Digits as ``(x_train, y_train), (x_eval, y_eval)``: float32 [N, 1, 8, 8] in [0, 1], int64.

    The split is stratified and fixed by ``seed`` (1,437 train / 360 eval by default).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    labels = digits.target.astype(np.int64)
    x_train, x_eval, y_train, y_eval = train_test_split(
        images, labels, test_size=test_size, random_state=seed, stratify=labels
    )
    return (x_train, y_train), (x_eval, y_eval)


def load_split(split: str, test_size: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One split (``train`` or ``eval``) of :func:`load_data`."""
    if split not in SPLITS:
        raise ValueError(f"digits has splits {list(SPLITS)}; received split={split!r}.")
    train, evaluation = load_data(test_size=test_size, seed=seed)
    return train if split == "train" else evaluation


CLASSES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def prepare(
    dataset_dir: str | os.PathLike[str],
    num_train_shards: int = 4,
    num_eval_shards: int = 2,
    test_size: float = 0.2,
    seed: int = 0,
    overwrite: bool = False,
) -> str:
    """Write digits as TFRecord shards of PNG images plus ``meta_data.json``, like the seed
    library's ``mnist.prepare`` (which downloaded MNIST; digits ship with scikit-learn).

    Writes ``digits_train-0000k-of-0000n.tfrecord`` and ``digits_eval-*`` (the seed library's
    ``<name>_<split>`` naming): 8x8 single-channel PNGs (uint8, 0..255) under ``image/encoded``
    with the class in ``image/class/label`` and ``class/label``. The split is :func:`load_data`'s.
    Read them with ``TFRecordImagePipeline`` (``data_files: <dir>/digits_train-*``,
    ``meta_data_file: <dir>/meta_data.json``).

    Args:
        dataset_dir: folder for the records (created if needed).
        num_train_shards: files for the train split.
        num_eval_shards: files for the eval split.
        test_size: fraction of examples in the eval split.
        seed: the split's seed.
        overwrite: rewrite existing records; otherwise existing ones are kept (as the seed did).

    Returns:
        ``dataset_dir`` as a string.
    """
    folder = Path(dataset_dir)
    splits = {"train": num_train_shards, "eval": num_eval_shards}
    expected = [folder / META_DATA_FILENAME] + [
        folder / name for split, n in splits.items() for name in shard_names(f"digits_{split}", n)
    ]
    if not overwrite and all(path.is_file() for path in expected):
        return str(folder)
    converter = ImagesToRecordsConverter(
        classes=list(CLASSES),
        colorspace="grayscale",
        image_format="png",
        channels=1,
        height=8,
        width=8,
    )
    train, evaluation = load_data(test_size=test_size, seed=seed)
    for split, (images, labels) in (("train", train), ("eval", evaluation)):
        pixels = np.round(images[:, 0] * 255.0).astype(np.uint8)  # [N, 8, 8] in 0..255
        converter.convert(pixels, labels, folder, f"digits_{split}", splits[split], split=split)
    return str(folder)
