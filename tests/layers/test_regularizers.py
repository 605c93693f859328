"""Regularizers by name, TF formulas, and ``regularization_loss`` over layers."""

from __future__ import annotations

import pytest
import torch

import petri.layers as L
from petri.errors import UnknownNameError


@pytest.mark.parametrize(
    ("name", "formula"),
    [
        ("l1_regularizer", lambda w, s: s * w.abs().sum()),
        ("L1", lambda w, s: s * w.abs().sum()),
        ("l2_regularizer", lambda w, s: s * (w**2).sum() / 2),
        ("l2", lambda w, s: s * (w**2).sum() / 2),
        ("l2_l1_regularizer", lambda w, s: s * (w.abs().sum() + (w**2).sum() / 2)),
        ("l1_l2", lambda w, s: s * (w.abs().sum() + (w**2).sum() / 2)),
    ],
)
def test_named_regularizers_follow_tf(name: str, formula) -> None:
    weight = torch.randn(4, 3)
    torch.testing.assert_close(L.get_regularizer(name, 0.3)(weight), formula(weight, 0.3))


def test_none_callables_and_unknown_names() -> None:
    assert L.get_regularizer(None) is None
    penalty = lambda w: w.sum()  # noqa: E731
    assert L.get_regularizer(penalty) is penalty
    with pytest.raises(UnknownNameError, match="Did you mean 'l2_regularizer'"):
        L.get_regularizer("l2_regulariser")


def test_regularization_loss_sums_every_regularized_weight() -> None:
    net = L.SubGraph(
        [
            ("Conv2d", {"num_filter": 2, "filter_size": 3, "regularizer": "l2_regularizer"}),
            ("FullyConnected", {"num_units": 3, "regularizer": "l1", "scale": 0.01}),
            ("FullyConnected", {"num_units": 2}),
        ]
    )
    assert L.regularization_loss(net) is None  # nothing is built yet
    net(torch.randn(2, 1, 4, 4))
    conv, dense = net.conv2d_1.weight, net.fully_connected_1.weight
    expected = 0.001 * (conv**2).sum() / 2 + 0.01 * dense.abs().sum()
    torch.testing.assert_close(L.regularization_loss(net), expected)
    L.regularization_loss(net).backward()
    assert conv.grad is not None and net.fully_connected_2.weight.grad is None


def test_highway_and_embedding_regularize_their_weights() -> None:
    highway = L.Highway(num_units=3, regularizer="l2", scale=1.0)
    highway(torch.randn(2, 3))
    expected = ((highway.weight**2).sum() + (highway.transform_weight**2).sum()) / 2
    torch.testing.assert_close(L.regularization_loss(highway), expected)
    embedding = L.Embedding(input_dim=4, output_dim=2, regularizer="l1", scale=0.5)
    torch.testing.assert_close(
        L.regularization_loss(embedding), 0.5 * embedding.weight.abs().sum()
    )


def test_residual_block_defaults_to_the_seed_l2() -> None:
    block = L.ResidualBlock(num_filter=2)
    block(torch.randn(1, 2, 4, 4))
    unit = block.units[0]
    expected = 0.0001 * ((unit.conv1.weight**2).sum() + (unit.conv2.weight**2).sum()) / 2
    torch.testing.assert_close(L.regularization_loss(block), expected)
