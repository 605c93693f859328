"""Images in logged rows: every accepted kind is saved, linked from the CSV and sent to TB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from petri.tracking import Experiment, load

from ._helpers import accumulator

rng = np.random.default_rng(0)


def _figure():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1.5), dpi=20)
    figure.add_subplot().plot([0, 1], [1, 0])
    return figure


CASES = {
    "grey_hw": (lambda: rng.random((9, 7)), "png", (9, 7), "L"),
    "rgb_uint8": (lambda: rng.integers(0, 255, (9, 7, 3), dtype=np.uint8), "png", (9, 7), "RGB"),
    "rgba_float": (lambda: rng.random((9, 7, 4)), "png", (9, 7), "RGBA"),
    "hw1": (lambda: rng.random((9, 7, 1)), "png", (9, 7), "L"),
    "chw_tensor": (lambda: torch.rand(3, 9, 7), "png", (9, 7), "RGB"),
    "grey_tensor": (lambda: torch.rand(9, 7), "png", (9, 7), "L"),
    "chw_numpy": (lambda: rng.random((3, 9, 7)), "png", (9, 7), "RGB"),
    "pil": (lambda: Image.new("RGB", (7, 9), "red"), "png", (9, 7), "RGB"),
    "photo_jpg": (lambda: rng.integers(0, 255, (9, 7, 3), dtype=np.uint8), "jpg", (9, 7), "RGB"),
    "rgba_jpeg": (lambda: rng.random((9, 7, 4)), "jpg", (9, 7), "RGB"),
    "wide_range": (lambda: rng.normal(0, 50, (9, 7)), "png", (9, 7), "L"),
}


@pytest.mark.parametrize("key", sorted(CASES))
def test_each_accepted_image_kind(tmp_path, key):
    make, fmt, (height, width), mode = CASES[key]
    exp = Experiment(save_dir=tmp_path, autosave=True)
    exp.log({key: make(), "loss": 0.5}, global_step=4)
    exp.close()
    cell = load(exp.log_dir).metrics[0][key]
    assert cell == f"media/{key}_4.{fmt}"
    with Image.open(Path(exp.log_dir) / cell) as image:
        assert (image.height, image.width, image.mode) == (height, width, mode)
    reader = accumulator(exp.get_tensorboard_path())
    assert (reader.Images(key)[0].height, reader.Images(key)[0].width) == (height, width)


def test_matplotlib_figure(tmp_path):
    figure = _figure()
    exp = Experiment(save_dir=tmp_path, autosave=True)
    exp.log({"plot": figure}, global_step=1)
    exp.close()
    with Image.open(Path(exp.log_dir) / "media/plot_1.png") as image:
        assert image.size == (40, 30)


def test_non_images_stay_in_the_csv(tmp_path):
    exp = Experiment(save_dir=tmp_path, autosave=True)
    exp.log(
        {
            "path_png": "already/saved.png",  # a string under a png key stays a string
            "vector": np.arange(5),
            "tiny": np.zeros((1, 4)),
            "tensor_row": torch.arange(3),
        }
    )
    exp.close()
    row = load(exp.log_dir).metrics[0]
    assert row["path_png"] == "already/saved.png"
    assert row["vector"] == "[0, 1, 2, 3, 4]" and row["tensor_row"] == "[0, 1, 2]"
    assert not list((Path(exp.log_dir) / "media").iterdir())


def test_keys_with_slashes_make_safe_file_names(tmp_path):
    exp = Experiment(save_dir=tmp_path, autosave=True)
    exp.log({"val/sample png": np.zeros((4, 4), np.uint8)})
    exp.close()
    assert load(exp.log_dir).metrics[0]["val/sample png"] == "media/val_sample_png_0.png"
