"""Contract checks run on every layer in ``petri.layers.LAYERS``."""

from __future__ import annotations

import copy
import io

import pytest
import torch
from torch import nn
from torch.nn.parameter import is_lazy

import petri.layers as L
from petri.layers._base import snake_case
from petri.modes import ModeKeys

from ._cases import CASES

NAMES = L.LAYERS.names()


def _lazy_tensors(module: nn.Module) -> list[str]:
    return [name for name, t in module.state_dict(keep_vars=True).items() if is_lazy(t)]


def _forward(module: nn.Module, inputs: object) -> torch.Tensor:
    with torch.no_grad():
        return module(inputs)


def test_every_registered_layer_has_a_case() -> None:
    assert sorted(CASES) == NAMES


def test_every_layer_is_exported_under_its_registered_name() -> None:
    for name in NAMES:
        assert getattr(L, name) is L.LAYERS.get(name)
        assert name in L.__all__


@pytest.mark.parametrize("name", NAMES)
def test_registry_resolves_class_and_snake_case_names(name: str) -> None:
    cls = L.LAYERS.get(name)
    assert L.LAYERS.get(snake_case(name)) is cls
    assert L.LAYERS.get(name.upper()) is cls
    assert issubclass(cls, L.GraphModule)


@pytest.mark.parametrize("name", NAMES)
def test_builds_lazily_and_gives_the_documented_shape(name: str) -> None:
    case = CASES[name]
    layer = case.build()
    out = _forward(layer, case.make_input())
    assert tuple(out.shape) == case.output_shape
    assert _lazy_tensors(layer) == []
    assert torch.isfinite(out.float()).all()


@pytest.mark.parametrize("name", NAMES)
def test_accepts_mode_first(name: str) -> None:
    case = CASES[name]
    layer = case.build(ModeKeys.TRAIN)
    assert layer.mode == ModeKeys.TRAIN
    assert tuple(_forward(layer, case.make_input()).shape) == case.output_shape


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_loads_into_a_fresh_unbuilt_layer(name: str) -> None:
    torch.manual_seed(0)
    case = CASES[name]
    source = case.build()
    inputs = case.make_input()
    source.train()
    _forward(source, inputs)  # builds, and moves batch-norm statistics away from their start
    state = source.state_dict()

    target = case.build()
    target.load_state_dict(state)
    source.eval()
    target.eval()
    assert list(target.state_dict()) == list(state)
    torch.testing.assert_close(_forward(target, inputs), _forward(source, inputs))
    for key, value in target.state_dict().items():
        torch.testing.assert_close(value, state[key])


@pytest.mark.parametrize("name", NAMES)
def test_built_layer_survives_deepcopy_and_pickling(name: str) -> None:
    case = CASES[name]
    layer = case.build().eval()
    inputs = case.make_input()
    expected = _forward(layer, inputs)
    buffer = io.BytesIO()
    torch.save(layer, buffer)
    buffer.seek(0)
    for clone in (copy.deepcopy(layer), torch.load(buffer, weights_only=False)):
        torch.testing.assert_close(_forward(clone, inputs), expected)


@pytest.mark.parametrize("name", NAMES)
def test_is_shared_across_graph_scopes(name: str) -> None:
    case = CASES[name]
    container = nn.Module()
    built = []
    for _ in range(2):
        with L.graph_scope(container):
            layer = case.build()
            built.append(layer)
            _forward(layer, case.make_input())
    assert built[0] is built[1]
    assert container._modules[f"{snake_case(name)}_1"] is built[0]


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_parameter_and_the_input(name: str) -> None:
    case = CASES[name]
    layer = case.build().train()
    inputs = case.make_input()
    if inputs.is_floating_point():
        inputs.requires_grad_(True)
    layer(inputs).square().sum().backward()
    for param_name, param in layer.named_parameters():
        assert param.grad is not None, param_name
    if inputs.is_floating_point():
        assert inputs.grad is not None
