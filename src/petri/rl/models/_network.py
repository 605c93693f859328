"""Networks the RL models are built from: a graph run on states, heads on its features."""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from petri.configs import GraphConfig
from petri.layers import SubGraph, graph_scope
from petri.layers.core import FullyConnected
from petri.modes import ModeKeys

__all__ = ["DuelingHead", "GraphNetwork", "LinearChain", "Sequential", "dueling_aggregate"]

DUELING = ("mean", "max", "naive")


class _GraphContainer(nn.Module):
    """Holds the layers a ``graph_fn`` builds, under their scope names."""


class GraphNetwork(nn.Module):
    """The user's graph run on a batch of states.

    ``graph`` is a ``graph_fn(mode, inputs)`` reading ``inputs['state']`` (its layers are built
    on the first call and reused, as in the seed), an ``nn.Module``, a ``GraphConfig``, or a
    definition list. ``clone()`` builds a second, independent network of the same shape (a
    target network copies weights with ``copy.deepcopy`` instead).
    """

    def __init__(self, graph: Any, mode: str | None = None) -> None:
        super().__init__()
        self.source = graph
        self.mode = mode or ModeKeys.TRAIN
        self.graph_fn: Any = None
        if isinstance(graph, list | tuple):
            graph = GraphConfig(definition=list(graph))
        if isinstance(graph, GraphConfig):
            self.body: nn.Module = SubGraph(graph.definition, name=graph.name)
        elif isinstance(graph, nn.Module):
            self.body = graph
        elif callable(graph):
            self.graph_fn = graph
            self.body = _GraphContainer()
        else:
            raise TypeError(
                "graph_fn must be a callable graph_fn(mode, inputs) reading inputs['state'], an "
                f"nn.Module, a GraphConfig or a definition list; received {type(graph).__name__}."
            )

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        if self.graph_fn is None:
            return self.body(states)
        with graph_scope(self.body):
            return self.graph_fn(self.mode, {"state": states})

    def clone(self) -> GraphNetwork:
        """A new network with the same architecture (fresh weights for builders)."""
        if isinstance(self.source, nn.Module):
            return GraphNetwork(copy.deepcopy(self.source), self.mode)
        return GraphNetwork(self.source, self.mode)


class Sequential(nn.Module):
    """``head(graph(states))``."""

    def __init__(self, graph: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.graph = graph
        self.head = head

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.head(self.graph(states))


def dueling_aggregate(value: torch.Tensor, advantage: torch.Tensor, method: str) -> torch.Tensor:
    """Q from a state value ``[B, 1]`` and advantages ``[B, A]`` (Wang et al. 2016).

    ``mean``: ``V + A - mean(A)``; ``max``: ``V + A - max(A)``; ``naive``: ``V + A``.
    """
    if method == "mean":
        return value + advantage - advantage.mean(dim=1, keepdim=True)
    if method == "max":
        return value + advantage - advantage.amax(dim=1, keepdim=True)
    if method == "naive":
        return value + advantage
    raise ValueError(f"dueling expected one of {DUELING}. Received: dueling={method!r}.")


class DuelingHead(nn.Module):
    """Separate value and advantage streams aggregated into Q-values."""

    def __init__(self, num_actions: int, method: str) -> None:
        super().__init__()
        if method not in DUELING:
            raise ValueError(
                f"dueling expected one of {DUELING} or None. Received: dueling={method!r}."
            )
        self.method = method
        self.value = FullyConnected(num_units=1)
        self.advantage = FullyConnected(num_units=num_actions)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return dueling_aggregate(self.value(features), self.advantage(features), self.method)


class LinearChain:
    """A network that is only ``FullyConnected`` layers in a row, run without module calls.

    Acting runs the Q-network on one state per environment step; through ``nn.Module`` calls
    (the graph, its subgraph, each layer, the head) that cost 117 µs for a [256, 256] MLP, of
    which the arithmetic is under half (torch 2.13 CPU, one thread). This runs the same
    ``F.linear`` and activation calls on the layers' own parameters (so training and
    ``load_state_dict`` are seen at once) under ``torch.inference_mode``. A plain object, not a
    module: it adds nothing to ``state_dict``, and ``copy.deepcopy`` of its owner maps it onto
    the copy's parameters.
    """

    def __init__(self, layers: list[FullyConnected]) -> None:
        self.layers = [(layer.weight, layer.bias, layer.activation_fn) for layer in layers]

    @classmethod
    def of(cls, network: nn.Module) -> LinearChain | None:
        """The chain of ``network``, or None when it holds anything else (or hooks)."""
        layers = _fully_connected_layers(network)
        return cls(layers) if layers else None

    def __call__(self, states: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            x = states.flatten(1) if states.dim() > 2 else states
            for weight, bias, activation in self.layers:
                x = activation(F.linear(x, weight, bias))
            return x


def _fully_connected_layers(module: nn.Module) -> list[FullyConnected] | None:
    """The FullyConnected layers ``module`` applies one after another, or None."""
    if module._forward_hooks or module._forward_pre_hooks:
        return None
    if isinstance(module, Sequential):
        parts = [module.graph, module.head]
    elif isinstance(module, GraphNetwork) and module.graph_fn is None:
        parts = [module.body]
    elif type(module) is SubGraph:
        parts = list(module.children())
    elif type(module) is FullyConnected and not isinstance(module.activation_fn, nn.Module):
        return [module]
    else:
        return None
    layers: list[FullyConnected] = []
    for part in parts:
        found = _fully_connected_layers(part)
        if found is None:
            return None
        layers += found
    return layers
