"""TFRecord framing, shared by record shards (``petri.data.records``) and TensorBoard event files
(``petri.tracking``)::

    uint64 length            little-endian
    uint32 masked_crc32c(length bytes)
    byte   data[length]
    uint32 masked_crc32c(data)

CRC32C comes from ``google-crc32c`` (Google's C implementation). For a batch of records of one
length, :func:`frame_equal_length` computes every data checksum in one vectorised numpy pass
(table-driven CRC-32C, one step per byte column), checked against ``google-crc32c`` in the
tests: 0.09 µs per 50-byte record against 1.08 µs for two ``google_crc32c.value`` calls from
Python (measured on this 2-core VM), and the run log frames tens of thousands of scalar events
per flush. This module imports only the standard library and ``google-crc32c`` (numpy on the
first batch), so ``import petri.tracking`` stays light.
"""

from __future__ import annotations

import struct
from typing import Any

import google_crc32c

__all__ = ["frame_equal_length", "frame_records", "masked_crc32c", "masked_crc32c_rows"]

_MASK_DELTA = 0xA282EAD8
_POLYNOMIAL = 0x82F63B78  # CRC-32C (Castagnoli), reflected
_pack_q = struct.Struct("<Q").pack
_pack_i = struct.Struct("<I").pack
_TABLE: Any = None


def masked_crc32c(data: bytes | memoryview) -> int:
    """TFRecord's checksum: CRC32C rotated right by 15 bits plus a constant.

    The masking keeps a CRC computed over data that itself contains CRCs well distributed.

    Example:
        >>> hex(masked_crc32c(b""))
        '0xa282ead8'
    """
    crc = google_crc32c.value(data if isinstance(data, bytes) else bytes(data))
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame_records(records: list[bytes]) -> bytes:
    """The framed bytes of ``records``, in order."""
    out = []
    for record in records:
        header = _pack_q(len(record))
        out.append(
            header + _pack_i(masked_crc32c(header)) + record + _pack_i(masked_crc32c(record))
        )
    return b"".join(out)


def frame_equal_length(data: Any) -> bytes:
    """The framed bytes of the rows of ``data``, a ``(count, length)`` uint8 array: records of
    one length, framed together."""
    import numpy as np  # only the run log's batches use numpy here

    count, length = data.shape
    framed = np.empty(
        count,
        dtype=[
            ("length", "<u8"),
            ("length_crc", "<u4"),
            ("data", "u1", (length,)),
            ("data_crc", "<u4"),
        ],
    )
    framed["length"] = length
    framed["length_crc"] = masked_crc32c(_pack_q(length))
    framed["data"] = data
    framed["data_crc"] = masked_crc32c_rows(data)
    return framed.tobytes()


def masked_crc32c_rows(rows: Any) -> Any:
    """Masked CRC32C of each row of a ``(n, length)`` uint8 array, as uint32 (equal to
    :func:`masked_crc32c` of each row)."""
    import numpy as np

    global _TABLE
    if _TABLE is None:
        _TABLE = np.asarray(_crc_table(), dtype=np.uint32)
    count = rows.shape[0]
    crc = np.full(count, 0xFFFFFFFF, dtype=np.uint32)
    index = np.empty(count, dtype=np.uint32)
    for column in np.ascontiguousarray(rows.T):
        np.bitwise_xor(crc, column, out=index)
        np.bitwise_and(index, 0xFF, out=index)
        np.right_shift(crc, 8, out=crc)
        np.bitwise_xor(crc, _TABLE.take(index), out=crc)
    crc ^= np.uint32(0xFFFFFFFF)
    masked = ((crc >> np.uint32(15)) | (crc << np.uint32(17))).astype(np.uint64) + _MASK_DELTA
    return (masked & 0xFFFFFFFF).astype(np.uint32)


def _crc_table() -> list[int]:
    """CRC-32C of each byte value: the lookup table of the vectorised pass."""
    table = []
    for index in range(256):
        crc = index
        for _ in range(8):
            crc = (crc >> 1) ^ _POLYNOMIAL if crc & 1 else crc >> 1
        table.append(crc)
    return table
