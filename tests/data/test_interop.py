"""Interoperability with an independent TFRecord implementation (the ``tfrecord`` package, and
TensorFlow when it is installed): identical values both ways."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from petri.data import TFRecordImagePipeline, TFRecordPipeline, write_records
from petri.data.processors import decode_image, encode_image
from petri.data.records import iter_records, parse_example

tfrecord = pytest.importorskip("tfrecord")  # the independent implementation (dev extra)
from tfrecord.reader import tfrecord_loader  # noqa: E402
from tfrecord.writer import TFRecordWriter as OtherWriter  # noqa: E402


def _values():
    rng = np.random.default_rng(0)
    return {
        "floats": rng.normal(size=(12, 3)).astype(np.float32),
        "ints": rng.integers(-(2**40), 2**40, size=(12, 2)),
        "label": np.arange(12) % 4,
        "text": np.array([f"example {i}".encode() for i in range(12)]),
    }


def test_petri_records_read_by_tfrecord_package(tmp_path) -> None:
    values = _values()
    paths = write_records(values, tmp_path, "mine_train", num_shards=3)
    read = [
        example
        for path in paths
        for example in tfrecord_loader(
            str(path), None, {"floats": "float", "ints": "int", "label": "int", "text": "byte"}
        )
    ]
    assert len(read) == 12
    for index, example in enumerate(read):
        np.testing.assert_array_equal(example["floats"], values["floats"][index])
        np.testing.assert_array_equal(example["ints"], values["ints"][index])
        assert int(example["label"][0]) == values["label"][index]
        assert bytes(example["text"]) == values["text"][index]


def test_tfrecord_package_records_read_by_petri(tmp_path) -> None:
    values = _values()
    path = tmp_path / "theirs-00000-of-00001.tfrecord"
    writer = OtherWriter(str(path))
    for index in range(12):
        writer.write(
            {
                "floats": (values["floats"][index], "float"),
                "ints": (values["ints"][index].tolist(), "int"),
                "label": (int(values["label"][index]), "int"),
                "text": (values["text"][index], "byte"),
            }
        )
    writer.close()
    raw = [parse_example(data) for _, data in iter_records(path)]
    np.testing.assert_array_equal(np.stack([r["ints"] for r in raw]), values["ints"])
    input_fn = TFRecordPipeline({"batch_size": 12, "params": {"data_files": str(path)}})
    features, labels = next(input_fn())
    assert torch.equal(features["floats"], torch.from_numpy(values["floats"]))
    assert torch.equal(features["ints"], torch.from_numpy(values["ints"]))
    assert labels.tolist() == values["label"].tolist()
    assert features["text"] == list(values["text"])


def test_image_records_written_elsewhere_load_unchanged(tmp_path) -> None:
    """Records with TF-slim's image keys (as TensorFlow's converters write them)."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(5, 7, 6, 3), dtype=np.uint8)
    path = tmp_path / "slim_train-00000-of-00001.tfrecord"
    writer = OtherWriter(str(path))
    for index, image in enumerate(images):
        writer.write(
            {
                "image/encoded": (encode_image(image, "png"), "byte"),
                "image/format": (b"png", "byte"),
                "image/height": (7, "int"),
                "image/width": (6, "int"),
                "image/class/label": (index, "int"),
            }
        )
    writer.close()
    features, labels = next(TFRecordImagePipeline({"params": {"data_files": str(path)}})())
    expected = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    assert torch.allclose(features["image"], expected)
    assert labels.tolist() == [0, 1, 2, 3, 4]


def test_petri_image_records_read_by_tfrecord_package(digits_dir, digits) -> None:
    keys = {"image/encoded": "byte", "image/class/label": "int", "image/height": "int"}
    path = f"{digits_dir}/digits_eval-00000-of-00002.tfrecord"
    (_, _), (x_eval, y_eval) = digits
    for index, example in enumerate(tfrecord_loader(path, None, keys)):
        image = decode_image(bytes(example["image/encoded"]), "png")
        assert image.shape == (8, 8, 1) and int(example["image/height"][0]) == 8
        assert int(example["image/class/label"][0]) == y_eval[index]
        np.testing.assert_allclose(image[:, :, 0] / 255, x_eval[index, 0], atol=0.5 / 255 + 1e-6)


def test_tensorflow_reads_petri_records_when_installed(tmp_path) -> None:
    tf = pytest.importorskip("tensorflow")
    values = _values()
    paths = write_records(values, tmp_path, "mine", num_shards=2)
    spec = {
        "floats": tf.io.FixedLenFeature([3], tf.float32),
        "ints": tf.io.FixedLenFeature([2], tf.int64),
    }
    dataset = tf.data.TFRecordDataset([str(p) for p in paths]).map(
        lambda record: tf.io.parse_single_example(record, spec)
    )
    floats = np.stack([example["floats"].numpy() for example in dataset])
    np.testing.assert_array_equal(floats, values["floats"])
