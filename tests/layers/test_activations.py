"""Activations by name."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import petri.layers as L
from petri.errors import UnknownNameError

EXPECTED = {
    "linear": lambda x: x,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "softmax": lambda x: torch.softmax(x, -1),
    "softplus": F.softplus,
    "softsign": lambda x: x / (1 + x.abs()),
    "relu": lambda x: x.clamp(min=0),
    "relu6": lambda x: x.clamp(0, 6),
    "leaky_relu": lambda x: torch.where(x > 0, x, 0.1 * x),
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "crelu": lambda x: torch.cat([x.clamp(min=0), (-x).clamp(min=0)], -1),
    "swish": lambda x: x * torch.sigmoid(x),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_named_activations(name: str) -> None:
    x = torch.randn(4, 5) * 4
    torch.testing.assert_close(L.get_activation(name)(x), EXPECTED[name](x))
    assert L.get_activation(name.upper()) is L.get_activation(name)


def test_every_seed_activation_is_registered() -> None:
    seed = ["linear", "tanh", "sigmoid", "softmax", "softplus", "softsign", "relu", "relu6"]
    seed += ["leaky_relu", "prelu", "elu", "crelu", "selu", "gelu", "silu", "swish"]
    for name in seed:
        assert name in L.ACTIVATIONS


def test_none_and_callables_pass_through() -> None:
    x = torch.randn(3)
    assert L.get_activation(None)(x) is x
    assert L.get_activation(torch.exp) is torch.exp
    assert isinstance(L.get_activation(nn.ReLU), nn.ReLU)
    with pytest.raises(TypeError, match="activation name, a callable"):
        L.get_activation(3)


def test_unknown_activation_suggests_the_closest() -> None:
    with pytest.raises(UnknownNameError, match=r"Did you mean 'sigmoid'\?.*ACTIVATIONS.add"):
        L.get_activation("sigmod")


def test_channel_first_layers_apply_softmax_and_crelu_on_channels() -> None:
    x = torch.randn(2, 3, 4, 4)
    conv = L.Conv2d(num_filter=5, filter_size=1, activation="softmax")
    torch.testing.assert_close(conv(x).sum(1), torch.ones(2, 4, 4))
    assert L.Conv2d(num_filter=5, filter_size=1, activation="crelu")(x).shape == (2, 10, 4, 4)
    dense = L.FullyConnected(num_units=5, activation="softmax")
    torch.testing.assert_close(dense(x).sum(1), torch.ones(2))
    assert L.FullyConnected(num_units=5, activation="crelu")(x).shape == (2, 10)


def test_prelu_is_owned_and_learned_by_its_layer() -> None:
    layer = L.FullyConnected(num_units=3, activation="prelu")
    layer(torch.randn(2, 4))
    assert "activation_fn.weight" in layer.state_dict()
    assert any(p is layer.activation_fn.weight for p in layer.parameters())
    other = L.FullyConnected(num_units=3, activation="prelu")
    assert other.activation_fn is not layer.activation_fn
