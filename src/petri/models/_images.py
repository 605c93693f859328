"""Pictures a ``Generator`` logs at evaluation: image grids, and its 2-D latent space.

Both are plain arrays (the run log saves arrays as PNG and TensorBoard images). The latent plot
has axes and a legend when matplotlib is installed (it is optional: the ``dev`` extra); without
it numpy draws the points alone, so logging never needs a plotting library.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["image_grid", "latent_scatter"]

# matplotlib's tab10, one colour per class (class index modulo 10)
_COLOURS = np.array(
    [
        [31, 119, 180],
        [255, 127, 14],
        [44, 160, 44],
        [214, 39, 40],
        [148, 103, 189],
        [140, 86, 75],
        [227, 119, 194],
        [127, 127, 127],
        [188, 189, 34],
        [23, 190, 207],
    ],
    dtype=np.uint8,
)


def image_grid(images: torch.Tensor, shape: tuple[int, ...], columns: int) -> np.ndarray | None:
    """Images tiled into one array, 4x enlarged: greyscale (``[H, W]``, ``[1, H, W]`` or flat
    squares such as 64 pixels per example) or colour (``[3, H, W]``, channels first as the
    convolutions take them); None for other shapes, which are not images. Values are clipped
    to [0, 1]."""
    pixels = images.detach().float().cpu().reshape(images.shape[0], *shape)
    if pixels.dim() == 2 and math.isqrt(pixels.shape[1]) ** 2 == pixels.shape[1]:
        side = math.isqrt(pixels.shape[1])
        pixels = pixels.reshape(-1, side, side)
    if pixels.dim() == 3:
        pixels = pixels[:, None]
    if pixels.dim() != 4 or pixels.shape[1] not in (1, 3):
        return None
    count, channels, height, width = pixels.shape
    rows = math.ceil(count / columns)
    canvas = np.zeros(
        (channels, rows * (height + 1) + 1, columns * (width + 1) + 1), dtype=np.float32
    )
    for index, image in enumerate(pixels.clamp(0, 1).numpy()):
        row, column = divmod(index, columns)
        top, left = 1 + row * (height + 1), 1 + column * (width + 1)
        canvas[:, top : top + height, left : left + width] = image
    enlarged = np.kron(canvas, np.ones((1, 4, 4), dtype=np.float32))  # 4x: visible in TB
    return enlarged[0] if channels == 1 else np.transpose(enlarged, (1, 2, 0))


def latent_scatter(codes: torch.Tensor, labels: Any, size: int = 320) -> np.ndarray:
    """A scatter plot of 2-D ``codes`` as an RGB ``uint8`` image, one colour per integer label
    (all one colour when the labels are not one integer per code).

    Drawn by matplotlib when it is installed (axes, and a legend of the labels), else by numpy.
    """
    points = codes.detach().float().cpu().numpy()
    classes = _classes(labels, len(points))
    try:
        # optional, and heavy: imported when the first plot is drawn
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return _numpy_scatter(points, classes, size)
    dpi = 80
    figure = Figure(figsize=(size / dpi, size / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(figure)  # no pyplot: no global figure state, no GUI backend
    axes = figure.add_subplot()
    for label in np.unique(classes) if classes is not None else [None]:
        chosen = slice(None) if label is None else classes == label
        colour = _COLOURS[0 if label is None else label % len(_COLOURS)] / 255
        axes.scatter(*points[chosen].T, s=6, color=colour, label=str(label), linewidths=0)
    if classes is not None:
        axes.legend(
            fontsize=7,
            markerscale=2,
            handletextpad=0.1,
            loc="center left",
            bbox_to_anchor=(1, 0.5),
        )
    axes.set_xlabel("code 0", fontsize=8)
    axes.set_ylabel("code 1", fontsize=8)
    axes.tick_params(labelsize=7)
    figure.tight_layout(pad=0.3)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _classes(labels: Any, count: int) -> np.ndarray | None:
    """Integer class per code, or None when ``labels`` give none."""
    if not isinstance(labels, torch.Tensor) or labels.numel() != count:
        return None
    values = labels.detach().cpu().reshape(-1)
    if values.is_complex() or (
        values.is_floating_point() and not (values == values.round()).all()
    ):
        return None
    return values.long().numpy()


def _numpy_scatter(points: np.ndarray, classes: np.ndarray | None, size: int) -> np.ndarray:
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    scaled = ((points - low) / span * (size - 9) + 4).astype(int)
    colours = _COLOURS[0 if classes is None else classes % len(_COLOURS)]
    colours = np.broadcast_to(colours, (len(points), 3))
    image = np.full((size, size, 3), 255, dtype=np.uint8)
    for (x, y), colour in zip(scaled, colours):
        image[size - 1 - y - 1 : size - y + 1, x - 1 : x + 2] = colour
    return image
