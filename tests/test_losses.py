"""Losses: each against a hand-computed TF formula on a tiny tensor, plus the binding contract."""

from __future__ import annotations

import math

import pytest
import torch

from petri.errors import UnknownNameError
from petri.losses import LOSSES, get_loss, loss_kwargs


def t(values: object) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def approx(value: torch.Tensor | float, expected: float) -> None:
    assert float(value) == pytest.approx(expected, rel=1e-5, abs=1e-6)


# --- classification -------------------------------------------------------------------------
LOGITS = [[1.0, 2.0, 3.0], [1.0, 0.0, 0.0]]


def _softmax_ce(row: list[float], target: list[float]) -> float:
    log_z = math.log(sum(math.exp(v) for v in row))
    return -sum(p * (v - log_z) for v, p in zip(row, target))


def test_softmax_cross_entropy_indices_and_one_hot_agree_with_formula() -> None:
    expected = (_softmax_ce(LOGITS[0], [0, 0, 1]) + _softmax_ce(LOGITS[1], [1, 0, 0])) / 2
    approx(LOSSES.get("softmax_cross_entropy")(t(LOGITS), torch.tensor([2, 0])), expected)
    approx(LOSSES.get("softmax_cross_entropy")(t(LOGITS), t([[0, 0, 1], [1, 0, 0]])), expected)
    one_hot_ints = torch.tensor([[0, 0, 1], [1, 0, 0]])
    approx(LOSSES.get("softmax_cross_entropy")(t(LOGITS), one_hot_ints), expected)
    approx(LOSSES.get("softmax_cross_entropy")(t(LOGITS), torch.tensor([[2], [0]])), expected)
    approx(LOSSES.get("softmax_cross_entropy")(t(LOGITS), t([2.0, 0.0])), expected)


def test_softmax_cross_entropy_label_smoothing_is_tfs() -> None:
    s = 0.3
    smooth = [[s / 3, s / 3, (1 - s) + s / 3], [(1 - s) + s / 3, s / 3, s / 3]]
    expected = (_softmax_ce(LOGITS[0], smooth[0]) + _softmax_ce(LOGITS[1], smooth[1])) / 2
    loss = get_loss("softmax_cross_entropy", label_smoothing=s)
    approx(loss(t(LOGITS), torch.tensor([2, 0])), expected)
    approx(loss(t(LOGITS), t([[0, 0, 1], [1, 0, 0]])), expected)


def test_softmax_cross_entropy_sequence_outputs_use_last_axis() -> None:
    logits = t([LOGITS, LOGITS])  # [2, 2, 3]
    labels = torch.tensor([[2, 0], [2, 0]])
    expected = (_softmax_ce(LOGITS[0], [0, 0, 1]) + _softmax_ce(LOGITS[1], [1, 0, 0])) / 2
    approx(LOSSES.get("softmax_cross_entropy")(logits, labels), expected)


def _sigmoid_ce(x: float, z: float) -> float:
    return max(x, 0) - x * z + math.log(1 + math.exp(-abs(x)))


def test_sigmoid_cross_entropy_formula_and_smoothing() -> None:
    x, z = [2.0, -1.0, 0.5], [1.0, 0.0, 1.0]
    expected = sum(_sigmoid_ce(a, b) for a, b in zip(x, z)) / 3
    approx(LOSSES.get("sigmoid_cross_entropy")(t(x), t(z)), expected)
    smoothed = [b * 0.8 + 0.5 * 0.2 for b in z]
    expected = sum(_sigmoid_ce(a, b) for a, b in zip(x, smoothed)) / 3
    approx(get_loss("sigmoid_cross_entropy", label_smoothing=0.2)(t(x), t(z)), expected)


def test_hinge_loss_maps_zero_one_labels_to_plus_minus_one() -> None:
    # y' = [1, -1, -1]: relu(1 - 0.5) + relu(1 - 2) + relu(1 + 3) = 0.5 + 0 + 4
    approx(LOSSES.get("hinge_loss")(t([0.5, -2.0, 3.0]), torch.tensor([1, 0, 0])), 4.5 / 3)


def test_log_loss_adds_epsilon_inside_the_log_like_tf() -> None:
    p, y = [0.9, 0.2, 1.0], [1.0, 0.0, 0.0]
    eps = 1e-7
    expected = (-math.log(0.9 + eps) - math.log(0.8 + eps) - math.log(eps)) / 3
    # torch's binary_cross_entropy would clamp the last log at -100 instead.
    approx(LOSSES.get("log_loss")(t(p), t(y)), expected)
    approx(get_loss("log_loss", epsilon=1e-3)(t([1.0]), t([0.0])), -math.log(1e-3))


# --- regression -----------------------------------------------------------------------------
DIFFS = [0.5, 2.0, -3.0]  # outputs - labels with labels zero


def test_mean_squared_error_and_absolute_difference() -> None:
    approx(LOSSES.get("mean_squared_error")(t(DIFFS), t([0, 0, 0])), (0.25 + 4 + 9) / 3)
    approx(LOSSES.get("absolute_difference")(t(DIFFS), t([0, 0, 0])), 5.5 / 3)


def test_huber_loss_is_tfs_with_delta() -> None:
    # delta 1: 0.5 * 0.25, 1 * (2 - 0.5), 1 * (3 - 0.5)
    approx(LOSSES.get("huber_loss")(t(DIFFS), t([0, 0, 0])), (0.125 + 1.5 + 2.5) / 3)
    # delta 2: 0.125, 0.5 * 4, 2 * (3 - 1)
    approx(get_loss("huber_loss", delta=2.0)(t(DIFFS), t([0, 0, 0])), (0.125 + 2 + 4) / 3)
    approx(get_loss("huber_loss", clip=2.0)(t(DIFFS), t([0, 0, 0])), (0.125 + 2 + 4) / 3)


def test_clipped_delta_loss_squares_the_clipped_difference() -> None:
    approx(LOSSES.get("clipped_delta_loss")(t(DIFFS), t([0, 0, 0])), (0.25 + 1 + 1) / 3)
    loss = get_loss("clipped_delta_loss", min_delta=-2.0, max_delta=2.0)
    approx(loss(t(DIFFS), t([0, 0, 0])), (0.25 + 4 + 4) / 3)
    seed = get_loss("clipped_delta_loss", clip_value_min=-2.0, clip_value_max=2.0)
    approx(seed(t(DIFFS), t([0, 0, 0])), (0.25 + 4 + 4) / 3)


def test_cosine_distance_assumes_unit_vectors() -> None:
    outputs, labels = t([[1.0, 0.0], [0.0, 1.0]]), t([[1.0, 0.0], [1.0, 0.0]])
    approx(LOSSES.get("cosine_distance")(outputs, labels), (0.0 + 1.0) / 2)
    # along dim 0: columns [1,0]·[1,1] = 1 -> 0 and [0,1]·[0,0] = 0 -> 1
    approx(get_loss("cosine_distance", dim=0)(outputs, labels), 0.5)
    approx(LOSSES.get("cosine_distance")(t([[0.6, 0.8]]), t([[0.8, 0.6]])), 1 - 0.96)


def test_kullback_leibler_divergence_per_row_then_mean() -> None:
    q, p = [[0.5, 0.5], [0.9, 0.1]], [[0.25, 0.75], [0.9, 0.1]]
    expected = (0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75) + 0.0) / 2
    approx(LOSSES.get("kullback_leibler_divergence")(t(p), t(q)), expected)
    # zero labels are clipped to epsilon, not NaN
    assert torch.isfinite(LOSSES.get("kullback_leibler_divergence")(t([[1.0, 0.0]]), t([[0, 1]])))


def test_poisson_loss_takes_rates() -> None:
    rates, counts = [1.0, 2.0], [0.0, 3.0]
    expected = ((1 - 0) + (2 - 3 * math.log(2 + 1e-10))) / 2
    approx(LOSSES.get("poisson_loss")(t(rates), t(counts)), expected)


# --- shapes and weights -----------------------------------------------------------------------
REGRESSION = [
    "mean_squared_error",
    "absolute_difference",
    "huber_loss",
    "clipped_delta_loss",
    "log_loss",
    "hinge_loss",
    "sigmoid_cross_entropy",
    "poisson_loss",
]


@pytest.mark.parametrize("name", REGRESSION)
def test_column_outputs_do_not_broadcast_against_flat_labels(name: str) -> None:
    outputs = t([[0.2], [0.7], [0.4]])
    labels = t([0.0, 1.0, 1.0])
    loss = LOSSES.get(name)
    approx(loss(outputs, labels), float(loss(outputs.reshape(-1), labels)))


@pytest.mark.parametrize("name", REGRESSION)
def test_mismatched_label_count_names_both_shapes(name: str) -> None:
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(3,\)"):
        LOSSES.get(name)(torch.rand(4, 1), torch.rand(3))


def test_scalar_weights_scale_the_mean() -> None:
    approx(get_loss("mean_squared_error", weights=2.0)(t(DIFFS), t([0, 0, 0])), 2 * 13.25 / 3)
    approx(get_loss("mean_squared_error", weights=0.0)(t(DIFFS), t([0, 0, 0])), 0.0)


def test_tensor_weights_average_over_nonzero_weights() -> None:
    weights = t([1.0, 0.0, 2.0])
    approx(
        LOSSES.get("mean_squared_error")(t(DIFFS), t([0, 0, 0]), weights=weights),
        (0.25 + 0 + 2 * 9) / 2,
    )
    # per-example weights broadcast over an [N, C] element-wise loss
    losses = torch.nn.functional.binary_cross_entropy_with_logits(
        t([[1.0, -1.0], [2.0, 0.0]]), t([[1, 0], [0, 0]]), reduction="none"
    )
    expected = float((losses[0] * 3.0).sum() / 2)
    weighted = LOSSES.get("sigmoid_cross_entropy")(
        t([[1.0, -1.0], [2.0, 0.0]]), t([[1, 0], [0, 0]]), weights=t([3.0, 0.0])
    )
    approx(weighted, expected)
    per_example = [_softmax_ce(LOGITS[0], [0, 0, 1]), _softmax_ce(LOGITS[1], [1, 0, 0])]
    approx(
        LOSSES.get("softmax_cross_entropy")(t(LOGITS), torch.tensor([2, 0]), weights=t([0, 4])),
        4 * per_example[1],
    )


# --- contract over every registered loss ------------------------------------------------------
def _example(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    if name == "softmax_cross_entropy":
        return torch.randn(4, 3, requires_grad=True), torch.tensor([0, 2, 1, 2])
    if name in ("log_loss", "kullback_leibler_divergence", "poisson_loss"):
        probs = torch.softmax(torch.randn(4, 3), -1).requires_grad_()
        return probs, torch.softmax(torch.randn(4, 3), -1)
    return torch.randn(4, 3, requires_grad=True), torch.randint(0, 2, (4, 3)).float()


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_loss_returns_a_differentiable_scalar(name: str) -> None:
    outputs, labels = _example(name)
    loss = get_loss(name)(outputs, labels)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    assert outputs.grad is not None


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_loss_lists_weights(name: str) -> None:
    assert "weights" in loss_kwargs(name)


def test_loss_kwargs_lists_seed_keys_for_config_validation() -> None:
    assert loss_kwargs("huber_loss") == ["weights", "delta", "clip"]
    assert loss_kwargs("softmax_cross_entropy") == ["weights", "label_smoothing"]
    assert "clip_value_min" in loss_kwargs("clipped_delta_loss")


# --- resolution -------------------------------------------------------------------------------
def test_names_are_case_and_separator_insensitive() -> None:
    assert get_loss("Softmax-Cross-Entropy") is LOSSES.get("softmax_cross_entropy")


def test_unknown_loss_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownNameError, match=r"Did you mean 'softmax_cross_entropy'"):
        get_loss("softmax_crossentropy_loss")


def test_unknown_kwarg_names_loss_argument_and_closest() -> None:
    with pytest.raises(TypeError, match=r"'huber_loss'.*'delt'.*Did you mean 'delta'.*weights"):
        get_loss("huber_loss", delt=2.0)


def test_seed_alias_and_name_together_is_refused() -> None:
    with pytest.raises(TypeError, match=r"both 'delta' and its seed alias 'clip'"):
        get_loss("huber_loss", delta=1.0, clip=2.0)


def test_callables_pass_through_and_are_checked() -> None:
    def scaled(pred: torch.Tensor, target: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        return ((pred - target) * scale).abs().mean()

    approx(get_loss(scaled, scale=2.0)(t([1.0]), t([0.0])), 2.0)
    assert loss_kwargs(scaled) == ["scale"]
    with pytest.raises(TypeError, match=r"'scal'.*Did you mean 'scale'"):
        get_loss(scaled, scal=2.0)
