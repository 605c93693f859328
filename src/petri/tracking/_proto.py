"""The few TensorBoard protobuf messages the run log writes, encoded by hand.

Why by hand: building ``tensorboard.compat.proto`` objects costs ~13 µs per scalar event and
importing them ~0.3 s; the wire format of the messages below is small and stable, so Petri
encodes it directly (~1 µs per event) and the tests parse every kind back with TensorBoard's own
protos and ``EventAccumulator``. Field numbers are those of ``tensorboard/compat/proto``
``event.proto``, ``summary.proto``, ``tensor.proto`` and ``tensor_shape.proto``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

__all__ = [
    "event",
    "histogram_value",
    "image_value",
    "scalar_value_prefix",
    "text_value",
    "varint",
]

_pack_d = struct.Struct("<d").pack
_pack_f = struct.Struct("<f").pack


def varint(value: int) -> bytes:
    """Base-128 varint; negative int64 values take their 64-bit two's complement."""
    if value < 0:
        value += 1 << 64
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def float32(value: float) -> bytes:
    """``value`` as a little-endian float32; out-of-range values become +/-inf, not an error."""
    try:
        return _pack_f(value)
    except (OverflowError, struct.error):
        return _pack_f(float("inf") if value > 0 else float("-inf"))


def scalar_value_prefix(tag: str) -> bytes:
    """``Summary.value`` bytes up to the 4-byte float of ``simple_value`` (cached by callers)."""
    tag_bytes = tag.encode("utf-8")
    inner = _field(1, tag_bytes) + b"\x15"  # tag = 1; simple_value = 2 (fixed32)
    return varint(1 << 3 | 2) + varint(len(inner) + 4) + inner


def event(wall_time: float, step: int, summary: bytes = b"", file_version: str = "") -> bytes:
    """An ``Event`` (wall_time = 1, step = 2, file_version = 3, summary = 5)."""
    out = b"\x09" + _pack_d(wall_time) + b"\x10" + varint(step)
    if file_version:
        out += _field(3, file_version.encode())
    if summary:
        out += b"\x2a" + varint(len(summary)) + summary
    return out


def image_value(tag: str, height: int, width: int, channels: int, encoded: bytes) -> bytes:
    """``Summary.Value(tag, image=Summary.Image(...))`` (image = field 4)."""
    image = (
        b"\x08"
        + varint(height)
        + b"\x10"
        + varint(width)
        + b"\x18"
        + varint(channels)
        + _field(4, encoded)
    )
    return _field(1, _field(1, tag.encode()) + _field(4, image))


def histogram_value(
    tag: str,
    minimum: float,
    maximum: float,
    count: float,
    total: float,
    sum_squares: float,
    bucket_limit: Sequence[float],
    bucket: Sequence[float],
) -> bytes:
    """``Summary.Value(tag, histo=HistogramProto(...))`` (histo = field 5)."""
    histo = (
        b"\x09"
        + _pack_d(minimum)
        + b"\x11"
        + _pack_d(maximum)
        + b"\x19"
        + _pack_d(count)
        + b"\x21"
        + _pack_d(total)
        + b"\x29"
        + _pack_d(sum_squares)
        + _field(6, _packed_doubles(bucket_limit))
        + _field(7, _packed_doubles(bucket))
    )
    return _field(1, _field(1, tag.encode()) + _field(5, histo))


def text_value(tag: str, text: str) -> bytes:
    """A text-plugin value: a scalar DT_STRING tensor with ``plugin_name = "text"``."""
    metadata = _field(1, _field(1, b"text"))  # SummaryMetadata.plugin_data.plugin_name
    tensor = b"\x08\x07" + _field(2, b"") + _field(8, text.encode())  # dtype, shape, string_val
    return _field(1, _field(1, tag.encode()) + _field(8, tensor) + _field(9, metadata))


def _packed_doubles(values: Iterable[float]) -> bytes:
    items = list(values)
    return struct.pack(f"<{len(items)}d", *items)
