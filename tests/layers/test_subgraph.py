"""SubGraph definitions, child names, errors, and graph-scope sharing."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import petri.layers as L
from petri.errors import UnknownNameError
from petri.modes import ModeKeys

LENET_LIKE = [
    ("Conv2d", {"num_filter": 4, "filter_size": 3}),
    ["max_pool2d", {"kernel_size": 2}],
    (L.Conv2d, {"num_filter": 8, "filter_size": 3, "regularizer": "l2_regularizer"}),
    (L.MaxPool2d, {"kernel_size": 2}),
    ("fully_connected", {"n_units": 16, "activation": "tanh"}),
    ("FULLYCONNECTED", {"num_units": 10}),
]


def test_children_are_named_per_class_and_run_in_order() -> None:
    net = L.SubGraph(LENET_LIKE)
    assert list(net._modules) == [
        "conv2d_1",
        "max_pool2d_1",
        "conv2d_2",
        "max_pool2d_2",
        "fully_connected_1",
        "fully_connected_2",
    ]
    assert net(torch.randn(3, 1, 8, 8)).shape == (3, 10)
    assert list(net.state_dict())[:4] == [
        "conv2d_1.weight",
        "conv2d_1.bias",
        "conv2d_2.weight",
        "conv2d_2.bias",
    ]
    assert len(net) == 6 and isinstance(net[2], L.Conv2d)


def test_plain_modules_bare_names_and_instances_are_accepted() -> None:
    net = L.SubGraph([nn.Flatten, (nn.Linear, {"in_features": 4, "out_features": 2}), "Flatten"])
    assert list(net._modules) == ["flatten_1", "linear_1", "flatten_2"]
    relu = nn.ReLU()
    assert L.SubGraph([relu]).re_lu_1 is relu
    assert net(torch.randn(5, 2, 2)).shape == (5, 2)


def test_mode_reaches_the_children_and_the_seed_order_works() -> None:
    net = L.SubGraph(LENET_LIKE, mode=ModeKeys.EVAL)
    assert all(child.mode == ModeKeys.EVAL for child in net.children())
    seed_order = L.SubGraph(ModeKeys.TRAIN, LENET_LIKE)
    assert seed_order.mode == ModeKeys.TRAIN
    assert len(seed_order) == len(LENET_LIKE)


def test_nested_subgraphs_by_name() -> None:
    inner = [("Conv2d", {"num_filter": 2, "filter_size": 3}), ("Flatten", {})]
    net = L.SubGraph([("SubGraph", {"definition": inner}), ("FullyConnected", {"num_units": 3})])
    assert net(torch.randn(1, 1, 4, 4)).shape == (1, 3)
    assert "sub_graph_1.conv2d_1.weight" in net.state_dict()


def test_unknown_layer_names_suggest_the_closest() -> None:
    with pytest.raises(
        UnknownNameError, match=r"Unknown layer 'Conv2dd'. Did you mean 'Conv2d'\?"
    ):
        L.SubGraph([("Conv2dd", {"num_filter": 2, "filter_size": 3})])
    with pytest.raises(UnknownNameError, match=r"petri.layers.LAYERS.add"):
        L.SubGraph([("NoSuchLayer", {})])


def test_bad_kwargs_name_the_layer_the_argument_and_the_closest() -> None:
    pattern = (
        r"layer 1 \(Conv2d\): unexpected argument 'num_filters'\. Did you mean 'num_filter'\? "
        r"Accepted arguments: mode, num_filter, filter_size"
    )
    with pytest.raises(TypeError, match=pattern):
        L.SubGraph([("Flatten", {}), ("Conv2d", {"num_filters": 2, "filter_size": 3})])
    with pytest.raises(TypeError, match=r"\(Module\): missing required argument\(s\) 'module'"):
        L.SubGraph([(L.Module, {})])
    with pytest.raises(TypeError, match="definition entry 0"):
        L.SubGraph([("Conv2d", 3, 4)])
    with pytest.raises(TypeError, match="list of"):
        L.SubGraph("Conv2d")


def _graph_fn(x: torch.Tensor) -> tuple[L.FullyConnected, torch.Tensor]:
    layer = L.FullyConnected(num_units=4)
    return layer, layer(x)


def test_graph_scope_shares_a_layer_across_calls() -> None:
    container = nn.Module()
    x = torch.randn(2, 3)
    with L.graph_scope(container):
        first, out_first = _graph_fn(x)
    with L.graph_scope(container):
        second, out_second = _graph_fn(x)
    assert first is second
    torch.testing.assert_close(out_first, out_second)
    assert list(container.state_dict()) == ["fully_connected_1.weight", "fully_connected_1.bias"]


def test_subgraph_inside_and_outside_a_graph_scope() -> None:
    x = torch.randn(2, 1, 8, 8)
    outside = L.SubGraph(LENET_LIKE)
    assert outside(x).shape == (2, 10)

    container = nn.Module()
    built = []
    for _ in range(2):
        with L.graph_scope(container), L.name_scope("lenet"):
            net = L.SubGraph(LENET_LIKE)
            built.append(net)
            net(x)
    assert built[0] is built[1]
    assert list(container._modules) == ["lenet/sub_graph_1"]  # children belong to the subgraph
    assert "lenet/sub_graph_1.conv2d_2.weight" in container.state_dict()

    fresh = nn.Module()
    with L.graph_scope(fresh), L.name_scope("lenet"):
        L.SubGraph(LENET_LIKE)
    fresh.load_state_dict(container.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(fresh._modules["lenet/sub_graph_1"](x), built[0](x))
