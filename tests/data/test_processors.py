"""Image processors: TF's semantics on [channels, height, width] tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from petri.data.processors import (
    PROCESSORS,
    AdjustBrightness,
    AdjustContrast,
    CentralCrop,
    ConvertImagesDtype,
    Flip,
    RandomCrop,
    Resize,
    Standardization,
    build_processors,
)
from petri.errors import ConfigError

RNG = np.random.default_rng(0)
IMAGE = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(2, 4, 6) / 48


def test_resize_crop_or_pad_and_interpolate() -> None:
    padded = Resize(6, 8)(IMAGE, RNG)
    assert padded.shape == (2, 6, 8) and torch.equal(padded[:, 1:5, 1:7], IMAGE)
    assert padded[:, 0].abs().sum() == 0
    cropped = Resize(2, 2)(IMAGE, RNG)
    assert torch.equal(cropped, IMAGE[:, 1:3, 2:4])
    assert Resize(8, 12, method="bilinear")(IMAGE, RNG).shape == (2, 8, 12)
    assert Resize(2, 3, method=3)(IMAGE, RNG).shape == (2, 2, 3)  # TF's AREA enum
    with pytest.raises(ValueError, match="method"):
        Resize(2, 2, method="lanczos9")


def test_crops_and_flip() -> None:
    assert torch.equal(CentralCrop(0.5)(IMAGE, RNG), IMAGE[:, 1:3, 1:5])
    crop = RandomCrop(3, 3)(IMAGE, np.random.default_rng(1))
    assert crop.shape == (2, 3, 3)
    with pytest.raises(ValueError, match="larger than the image"):
        RandomCrop(5, 5)(IMAGE, RNG)
    assert torch.equal(Flip(axis=0)(IMAGE, RNG), IMAGE.flip(-1))
    assert torch.equal(Flip(axis=1)(IMAGE, RNG), IMAGE.flip(-2))
    flips = {bool(torch.equal(Flip(is_random=True)(IMAGE, RNG), IMAGE)) for _ in range(20)}
    assert flips == {True, False}


def test_value_processors() -> None:
    standard = Standardization()(IMAGE, RNG)
    assert (
        abs(float(standard.mean())) < 1e-5 and abs(float(standard.std(unbiased=False)) - 1) < 1e-4
    )
    assert torch.allclose(AdjustBrightness(0.1)(IMAGE, RNG), IMAGE + 0.1)
    contrast = AdjustContrast(2.0)(IMAGE, RNG)
    mean = IMAGE.mean(dim=(1, 2), keepdim=True)
    assert torch.allclose(contrast, (IMAGE - mean) * 2 + mean)
    random = AdjustContrast(0.5, 1.5, is_random=True)(IMAGE, RNG)
    assert random.shape == IMAGE.shape
    with pytest.raises(ValueError, match="contrast_factor_max"):
        AdjustContrast(0.5, is_random=True)


def test_convert_images_dtype_scales() -> None:
    as_uint8 = ConvertImagesDtype("uint8")(torch.tensor([[[0.0, 0.5, 1.0]]]), RNG)
    assert as_uint8.dtype == torch.uint8 and as_uint8.tolist() == [[[0, 128, 255]]]
    back = ConvertImagesDtype("float32")(as_uint8, RNG)
    assert torch.allclose(back, torch.tensor([[[0.0, 128 / 255, 1.0]]]))
    assert ConvertImagesDtype("float16")(IMAGE, RNG).dtype == torch.float16


def test_build_processors_forms() -> None:
    built = build_processors(
        {
            "image": {"definition": [["Resize", {"height": 2, "width": 2}], "Standardization"]},
            "mask": [{"Flip": {"axis": 1}}, {"name": "CentralCrop", "central_fraction": 0.5}],
        },
        PROCESSORS,
    )
    assert [type(p).__name__ for p in built["image"]] == ["Resize", "Standardization"]
    assert [type(p).__name__ for p in built["mask"]] == ["Flip", "CentralCrop"]
    assert build_processors([Flip()], PROCESSORS, default_feature="image")["image"][0].axis == 0
    with pytest.raises(ConfigError, match="no default feature"):
        build_processors([["Flip", {}]], PROCESSORS)
    with pytest.raises(ConfigError, match=r"definition.image\[0\]`: Resize does not accept"):
        build_processors({"image": [["Resize", {"size": 3}]]}, PROCESSORS)


ARGUMENTS = {
    "Resize": (3, 4, "nearest"),
    "CentralCrop": (0.5,),
    "RandomCrop": (2, 2),
    "ConvertImagesDtype": ("float16",),
    "AdjustBrightness": (0.2, True),
    "AdjustContrast": (0.5, 1.5, True),
}


@pytest.mark.parametrize("name", PROCESSORS.names())
def test_processor_config_round_trips(name) -> None:
    cls = PROCESSORS.get(name)
    instance = cls(*ARGUMENTS.get(name, ()))
    assert repr(cls(**instance.get_config())) == repr(instance)
