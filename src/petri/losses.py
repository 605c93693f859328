"""Training losses with polyaxon-lib's names and TensorFlow-1 semantics, on PyTorch.

Every loss is a plain function ``fn(outputs, labels, weights=1.0, **kwargs) -> Tensor`` that
returns a scalar. Reduction follows ``tf.losses.compute_weighted_loss`` (TF 1.x,
``SUM_BY_NONZERO_WEIGHTS``): a scalar ``weights`` scales the mean loss; a tensor ``weights``
(shape ``[N]`` or broadcastable to the per-element losses) gives ``sum(w * loss) / count(w != 0)``.

Regression-style losses never broadcast ``[N, 1]`` against ``[N]`` into ``[N, N]`` (a silent bug in
many hand-written training loops): labels with the same number of elements are reshaped to the
outputs' shape, anything else raises a ValueError naming both shapes.

Example:
    >>> import torch
    >>> loss = get_loss("mean_squared_error")
    >>> float(loss(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0])))
    2.5
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from petri.configs import LossConfig
from petri.errors import did_you_mean
from petri.registry import Registry

__all__ = [
    "LOSSES",
    "absolute_difference",
    "build_loss",
    "clipped_delta_loss",
    "cosine_distance",
    "get_loss",
    "hinge_loss",
    "huber_loss",
    "kullback_leibler_divergence",
    "log_loss",
    "loss_kwargs",
    "mean_squared_error",
    "poisson_loss",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
]

Weights = float | Tensor
LossFn = Callable[..., Tensor]

# polyaxon-lib's `EPSILON` (libs/utils.py), used by its KL-divergence and Poisson losses.
_SEED_EPSILON = 1e-10


# ---------------------------------------------------------------------------------------------
# Shared helpers (kept to attribute compares: they run on every training step)
# ---------------------------------------------------------------------------------------------
def _reduce(losses: Tensor, weights: Weights) -> Tensor:
    """Mean of ``losses`` weighted as TF 1.x ``compute_weighted_loss`` does."""
    if not isinstance(weights, Tensor):
        return losses.mean() if weights == 1.0 else losses.mean() * weights
    w = weights.to(losses.dtype)
    if 0 < w.dim() < losses.dim():  # [N] weights for [N, ...] losses: one weight per example.
        w = w.reshape(w.shape + (1,) * (losses.dim() - w.dim()))
    weighted = losses * w
    present = (w != 0).expand_as(weighted).sum().clamp_min(1)
    return weighted.sum() / present


def _align(outputs: Tensor, labels: Tensor) -> Tensor:
    """Labels reshaped/cast to the outputs' shape and dtype, refusing silent broadcasting."""
    if labels.shape != outputs.shape:
        if labels.numel() != outputs.numel():
            raise ValueError(
                f"The loss expected labels with the outputs' shape {tuple(outputs.shape)} "
                f"(or the same number of elements); received labels of shape "
                f"{tuple(labels.shape)}. Reshape the labels or fix the model's output layer."
            )
        labels = labels.reshape(outputs.shape)
    if labels.dtype != outputs.dtype:
        labels = labels.to(outputs.dtype)
    return labels


# ---------------------------------------------------------------------------------------------
# Classification losses (outputs are logits)
# ---------------------------------------------------------------------------------------------
def softmax_cross_entropy(
    outputs: Tensor, labels: Tensor, weights: Weights = 1.0, label_smoothing: float = 0.0
) -> Tensor:
    """Softmax cross-entropy of logits ``[N, C]`` (or ``[N, ..., C]``) against class labels.

    Labels are class indices ``[N]`` or ``[N, 1]`` (the fast path: no one-hot tensor is built;
    float indices are cast) or one-hot/probability rows ``[N, C]``. ``label_smoothing`` mixes
    the targets with the uniform distribution, ``(1 - s) * y + s / C``, as TF's
    ``softmax_cross_entropy`` and ``F.cross_entropy`` both do.
    """
    if labels.shape != outputs.shape:  # class indices, possibly [N, 1] or stored as floats
        if labels.dim() == outputs.dim():
            labels = labels.squeeze(-1)
        if labels.is_floating_point():
            labels = labels.long()
    elif not labels.is_floating_point():  # one-hot integers
        labels = labels.to(outputs.dtype)
    if outputs.dim() > 2:  # TF's class axis is the last one; torch's is dim 1.
        batch_shape = outputs.shape[:-1]
        outputs = outputs.reshape(-1, outputs.shape[-1])
        labels = labels.reshape(outputs.shape if labels.is_floating_point() else (-1,))
        losses = F.cross_entropy(
            outputs, labels, reduction="none", label_smoothing=label_smoothing
        )
        return _reduce(losses.reshape(batch_shape), weights)
    if isinstance(weights, Tensor):
        losses = F.cross_entropy(
            outputs, labels, reduction="none", label_smoothing=label_smoothing
        )
        return _reduce(losses, weights)
    loss = F.cross_entropy(outputs, labels, label_smoothing=label_smoothing)
    return loss if weights == 1.0 else loss * weights


def sigmoid_cross_entropy(
    outputs: Tensor, labels: Tensor, weights: Weights = 1.0, label_smoothing: float = 0.0
) -> Tensor:
    """Element-wise sigmoid cross-entropy of logits against 0/1 (or soft) targets.

    ``label_smoothing`` moves targets toward 1/2: ``y * (1 - s) + 0.5 * s`` (TF's formula).
    """
    labels = _align(outputs, labels)
    if label_smoothing:
        labels = labels * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if isinstance(weights, Tensor):
        losses = F.binary_cross_entropy_with_logits(outputs, labels, reduction="none")
        return _reduce(losses, weights)
    loss = F.binary_cross_entropy_with_logits(outputs, labels)
    return loss if weights == 1.0 else loss * weights


def hinge_loss(outputs: Tensor, labels: Tensor, weights: Weights = 1.0) -> Tensor:
    """Hinge loss ``max(0, 1 - y * f)`` where 0/1 labels become -1/+1 first, as TF does."""
    labels = _align(outputs, labels)
    return _reduce(torch.relu(1.0 - (2.0 * labels - 1.0) * outputs), weights)


def log_loss(
    outputs: Tensor, labels: Tensor, weights: Weights = 1.0, epsilon: float = 1e-7
) -> Tensor:
    """Binary log loss of probabilities: ``-y log(p + eps) - (1 - y) log(1 - p + eps)``.

    TF adds ``epsilon`` inside the logs; ``F.binary_cross_entropy`` instead clamps the logs at
    -100, so the two differ near 0 and 1. This follows TF.
    """
    labels = _align(outputs, labels)
    losses = -labels * torch.log(outputs + epsilon) - (1.0 - labels) * torch.log(
        1.0 - outputs + epsilon
    )
    return _reduce(losses, weights)


# ---------------------------------------------------------------------------------------------
# Regression losses
# ---------------------------------------------------------------------------------------------
def mean_squared_error(outputs: Tensor, labels: Tensor, weights: Weights = 1.0) -> Tensor:
    """Mean of ``(outputs - labels) ** 2``."""
    labels = _align(outputs, labels)
    if isinstance(weights, Tensor):
        return _reduce(F.mse_loss(outputs, labels, reduction="none"), weights)
    loss = F.mse_loss(outputs, labels)
    return loss if weights == 1.0 else loss * weights


def absolute_difference(outputs: Tensor, labels: Tensor, weights: Weights = 1.0) -> Tensor:
    """Mean of ``|outputs - labels|``."""
    labels = _align(outputs, labels)
    if isinstance(weights, Tensor):
        return _reduce(F.l1_loss(outputs, labels, reduction="none"), weights)
    loss = F.l1_loss(outputs, labels)
    return loss if weights == 1.0 else loss * weights


def huber_loss(
    outputs: Tensor, labels: Tensor, weights: Weights = 1.0, delta: float = 1.0
) -> Tensor:
    """Huber loss: ``x**2 / 2`` for ``|x| <= delta``, else ``delta * (|x| - delta / 2)``.

    This is ``tf.losses.huber_loss`` (delta 1.0), which equals ``F.huber_loss``. polyaxon-lib's own
    version took ``clip`` (default 0: plain squared error) and used ``|x| - 0.5`` past the clip
    for every clip value; config key ``clip`` is read as ``delta``.
    """
    labels = _align(outputs, labels)
    if isinstance(weights, Tensor):
        return _reduce(F.huber_loss(outputs, labels, reduction="none", delta=delta), weights)
    loss = F.huber_loss(outputs, labels, delta=delta)
    return loss if weights == 1.0 else loss * weights


def clipped_delta_loss(
    outputs: Tensor,
    labels: Tensor,
    weights: Weights = 1.0,
    min_delta: float = -1.0,
    max_delta: float = 1.0,
) -> Tensor:
    """DQN's clipped-delta loss: ``clip(outputs - labels, min_delta, max_delta) ** 2``.

    Mnih et al. 2015 clip the TD error to [-1, 1]. Note the squared clipped delta has zero
    gradient outside the clip range (unlike Huber); the seed behaved the same way.
    """
    labels = _align(outputs, labels)
    return _reduce(torch.clamp(outputs - labels, min_delta, max_delta).square(), weights)


def cosine_distance(
    outputs: Tensor, labels: Tensor, weights: Weights = 1.0, dim: int = -1
) -> Tensor:
    """``1 - sum(outputs * labels, dim)``, averaged over the remaining elements.

    As in TF, both inputs must already be unit-normalized along ``dim`` (use
    ``F.normalize``); nothing is normalized here, so unnormalized inputs give distances outside
    [0, 2].
    """
    labels = _align(outputs, labels)
    return _reduce(1.0 - (outputs * labels).sum(dim=dim, keepdim=True), weights)


def kullback_leibler_divergence(
    outputs: Tensor, labels: Tensor, weights: Weights = 1.0, epsilon: float = _SEED_EPSILON
) -> Tensor:
    """``KL(labels || outputs)`` over the last axis; both are probability distributions.

    Both sides are clipped to ``[epsilon, 1]`` first (the seed's guard against log(0)), then the
    per-row divergences are averaged. ``F.kl_div`` expects log-probabilities instead.
    """
    labels = _align(outputs, labels).clamp(epsilon, 1.0)
    outputs = outputs.clamp(epsilon, 1.0)
    return _reduce((labels * torch.log(labels / outputs)).sum(dim=-1), weights)


def poisson_loss(
    outputs: Tensor, labels: Tensor, weights: Weights = 1.0, epsilon: float = _SEED_EPSILON
) -> Tensor:
    """Poisson negative log-likelihood with ``outputs`` as rates: ``mean(p - y * log(p + eps))``.

    This is the seed's (and Keras's ``poisson``) form, with rates, not ``tf.nn.log_poisson_loss``
    with log-rates; the constant ``log(y!)`` term is dropped. For log-rates use
    ``F.poisson_nll_loss(log_input=True)``.
    """
    labels = _align(outputs, labels)
    losses = F.poisson_nll_loss(
        outputs, labels, log_input=False, full=False, eps=epsilon, reduction="none"
    )
    return _reduce(losses, weights)


LOSSES: Registry[LossFn] = Registry(
    "loss",
    {
        "absolute_difference": absolute_difference,
        "clipped_delta_loss": clipped_delta_loss,
        "cosine_distance": cosine_distance,
        "hinge_loss": hinge_loss,
        "huber_loss": huber_loss,
        "kullback_leibler_divergence": kullback_leibler_divergence,
        "log_loss": log_loss,
        "mean_squared_error": mean_squared_error,
        "poisson_loss": poisson_loss,
        "sigmoid_cross_entropy": sigmoid_cross_entropy,
        "softmax_cross_entropy": softmax_cross_entropy,
    },
    home="petri.losses.LOSSES",
)

# polyaxon-lib's config keys that Petri spells differently: loss -> {seed key: Petri key}.
_SEED_KWARGS: dict[LossFn, dict[str, str]] = {
    huber_loss: {"clip": "delta"},
    clipped_delta_loss: {"clip_value_min": "min_delta", "clip_value_max": "max_delta"},
}

# The two positional data arguments of every loss; they are not configuration.
_DATA_ARGS = ("outputs", "labels")


# ---------------------------------------------------------------------------------------------
# Resolution and binding
# ---------------------------------------------------------------------------------------------
def _signature_kwargs(fn: Callable[..., Any]) -> tuple[list[str], bool]:
    """Names ``fn`` accepts besides outputs/labels, and whether it takes ``**kwargs``."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: accept anything
        return [], True
    names: list[str] = []
    var_kw = False
    data_left = len(_DATA_ARGS)  # the first two positional parameters are the data
    for param in params:
        if param.kind is param.VAR_KEYWORD:
            var_kw = True
        elif param.kind is param.VAR_POSITIONAL:
            continue
        elif data_left and param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            data_left -= 1
        elif param.kind is not param.POSITIONAL_ONLY:
            names.append(param.name)
    return names, var_kw


def _describe(identifier: str | LossFn, fn: LossFn) -> str:
    return repr(identifier) if isinstance(identifier, str) else getattr(fn, "__name__", repr(fn))


def loss_kwargs(identifier: str | LossFn) -> list[str]:
    """Keyword arguments the loss accepts besides outputs/labels (config keys, seed keys too).

    Raises:
        UnknownNameError: the name is not registered.
    """
    fn = LOSSES.get(identifier)
    names, _ = _signature_kwargs(fn)
    return names + list(_SEED_KWARGS.get(fn, {}))


def get_loss(identifier: str | LossFn, **kwargs: Any) -> Callable[[Tensor, Tensor], Tensor]:
    """Resolve a loss by name (or take a callable) and bind its keyword arguments.

    Arguments are checked once here, so the per-step call stays a plain function call.

    Args:
        identifier: a registered name (any case, ``_``/``-`` ignored) or a callable
            ``fn(outputs, labels, **kwargs)``.
        **kwargs: the loss's arguments (``weights``, ``label_smoothing``, ``delta``, ...);
            polyaxon-lib's keys (``clip``, ``clip_value_min``, ``clip_value_max``) are accepted.

    Returns:
        ``loss(outputs, labels) -> scalar Tensor``.

    Raises:
        UnknownNameError: the name is not registered (with the closest name).
        TypeError: a keyword argument the loss does not take.
    """
    fn = LOSSES.get(identifier)
    if not callable(fn):
        raise TypeError(
            f"Expected a loss name or a callable fn(outputs, labels), received "
            f"{type(fn).__name__}: {fn!r}."
        )
    if not kwargs:
        return fn
    seed_keys = _SEED_KWARGS.get(fn, {})
    bound: dict[str, Any] = {}
    for key, value in kwargs.items():
        target = seed_keys.get(key, key)
        if target in bound:
            raise TypeError(
                f"Loss {_describe(identifier, fn)} received both {target!r} and its seed alias "
                f"{key!r}; pass only {target!r}."
            )
        bound[target] = value
    accepted, var_kw = _signature_kwargs(fn)
    if not var_kw:
        for key in bound:
            if key not in accepted:
                hint = did_you_mean(key, accepted + list(seed_keys))
                raise TypeError(
                    f"Loss {_describe(identifier, fn)} got an unexpected argument {key!r}.{hint} "
                    f"Accepted arguments: {', '.join(accepted) or 'none'}."
                )
    return functools.partial(fn, **bound)


def build_loss(config: LossConfig | str | LossFn) -> LossFn:
    """The loss a ``LossConfig`` (name plus arguments), a name or a callable selects."""
    if isinstance(config, LossConfig):
        return get_loss(config.identifier, **config.kwargs)
    return get_loss(config)
