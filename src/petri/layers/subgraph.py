"""SubGraph: a list of layers, built from a definition and run in order."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from torch import nn

from petri.errors import did_you_mean
from petri.layers._base import GraphModule, snake_case
from petri.layers.registry import LAYERS

__all__ = ["SubGraph"]


def _split_entry(entry: Any, index: int) -> tuple[Any, Mapping[str, Any]]:
    """An entry is ``(layer, kwargs)``/``[layer, kwargs]``, a bare layer, or a module."""
    if isinstance(entry, (tuple, list)):
        if len(entry) == 2 and isinstance(entry[1], Mapping):
            return entry[0], entry[1]
        if len(entry) == 1:
            return entry[0], {}
    elif isinstance(entry, (str, type, nn.Module)):
        return entry, {}
    raise TypeError(
        f"SubGraph expected definition entry {index} to be a (layer, kwargs) pair, a layer name "
        f"or class, or a module. Received: {entry!r}"
    )


def _check_arguments(cls: type, kwargs: Mapping[str, Any], index: int) -> None:
    """Raise a TypeError naming the layer, the bad argument and the accepted ones."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # drop self
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    accepted = [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    for arg in kwargs:
        if arg not in accepted:
            hint = did_you_mean(arg, accepted)
            raise TypeError(
                f"SubGraph could not build layer {index} ({cls.__name__}): unexpected argument "
                f"{arg!r}.{hint} Accepted arguments: {', '.join(accepted)}."
            )
    missing = [
        p.name
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind is not inspect.Parameter.VAR_POSITIONAL
        and p.name not in kwargs
    ]
    if missing:
        raise TypeError(
            f"SubGraph could not build layer {index} ({cls.__name__}): missing required "
            f"argument(s) {', '.join(map(repr, missing))}. Accepted arguments: "
            f"{', '.join(accepted)}."
        )


def _build(layer: Any, kwargs: Mapping[str, Any], mode: str | None, index: int) -> nn.Module:
    if isinstance(layer, nn.Module):
        if kwargs:
            raise TypeError(
                f"SubGraph expected no kwargs for definition entry {index}, a module that is "
                f"already built. Received: {dict(kwargs)!r}"
            )
        return layer
    if isinstance(layer, str):
        layer = LAYERS.get(layer)
    if not (isinstance(layer, type) and issubclass(layer, nn.Module)):
        raise TypeError(
            f"SubGraph expected definition entry {index} to name a layer in petri.layers.LAYERS "
            f"or be an nn.Module class or instance. Received: {layer!r}"
        )
    _check_arguments(layer, kwargs, index)
    if issubclass(layer, GraphModule) and "mode" not in kwargs:
        kwargs = {"mode": mode, **kwargs}
    return layer(**kwargs)


class SubGraph(GraphModule):
    """Layers built from a definition and applied one after the other.

    Children are named ``<snake_case_class>_<n>``, counted per class from 1, so the
    ``state_dict`` of ``[('Conv2d', ...), ('MaxPool2d', ...), ('Conv2d', ...)]`` reads
    ``conv2d_1.weight``, ``conv2d_2.weight``.

    Args:
        definition: entries ``(layer, kwargs)`` or ``[layer, kwargs]``, where ``layer`` is a
            name in ``petri.layers.LAYERS`` (any case: ``'Conv2d'``, ``'fully_connected'``), a
            layer class, or any ``nn.Module`` class; an entry may also be a bare name or class
            (no kwargs), or an ``nn.Module`` instance used as is.
        mode: a ``ModeKeys`` value passed to every Petri layer. The seed's order,
            ``SubGraph(mode, definition)``, is accepted too.
        name: the subgraph's name in its graph scope.

    Raises:
        UnknownNameError: a layer name is not registered (the message suggests the closest).
        TypeError: an entry is malformed, or its kwargs do not fit the layer.

    Example:
        >>> import torch
        >>> net = SubGraph([("Conv2d", {"num_filter": 4, "filter_size": 3}),
        ...                 ("MaxPool2d", {"kernel_size": 2}),
        ...                 ("FullyConnected", {"num_units": 10})])
        >>> net(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 10])
        >>> list(net.state_dict())[:2]
        ['conv2d_1.weight', 'conv2d_1.bias']
    """

    def __init__(
        self,
        definition: Iterable[Any] | str | None = None,
        mode: str | None = None,
        name: str | None = None,
    ) -> None:
        if isinstance(definition, str) and not isinstance(mode, str) and mode is not None:
            definition, mode = mode, definition  # the seed's SubGraph(mode, definition)
        super().__init__(mode=mode, name=name)
        if definition is None or isinstance(definition, (str, Mapping)):
            raise TypeError(
                "SubGraph expected definition to be a list of (layer, kwargs) entries. "
                f"Received: definition={definition!r}"
            )
        counts: dict[str, int] = {}
        for index, entry in enumerate(definition):
            layer, kwargs = _split_entry(entry, index)
            module = _build(layer, kwargs, self.mode, index)
            base = snake_case(type(module).__name__)
            counts[base] = counts.get(base, 0) + 1
            self.add_module(f"{base}_{counts[base]}", module)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, index: int) -> nn.Module:
        return list(self._modules.values())[index]
