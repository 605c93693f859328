"""Base classes of the layers: the seed's ``trainable``/``restore``/``regularizer`` arguments.

``Layer`` adds them to ``GraphModule``; ``LazyLayer`` also infers weight shapes from the first
input with PyTorch's ``LazyModuleMixin``, so no layer asks for input sizes. Weights are
registered on the layer itself (``state_dict`` keys ``weight``, ``bias``), and a ``state_dict``
loads into a layer that has not run yet: loading gives the uninitialized weights their shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import UninitializedParameter, is_lazy

from petri.layers._base import GraphModule
from petri.layers.initializers import get_initializer
from petri.layers.regularizers import get_regularizer

__all__ = ["LazyLayer", "Layer", "materialize"]


def materialize(
    param: nn.Parameter, shape: tuple[int, ...], init: Callable[[torch.Tensor], Any]
) -> None:
    """Give a still-lazy ``param`` its ``shape`` and initial values.

    A parameter a ``state_dict`` has already loaded is left alone, as ``LazyLayer`` requires.
    """
    if is_lazy(param):
        with torch.no_grad():
            param.materialize(shape)
            init(param)


class Layer(GraphModule):
    """A ``GraphModule`` with the seed's weight options.

    Args:
        mode: a ``ModeKeys`` value, or None.
        name: the layer's name in its graph scope.
        trainable: False freezes the layer's parameters (``requires_grad=False``).
        restore: False keeps the layer's own parameters and buffers out of
            ``load_state_dict``, as the seed kept them out of checkpoint restores (fine-tuning).
        regularizer: a regularizer name, class or callable, or None.
        scale: the regularizer's scale.

    Subclasses list the parameters to regularize in ``self._regularized``.
    """

    def __init__(
        self,
        mode: str | None = None,
        name: str | None = None,
        *,
        trainable: bool = True,
        restore: bool = True,
        regularizer: Any = None,
        scale: float = 0.001,
    ) -> None:
        super().__init__(mode=mode, name=name)
        self.trainable = bool(trainable)
        self.restore = bool(restore)
        self._regularizer = get_regularizer(regularizer, scale)
        self._regularized: tuple[str, ...] = ()

    def _new_parameter(self, *shape: int) -> nn.Parameter:
        """A parameter of ``shape``, or an uninitialized one (shape set on the first call)."""
        if not shape:
            return UninitializedParameter(requires_grad=self.trainable)
        return nn.Parameter(torch.empty(shape), requires_grad=self.trainable)

    def regularization_terms(self) -> Iterator[tuple[torch.Tensor, Callable[[torch.Tensor], Any]]]:
        """(weight, regularizer) for each built weight listed in ``_regularized``."""
        if self._regularizer is None:
            return
        for name in self._regularized:
            param = self._parameters.get(name)
            if param is not None and not is_lazy(param):
                yield param, self._regularizer

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any) -> None:
        if self.restore:
            super()._load_from_state_dict(state_dict, prefix, *args)


class LazyLayer(LazyModuleMixin, Layer):
    """A :class:`Layer` whose weight shapes come from its first input.

    Subclasses create ``UninitializedParameter``s in ``__init__`` (``self._new_parameter()``) and
    implement ``initialize_parameters(input)``, which runs once, before the first forward. It
    must materialize and initialize only parameters that are still lazy (a ``state_dict`` may
    have loaded them) and set any non-parameter state every time. ``_add_weight_and_bias`` and
    :func:`materialize` do this for the usual weight-plus-bias layer.
    """

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:  # pragma: no cover
        raise NotImplementedError

    def _add_weight_and_bias(
        self, weights_init: Any, bias: bool, bias_init: Any, bias_size: int
    ) -> None:
        """Add a lazy, regularized ``weight`` and, if ``bias``, a ``bias`` of ``bias_size``.

        The bias is initialized now, since its size is known; the weight keeps its initializer
        in ``_weights_init`` until ``initialize_parameters`` knows its shape.
        """
        self._weights_init = get_initializer(weights_init)
        self.weight = self._new_parameter()
        if bias:
            self.bias = self._new_parameter(bias_size)
            get_initializer(bias_init, default="zeros")(self.bias)
        else:
            self.register_parameter("bias", None)
        self._regularized = ("weight",)

    def _build_on(self, *args: Any) -> None:
        """Finish the lazy build on ``args`` for callers that bypass ``__call__``."""
        if "_initialize_hook" in self.__dict__:
            self._infer_parameters(self, args, {})
