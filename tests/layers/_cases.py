"""One standard case per registered layer: how to build it, what to feed it, what comes out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

import petri.layers as L


@dataclass(frozen=True)
class Case:
    """A layer factory, an input factory and the documented output shape."""

    build: Callable[..., nn.Module]
    make_input: Callable[[], Any]
    output_shape: tuple[int, ...]


def _randn(*shape: int) -> Callable[[], torch.Tensor]:
    return lambda: torch.randn(*shape)


CASES: dict[str, Case] = {
    "FullyConnected": Case(
        lambda mode=None: L.FullyConnected(mode, num_units=5), _randn(2, 3, 4), (2, 5)
    ),
    "Dropout": Case(lambda mode=None: L.Dropout(mode, keep_prob=0.5), _randn(2, 6), (2, 6)),
    "Flatten": Case(lambda mode=None: L.Flatten(mode), _randn(2, 3, 4), (2, 12)),
    "Reshape": Case(
        lambda mode=None: L.Reshape(mode, new_shape=[-1, 4, 3]), _randn(2, 12), (2, 4, 3)
    ),
    "Merge": Case(
        lambda mode=None: L.Merge(
            mode, modules=[L.FullyConnected(num_units=3), L.FullyConnected(num_units=4)]
        ),
        _randn(2, 5),
        (2, 7),
    ),
    "Conv1d": Case(
        lambda mode=None: L.Conv1d(mode, num_filter=4, filter_size=3, strides=2),
        _randn(2, 3, 9),
        (2, 4, 5),
    ),
    "Conv2d": Case(
        lambda mode=None: L.Conv2d(mode, num_filter=4, filter_size=4, strides=2),
        _randn(2, 3, 9, 9),
        (2, 4, 5, 5),
    ),
    "Conv3d": Case(
        lambda mode=None: L.Conv3d(mode, num_filter=2, filter_size=2),
        _randn(1, 2, 5, 5, 5),
        (1, 2, 5, 5, 5),
    ),
    "Conv2dTranspose": Case(
        lambda mode=None: L.Conv2dTranspose(mode, num_filter=4, filter_size=3, strides=2),
        _randn(2, 3, 5, 5),
        (2, 4, 10, 10),
    ),
    "Conv3dTranspose": Case(
        lambda mode=None: L.Conv3dTranspose(
            mode, num_filter=2, filter_size=2, strides=2, padding="valid"
        ),
        _randn(1, 2, 3, 3, 3),
        (1, 2, 6, 6, 6),
    ),
    "MaxPool1d": Case(
        lambda mode=None: L.MaxPool1d(mode, kernel_size=2), _randn(2, 3, 9), (2, 3, 5)
    ),
    "MaxPool2d": Case(
        lambda mode=None: L.MaxPool2d(mode, kernel_size=3, strides=2),
        _randn(2, 3, 8, 8),
        (2, 3, 4, 4),
    ),
    "MaxPool3d": Case(
        lambda mode=None: L.MaxPool3d(mode, kernel_size=2), _randn(1, 2, 5, 5, 5), (1, 2, 3, 3, 3)
    ),
    "AvgPool1d": Case(
        lambda mode=None: L.AvgPool1d(mode, kernel_size=2, padding="valid"),
        _randn(2, 3, 9),
        (2, 3, 4),
    ),
    "AvgPool2d": Case(
        lambda mode=None: L.AvgPool2d(mode, kernel_size=2), _randn(2, 3, 7, 7), (2, 3, 4, 4)
    ),
    "AvgPool3d": Case(
        lambda mode=None: L.AvgPool3d(mode, kernel_size=3, strides=1),
        _randn(1, 2, 4, 4, 4),
        (1, 2, 4, 4, 4),
    ),
    "GlobalMaxPool": Case(lambda mode=None: L.GlobalMaxPool(mode), _randn(2, 3, 4, 5), (2, 3)),
    "GlobalAvgPool": Case(lambda mode=None: L.GlobalAvgPool(mode), _randn(2, 3, 4, 5), (2, 3)),
    "BatchNormalization": Case(
        lambda mode=None: L.BatchNormalization(mode), _randn(4, 3, 5, 5), (4, 3, 5, 5)
    ),
    "Embedding": Case(
        lambda mode=None: L.Embedding(mode, input_dim=10, output_dim=4),
        lambda: torch.randint(0, 10, (2, 5)),
        (2, 5, 4),
    ),
    "SimpleRNN": Case(lambda mode=None: L.SimpleRNN(mode, num_units=6), _randn(3, 5, 4), (3, 6)),
    "LSTM": Case(
        lambda mode=None: L.LSTM(mode, num_units=6, return_seq=True), _randn(3, 5, 4), (3, 5, 6)
    ),
    "GRU": Case(lambda mode=None: L.GRU(mode, num_units=6), _randn(3, 5, 4), (3, 6)),
    "BidirectionalRNN": Case(
        lambda mode=None: L.BidirectionalRNN(
            mode, rnncell_fw=("LSTM", {"num_units": 3}), rnncell_bw=("GRU", {"num_units": 4})
        ),
        _randn(3, 5, 4),
        (3, 7),
    ),
    "Highway": Case(
        lambda mode=None: L.Highway(mode, num_units=12, activation="relu"),
        _randn(2, 3, 4),
        (2, 12),
    ),
    "ResidualBlock": Case(
        lambda mode=None: L.ResidualBlock(mode, num_filter=8, downsample=True),
        _randn(2, 3, 8, 8),
        (2, 8, 4, 4),
    ),
    "SubGraph": Case(
        lambda mode=None: L.SubGraph(
            [
                ("Conv2d", {"num_filter": 4, "filter_size": 3, "activation": "relu"}),
                ("MaxPool2d", {"kernel_size": 2}),
                ("BatchNormalization", {}),
                ("FullyConnected", {"num_units": 10}),
            ],
            mode=mode,
        ),
        _randn(2, 1, 8, 8),
        (2, 10),
    ),
}
