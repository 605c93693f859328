"""Per-feature processors (the seed library's image ops) and image decoding."""

from __future__ import annotations

from petri.data.processors._base import (
    Processor,
    apply_processors,
    build_processors,
    split_deterministic,
)
from petri.data.processors.decode import decode_image, encode_image, to_chw_float
from petri.data.processors.image import (
    AdjustBrightness,
    AdjustContrast,
    CentralCrop,
    ConvertImagesDtype,
    Flip,
    RandomCrop,
    Resize,
    Standardization,
)
from petri.registry import Registry

__all__ = [
    "PROCESSORS",
    "AdjustBrightness",
    "AdjustContrast",
    "CentralCrop",
    "ConvertImagesDtype",
    "Flip",
    "Processor",
    "RandomCrop",
    "Resize",
    "Standardization",
    "apply_processors",
    "split_deterministic",
    "build_processors",
    "decode_image",
    "encode_image",
    "to_chw_float",
]

PROCESSORS: Registry[type[Processor]] = Registry(
    "processor",
    {
        "Resize": Resize,
        "CentralCrop": CentralCrop,
        "RandomCrop": RandomCrop,
        "Flip": Flip,
        "Standardization": Standardization,
        "ConvertImagesDtype": ConvertImagesDtype,
        "AdjustBrightness": AdjustBrightness,
        "AdjustContrast": AdjustContrast,
    },
    home="petri.data.processors.PROCESSORS",
)
"""Processors selectable by name in ``pipeline_config.definition``."""
