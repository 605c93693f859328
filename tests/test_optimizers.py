"""Optimizers, FTRL, learning-rate decay (against TF formulas) and gradient clipping."""

from __future__ import annotations

import io
import math

import pytest
import torch

from petri.errors import UnknownNameError
from petri.optimizers import (
    DECAYS,
    OPTIMIZERS,
    Ftrl,
    clip_gradients,
    create_lr_schedule,
    create_optimizer,
    decayed_learning_rate,
    optimizer_kwargs,
)


# --- every optimizer trains -------------------------------------------------------------------
def _logistic_problem() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(256, 5, generator=gen)
    w = torch.tensor([1.5, -2.0, 0.5, 0.0, 1.0])
    return x, (x @ w + 0.3 > 0).float()


def _train(name: str, lr: float, steps: int = 150, **kwargs: object) -> tuple[float, float]:
    x, y = _logistic_problem()
    model = torch.nn.Linear(5, 1)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    opt = create_optimizer(model.parameters(), name, learning_rate=lr, **kwargs)

    def loss() -> torch.Tensor:
        return torch.nn.functional.binary_cross_entropy_with_logits(model(x).squeeze(-1), y)

    start = float(loss().detach())
    for _ in range(steps):
        opt.zero_grad()
        loss().backward()
        opt.step()
    return start, float(loss().detach())


LEARNING_RATES = {
    "adadelta": 50.0,  # TF's epsilon 1e-8 makes its first steps ~sqrt(1e-8): start slowly
    "adagrad": 0.5,
    "adam": 0.05,
    "adamw": 0.05,
    "ftrl": 1.0,
    "momentum": 0.5,
    "nesterov": 0.5,
    "rmsprop": 0.01,
    "sgd": 1.0,
}


def test_learning_rate_table_covers_every_optimizer() -> None:
    assert set(LEARNING_RATES) == set(OPTIMIZERS.names())


@pytest.mark.parametrize("name", sorted(LEARNING_RATES))
def test_every_optimizer_reduces_logistic_regression_loss(name: str) -> None:
    start, end = _train(name, LEARNING_RATES[name])
    assert start == pytest.approx(math.log(2))
    assert end < 0.5 * start, f"{name}: {start:.4f} -> {end:.4f}"


@pytest.mark.parametrize("name", sorted(LEARNING_RATES))
def test_every_optimizer_state_dict_round_trips(name: str) -> None:
    model = torch.nn.Linear(3, 1)
    opt = create_optimizer(model.parameters(), name, learning_rate=0.1)
    model(torch.ones(2, 3)).sum().backward()
    opt.step()
    clone = create_optimizer(model.parameters(), name, learning_rate=0.1)
    clone.load_state_dict(opt.state_dict())
    assert clone.state_dict()["param_groups"] == opt.state_dict()["param_groups"]


# --- argument translation ---------------------------------------------------------------------
def _params() -> list[torch.nn.Parameter]:
    return list(torch.nn.Linear(3, 2).parameters())


def test_tf_names_map_to_torch_arguments() -> None:
    adam = create_optimizer(_params(), "adam", 0.01, beta1=0.8, beta2=0.99, epsilon=1e-6)
    assert adam.defaults["betas"] == (0.8, 0.99) and adam.defaults["eps"] == 1e-6
    rms = create_optimizer(_params(), "rmsprop", 0.01, decay=0.95)
    assert rms.defaults["alpha"] == 0.95
    assert create_optimizer(_params(), "rmsprop", 0.01, rho=0.8).defaults["alpha"] == 0.8
    adagrad = create_optimizer(_params(), "adagrad", 0.01, initial_accumulator_value=0.5)
    assert adagrad.defaults["initial_accumulator_value"] == 0.5
    nesterov = create_optimizer(_params(), "momentum", 0.01, use_nesterov=True)
    assert nesterov.defaults["nesterov"] is True


def test_tf_defaults() -> None:
    rms = create_optimizer(_params(), "rmsprop")
    assert (rms.defaults["alpha"], rms.defaults["eps"], rms.defaults["momentum"]) == (
        0.9,
        1e-10,
        0.0,
    )
    assert rms.defaults["lr"] == 0.001
    momentum = create_optimizer(_params(), "momentum")
    assert momentum.defaults["momentum"] == 0.9 and momentum.defaults["nesterov"] is False
    assert create_optimizer(_params(), "nesterov").defaults["nesterov"] is True
    assert create_optimizer(_params(), "adagrad").defaults["initial_accumulator_value"] == 0.1
    ftrl = create_optimizer(_params(), "ftrl")
    assert isinstance(ftrl, Ftrl)
    assert ftrl.defaults["learning_rate_power"] == -0.5
    assert ftrl.defaults["initial_accumulator_value"] == 0.1


def test_fast_kernels_where_they_measured_faster() -> None:
    for name in ("sgd", "momentum", "nesterov", "adam", "adamw", "adagrad"):
        assert create_optimizer(_params(), name).defaults["fused"] is True, name


def test_none_arguments_are_ignored_others_are_refused() -> None:
    opt = create_optimizer(_params(), "sgd", 0.1, beta1=None, momentum=None)
    assert isinstance(opt, torch.optim.SGD)
    with pytest.raises(TypeError, match=r"Optimizer 'sgd' does not take the argument 'beta1'"):
        create_optimizer(_params(), "sgd", 0.1, beta1=0.9)


def test_decay_arguments_point_to_the_schedule() -> None:
    with pytest.raises(TypeError, match=r"'decay_steps'.*create_lr_schedule"):
        create_optimizer(_params(), "adam", 0.1, decay_steps=10)


def test_misspelt_argument_suggests_closest() -> None:
    with pytest.raises(TypeError, match=r"'epsilom'.*Did you mean 'epsilon'"):
        create_optimizer(_params(), "adam", 0.1, epsilom=1e-3)


def test_rmsprop_decay_and_rho_conflict() -> None:
    with pytest.raises(ValueError, match=r"decay=0.9 and rho=0.8"):
        create_optimizer(_params(), "rmsprop", 0.1, decay=0.9, rho=0.8)


def test_unknown_optimizer_suggests_closest() -> None:
    with pytest.raises(UnknownNameError, match=r"Did you mean 'rmsprop'"):
        create_optimizer(_params(), "rmsprob")


def test_torch_optimizer_classes_pass_through() -> None:
    opt = create_optimizer(_params(), torch.optim.SGD, 0.3, momentum=0.5)
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["momentum"] == 0.5


def test_optimizer_kwargs_lists_tf_names() -> None:
    assert optimizer_kwargs("adam") == ["beta1", "beta2", "epsilon", "weight_decay", "amsgrad"]
    assert "l1_regularization_strength" in optimizer_kwargs("ftrl")
    assert {"decay", "rho", "centered"} <= set(optimizer_kwargs("RMSProp"))


# --- FTRL -------------------------------------------------------------------------------------
def test_ftrl_first_step_matches_tf_apply_ftrl_by_hand() -> None:
    w = torch.nn.Parameter(torch.tensor([0.5]))
    opt = Ftrl([w], lr=0.1, initial_accumulator_value=0.1, l1_regularization_strength=0.001)
    w.grad = torch.tensor([2.0])
    opt.step()
    # n = 0.1 + 4 = 4.1; z = 2 - (sqrt(4.1) - sqrt(0.1)) / 0.1 * 0.5
    z = 2 - (math.sqrt(4.1) - math.sqrt(0.1)) / 0.1 * 0.5
    expected = (math.copysign(0.001, z) - z) / (math.sqrt(4.1) / 0.1)
    assert w.item() == pytest.approx(expected, rel=1e-5)


def test_ftrl_converges_on_a_convex_quadratic() -> None:
    target = torch.tensor([1.0, -2.0, 0.5, 3.0])
    w = torch.nn.Parameter(torch.zeros(4))
    opt = Ftrl([w], lr=1.0)
    for _ in range(300):
        opt.zero_grad()
        (w - target).square().sum().backward()
        opt.step()
    torch.testing.assert_close(w.detach(), target, atol=1e-3, rtol=0)


def _ftrl_fit(l1: float, l2: float, steps: int = 50) -> torch.Tensor:
    target = torch.tensor([0.01, 2.0])
    w = torch.nn.Parameter(torch.zeros(2))
    opt = Ftrl([w], lr=0.5, l1_regularization_strength=l1, l2_regularization_strength=l2)
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (w - target).square()).sum().backward()
        opt.step()
    return w.detach()


def test_ftrl_l1_makes_weak_weights_exactly_zero() -> None:
    # FTRL compares l1 with the accumulated gradient z: |z| <= 50 * 0.01 < 1 keeps w[0] at 0.
    assert _ftrl_fit(l1=0.0, l2=0.0)[0].item() != 0.0
    sparse = _ftrl_fit(l1=1.0, l2=0.0)
    assert sparse[0].item() == 0.0 and sparse[1].item() > 1.0


def test_ftrl_l2_shrinks_weights_then_washes_out() -> None:
    # l2 is a fixed prior against the growing accumulated gradient (as in TF): it shrinks the
    # early iterates, and the minimizer of the data term wins in the end.
    plain, shrunk = _ftrl_fit(l1=0.0, l2=0.0, steps=5), _ftrl_fit(l1=0.0, l2=1.0, steps=5)
    assert 0.0 < shrunk[1].item() < plain[1].item() - 0.1
    assert _ftrl_fit(l1=0.0, l2=1.0, steps=300)[1].item() == pytest.approx(2.0, abs=1e-2)


def test_ftrl_learning_rate_power_zero_and_validation() -> None:
    w = torch.nn.Parameter(torch.tensor([1.0]))
    opt = Ftrl([w], lr=0.1, learning_rate_power=0.0, initial_accumulator_value=0.0)
    w.grad = torch.tensor([1.0])
    opt.step()
    # With power 0, sigma = 0 and w = -lr * sum(g): dual averaging from the origin, as in TF.
    assert w.item() == pytest.approx(-0.1)
    with pytest.raises(ValueError, match=r"learning_rate_power <= 0.*0.5"):
        Ftrl([w], learning_rate_power=0.5)


# --- decay formulas (TF 1 tf.train.*_decay, computed by hand) ----------------------------------
def lr_at(decay_type: str, step: int, **kwargs: object) -> float:
    kwargs.setdefault("learning_rate", 0.1)
    return decayed_learning_rate(decay_type, step, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("step", "expected"),
    [(0, 0.1), (50, 0.1 * 0.96**0.5), (100, 0.1 * 0.96), (250, 0.1 * 0.96**2.5)],
)
def test_exponential_decay(step: int, expected: float) -> None:
    assert lr_at("exponential_decay", step) == pytest.approx(expected)


@pytest.mark.parametrize(("step", "expected"), [(99, 0.1), (100, 0.096), (250, 0.1 * 0.96**2)])
def test_exponential_decay_staircase(step: int, expected: float) -> None:
    assert lr_at("exponential_decay", step, staircase=True) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("step", "staircase", "expected"),
    [(0, False, 0.1), (50, False, 0.1 / 1.25), (150, False, 0.1 / 1.75), (150, True, 0.1 / 1.5)],
)
def test_inverse_time_decay(step: int, staircase: bool, expected: float) -> None:
    got = lr_at("inverse_time_decay", step, decay_rate=0.5, staircase=staircase)
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("step", "staircase", "expected"),
    [
        (0, False, 0.1),
        (50, False, 0.1 * math.exp(-0.25)),
        (150, False, 0.1 * math.exp(-0.75)),
        (150, True, 0.1 * math.exp(-0.5)),
    ],
)
def test_natural_exp_decay(step: int, staircase: bool, expected: float) -> None:
    got = lr_at("natural_exp_decay", step, decay_rate=0.5, staircase=staircase)
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("step", "expected"), [(0, 1.0), (10, 1.0), (11, 0.5), (20, 0.5), (21, 0.1), (1000, 0.1)]
)
def test_piecewise_constant_boundaries_are_inclusive_like_tf(step: int, expected: float) -> None:
    got = lr_at("piecewise_constant", step, boundaries=[10, 20], values=[1.0, 0.5, 0.1])
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("step", "cycle", "expected"),
    [
        (0, False, 0.1),
        (50, False, (0.1 - 0.01) * 0.5**2 + 0.01),
        (100, False, 0.01),
        (300, False, 0.01),
        (150, True, (0.1 - 0.01) * (1 - 150 / 200) ** 2 + 0.01),
        (0, True, 0.1),
    ],
)
def test_polynomial_decay(step: int, cycle: bool, expected: float) -> None:
    got = lr_at(
        "polynomial_decay", step, power=2.0, end_learning_rate=0.01, cycle=cycle, decay_steps=100
    )
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (0, 0.1),
        (50, 0.1 * (0.8 * 0.5 * (1 + math.cos(math.pi * 0.5)) + 0.2)),
        (100, 0.1 * 0.2),
        (500, 0.1 * 0.2),
    ],
)
def test_cosine_decay(step: int, expected: float) -> None:
    assert lr_at("cosine_decay", step, alpha=0.2) == pytest.approx(expected)


def test_start_and_stop_decay_at_window_the_step() -> None:
    kwargs = {"start_decay_at": 100, "stop_decay_at": 300}
    assert lr_at("exponential_decay", 50, **kwargs) == pytest.approx(0.1)
    assert lr_at("exponential_decay", 100, **kwargs) == pytest.approx(0.1)
    assert lr_at("exponential_decay", 200, **kwargs) == pytest.approx(0.1 * 0.96)
    assert lr_at("exponential_decay", 300, **kwargs) == pytest.approx(0.1 * 0.96**2)
    assert lr_at("exponential_decay", 10_000, **kwargs) == pytest.approx(0.1 * 0.96**2)


def test_min_learning_rate_floors_the_rate() -> None:
    assert lr_at("exponential_decay", 1000, decay_rate=0.1, min_learning_rate=1e-4) == 1e-4
    assert lr_at("exponential_decay", 100, decay_rate=0.1, min_learning_rate=1e-4) == (
        pytest.approx(0.01)
    )


def test_no_decay_type_means_constant() -> None:
    assert decayed_learning_rate(None, 500, learning_rate=0.3) == 0.3
    assert create_lr_schedule(torch.optim.SGD(_params(), lr=0.1), "") is None


def test_unknown_decay_suggests_closest() -> None:
    with pytest.raises(UnknownNameError, match=r"Did you mean 'exponential_decay'"):
        lr_at("exponential_decy", 1)
    with pytest.raises(UnknownNameError, match=r"Did you mean 'cosine_decay'"):
        create_lr_schedule(torch.optim.SGD(_params(), lr=0.1), "cosine")


def test_inconsistent_settings_are_refused() -> None:
    with pytest.raises(ValueError, match=r"len\(values\) == len\(boundaries\) \+ 1"):
        lr_at("piecewise_constant", 1, boundaries=[10], values=[1.0])
    with pytest.raises(ValueError, match=r"stop_decay_at \(5\) must be >= start_decay_at"):
        lr_at("exponential_decay", 1, start_decay_at=10, stop_decay_at=5)
    with pytest.raises(ValueError, match=r"decay_steps must be a positive"):
        lr_at("exponential_decay", 1, decay_steps=0)


def test_decays_table() -> None:
    assert set(DECAYS.names()) == {
        "cosine_decay",
        "exponential_decay",
        "inverse_time_decay",
        "natural_exp_decay",
        "piecewise_constant",
        "polynomial_decay",
    }


# --- the scheduler ----------------------------------------------------------------------------
SCHEDULES = {
    "exponential_decay": {"decay_steps": 10, "staircase": True},
    "inverse_time_decay": {"decay_steps": 10, "decay_rate": 0.5},
    "natural_exp_decay": {"decay_steps": 10, "decay_rate": 0.2},
    "piecewise_constant": {"boundaries": [5, 15], "values": [0.1, 0.05, 0.01]},
    "polynomial_decay": {"decay_steps": 20, "cycle": True},
    "cosine_decay": {"decay_steps": 30, "alpha": 0.1},
}


def _stepped(decay_type: str, steps: int) -> tuple[torch.optim.Optimizer, object]:
    opt = torch.optim.SGD(_params(), lr=0.1)
    schedule = create_lr_schedule(
        opt, decay_type, learning_rate=0.1, start_decay_at=3, **SCHEDULES[decay_type]
    )
    for _ in range(steps):
        opt.step()
        schedule.step()  # type: ignore[union-attr]
    return opt, schedule


@pytest.mark.parametrize("decay_type", sorted(SCHEDULES))
def test_schedule_sets_the_decayed_rate_every_step(decay_type: str) -> None:
    opt = torch.optim.SGD(_params(), lr=0.1)
    settings = {"start_decay_at": 3, **SCHEDULES[decay_type]}
    schedule = create_lr_schedule(opt, decay_type, learning_rate=0.1, **settings)
    for step in range(40):
        expected = decayed_learning_rate(decay_type, step, learning_rate=0.1, **settings)
        assert opt.param_groups[0]["lr"] == pytest.approx(expected), step
        opt.step()
        schedule.step()  # type: ignore[union-attr]


@pytest.mark.parametrize("decay_type", sorted(SCHEDULES))
def test_schedule_state_dict_resumes_the_same_curve(decay_type: str) -> None:
    opt, schedule = _stepped(decay_type, 17)
    buffer = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "schedule": schedule.state_dict()}, buffer)  # type: ignore[attr-defined]
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)  # plain data only

    resumed_opt = torch.optim.SGD(_params(), lr=0.1)
    resumed = create_lr_schedule(
        resumed_opt, decay_type, learning_rate=0.1, start_decay_at=3, **SCHEDULES[decay_type]
    )
    resumed_opt.load_state_dict(saved["opt"])
    resumed.load_state_dict(saved["schedule"])  # type: ignore[union-attr]
    assert resumed_opt.param_groups[0]["lr"] == pytest.approx(opt.param_groups[0]["lr"])
    for _ in range(10):
        for o, s in ((opt, schedule), (resumed_opt, resumed)):
            o.step()
            s.step()  # type: ignore[attr-defined]
        assert resumed_opt.param_groups[0]["lr"] == pytest.approx(opt.param_groups[0]["lr"])
    assert resumed.last_epoch == 27  # type: ignore[union-attr]


def test_state_dict_carries_the_settings() -> None:
    _, schedule = _stepped("piecewise_constant", 4)
    fresh_opt = torch.optim.SGD(_params(), lr=0.1)
    fresh = create_lr_schedule(fresh_opt, "exponential_decay", learning_rate=0.1)
    fresh.load_state_dict(schedule.state_dict())  # type: ignore[union-attr, attr-defined]
    fresh_opt.step()
    fresh.step()  # type: ignore[union-attr]
    assert fresh.decay_type == "piecewise_constant"  # type: ignore[union-attr]
    assert fresh_opt.param_groups[0]["lr"] == pytest.approx(0.1)  # step 5 <= 3 + 5
    for _ in range(5):
        fresh_opt.step()
        fresh.step()  # type: ignore[union-attr]
    assert fresh_opt.param_groups[0]["lr"] == pytest.approx(0.05)


def test_param_groups_with_their_own_rates_scale_together() -> None:
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(
        [{"params": [model.weight], "lr": 0.2}, {"params": [model.bias]}], lr=0.1
    )
    schedule = create_lr_schedule(opt, "exponential_decay", decay_steps=1, decay_rate=0.5)
    for _ in range(2):
        opt.step()
        schedule.step()  # type: ignore[union-attr]
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.05, 0.025])


def test_schedule_drives_a_created_optimizer() -> None:
    opt = create_optimizer(_params(), "adam", learning_rate=0.01)
    schedule = create_lr_schedule(opt, "polynomial_decay", learning_rate=0.01, decay_steps=4)
    for _ in range(4):
        opt.step()
        schedule.step()  # type: ignore[union-attr]
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0001)


# --- gradient clipping ------------------------------------------------------------------------
def test_clip_gradients_rescales_to_max_norm() -> None:
    a = torch.nn.Parameter(torch.zeros(2))
    b = torch.nn.Parameter(torch.zeros(1))
    a.grad, b.grad = torch.tensor([3.0, 0.0]), torch.tensor([4.0])
    norm = clip_gradients([a, b], 1.0)
    assert float(norm) == pytest.approx(5.0)  # type: ignore[arg-type]
    total = torch.cat([a.grad, b.grad]).norm()
    assert float(total) == pytest.approx(1.0, rel=1e-4)


def test_clip_gradients_disabled() -> None:
    a = torch.nn.Parameter(torch.zeros(1))
    a.grad = torch.tensor([10.0])
    assert clip_gradients([a], None) is None
    assert clip_gradients([a], 0.0) is None
    assert a.grad.item() == 10.0
