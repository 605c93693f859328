"""One gradient step (zero, backward, clip, optimizer, schedule) without torch.optim's overhead.

For the small networks of reinforcement learning, torch.optim's per-call Python work costs as
much as the arithmetic. Measured on torch 2.13 CPU, one thread, for DQN's [256, 256] Q-network
(67,000 parameters; ``bench/rl_dqn.py``), microseconds per call::

    clip_grad_norm_(foreach)   160     clip_gradients (below)          33
    Adam(fused=True).step()    208     GradientStep's direct kernel   122

The arithmetic is torch's own: the same fused kernels, called with the same arguments; only the
bookkeeping around them (hooks, profiler ranges, per-call regrouping of tensors by device and
dtype) is skipped when it cannot matter, and anything unusual falls back to torch's path. The
kernels are private torch APIs, so they are called only on the torch versions in
:data:`TESTED_TORCH`; on others GradientStep is ``optimizer.step()`` and ``clip_grad_norm_``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.optim import optimizer as optim_module

__all__ = ["PRIVATE_TORCH_PATHS", "TESTED_TORCH", "GradientStep", "clip_gradients"]

TESTED_TORCH = ((2, 13), (2, 13))
"""torch versions (major, minor), first and last, on which calling ``torch._fused_adam_`` /
``torch._fused_adamw_`` and ``torch._foreach_norm`` directly was checked to give parameters
bit-identical to ``optimizer.step()`` and ``clip_grad_norm_`` (``tests/test_gradient_step.py``,
run in CI on the installed torch). Widen it after running those tests on another version."""


def _torch_minor(version: str) -> tuple[int, int]:
    major, minor = version.split("+")[0].split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


PRIVATE_TORCH_PATHS = TESTED_TORCH[0] <= _torch_minor(torch.__version__) <= TESTED_TORCH[1]
"""Whether the installed torch is in :data:`TESTED_TORCH`; otherwise only torch's public
``optimizer.step()`` and ``clip_grad_norm_`` run (same results, more per-call overhead)."""


def clip_gradients(parameters: Iterable[Tensor] | Tensor, max_norm: float | None) -> Tensor | None:
    """Rescale gradients so their global L2 norm is at most ``max_norm`` (TF clip_by_global_norm).

    Same result as ``torch.nn.utils.clip_grad_norm_``. On CPU the norm is read back as a number,
    which costs nothing there, so the rescale runs only when the norm exceeds ``max_norm``
    (torch multiplies every gradient by a clamped factor every call).

    Returns:
        The total gradient norm before clipping, or None when ``max_norm`` is None or <= 0
        (clipping disabled).
    """
    if not max_norm or max_norm <= 0:
        return None
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    first = grads[0]
    if not PRIVATE_TORCH_PATHS or not all(
        g.device.type == "cpu" and not g.is_sparse and g.dtype == first.dtype for g in grads
    ):
        return torch.nn.utils.clip_grad_norm_(grads, max_norm)
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    norm = float(total)
    if not norm <= max_norm:  # also NaN: torch multiplies by a NaN factor too
        torch._foreach_mul_(grads, max_norm / (norm + 1e-6))
    return total


class GradientStep:
    """``loss -> zero_grad, backward, clip, optimizer.step, scheduler.step`` in one call.

    Args:
        optimizer: the optimizer (any ``torch.optim.Optimizer``).
        scheduler: a learning-rate scheduler stepped after every update, or None.
        clip_parameters: the parameters whose global gradient norm ``clip_norm`` bounds.
        clip_norm: the bound, or None for no clipping.
        separately_clipped: tensors clipped each on its own to ``separate_norm`` after the
            global clip (``clip_embed_gradients``: one per embedding table).
        separate_norm: that bound.
        accumulate: calls whose gradients add up to one update (``accumulate_grad_batches``);
            each loss is divided by it, so the update is that of the mean loss.
        scaler: a ``torch.amp.GradScaler`` (float16 training): losses are scaled before the
            backward pass, gradients unscaled before clipping, and a step with infinite
            gradients is skipped.

    Fused ``Adam``/``AdamW`` with one parameter group on CPU (Petri's default optimizer) runs
    torch's fused kernel directly; every other optimizer, or an Adam with hooks, runs
    ``optimizer.step()``. The first update always runs ``optimizer.step()`` so torch creates
    the optimizer state; a ``load_state_dict`` (which replaces that state) is noticed.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        scheduler: Any = None,
        clip_parameters: Sequence[Tensor] = (),
        clip_norm: float | None = None,
        separately_clipped: Sequence[Tensor] = (),
        separate_norm: float | None = None,
        accumulate: int = 1,
        scaler: Any = None,
    ) -> None:
        if accumulate < 1:
            raise ValueError(f"GradientStep expected accumulate >= 1; received {accumulate}.")
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.clip_parameters = list(clip_parameters)
        self.clip_norm = clip_norm
        self.separately_clipped = list(separately_clipped)
        self.separate_norm = separate_norm
        self.accumulate = accumulate
        self.scaler = scaler
        self.pending = 0
        """Backward passes since the last update."""
        self._plan: _FusedAdamPlan | None = None

    @property
    def updates_next(self) -> bool:
        """Whether the next call ends with an update (DDP syncs gradients only then)."""
        return self.pending + 1 >= self.accumulate

    def __call__(self, loss: Tensor) -> None:
        if not self.pending:
            self._zero_gradients()
        if self.accumulate > 1:
            loss = loss / self.accumulate
        if self.scaler is not None:
            loss = self.scaler.scale(loss)
        if torch.is_autocast_enabled(loss.device.type):  # a model's own step runs in autocast
            with torch.autocast(loss.device.type, enabled=False):
                loss.backward()
        else:
            loss.backward()
        self.pending += 1
        if self.pending >= self.accumulate:
            self._update()

    def flush(self) -> bool:
        """Apply the gradients of an unfinished accumulation (the input ended); False when
        there were none."""
        if not self.pending:
            return False
        self._update()
        return True

    def discard(self) -> int:
        """Drop the gradients of an unfinished accumulation (training stopped mid-way and will
        see those batches again); returns how many backward passes were dropped."""
        dropped, self.pending = self.pending, 0
        if dropped:
            self._zero_gradients()
        return dropped

    def _zero_gradients(self) -> None:
        plan = self._current_plan()
        if plan is None:
            self.optimizer.zero_grad(set_to_none=True)
        else:
            for param in plan.params:
                param.grad = None

    def _update(self) -> None:
        self.pending = 0
        scaler = self.scaler
        if scaler is not None and (self.clip_norm or self.separately_clipped):
            scaler.unscale_(self.optimizer)
        if self.clip_norm:
            clip_gradients(self.clip_parameters, self.clip_norm)
        for tensor in self.separately_clipped:
            clip_gradients(tensor, self.separate_norm)
        if scaler is not None:
            scaler.step(self.optimizer)
            scaler.update()
        elif self._plan is None or not self._plan.step():
            self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()

    def _current_plan(self) -> _FusedAdamPlan | None:
        if self.scaler is not None:
            return None  # the scaler's step unscales and skips infinite steps itself
        plan = self._plan
        if plan is not None and plan.is_current(self.optimizer):
            return plan
        self._plan = _FusedAdamPlan.build(self.optimizer)
        return self._plan


class _FusedAdamPlan:
    """The argument lists of torch's fused Adam kernel, gathered once.

    Valid while the optimizer keeps the same state and parameter group objects (its
    ``load_state_dict`` replaces both) and has no step hooks.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, group: dict[str, Any]) -> None:
        self.state, self.group = optimizer.state, group
        self.params: list[Tensor] = list(group["params"])
        states = [optimizer.state[p] for p in self.params]
        self.exp_avgs = [s["exp_avg"] for s in states]
        self.exp_avg_sqs = [s["exp_avg_sq"] for s in states]
        self.max_exp_avg_sqs = [s["max_exp_avg_sq"] for s in states] if group["amsgrad"] else []
        self.steps = [s["step"] for s in states]
        decoupled = isinstance(optimizer, torch.optim.AdamW) or group.get("decoupled_weight_decay")
        self.kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_

    @classmethod
    def build(cls, optimizer: torch.optim.Optimizer) -> _FusedAdamPlan | None:
        """A plan when the direct kernel computes exactly what ``optimizer.step()`` would."""
        if not PRIVATE_TORCH_PATHS or type(optimizer) not in (torch.optim.Adam, torch.optim.AdamW):
            return None
        if len(optimizer.param_groups) != 1 or _has_step_hooks(optimizer):
            return None
        group = optimizer.param_groups[0]
        if not group.get("fused") or group.get("differentiable") or group.get("capturable"):
            return None
        if any(isinstance(group[key], Tensor) for key in ("lr", "betas", "weight_decay")):
            return None
        params = group["params"]
        if not all(p.device.type == "cpu" and p.dtype == torch.float32 for p in params):
            return None
        if not all("exp_avg" in optimizer.state.get(p, ()) for p in params):
            return None  # state not created yet: optimizer.step() creates it
        return cls(optimizer, group)

    def is_current(self, optimizer: torch.optim.Optimizer) -> bool:
        return (
            optimizer.state is self.state
            and optimizer.param_groups[0] is self.group
            and len(optimizer.param_groups) == 1
            and not _has_step_hooks(optimizer)
        )

    def step(self) -> bool:
        """The fused kernel on the current gradients; False (nothing done) if one is missing."""
        grads = [p.grad for p in self.params]
        if any(g is None or g.is_sparse for g in grads):
            return False
        group = self.group
        beta1, beta2 = group["betas"]
        with torch.no_grad():
            torch._foreach_add_(self.steps, 1)
            self.kernel(
                self.params,
                grads,
                self.exp_avgs,
                self.exp_avg_sqs,
                self.max_exp_avg_sqs,
                self.steps,
                amsgrad=group["amsgrad"],
                lr=group["lr"],
                beta1=beta1,
                beta2=beta2,
                weight_decay=group["weight_decay"],
                eps=group["eps"],
                maximize=group["maximize"],
                grad_scale=None,
                found_inf=None,
            )
        return True


def _has_step_hooks(optimizer: torch.optim.Optimizer) -> bool:
    return bool(
        getattr(optimizer, "_optimizer_step_pre_hooks", None)
        or getattr(optimizer, "_optimizer_step_post_hooks", None)
        or getattr(optim_module, "_global_optimizer_pre_hooks", None)
        or getattr(optim_module, "_global_optimizer_post_hooks", None)
    )
