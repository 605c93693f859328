"""The seed's weight options: ``trainable``, ``restore``, initializers and argument checks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import petri.layers as L

FROZEN = {
    "FullyConnected": (lambda: L.FullyConnected(num_units=3, trainable=False), (2, 4)),
    "Conv2d": (lambda: L.Conv2d(num_filter=2, filter_size=3, trainable=False), (1, 3, 5, 5)),
    "Conv2dTranspose": (
        lambda: L.Conv2dTranspose(num_filter=2, filter_size=3, trainable=False),
        (1, 3, 5, 5),
    ),
    "BatchNormalization": (lambda: L.BatchNormalization(trainable=False), (4, 3)),
    "Embedding": (lambda: L.Embedding(input_dim=4, output_dim=2, trainable=False), None),
    "LSTM": (lambda: L.LSTM(num_units=3, trainable=False), (2, 4, 3)),
    "Highway": (lambda: L.Highway(num_units=4, trainable=False), (2, 4)),
    "ResidualBlock": (lambda: L.ResidualBlock(num_filter=3, trainable=False), (1, 3, 4, 4)),
}


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_trainable_false_freezes_every_parameter(name: str) -> None:
    build, shape = FROZEN[name]
    layer = build()
    layer(torch.randint(0, 4, (2, 3)) if shape is None else torch.randn(shape))
    params = list(layer.parameters())
    assert params
    assert not any(p.requires_grad for p in params)


def test_restore_false_keeps_the_layer_out_of_load_state_dict() -> None:
    x = torch.randn(2, 4)
    source = L.FullyConnected(num_units=3)
    source(x)
    kept = L.FullyConnected(num_units=3, restore=False)
    kept(x)
    before = kept.weight.detach().clone()
    kept.load_state_dict(source.state_dict())
    torch.testing.assert_close(kept.weight, before)

    unbuilt = L.FullyConnected(num_units=3, restore=False)
    unbuilt.load_state_dict(source.state_dict())  # still builds fresh weights on its first call
    assert unbuilt(x).shape == (2, 3)
    assert not torch.equal(unbuilt.weight, source.weight)


def test_restore_false_reaches_the_children_of_composite_layers() -> None:
    x = torch.randn(1, 3, 4, 4)
    source = L.ResidualBlock(num_filter=3)
    source(x)
    target = L.ResidualBlock(num_filter=3, restore=False)
    target(x)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    target.load_state_dict(source.state_dict())
    for key, value in target.state_dict().items():
        torch.testing.assert_close(value, before[key])


def test_weights_and_bias_initializers_are_applied() -> None:
    layer = L.FullyConnected(num_units=3, weights_init=0.5, bias_init="ones")
    layer(torch.zeros(1, 2))
    assert torch.all(layer.weight == 0.5)
    assert torch.all(layer.bias == 1.0)
    conv = L.Conv2d(num_filter=2, filter_size=1, weights_init=lambda t: t.data.fill_(2.0))
    conv(torch.ones(1, 1, 2, 2))
    assert torch.all(conv.weight == 2.0)


def test_fully_connected_state_dict_keys_sit_on_the_layer() -> None:
    layer = L.FullyConnected(num_units=3)
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert list(L.FullyConnected(num_units=3, bias=False).state_dict()) == ["weight"]


def test_fully_connected_accepts_the_n_units_alias() -> None:
    assert L.FullyConnected(n_units=4).num_units == 4
    with pytest.raises(ValueError, match="num_units or its alias n_units"):
        L.FullyConnected(num_units=4, n_units=5)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: L.Conv2d(num_filter=0, filter_size=3),
            r"Conv2d expected num_filter to be a positive integer. Received: num_filter=0",
        ),
        (lambda: L.FullyConnected(), r"Received: num_units=None"),
        (lambda: L.Conv2d(num_filter=2, filter_size=(3, 3, 3)), r"filter_size"),
        (lambda: L.Conv2d(num_filter=2, filter_size=3, padding="full"), r"'same' or 'valid'"),
        (lambda: L.MaxPool2d(kernel_size=2, strides=0), r"strides"),
        (lambda: L.Dropout(keep_prob=0.0), r"keep_prob to be a keep probability"),
        (lambda: L.Reshape(new_shape=[-1, -1]), r"at most one -1"),
        (lambda: L.Merge(merge_mode="concatenate"), r"Did you mean 'concat'"),
        (lambda: L.BatchNormalization(decay=1.0), r"decay to be in \[0, 1\)"),
        (lambda: L.Embedding(input_dim=10), r"output_dim"),
        (lambda: L.LSTM(num_units=3, activation="relu"), r"activation to be one of \['tanh'\]"),
        (lambda: L.SimpleRNN(num_units=3, dropout=1.5), r"dropout"),
        (lambda: L.FullyConnected(num_units=3, regularizer="l2", scale=-1), r"non-negative"),
    ],
)
def test_bad_values_raise_value_errors_that_name_them(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_bad_input_ranks_are_reported_on_the_first_call() -> None:
    with pytest.raises(ValueError, match=r"Conv2d expected a 4-d input"):
        L.Conv2d(num_filter=2, filter_size=3)(torch.randn(3, 5, 5))
    with pytest.raises(ValueError, match=r"LSTM expected a 3-d input"):
        L.LSTM(num_units=2)(torch.randn(3, 5))
    with pytest.raises(ValueError, match=r"Highway expected inputs with num_units=4"):
        L.Highway(num_units=4)(torch.randn(3, 5))


def test_forward_has_no_hooks_left_after_the_first_call() -> None:
    """After building, FullyConnected/Conv2d run like nn.Linear/nn.Conv2d plus one activation."""
    for layer, x in (
        (L.FullyConnected(num_units=3, activation="relu"), torch.randn(2, 4)),
        (L.Conv2d(num_filter=2, filter_size=3, activation="relu"), torch.randn(1, 1, 5, 5)),
    ):
        assert layer._forward_pre_hooks
        layer(x)
        assert not layer._forward_pre_hooks
        assert layer.activation_fn is torch.relu


def test_fully_connected_matches_nn_linear() -> None:
    layer = L.FullyConnected(num_units=3, activation="tanh")
    x = torch.randn(5, 2, 2)
    layer(x)
    reference = nn.Linear(4, 3)
    reference.load_state_dict(layer.state_dict())
    torch.testing.assert_close(layer(x), torch.tanh(reference(x.flatten(1))))


def test_dropout_uses_keep_prob_only_while_training() -> None:
    layer = L.Dropout(keep_prob=0.25)
    x = torch.ones(1000, 100)
    layer.eval()
    assert torch.equal(layer(x), x)
    layer.train()
    out = layer(x)
    assert set(out.unique().tolist()) <= {0.0, 4.0}
    assert abs((out != 0).float().mean().item() - 0.25) < 0.02


def test_dropout_noise_shape_shares_the_mask() -> None:
    layer = L.Dropout(keep_prob=0.5, noise_shape=[None, None, 1, 1]).train()
    out = layer(torch.ones(8, 16, 3, 3))
    per_channel = out.flatten(2)
    assert torch.all(per_channel == per_channel[..., :1])


@pytest.mark.parametrize(
    ("merge_mode", "expected"),
    [
        ("concat", lambda a, b: torch.cat([a, b], 1)),
        ("elemwise_sum", lambda a, b: a + b),
        ("elemwise_mul", lambda a, b: a * b),
        ("sum", lambda a, b: torch.cat([a, b], 1).sum(1)),
        ("mean", lambda a, b: torch.cat([a, b], 1).mean(1)),
        ("prod", lambda a, b: torch.cat([a, b], 1).prod(1)),
        ("max", lambda a, b: torch.cat([a, b], 1).amax(1)),
        ("MIN", lambda a, b: torch.cat([a, b], 1).amin(1)),
    ],
)
def test_merge_modes(merge_mode: str, expected) -> None:
    a, b = torch.randn(2, 3), torch.randn(2, 3)
    torch.testing.assert_close(L.Merge(merge_mode=merge_mode)([a, b]), expected(a, b))


def test_reshape_includes_the_batch_dimension() -> None:
    assert L.Reshape(new_shape=[-1, 1, 4, 4])(torch.randn(3, 16)).shape == (3, 1, 4, 4)


def test_batch_normalization_uses_tf_decay_and_moving_averages() -> None:
    layer = L.BatchNormalization(decay=0.9)
    x = torch.randn(64, 3) * 2 + 5
    out = layer.train()(x)
    torch.testing.assert_close(out.mean(0), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(layer.running_mean, 0.1 * x.mean(0))
    layer.eval()
    expected = (x - layer.running_mean) / torch.sqrt(layer.running_var + 1e-5)
    torch.testing.assert_close(layer(x), expected)


def test_embedding_accepts_float_ids() -> None:
    layer = L.Embedding(input_dim=5, output_dim=2)
    torch.testing.assert_close(layer(torch.tensor([1.0, 3.0])), layer.weight[[1, 3]])


def test_highway_starts_near_its_input_and_gates_it() -> None:
    layer = L.Highway(num_units=4, weights_init="zeros")
    x = torch.randn(2, 4)
    gate = torch.sigmoid(torch.tensor(-1.0))
    torch.testing.assert_close(layer(x), x * (1 - gate))


def test_residual_block_uses_identity_or_projection_shortcuts() -> None:
    same = L.ResidualBlock(num_filter=4, num_blocks=2)
    assert same(torch.randn(2, 4, 6, 6)).shape == (2, 4, 6, 6)
    assert not any("shortcut" in key for key in same.state_dict())

    projected = L.ResidualBlock(num_filter=8, strides=2)
    assert projected(torch.randn(2, 4, 7, 7)).shape == (2, 8, 4, 4)
    assert "units.0.shortcut.0.weight" in projected.state_dict()

    fresh = L.ResidualBlock(num_filter=4, num_blocks=2)
    fresh.load_state_dict(same.state_dict())
    x = torch.randn(1, 4, 6, 6)
    torch.testing.assert_close(fresh.eval()(x), same.eval()(x))
