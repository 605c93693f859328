"""Petri's layers: the seed library's layers and argument names, on PyTorch.

Every layer takes an optional ``mode`` first and infers its input sizes on the first call;
tensors are channel-first (NCHW) images and batch-first [N, T, F] sequences.
"""

from __future__ import annotations

from petri.layers._base import (
    GraphModule,
    Module,
    current_scope,
    graph_scope,
    name_scope,
    regularization_loss,
)
from petri.layers.activations import ACTIVATIONS, get_activation
from petri.layers.bidirectional import BidirectionalRNN
from petri.layers.conv import Conv1d, Conv2d, Conv3d
from petri.layers.conv_transpose import Conv2dTranspose, Conv3dTranspose
from petri.layers.core import Dropout, Flatten, FullyConnected, Merge, Reshape
from petri.layers.embedding import Embedding
from petri.layers.highway import Highway
from petri.layers.initializers import INITIALIZERS, get_initializer
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
from petri.layers.registry import LAYERS
from petri.layers.regularizers import REGULARIZERS, get_regularizer
from petri.layers.residual import ResidualBlock
from petri.layers.subgraph import SubGraph

__all__ = [
    "ACTIVATIONS",
    "GRU",
    "INITIALIZERS",
    "LAYERS",
    "LSTM",
    "REGULARIZERS",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "BatchNormalization",
    "BidirectionalRNN",
    "Conv1d",
    "Conv2d",
    "Conv2dTranspose",
    "Conv3d",
    "Conv3dTranspose",
    "Dropout",
    "Embedding",
    "Flatten",
    "FullyConnected",
    "GlobalAvgPool",
    "GlobalMaxPool",
    "GraphModule",
    "Highway",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "Merge",
    "Module",
    "Reshape",
    "ResidualBlock",
    "SimpleRNN",
    "SubGraph",
    "current_scope",
    "get_activation",
    "get_initializer",
    "get_regularizer",
    "graph_scope",
    "name_scope",
    "regularization_loss",
]
