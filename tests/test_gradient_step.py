"""GradientStep and clip_gradients compute what torch's optimizer and clip compute."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
import torch

from petri.optimizers import GradientStep, clip_gradients, create_lr_schedule, create_optimizer


def _net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.Tanh(), torch.nn.Linear(32, 3))


def _batches(count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(1)
    return [
        (torch.randn(16, 6, generator=gen), 5 * torch.randn(16, 3, generator=gen))
        for _ in range(count)
    ]


def _loss(net: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = batch
    return ((net(x) - y) ** 2).mean()


OPTIMIZERS = {
    "adam": lambda p: create_optimizer(p, "adam", 0.01),
    "adam_amsgrad_l2": lambda p: create_optimizer(p, "adam", 0.01, amsgrad=True, weight_decay=0.1),
    "adamw": lambda p: create_optimizer(p, "adamw", 0.01, weight_decay=0.1),
    "momentum": lambda p: create_optimizer(p, "momentum", 0.01),  # no direct kernel: fallback
}


@pytest.mark.parametrize("clip", [None, 0.5])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_gradient_step_matches_the_torch_update(name: str, clip: float | None) -> None:
    build: Callable[..., torch.optim.Optimizer] = OPTIMIZERS[name]
    ours, theirs = _net(), _net()
    our_opt, their_opt = build(ours.parameters()), build(theirs.parameters())
    our_schedule = create_lr_schedule(
        our_opt, "exponential_decay", learning_rate=0.01, decay_steps=3, decay_rate=0.5
    )
    their_schedule = create_lr_schedule(
        their_opt, "exponential_decay", learning_rate=0.01, decay_steps=3, decay_rate=0.5
    )
    step = GradientStep(our_opt, our_schedule, list(ours.parameters()), clip)
    for batch in _batches(12):
        step(_loss(ours, batch))
        their_opt.zero_grad(set_to_none=True)
        _loss(theirs, batch).backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(list(theirs.parameters()), clip)
        their_opt.step()
        their_schedule.step()  # type: ignore[union-attr]
    assert (step._plan is not None) == name.startswith("adam")  # the direct kernel ran
    for mine, reference in zip(ours.parameters(), theirs.parameters(), strict=True):
        if clip:  # the clip factor is a Python float here, a float32 tensor in torch
            torch.testing.assert_close(mine, reference, rtol=1e-5, atol=1e-6)
        else:
            assert torch.equal(mine, reference)
    assert our_opt.param_groups[0]["lr"] == their_opt.param_groups[0]["lr"] < 0.01


def test_gradient_step_follows_a_loaded_optimizer_state() -> None:
    net = _net()
    optimizer = create_optimizer(net.parameters(), "adam", 0.01)
    step = GradientStep(optimizer)
    batches = _batches(9)
    for batch in batches[:3]:
        step(_loss(net, batch))
    saved_weights = {k: v.clone() for k, v in net.state_dict().items()}
    saved_optimizer = copy.deepcopy(optimizer.state_dict())  # state_dict() shares tensors
    for batch in batches[3:6]:
        step(_loss(net, batch))
    net.load_state_dict(saved_weights)
    optimizer.load_state_dict(saved_optimizer)  # replaces the state tensors the plan held
    for batch in batches[3:6]:
        step(_loss(net, batch))
    first = next(iter(net.parameters()))
    assert step._plan is not None and step._plan.exp_avgs[0] is optimizer.state[first]["exp_avg"]
    reference = _net()
    reference_optimizer = create_optimizer(reference.parameters(), "adam", 0.01)
    for batch in batches[:6]:
        reference_optimizer.zero_grad()
        _loss(reference, batch).backward()
        reference_optimizer.step()
    for mine, theirs in zip(net.parameters(), reference.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    assert int(optimizer.state[first]["step"]) == 6


def test_gradient_step_keeps_optimizer_hooks() -> None:
    net = _net()
    optimizer = create_optimizer(net.parameters(), "adam", 0.01)
    calls: list[int] = []
    optimizer.register_step_post_hook(lambda *_: calls.append(1))
    step = GradientStep(optimizer)
    for batch in _batches(4):
        step(_loss(net, batch))
    assert len(calls) == 4 and step._plan is None


@pytest.mark.parametrize("scale", [0.01, 100.0])
def test_clip_gradients_matches_torch(scale: float) -> None:
    gen = torch.Generator().manual_seed(3)
    grads = [scale * torch.randn(shape, generator=gen) for shape in [(7, 5), (5,), (3, 7)]]
    ours = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    theirs = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for a, b, g in zip(ours, theirs, grads, strict=True):
        a.grad, b.grad = g.clone(), g.clone()
    norm = clip_gradients(ours, 1.0)
    reference = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert float(norm) == pytest.approx(float(reference))  # type: ignore[arg-type]
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a.grad, b.grad)
    clipped = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in ours]))  # type: ignore[union-attr]
    assert float(clipped) == pytest.approx(min(float(reference), 1.0), rel=1e-4)


def test_private_kernels_run_only_on_tested_torch_versions() -> None:
    from petri.optimizers import _step

    assert _step._torch_minor("2.13.0+cpu") == (2, 13)
    assert _step._torch_minor("2.14.0a0+git123") == (2, 14)
    first, last = _step.TESTED_TORCH
    tested = first <= _step._torch_minor(torch.__version__) <= last
    assert tested is _step.PRIVATE_TORCH_PATHS


@pytest.mark.parametrize("name", ["adam", "adam_amsgrad_l2", "adamw"])
def test_direct_and_public_paths_are_bit_identical(name: str, monkeypatch) -> None:
    """On the installed torch: the direct fused kernel (when this torch is a tested one) and the
    public optimizer.step() path give the same parameters, bit for bit."""
    from petri.optimizers import _step

    tested = _step.PRIVATE_TORCH_PATHS

    def train(private: bool) -> list[torch.Tensor]:
        monkeypatch.setattr(_step, "PRIVATE_TORCH_PATHS", private)
        net = _net()
        optimizer = OPTIMIZERS[name](net.parameters())
        schedule = create_lr_schedule(
            optimizer, "exponential_decay", learning_rate=0.01, decay_steps=3, decay_rate=0.5
        )
        step = GradientStep(optimizer, schedule, list(net.parameters()))
        for batch in _batches(12):
            step(_loss(net, batch))
        assert (step._plan is not None) == private
        return [p.detach().clone() for p in net.parameters()]

    public = train(private=False)
    if not tested:
        pytest.skip(f"torch {torch.__version__} is outside TESTED_TORCH: only the public path")
    direct = train(private=True)
    for a, b in zip(direct, public, strict=True):
        assert torch.equal(a, b)
