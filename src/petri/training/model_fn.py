"""Calling a seed-style ``model_fn`` with the arguments its signature asks for."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from petri.layers import graph_scope

__all__ = ["ModelFnModule", "check_model_fn"]

_POSITIONAL = ("features", "labels", "mode")
_OPTIONAL = ("params", "config", "model_dir")


def check_model_fn(model_fn: Callable[..., Any], params: dict[str, Any] | None) -> list[str]:
    """Which optional arguments ``model_fn`` takes; ValueError when it cannot take ``params``.

    Supported signatures: ``(features, labels, mode)`` plus, in order, ``params``, ``config``
    and ``model_dir``.
    """
    if not callable(model_fn):
        raise TypeError(f"model_fn must be callable; received {type(model_fn).__name__}.")
    try:
        signature = inspect.signature(model_fn)
    except (TypeError, ValueError) as error:
        raise ValueError(f"Cannot read the signature of model_fn {model_fn!r}: {error}") from None
    names = [
        p.name
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    missing = [name for name in ("features", "labels") if name not in names]
    if missing:
        raise ValueError(
            f"model_fn {getattr(model_fn, '__name__', model_fn)!r} must take "
            f"(features, labels, mode[, params[, config[, model_dir]]]); it lacks {missing}. "
            f"Its parameters are {names}."
        )
    unknown = [n for n in names if n not in _POSITIONAL + _OPTIONAL]
    required_unknown = [
        n for n in unknown if signature.parameters[n].default is inspect.Parameter.empty
    ]
    if required_unknown:
        raise ValueError(
            f"model_fn has parameters {required_unknown} that the Estimator cannot fill; "
            f"accepted names are {list(_POSITIONAL + _OPTIONAL)}."
        )
    if params and "params" not in names:
        raise ValueError(
            f"Estimator was given params={sorted(params)!r} but model_fn "
            f"{getattr(model_fn, '__name__', model_fn)!r} has no `params` argument; add one or "
            "drop params."
        )
    return [n for n in _POSITIONAL + _OPTIONAL if n in names]


class ModelFnModule(nn.Module):
    """Owns every module a ``model_fn`` builds; each call runs inside a fresh graph scope.

    Modules are stored under their scope paths (``lenet/conv2d_1``), so variable names are
    stable across calls and processes.
    """

    def __init__(
        self,
        model_fn: Callable[..., Any],
        params: dict[str, Any] | None,
        config: Any,
        model_dir: str,
    ) -> None:
        super().__init__()
        self._model_fn = model_fn
        self._arguments = check_model_fn(model_fn, params)
        self._fixed = {"params": params or {}, "config": config, "model_dir": model_dir}

    def forward(self, features: Any, labels: Any, mode: str) -> Any:
        call = {"features": features, "labels": labels, "mode": mode, **self._fixed}
        with graph_scope(self):
            return self._model_fn(**{name: call[name] for name in self._arguments})
