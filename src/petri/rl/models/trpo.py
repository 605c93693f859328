"""``TRPOModel``: trust region policy optimization (Schulman et al. 2015)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from petri.rl.memories import RolloutBatch
from petri.rl.models._base import UpdateResult
from petri.rl.models._policy import PolicyGradientModel

__all__ = ["TRPOModel", "conjugate_gradient"]


def conjugate_gradient(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    iterations: int = 10,
    tolerance: float = 1e-10,
) -> torch.Tensor:
    """Solve ``A x = b`` for a symmetric positive-definite ``A`` given only ``v -> A v``."""
    x = torch.zeros_like(b)
    residual, direction = b.clone(), b.clone()
    rr = residual @ residual
    for _ in range(iterations):
        a_direction = matvec(direction)
        alpha = rr / (direction @ a_direction)
        x += alpha * direction
        residual -= alpha * a_direction
        new_rr = residual @ residual
        if new_rr < tolerance:
            break
        direction = residual + (new_rr / rr) * direction
        rr = new_rr
    return x


class TRPOModel(PolicyGradientModel):
    """Natural-gradient policy steps inside a KL trust region; the value network learns apart.

    The policy step solves ``F x = g`` (``F``: Fisher matrix as KL Hessian-vector products plus
    ``damping``) by conjugate gradient, scales it to ``KL = max_kl``, and backtracks (halving)
    until the surrogate improves and the KL stays within ``1.5 * max_kl``. The value network
    takes ``value_iterations`` Adam passes (``optimizer_config``) over the batch.

    Args:
        max_kl: the trust region's size.
        damping: added to the Fisher-vector product for stability.
        cg_iterations: conjugate-gradient iterations.
        value_iterations: passes over the batch for the value network.
        minibatch_size: the value network's minibatch size (None: whole batch).
        See ``PolicyGradientModel`` for the rest (GAE lambda default 0.97).
    """

    def __init__(
        self,
        mode: str | None = None,
        graph_fn: Any = None,
        num_states: int | tuple[int, ...] | None = None,
        num_actions: int | None = None,
        optimizer_config: Any = None,
        is_continuous: bool = False,
        discount: float = 0.99,
        gae_lambda: float = 0.97,
        max_kl: float = 0.01,
        damping: float = 0.1,
        cg_iterations: int = 10,
        value_iterations: int = 5,
        minibatch_size: int | None = 64,
        normalize_advantages: bool = True,
        summaries: str | list[str] | None = None,
        clip_gradients: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(
            mode,
            graph_fn,
            num_states,
            num_actions,
            optimizer_config,
            is_continuous,
            discount,
            gae_lambda,
            normalize_advantages,
            1.0,
            0.0,
            summaries,
            clip_gradients,
            name,
        )
        if max_kl <= 0 or damping < 0 or cg_iterations < 1 or value_iterations < 1:
            raise ValueError(
                "TRPOModel expected max_kl > 0, damping >= 0, cg_iterations >= 1 and "
                f"value_iterations >= 1. Received: max_kl={max_kl!r}, damping={damping!r}, "
                f"cg_iterations={cg_iterations!r}, value_iterations={value_iterations!r}."
            )
        self.max_kl, self.damping = float(max_kl), float(damping)
        self.cg_iterations, self.value_iterations = cg_iterations, value_iterations
        self.minibatch_size = minibatch_size
        self._finish([self.value_network])
        self._policy_parameters = list(self.policy_network.parameters())
        if self.log_std is not None:
            self._policy_parameters.append(self.log_std)

    def update(self, batch: RolloutBatch) -> UpdateResult:
        """A trust-region policy step, then value-network passes."""
        flat = self._flat_batch(batch)
        states, actions = flat["states"], flat["actions"]
        advantages = self._normalized(flat["advantages"])
        with torch.no_grad():
            old_log_probs, _ = self.log_probs(states, actions)
            old_out = self.policy_network(states)
            old_log_std = None if self.log_std is None else self.log_std.detach().clone()

        def surrogate() -> torch.Tensor:
            log_probs, _ = self.log_probs(states, actions)
            return ((log_probs - old_log_probs).exp() * advantages).mean()

        def kl() -> torch.Tensor:
            return self._kl(old_out, old_log_std, self.policy_network(states))

        params = self._policy_parameters
        gain = surrogate()
        gradient = _flat(torch.autograd.grad(gain, params))
        step = conjugate_gradient(
            lambda v: self._fisher_vector(kl, v), gradient, self.cg_iterations
        )
        shs = 0.5 * step @ self._fisher_vector(kl, step)
        full_step = step * torch.sqrt(self.max_kl / shs.clamp_min(1e-12))  # KL(full) ~ max_kl
        accepted, divergence = self._line_search(surrogate, kl, full_step, gain.detach())
        value_loss = self._fit_values(states, flat["returns"])
        self.num_updates += 1
        return UpdateResult(
            {
                "losses/surrogate": gain.detach(),
                "losses/value_loss": value_loss,
                "policy/kl": divergence,
                "policy/step_accepted": torch.tensor(float(accepted)),
            }
        )

    # ------------------------------------------------------------------ pieces
    def _fisher_vector(self, kl: Callable[[], torch.Tensor], vector: torch.Tensor) -> torch.Tensor:
        grads = _flat(torch.autograd.grad(kl(), self._policy_parameters, create_graph=True))
        hvp = _flat(torch.autograd.grad(grads @ vector, self._policy_parameters))
        return hvp + self.damping * vector

    @torch.no_grad()
    def _line_search(
        self,
        surrogate: Callable[[], torch.Tensor],
        kl: Callable[[], torch.Tensor],
        full_step: torch.Tensor,
        old_gain: torch.Tensor,
    ) -> tuple[bool, torch.Tensor]:
        start = _flat([p.detach() for p in self._policy_parameters]).clone()
        for fraction in (0.5**k for k in range(10)):
            _assign(self._policy_parameters, start + fraction * full_step)
            divergence = kl()
            if divergence <= 1.5 * self.max_kl and surrogate() > old_gain:
                return True, divergence
        _assign(self._policy_parameters, start)
        return False, torch.zeros((), device=full_step.device)

    def _fit_values(self, states: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
        loss = torch.zeros((), device=states.device)
        for index in self._minibatches(len(states), self.value_iterations, self.minibatch_size):
            loss = self._value_loss(states[index], returns[index])
            self._optimize(loss)
        return loss.detach()

    def _kl(
        self, old_out: torch.Tensor, old_log_std: torch.Tensor | None, new_out: torch.Tensor
    ) -> torch.Tensor:
        """Mean KL(old || new) between the policies' distributions."""
        if self.is_continuous and old_log_std is not None:
            log_std = self.log_std.expand_as(new_out)  # type: ignore[union-attr]
            old_log_std = old_log_std.expand_as(new_out)
            return (
                (
                    log_std
                    - old_log_std
                    + (old_log_std.exp() ** 2 + (old_out - new_out) ** 2)
                    / (2 * (2 * log_std).exp())
                    - 0.5
                )
                .sum(-1)
                .mean()
            )
        old_log_p = torch.log_softmax(old_out, dim=1)
        new_log_p = torch.log_softmax(new_out, dim=1)
        return (old_log_p.exp() * (old_log_p - new_log_p)).sum(1).mean()


def _flat(tensors: Any) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def _assign(params: list[nn.Parameter], flat: torch.Tensor) -> None:
    offset = 0
    for p in params:
        size = p.numel()
        p.copy_(flat[offset : offset + size].view_as(p))
        offset += size
