"""Converters: numpy features and image files to records, and the digits dataset's records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from petri.data import ImagesToRecordsConverter, TFRecordImagePipeline, write_records
from petri.data.processors import encode_image
from petri.data.records import iter_records, parse_example, read_meta_data
from petri.datasets import digits as digits_dataset


def test_write_records_meta_data(tmp_path) -> None:
    paths = write_records(
        {"x": np.zeros((5, 2, 3)), "mask": np.ones((5,), dtype=bool), "id": np.arange(5)},
        tmp_path,
        "toy_train",
        num_shards=2,
        items_to_descriptions={"x": "zeros"},
    )
    write_records((np.zeros((3, 1)), np.arange(3)), tmp_path, "toy_eval")
    assert [p.name for p in paths] == [
        "toy_train-00000-of-00002.tfrecord",
        "toy_train-00001-of-00002.tfrecord",
    ]
    meta = read_meta_data(tmp_path)
    assert meta["num_samples"] == {"train": 5, "eval": 3}
    assert meta["features"]["mask"] == {"dtype": "bool", "shape": []}
    assert meta["features"]["id"] == {"dtype": "int64", "shape": []}
    # the eval split's features (x, y) were merged into the same feature table
    assert meta["features"]["x"] == {"dtype": "float32", "shape": [1]}
    assert meta["items_to_descriptions"] == {"x": "zeros"}


def test_write_records_rejects_ragged_lengths(tmp_path) -> None:
    with pytest.raises(ValueError, match="same number of examples"):
        write_records({"a": np.zeros(3), "b": np.zeros(4)}, tmp_path, "bad")


def test_image_files_keep_their_encoded_bytes(tmp_path) -> None:
    rng = np.random.default_rng(0)
    files, originals = [], []
    for index, image_format in enumerate(["png", "jpeg", "png"]):
        pixels = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)
        path = tmp_path / f"img{index}.{'jpg' if image_format == 'jpeg' else 'png'}"
        path.write_bytes(encode_image(pixels, image_format))
        files.append(str(path))
        originals.append(pixels)
    converter = ImagesToRecordsConverter(["a", "b"], "rgb", "png", 3, store_filenames=True)
    converter.convert(files, [0, 1, 1], tmp_path / "out", "mine_train", num_shards=2)
    records = [
        parse_example(d)
        for p in sorted((tmp_path / "out").glob("mine_train-*"))
        for _, d in iter_records(p)
    ]
    assert [r["image/encoded"][0] for r in records] == [Path(f).read_bytes() for f in files]
    assert [r["image/format"] for r in records] == [[b"png"], [b"jpeg"], [b"png"]]
    assert [int(r["image/class/label"][0]) for r in records] == [0, 1, 1]
    assert [int(r["class/label"][0]) for r in records] == [0, 1, 1]
    assert records[0]["image/filename"] == [b"img0.png"]
    assert int(records[0]["image/height"][0]) == 5 and int(records[0]["image/width"][0]) == 4
    input_fn = TFRecordImagePipeline(
        {
            "batch_size": 3,
            "params": {
                "data_files": str(tmp_path / "out" / "mine_train-*"),
                "meta_data_file": str(tmp_path / "out" / "meta_data.json"),
            },
        }
    )
    features, labels = next(input_fn())
    expected = torch.from_numpy(originals[0]).permute(2, 0, 1).float() / 255
    assert torch.allclose(features["image"][0], expected)  # PNG is lossless
    assert labels.tolist() == [0, 1, 1]


def test_converter_meta_data_has_seed_keys(tmp_path) -> None:
    converter = ImagesToRecordsConverter({0: "no", 1: "yes"}, "grayscale", "png", 1, 2, 2)
    converter.convert(np.zeros((4, 2, 2), dtype=np.uint8), [0, 1, 0, 1], tmp_path, "t_train")
    meta = json.loads((tmp_path / "meta_data.json").read_text())
    assert set(meta) >= {
        "classes",
        "num_classes",
        "labels_to_classes",
        "colorspace",
        "image_format",
        "channels",
        "height",
        "width",
        "num_samples",
        "items_to_descriptions",
    }
    assert meta["labels_to_classes"] == {"0": "no", "1": "yes"}
    assert meta["num_samples"] == {"train": 4}
    with pytest.raises(ValueError, match="not class indices"):
        converter.convert(np.zeros((1, 2, 2), dtype=np.uint8), [5], tmp_path, "t_eval")


def test_digits_prepare(digits_dir) -> None:
    meta = read_meta_data(f"{digits_dir}/meta_data.json")
    assert meta["num_samples"] == {"train": 1437, "eval": 360}
    assert (meta["height"], meta["width"], meta["channels"]) == (8, 8, 1)
    assert meta["image_format"] == "png" and meta["num_classes"] == 10
    shards = sorted(p.name for p in Path(digits_dir).glob("*.tfrecord"))
    assert shards == [f"digits_eval-0000{i}-of-00002.tfrecord" for i in range(2)] + [
        f"digits_train-0000{i}-of-00004.tfrecord" for i in range(4)
    ]
    assert digits_dataset.prepare(digits_dir) == digits_dir  # existing records are kept
