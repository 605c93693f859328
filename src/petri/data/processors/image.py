"""Image processors with the seed library's names and arguments (TF's ``tf.image`` semantics).

Each works on one example's ``[channels, height, width]`` tensor (float in [0, 1] as the image
pipelines decode it). Random variants take ``is_random=True`` and draw from the pipeline's
generator, so a resumed run repeats them exactly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from petri.data.processors._base import Processor

__all__ = [
    "AdjustBrightness",
    "AdjustContrast",
    "CentralCrop",
    "ConvertImagesDtype",
    "Flip",
    "RandomCrop",
    "Resize",
    "Standardization",
]

# TF 1's ResizeMethod enum values, which configs of the seed library wrote as integers.
_RESIZE_METHODS = {0: "bilinear", 1: "nearest", 2: "bicubic", 3: "area"}


def _check_image(image: torch.Tensor, name: str) -> None:
    if image.dim() != 3:
        raise ValueError(
            f"{name} expects one image [channels, height, width]; received shape "
            f"{list(image.shape)}."
        )


def _positive(value: Any, name: str, owner: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{owner} expected a positive integer. Received: {name}={value!r}.")
    return value


def _crop_or_pad(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Centre crop where larger, zero pad evenly where smaller (resize_image_with_crop_or_pad)."""
    _, h, w = image.shape
    top, left = max((h - height) // 2, 0), max((w - width) // 2, 0)
    image = image[:, top : top + min(h, height), left : left + min(w, width)]
    _, h, w = image.shape
    pad_top, pad_left = (height - h) // 2, (width - w) // 2
    if h < height or w < width:
        image = F.pad(image, (pad_left, width - w - pad_left, pad_top, height - h - pad_top))
    return image


class Resize(Processor):
    """Resize to ``height`` x ``width``.

    Args:
        height: target height.
        width: target width.
        method: None crops or pads around the centre without distortion (the seed library's
            default); ``bilinear``, ``nearest``, ``bicubic`` or ``area`` (or TF's enum values
            0-3) interpolate.
        align_corners: align the corner pixels (bilinear and bicubic only).
    """

    deterministic = True

    def __init__(
        self, height: int, width: int, method: str | int | None = None, align_corners: bool = False
    ) -> None:
        self.height = _positive(height, "height", "Resize")
        self.width = _positive(width, "width", "Resize")
        if isinstance(method, int) and not isinstance(method, bool):
            method = _RESIZE_METHODS.get(method, str(method))
        if method is not None:
            method = str(method).lower().replace("resizemethod.", "").replace("_neighbor", "")
            if method not in _RESIZE_METHODS.values():
                raise ValueError(
                    f"Resize expected method None, 'bilinear', 'nearest', 'bicubic' or 'area'. "
                    f"Received: method={method!r}."
                )
        self.method = method
        self.align_corners = align_corners

    def __call__(self, value: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        _check_image(value, "Resize")
        if self.method is None:
            return _crop_or_pad(value, self.height, self.width)
        if value.shape[1:] == (self.height, self.width):
            return value
        batch = value.unsqueeze(0).float()
        size = (self.height, self.width)
        if self.method == "area":
            out = F.adaptive_avg_pool2d(batch, size)
        elif self.method == "nearest":
            out = F.interpolate(batch, size=size, mode="nearest")
        else:
            out = F.interpolate(
                batch, size=size, mode=self.method, align_corners=self.align_corners
            )
        return out[0].to(value.dtype) if value.is_floating_point() else out[0]


class CentralCrop(Processor):
    """Keep the central ``central_fraction`` of each side (``tf.image.central_crop``)."""

    deterministic = True

    def __init__(self, central_fraction: float) -> None:
        if not 0.0 < float(central_fraction) <= 1.0:
            raise ValueError(
                f"CentralCrop expected central_fraction in (0, 1]. Received: {central_fraction}."
            )
        self.central_fraction = float(central_fraction)

    def __call__(self, value: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        _check_image(value, "CentralCrop")
        _, h, w = value.shape
        top = int((h - h * self.central_fraction) / 2)
        left = int((w - w * self.central_fraction) / 2)
        return value[:, top : h - top, left : w - left]


class RandomCrop(Processor):
    """A ``height`` x ``width`` window at a random position (``tf.random_crop``)."""

    def __init__(self, height: int, width: int) -> None:
        self.height = _positive(height, "height", "RandomCrop")
        self.width = _positive(width, "width", "RandomCrop")

    def __call__(self, value: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        _check_image(value, "RandomCrop")
        _, h, w = value.shape
        if self.height > h or self.width > w:
            raise ValueError(
                f"RandomCrop({self.height}, {self.width}) is larger than the image "
                f"({h}x{w}); add a Resize before it or crop less."
            )
        top = int(rng.integers(0, h - self.height + 1))
        left = int(rng.integers(0, w - self.width + 1))
        return value[:, top : top + self.height, left : left + self.width]


class Flip(Processor):
    """Flip left-right (``axis=0``) or upside down (``axis=1``); with ``is_random``, half the time.

    ``seed`` (the seed library's per-op seed) must be None: randomness comes from the
    pipeline's generator (``pipeline_config.seed``), whose state a checkpoint keeps.
    """

    @property
    def deterministic(self) -> bool:  # type: ignore[override]
        return not self.is_random

    def __init__(self, axis: int = 0, is_random: bool = False, seed: int | None = None) -> None:
        if axis not in (0, 1):
            raise ValueError(
                f"Flip expected axis 0 (left-right) or 1 (up-down). Received: {axis}."
            )
        self.axis = axis
        self.is_random = is_random
        self.seed = _no_own_seed(type(self).__name__, seed)

    def __call__(self, value: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        _check_image(value, "Flip")
        if self.is_random and rng.random() < 0.5:
            return value
        return value.flip(-1 if self.axis == 0 else -2)


class Standardization(Processor):
    """Zero mean, unit variance per image (``tf.image.per_image_standardization``)."""

    deterministic = True

    def __call__(self, value: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        _check_image(value, "Standardization")
        value = value.float()
        floor = 1.0 / math.sqrt(value.numel())
        return (value - value.mean()) / max(float(value.std(unbiased=False)), floor)


_DTYPES = {
    "float16": torch.float16,
    "float32": torch.float32,
    "float64": torch.float64,
    "bfloat16": torch.bfloat16,
    "uint8": torch.uint8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
}


def _max_of(dtype: torch.dtype) -> float:
    return 1.0 if dtype.is_floating_point else float(torch.iinfo(dtype).max)


class ConvertImagesDtype(Processor):
    """Cast to ``dtype``, rescaling between integer ranges and [0, 1] floats
    (``tf.image.convert_image_dtype``); ``saturate`` clips before a narrowing cast."""

    deterministic = True

    def __init__(self, dtype: str, saturate: bool = False) -> None:
        key = str(dtype).lower().replace("torch.", "").replace("tf.", "")
        key = {"float": "float32", "double": "float64", "half": "float16"}.get(key, key)
        if key not in _DTYPES:
            raise ValueError(
                f"ConvertImagesDtype expected dtype in {sorted(_DTYPES)}. Received: {dtype!r}."
            )
        self.dtype = key
        self.saturate = saturate

    def __call__(self, value: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        target = _DTYPES[self.dtype]
        if value.dtype == target:
            return value
        scale = _max_of(target) / _max_of(value.dtype)
        scaled = value.double() * scale
        if not target.is_floating_point:
            scaled = scaled.round()
            if self.saturate or value.is_floating_point():
                info = torch.iinfo(target)
                scaled = scaled.clamp(info.min, info.max)
        return scaled.to(target)


class AdjustBrightness(Processor):
    """Add ``delta`` to every pixel; with ``is_random``, a delta drawn from [-delta, delta)."""

    @property
    def deterministic(self) -> bool:  # type: ignore[override]
        return not self.is_random

    def __init__(self, delta: float, is_random: bool = False, seed: int | None = None) -> None:
        if is_random and delta < 0:
            raise ValueError(
                f"AdjustBrightness with is_random needs delta >= 0. Received: {delta}."
            )
        self.delta = float(delta)
        self.is_random = is_random
        self.seed = _no_own_seed(type(self).__name__, seed)

    def __call__(self, value: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        delta = rng.uniform(-self.delta, self.delta) if self.is_random else self.delta
        return value.float() + float(delta)


class AdjustContrast(Processor):
    """Scale each channel's deviation from its mean by ``contrast_factor``; with ``is_random``,
    by a factor drawn from [contrast_factor, contrast_factor_max]."""

    @property
    def deterministic(self) -> bool:  # type: ignore[override]
        return not self.is_random

    def __init__(
        self,
        contrast_factor: float,
        contrast_factor_max: float | None = None,
        is_random: bool = False,
        seed: int | None = None,
    ) -> None:
        if is_random and (contrast_factor_max is None or contrast_factor_max <= contrast_factor):
            raise ValueError(
                "AdjustContrast with is_random needs contrast_factor_max > contrast_factor. "
                f"Received: contrast_factor={contrast_factor}, "
                f"contrast_factor_max={contrast_factor_max}."
            )
        if contrast_factor < 0:
            raise ValueError(
                f"AdjustContrast expected contrast_factor >= 0. Received: {contrast_factor}."
            )
        self.contrast_factor = float(contrast_factor)
        self.contrast_factor_max = contrast_factor_max
        self.is_random = is_random
        self.seed = _no_own_seed(type(self).__name__, seed)

    def __call__(self, value: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        _check_image(value, "AdjustContrast")
        factor = (
            rng.uniform(self.contrast_factor, self.contrast_factor_max)
            if self.is_random
            else self.contrast_factor
        )
        value = value.float()
        mean = value.mean(dim=(1, 2), keepdim=True)
        return (value - mean) * float(factor) + mean


def _no_own_seed(name: str, seed: int | None) -> None:
    """Processors draw from the pipeline's generator, so an exact resume restores them; a
    per-processor seed would be a second, unrestored stream."""
    if seed is not None:
        raise ValueError(
            f"{name} does not take its own seed (received seed={seed!r}): random processors draw "
            "from the pipeline's generator, which a checkpoint restores exactly. Set "
            "pipeline_config.seed instead and remove this seed."
        )
    return None
