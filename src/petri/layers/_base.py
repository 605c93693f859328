"""``GraphModule``: a module whose variables are shared across calls, as in the seed library.

Inside an active graph scope (the Estimator opens one around every ``model_fn`` call), building a
``GraphModule`` that was already built on an earlier call returns that same module, found by its
stable name (``lenet/conv2d_1``). A ``model_fn`` that writes
``FullyConnected(mode, num_units=512)`` therefore creates its weights once and reuses them on
every later step, exactly the variable sharing of the seed's TensorFlow graph modules. Outside a
scope a ``GraphModule`` is an ordinary ``nn.Module``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch
from torch import nn

from petri.modes import ModeKeys

__all__ = [
    "GraphModule",
    "GraphScope",
    "Module",
    "current_scope",
    "graph_scope",
    "name_scope",
    "regularization_loss",
    "snake_case",
]

_ACTIVE_SCOPE: ContextVar[GraphScope | None] = ContextVar("petri_graph_scope", default=None)


def snake_case(name: str) -> str:
    """``MaxPool2d`` -> ``max_pool2d``, ``FullyConnected`` -> ``fully_connected``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class GraphScope:
    """Where modules built during one call are stored and found again on the next call.

    Args:
        container: the module that owns what is built in the scope (added with ``add_module``
            under the full path name, so ``state_dict`` keys read ``lenet/conv2d_1.weight``).
    """

    def __init__(self, container: nn.Module) -> None:
        self.container = container
        self._prefixes: list[str] = []
        self._counters: dict[str, int] = {}

    def key_for(self, base_name: str, explicit_name: str | None) -> str:
        """The stable path of the next module named ``base_name`` (or ``explicit_name``)."""
        prefix = "/".join(self._prefixes)
        if explicit_name:
            leaf = explicit_name
        else:
            counter_key = f"{prefix}/{base_name}"
            count = self._counters.get(counter_key, 0) + 1
            self._counters[counter_key] = count
            leaf = f"{base_name}_{count}"
        return f"{prefix}/{leaf}" if prefix else leaf

    def lookup(self, key: str) -> nn.Module | None:
        return self.container._modules.get(key)

    def store(self, key: str, module: nn.Module) -> None:
        self.container.add_module(key, module)

    @contextmanager
    def prefixed(self, name: str) -> Iterator[None]:
        self._prefixes.append(name)
        try:
            yield
        finally:
            self._prefixes.pop()


def current_scope() -> GraphScope | None:
    """The graph scope active in this context, or None."""
    return _ACTIVE_SCOPE.get()


@contextmanager
def graph_scope(container: nn.Module) -> Iterator[GraphScope]:
    """Open a fresh scope whose modules live in ``container``; counters restart at every entry."""
    scope = GraphScope(container)
    token = _ACTIVE_SCOPE.set(scope)
    try:
        yield scope
    finally:
        _ACTIVE_SCOPE.reset(token)


@contextmanager
def name_scope(name: str) -> Iterator[None]:
    """Prefix the names of modules built inside with ``name/`` (no-op without a scope)."""
    scope = _ACTIVE_SCOPE.get()
    if scope is None:
        yield
        return
    with scope.prefixed(name):
        yield


class _SharedInScope(type):
    """Metaclass: inside a graph scope, constructing a module returns the one built before."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        scope = _ACTIVE_SCOPE.get()
        if scope is None:
            return super().__call__(*args, **kwargs)
        key = scope.key_for(cls.default_name(), kwargs.get("name"))  # type: ignore[attr-defined]
        existing = scope.lookup(key)
        if existing is not None:
            if type(existing) is not cls:
                raise TypeError(
                    f"Graph scope name {key!r} already holds a {type(existing).__name__}; "
                    f"cannot reuse it as a {cls.__name__}. Give the module a distinct name=."
                )
            mode = kwargs.get("mode", args[0] if args and isinstance(args[0], str) else None)
            if mode is not None:
                existing.mode = mode
            return existing
        token = _ACTIVE_SCOPE.set(None)  # children built in __init__ belong to the module
        try:
            module = super().__call__(*args, **kwargs)
        finally:
            _ACTIVE_SCOPE.reset(token)
        scope.store(key, module)
        return module


class GraphModule(nn.Module, metaclass=_SharedInScope):
    """Base class of Petri's layers and models.

    Args:
        mode: a ``ModeKeys`` value, accepted first as in the seed (``FullyConnected(mode, ...)``).
            Behaviour follows ``self.training``, which the Estimator sets from the mode.
        name: the module's name in its scope; defaults to the snake-cased class name.

    Subclasses that carry weight regularizers override :meth:`regularization_terms`.
    """

    def __init__(self, mode: str | None = None, name: str | None = None) -> None:
        super().__init__()
        self.mode = ModeKeys.check(mode)
        self.name = name or self.default_name()

    @classmethod
    def default_name(cls) -> str:
        return snake_case(cls.__name__)

    def regularization_terms(self) -> Iterator[tuple[torch.Tensor, Callable[[torch.Tensor], Any]]]:
        """Pairs of (parameter, regularizer) whose penalties are added to the training loss."""
        return iter(())


class Module(GraphModule):
    """Wrap any ``nn.Module`` (or a zero-argument factory of one) as a shareable graph module.

    ``petri.layers.Module(nn.GRU(8, 16))`` inside a ``model_fn`` is built once and reused.
    """

    def __init__(
        self,
        module: nn.Module | Callable[[], nn.Module],
        mode: str | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(mode=mode, name=name)
        self.module = module if isinstance(module, nn.Module) else module()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)


def regularization_loss(module: nn.Module) -> torch.Tensor | None:
    """Sum of every regularization penalty in ``module``'s tree, or None when there are none."""
    total: torch.Tensor | None = None
    for sub in module.modules():
        if isinstance(sub, GraphModule):
            for param, regularizer in sub.regularization_terms():
                penalty = regularizer(param)
                total = penalty if total is None else total + penalty
    return total
