"""Example protos, feature specs, shards and meta_data.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from petri.data.records import (
    FeatureSpec,
    ShardedRecordWriter,
    expand_data_files,
    iter_records,
    make_example,
    parse_example,
    read_meta_data,
    shard_name,
    shard_names,
    split_name,
    write_meta_data,
)
from petri.errors import ConfigError


def test_example_round_trip() -> None:
    data = make_example(
        {"f": np.array([[1.5, 2.0]]), "i": np.uint8(7), "b": True, "s": "text", "l": [b"a", b"b"]}
    )
    parsed = parse_example(data)
    assert parsed["f"].dtype == np.float32 and parsed["f"].tolist() == [1.5, 2.0]
    assert parsed["i"].dtype == np.int64 and parsed["i"].tolist() == [7]
    assert parsed["b"].tolist() == [1]
    assert parsed["s"] == [b"text"]
    assert parsed["l"] == [b"a", b"b"]
    assert parse_example(data, keys=["i", "missing"]).keys() == {"i"}


def test_example_rejects_complex() -> None:
    with pytest.raises(TypeError, match="floats, integers and bytes"):
        make_example({"c": np.array([1j])})


def test_feature_spec_decode_and_errors() -> None:
    spec = FeatureSpec("x", "uint8", (2, 3))
    value = spec.decode(np.arange(6, dtype=np.int64))
    assert value.dtype == np.uint8 and value.shape == (2, 3)
    with pytest.raises(ValueError, match=r"shape \[2, 3\] \(6 value\(s\)\).*holds 5"):
        spec.decode(np.arange(5))
    varying = FeatureSpec("tokens", "int64", (None, 2))
    assert varying.decode(np.arange(8)).shape == (4, 2)
    assert FeatureSpec("s", "string", ()).decode([b"abc"]) == b"abc"
    assert FeatureSpec.from_json("x", {"dtype": "float32", "shape": [-1]}).shape == (None,)
    with pytest.raises(ValueError, match="must be"):
        FeatureSpec.from_json("x", {"shape": [1]})


def test_shard_names() -> None:
    assert shard_name("digits_train", 1, 4) == "digits_train-00001-of-00004.tfrecord"
    assert shard_names("a", 2) == ["a-00000-of-00002.tfrecord", "a-00001-of-00002.tfrecord"]
    assert split_name("digits_train") == "train" and split_name("mine") == "mine"


def test_sharded_writer_contiguous(tmp_path) -> None:
    with ShardedRecordWriter(tmp_path, "p", 3, 7) as writer:
        for index in range(7):
            writer.write(str(index).encode())
    contents = [[d for _, d in iter_records(path)] for path in writer.paths]
    assert contents == [[b"0", b"1", b"2"], [b"3", b"4"], [b"5", b"6"]]


def test_sharded_writer_more_shards_than_records(tmp_path) -> None:
    with ShardedRecordWriter(tmp_path, "p", 3, 1) as writer:
        writer.write(b"only")
    assert [len(list(iter_records(p))) for p in writer.paths] == [1, 0, 0]


def test_sharded_writer_checks_count(tmp_path) -> None:
    writer = ShardedRecordWriter(tmp_path, "p", 1, 2)
    with pytest.raises(ValueError, match="expected 2 records; 1 were written"), writer:
        writer.write(b"one")
    assert not list(tmp_path.glob("p-*"))


def test_expand_data_files(tmp_path) -> None:
    for name in [*shard_names("a_train", 3), "other.txt"]:
        (tmp_path / name).write_bytes(b"")
    found = expand_data_files(f"{tmp_path}/a_train-*")
    assert [p.rsplit("/", 1)[1] for p in found] == shard_names("a_train", 3)
    listed = expand_data_files([found[2], f"{tmp_path}/a_train-0000[01]-*"])
    assert listed == found
    with pytest.raises(ConfigError, match="matches no file"):
        expand_data_files(f"{tmp_path}/nothing-*")
    with pytest.raises(ConfigError, match="does not exist"):
        expand_data_files(str(tmp_path / "missing.tfrecord"))
    with pytest.raises(ConfigError, match="names no files"):
        expand_data_files([])


def test_meta_data_merges_splits(tmp_path) -> None:
    write_meta_data(
        tmp_path,
        {"features": {"x": {"dtype": "float32", "shape": [1]}}, "num_samples": {"train": 10}},
    )
    write_meta_data(tmp_path, {"num_samples": {"eval": 4}})
    meta = read_meta_data(tmp_path / "meta_data.json")
    assert meta["num_samples"] == {"train": 10, "eval": 4}
    assert meta["features"]["x"]["shape"] == [1]
    assert read_meta_data(tmp_path) == meta
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "meta_data.json").write_text("[1]")
    with pytest.raises(ValueError, match="JSON object"):
        read_meta_data(tmp_path / "bad")
    with pytest.raises(FileNotFoundError, match="No meta data file"):
        read_meta_data(tmp_path / "none.json")
    assert json.loads((tmp_path / "meta_data.json").read_text()) == meta
