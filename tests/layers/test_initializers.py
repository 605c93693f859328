"""Initializers by name, with TF's scales."""

from __future__ import annotations

import math

import pytest
import torch

import petri.layers as L
from petri.errors import UnknownNameError


@pytest.mark.parametrize("name", L.INITIALIZERS.names())
def test_every_initializer_fills_weights_and_biases(name: str) -> None:
    torch.manual_seed(0)
    for shape in ((64, 32), (16, 8, 3, 3)):
        weight = torch.nn.Parameter(torch.full(shape, float("nan")))
        out = L.get_initializer(name)(weight)
        assert out is weight
        assert torch.isfinite(weight).all()
    if name != "orthogonal":
        assert torch.isfinite(L.get_initializer(name)(torch.empty(5))).all()


def test_seed_initializers_are_registered() -> None:
    for name in ("zeros", "uniform", "uniform_scaling", "normal", "truncated_normal", "xavier"):
        assert name in L.INITIALIZERS
    assert "variance_scaling" in L.INITIALIZERS and "orthogonal" in L.INITIALIZERS


def test_scales_follow_tensorflow() -> None:
    torch.manual_seed(0)
    weight = torch.empty(256, 128, 3, 3)  # fan_in = 128 * 9
    fan_in, fan_out = 128 * 9, 256 * 9
    L.get_initializer("uniform_scaling")(weight)
    assert weight.abs().max() <= math.sqrt(3 / fan_in)
    assert weight.abs().max() > 0.95 * math.sqrt(3 / fan_in)
    L.get_initializer("xavier")(weight)
    assert weight.abs().max() <= math.sqrt(6 / (fan_in + fan_out))
    L.get_initializer("truncated_normal", stddev=0.1)(weight)
    assert weight.abs().max() <= 0.2
    L.get_initializer("variance_scaling")(weight)
    stddev = math.sqrt(1.3 * 2 / fan_in)
    assert weight.abs().max() <= 2 * stddev
    # A normal truncated at two standard deviations keeps 0.774 of the variance.
    assert abs(weight.std().item() / (stddev * math.sqrt(0.774)) - 1) < 0.02
    L.get_initializer("orthogonal")(weight)
    flat = weight.reshape(256, -1)
    torch.testing.assert_close(flat @ flat.T, torch.eye(256), atol=1e-4, rtol=0)


def test_numbers_mean_constants_and_kwargs_bind() -> None:
    assert torch.all(L.get_initializer(0.25)(torch.empty(3)) == 0.25)
    assert torch.all(L.get_initializer("constant", value=2.0)(torch.empty(3)) == 2.0)
    fill = lambda t: t.fill_(7.0)  # noqa: E731
    assert L.get_initializer(fill) is fill
    assert L.get_initializer(None) is L.INITIALIZERS.get("xavier")
    with pytest.raises(UnknownNameError, match="Did you mean 'xavier'"):
        L.get_initializer("xavir")
    with pytest.raises(ValueError, match="mode"):
        L.get_initializer("variance_scaling", mode="fan_sideways")(torch.empty(2, 2))
