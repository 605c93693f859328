"""Images in a logged row: recognised, saved under ``media/`` and encoded for TensorBoard.

Accepted (seed 004 plus what people log today): numpy arrays HxW, HxWx1/3/4 and CxHxW (uint8,
bool, or floats: [0, 1] is scaled by 255, other ranges are min-max normalised); torch tensors of
the same shapes (CHW first, as torchvision produces them); PIL images; matplotlib figures. A key
containing ``png``, ``jpg`` or ``jpeg`` picks the file format (test_tube's rule) and makes a
2-D/3-D array an image even when its shape alone would not say so; otherwise PNG.
"""

from __future__ import annotations

import io
import os
import re
from typing import Any

__all__ = ["ImageData", "as_image", "image_format", "media_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _module(value: Any) -> str:
    return type(value).__module__ or ""


def _key_format(key: str) -> str | None:
    lowered = key.lower()
    if "jpeg" in lowered or "jpg" in lowered:
        return "jpg"
    if "png" in lowered:
        return "png"
    return None


def image_format(key: str, value: Any) -> str | None:
    """``"png"``/``"jpg"`` when ``value`` is an image to save, else None."""
    module = _module(value)
    if module.startswith("PIL.") or (
        module.startswith("matplotlib") and type(value).__name__ in ("Figure", "SubFigure")
    ):
        return _key_format(key) or "png"
    shape = getattr(value, "shape", None)
    if shape is None or not module.startswith(("numpy", "torch")):
        return None
    by_key = _key_format(key)
    if len(shape) == 2 and min(shape) >= 2:
        return by_key or "png"
    if len(shape) == 3 and (shape[-1] in (1, 3, 4) or shape[0] in (1, 3, 4)) and min(shape) >= 1:
        return by_key or "png"
    return None


class ImageData:
    """An image as uint8 HxWxC pixels (C = 1, 3 or 4) with its encoding for disk and TB."""

    __slots__ = ("_png", "pixels")

    def __init__(self, pixels: Any) -> None:
        self.pixels = pixels
        self._png: bytes | None = None

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])

    def encode(self, fmt: str) -> bytes:
        """PNG or JPEG bytes (JPEG drops an alpha channel)."""
        if fmt == "png" and self._png is not None:
            return self._png
        from PIL import Image

        pixels = self.pixels
        if pixels.shape[2] == 1:
            image = Image.fromarray(pixels[:, :, 0], mode="L")
        else:
            image = Image.fromarray(pixels, mode="RGBA" if pixels.shape[2] == 4 else "RGB")
        if fmt == "jpg" and image.mode == "RGBA":
            image = image.convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG" if fmt == "jpg" else "PNG")
        data = buffer.getvalue()
        if fmt == "png":
            self._png = data
        return data


def as_image(value: Any) -> ImageData:
    """Convert an accepted image value to :class:`ImageData`.

    Raises:
        TypeError: ``value`` is none of the accepted kinds.
    """
    import numpy as np

    module = _module(value)
    if module.startswith("PIL."):
        image = value if value.mode in ("L", "RGB", "RGBA") else value.convert("RGBA")
        array = np.asarray(image)
    elif module.startswith("matplotlib"):
        array = _figure_pixels(value)
    elif module.startswith("torch"):
        tensor = value.detach().cpu()
        if tensor.ndim == 3 and tensor.shape[0] in (1, 3, 4):
            tensor = tensor.permute(1, 2, 0)  # torch's convention: channels first
        array = tensor.float().numpy() if tensor.dtype.is_floating_point else tensor.numpy()
    elif module.startswith("numpy"):
        array = np.asarray(value)
        if array.ndim == 3 and array.shape[-1] not in (1, 3, 4) and array.shape[0] in (1, 3, 4):
            array = np.transpose(array, (1, 2, 0))
    else:
        raise TypeError(
            f"Expected an image (numpy array, torch tensor, PIL image or matplotlib figure); "
            f"received {type(value).__name__}."
        )
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise TypeError(
            f"Expected image pixels shaped HxW, HxWxC or CxHxW with C in (1, 3, 4); received "
            f"shape {tuple(array.shape)}."
        )
    return ImageData(np.ascontiguousarray(_to_uint8(array)))


def _to_uint8(array: Any) -> Any:
    import numpy as np

    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    values = array.astype(np.float64)
    finite = np.isfinite(values)
    values = np.where(finite, values, 0.0)
    if np.issubdtype(array.dtype, np.integer):
        return np.clip(values, 0, 255).astype(np.uint8)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    if low >= 0.0 and high <= 1.0:
        return np.round(values * 255).astype(np.uint8)
    values = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return np.round(values * 255).astype(np.uint8)


def _figure_pixels(figure: Any) -> Any:
    import numpy as np

    canvas = figure.canvas
    if not hasattr(canvas, "buffer_rgba"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def media_name(key: str, step: int, fmt: str) -> str:
    """The file name of an image under ``media/``: ``<key>_<step>.<fmt>`` (key made safe)."""
    safe = _UNSAFE.sub("_", key.replace(os.sep, "_")).strip("._") or "image"
    return f"{safe}_{step}.{fmt}"
