"""TFRecord framing: checksums, round trips, and damaged files reported with path and offset."""

from __future__ import annotations

import os
import struct

import pytest

from petri.data.records import (
    CorruptRecordError,
    TFRecordWriter,
    iter_records,
    masked_crc32c,
    read_record_at,
)


def _write(path, records):
    with TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)


def test_masked_crc32c_matches_tensorflow() -> None:
    # CRC32C("123456789") is 0xE3069283 (RFC 3720's check value); TF masks it like this.
    crc = 0xE3069283
    expected = (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    assert masked_crc32c(b"123456789") == expected


def test_round_trip_with_offsets(tmp_path) -> None:
    path = tmp_path / "a.tfrecord"
    records = [b"", b"x", os.urandom(1000), b"last"]
    _write(path, records)
    read = list(iter_records(path))
    assert [data for _, data in read] == records
    offsets = [offset for offset, _ in read]
    assert offsets[0] == 0 and offsets[1] == 16 and offsets[2] == 33
    assert os.path.getsize(path) == sum(len(r) + 16 for r in records)
    with open(path, "rb") as file:
        assert read_record_at(file, str(path), offsets[2]) == records[2]
    assert [d for _, d in iter_records(path, offset=offsets[2], index=2)] == records[2:]


def test_layout_is_length_crc_data_crc(tmp_path) -> None:
    path = tmp_path / "a.tfrecord"
    _write(path, [b"hello"])
    raw = path.read_bytes()
    assert struct.unpack("<Q", raw[:8])[0] == 5
    assert struct.unpack("<I", raw[8:12])[0] == masked_crc32c(raw[:8])
    assert raw[12:17] == b"hello"
    assert struct.unpack("<I", raw[17:21])[0] == masked_crc32c(b"hello")


def test_writer_is_atomic(tmp_path) -> None:
    path = tmp_path / "a.tfrecord"
    with pytest.raises(RuntimeError), TFRecordWriter(path) as writer:
        writer.write(b"partial")
        raise RuntimeError("crash while writing")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("cut", [3, 12, 20, 115])
def test_truncated_file_names_path_and_offset(tmp_path, cut) -> None:
    path = tmp_path / "shard-00000-of-00001.tfrecord"
    _write(path, [b"a" * 100, b"b" * 100])
    raw = path.read_bytes()
    path.write_bytes(raw[: 116 + cut])  # the second record starts at byte 116
    with pytest.raises(CorruptRecordError, match="truncated") as info:
        list(iter_records(path))
    assert str(path) in str(info.value)
    assert "byte offset 116 (record 1)" in str(info.value)
    assert info.value.offset == 116 and info.value.record == 1


@pytest.mark.parametrize(
    ("position", "problem"), [(3, "bad length CRC"), (116 + 40, "bad data CRC")]
)
def test_flipped_byte_names_path_and_offset(tmp_path, position, problem) -> None:
    path = tmp_path / "shard.tfrecord"
    _write(path, [b"a" * 100, b"b" * 100])
    raw = bytearray(path.read_bytes())
    raw[position] ^= 0x01
    path.write_bytes(bytes(raw))
    offset = 0 if position < 116 else 116
    with pytest.raises(CorruptRecordError, match=problem) as info:
        list(iter_records(path))
    message = str(info.value)
    assert message.startswith(
        f"{path}: {problem} at byte offset {offset} (record {offset // 116})"
    )


def test_corrupt_error_pickles() -> None:
    import pickle

    error = CorruptRecordError("/x.tfrecord", 12, "bad data CRC", 3)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) and copy.offset == 12


def test_verify_false_skips_checks(tmp_path) -> None:
    path = tmp_path / "a.tfrecord"
    _write(path, [b"abc"])
    raw = bytearray(path.read_bytes())
    raw[13] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert [d for _, d in iter_records(path, verify=False)] == [bytes(raw[12:15])]
