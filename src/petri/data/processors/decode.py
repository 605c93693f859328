"""Encoded images (PNG, JPEG, raw bytes) to arrays and back, with Pillow.

Kept apart from the processors because decoding is not optional: every image pipeline and
converter runs it, while processors are a per-feature choice.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["decode_image", "encode_image", "image_format_of", "to_chw_float"]

_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "bmp": "BMP", "gif": "GIF"}


def image_format_of(name: str) -> str:
    """The seed library's format name for a file name or format string (``jpg`` -> ``jpeg``)."""
    suffix = name.rsplit(".", 1)[-1].lower()
    return "jpeg" if suffix == "jpg" else suffix


def decode_image(
    data: bytes,
    image_format: str | None = None,
    channels: int | None = None,
    shape: Sequence[int] | None = None,
) -> np.ndarray:
    """Decode one image to an ``[height, width, channels]`` array (uint8 for 8-bit images).

    Args:
        data: the encoded bytes.
        image_format: ``png``, ``jpeg``, ... (Pillow detects these itself) or ``raw`` (pixel
            bytes, which need ``shape``).
        channels: convert to this many channels (1 grey, 3 RGB, 4 RGBA); None keeps the
            image's own.
        shape: ``[height, width, channels]`` of a raw image.

    Raises:
        ValueError: the bytes are not an image Pillow can read, or a raw image's size does
            not match ``shape``.
    """
    if image_format == "raw":
        if shape is None or not all(shape):
            raise ValueError(
                "A raw image needs height, width and channels (from meta_data.json) to decode."
            )
        array = np.frombuffer(data, dtype=np.uint8)
        if array.size != int(np.prod(shape)):
            raise ValueError(
                f"A raw image of shape {list(shape)} needs {int(np.prod(shape))} bytes; "
                f"the record holds {array.size}."
            )
        return array.reshape(shape)
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        if channels is not None and image.mode != _MODES.get(channels, image.mode):
            image = image.convert(_MODES[channels])
        elif channels is None and image.mode in ("P", "CMYK", "YCbCr", "1"):
            image = image.convert("RGB")
        array = np.asarray(image)
    except (UnidentifiedImageError, OSError, KeyError) as error:
        raise ValueError(
            f"Could not decode {len(data)} bytes as an image ({image_format or 'any format'}): "
            f"{error}"
        ) from None
    return array[:, :, None] if array.ndim == 2 else array


def encode_image(array: Any, image_format: str = "png", quality: int = 95) -> bytes:
    """Encode an ``[height, width]`` or ``[height, width, channels]`` uint8 array.

    Raises:
        ValueError: unsupported format, or an array that is not an 8-bit image.
    """
    from PIL import Image

    image = np.asarray(array)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(
            f"encode_image expects uint8 [height, width(, channels)]; received {image.dtype} "
            f"{list(image.shape)}. Scale float images to 0..255 and cast to uint8 first."
        )
    name = _FORMATS.get(image_format.lower())
    if name is None:
        raise ValueError(
            f"Unsupported image_format {image_format!r}; expected one of {sorted(_FORMATS)}."
        )
    buffer = io.BytesIO()
    options = {"quality": quality} if name == "JPEG" else {}
    Image.fromarray(image).save(buffer, format=name, **options)
    return buffer.getvalue()


def to_chw_float(image: np.ndarray) -> np.ndarray:
    """``[H, W, C]`` integer image to ``[C, H, W]`` float32 in [0, 1] (convert_image_dtype)."""
    scale = 1.0 / float(np.iinfo(image.dtype).max) if image.dtype.kind in "ui" else 1.0
    return np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32) * np.float32(scale)
