"""``LAYERS``: every Petri layer by its class name, for definitions written with names.

Lookups ignore case and underscores, so ``'Conv2d'``, ``'conv2d'`` and ``'fully_connected'``
all resolve. Add your own with ``LAYERS.add('MyLayer', MyLayer)``.
"""

from __future__ import annotations

from torch import nn

from petri.layers.conv import Conv1d, Conv2d, Conv3d
from petri.layers.conv_transpose import Conv2dTranspose, Conv3dTranspose
from petri.layers.core import Dropout, Flatten, FullyConnected, Merge, Reshape
from petri.layers.embedding import Embedding
from petri.layers.highway import Highway
from petri.layers.normalization import BatchNormalization
from petri.layers.pooling import (
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    GlobalAvgPool,
    GlobalMaxPool,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
)
from petri.layers.recurrent import GRU, LSTM, SimpleRNN
from petri.layers.residual import ResidualBlock
from petri.registry import LazyEntry, Registry

__all__ = ["LAYERS"]

LAYERS: Registry[type[nn.Module]] = Registry(
    "layer",
    {
        cls.__name__: cls
        for cls in (
            FullyConnected,
            Dropout,
            Flatten,
            Reshape,
            Merge,
            Conv1d,
            Conv2d,
            Conv3d,
            Conv2dTranspose,
            Conv3dTranspose,
            MaxPool1d,
            MaxPool2d,
            MaxPool3d,
            AvgPool1d,
            AvgPool2d,
            AvgPool3d,
            GlobalMaxPool,
            GlobalAvgPool,
            BatchNormalization,
            Embedding,
            SimpleRNN,
            LSTM,
            GRU,
            Highway,
            ResidualBlock,
        )
    }
    | {  # these two resolve names through this table, so it imports them on first use
        "BidirectionalRNN": LazyEntry("petri.layers.bidirectional:BidirectionalRNN"),
        "SubGraph": LazyEntry("petri.layers.subgraph:SubGraph"),
    },
    home="petri.layers.LAYERS",
)
