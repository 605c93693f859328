"""FTRL-Proximal, the optimizer TensorFlow ships as ``tf.train.FtrlOptimizer`` and torch lacks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

__all__ = ["Ftrl"]


class Ftrl(Optimizer):
    """Follow-the-regularized-leader with per-coordinate rates (McMahan et al., KDD 2013).

    The update is TF's ``ApplyFtrl`` kernel, so models ported from polyaxon-lib train the same
    way. With ``p = -learning_rate_power`` and accumulator ``n``::

        n_new  = n + g**2
        z     += g - (n_new**p - n**p) / lr * w
        w      = (sign(z) * l1 - z) / (n_new**p / lr + 2 * l2)   if |z| > l1 else 0

    ``learning_rate_power=-0.5`` gives Adagrad-like rates and ``0`` plain gradient descent; a
    positive ``l1_regularization_strength`` sets small weights exactly to zero (sparsity).

    Args:
        params: parameters or parameter groups.
        lr: base learning rate (polyaxon-lib's ftrl defaulted to 3.0).
        learning_rate_power: must be <= 0.
        initial_accumulator_value: starting value of ``n``, >= 0.
        l1_regularization_strength: >= 0.
        l2_regularization_strength: >= 0.

    Example:
        >>> w = torch.nn.Parameter(torch.tensor([2.0]))
        >>> opt = Ftrl([w], lr=0.5)
        >>> for _ in range(200):
        ...     opt.zero_grad()
        ...     (w - 1.0).square().sum().backward()
        ...     _ = opt.step()
        >>> round(w.item(), 3)
        1.0
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 0.001,
        learning_rate_power: float = -0.5,
        initial_accumulator_value: float = 0.1,
        l1_regularization_strength: float = 0.0,
        l2_regularization_strength: float = 0.0,
    ) -> None:
        checks = {
            "lr": (lr, lr > 0, "> 0"),
            "learning_rate_power": (learning_rate_power, learning_rate_power <= 0, "<= 0"),
            "initial_accumulator_value": (
                initial_accumulator_value,
                initial_accumulator_value >= 0,
                ">= 0",
            ),
            "l1_regularization_strength": (
                l1_regularization_strength,
                l1_regularization_strength >= 0,
                ">= 0",
            ),
            "l2_regularization_strength": (
                l2_regularization_strength,
                l2_regularization_strength >= 0,
                ">= 0",
            ),
        }
        for name, (value, ok, expected) in checks.items():
            if not ok:
                raise ValueError(f"Ftrl expected {name} {expected}. Received: {name}={value!r}.")
        defaults = {
            "lr": lr,
            "learning_rate_power": learning_rate_power,
            "initial_accumulator_value": initial_accumulator_value,
            "l1_regularization_strength": l1_regularization_strength,
            "l2_regularization_strength": l2_regularization_strength,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Apply one FTRL-Proximal update to every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr = group["lr"]
            power = -group["learning_rate_power"]
            l1 = group["l1_regularization_strength"]
            l2 = group["l2_regularization_strength"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad
                if grad.is_sparse:
                    raise RuntimeError(
                        "Ftrl does not support sparse gradients; build the embedding with "
                        "sparse=False."
                    )
                state = self.state[param]
                if not state:
                    initial = group["initial_accumulator_value"]
                    state["accumulator"] = torch.full_like(param, initial)
                    state["linear"] = torch.zeros_like(param)
                accum, linear = state["accumulator"], state["linear"]
                new_accum = accum + grad * grad
                new_root = new_accum.sqrt() if power == 0.5 else new_accum.pow(power)
                old_root = accum.sqrt() if power == 0.5 else accum.pow(power)
                linear.add_(grad - (new_root - old_root) / lr * param)
                quadratic = new_root / lr + 2.0 * l2
                shrunk = torch.sign(linear) * l1 - linear
                param.copy_(torch.where(linear.abs() > l1, shrunk / quadratic, 0.0))
                accum.copy_(new_accum)
        return loss
