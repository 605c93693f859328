"""Metrics: every registered name against sklearn/numpy, streamed over 3 batches and in one."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from petri.errors import UnknownNameError
from petri.metrics import METRICS, StreamingMetric, create_metric, metric_kwargs

N, C = 90, 4
GEN = torch.Generator().manual_seed(7)
LOGITS = torch.randn(N, C, generator=GEN) * 2
LABELS = torch.randint(0, C, (N,), generator=GEN)
BIN_PROBS = torch.rand(N, generator=GEN)
BIN_LABELS = (torch.rand(N, generator=GEN) < BIN_PROBS).long()  # informative but noisy
VALUES = torch.randn(N, generator=GEN) * 3 + 1
TARGETS = VALUES * 0.5 + torch.randn(N, generator=GEN)

PROBS = torch.softmax(LOGITS, -1).numpy().astype(np.float64)
PRED = LOGITS.argmax(-1).numpy()
Y = LABELS.numpy()
BP, BY = BIN_PROBS.numpy().astype(np.float64), BIN_LABELS.numpy()
BPRED = (BP >= 0.5).astype(int)
X, T = VALUES.numpy().astype(np.float64), TARGETS.numpy().astype(np.float64)


def _sens_at_spec(y: np.ndarray, score: np.ndarray, spec: float) -> float:
    fpr, tpr, _ = skm.roc_curve(y, score, drop_intermediate=False)
    return float(tpr[(1 - fpr) >= spec].max())


def _spec_at_sens(y: np.ndarray, score: np.ndarray, sens: float) -> float:
    fpr, tpr, _ = skm.roc_curve(y, score, drop_intermediate=False)
    return float((1 - fpr)[tpr >= sens].max())


def _ovr(fn: Callable[[np.ndarray, np.ndarray], float]) -> float:
    return float(np.mean([fn((c == Y).astype(int), PROBS[:, c]) for c in range(C)]))


def _confusion(pred: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    """[tp, fp, tn, fn] summed over classes one-vs-rest."""
    totals = np.zeros(4)
    for c in range(n):
        p, t = pred == c, y == c
        totals += [np.sum(p & t), np.sum(p & ~t), np.sum(~p & ~t), np.sum(~p & t)]
    return totals


MC = _confusion(PRED, Y, C)
B1 = np.array(  # binary [tp, fp, tn, fn] with class 1 positive
    [
        np.sum((BPRED == 1) & (BY == 1)),
        np.sum((BPRED == 1) & (BY == 0)),
        np.sum((BPRED == 0) & (BY == 0)),
        np.sum((BPRED == 0) & (BY == 1)),
    ]
)

# name -> (kwargs, outputs, labels, expected)
CASES: dict[str, tuple[dict, torch.Tensor, torch.Tensor, float | np.ndarray]] = {
    "streaming_accuracy": ({}, LOGITS, LABELS, skm.accuracy_score(Y, PRED)),
    "streaming_precision": (
        {},
        LOGITS,
        LABELS,
        skm.precision_score(Y, PRED, average="macro", zero_division=0),
    ),
    "streaming_recall": ({}, LOGITS, LABELS, skm.recall_score(Y, PRED, average="macro")),
    "streaming_auc": (
        {},
        LOGITS,
        LABELS,
        skm.roc_auc_score(Y, PROBS, multi_class="ovr", average="macro"),
    ),
    "streaming_true_positives": ({}, LOGITS, LABELS, MC[0]),
    "streaming_false_positives": ({}, LOGITS, LABELS, MC[1]),
    "streaming_true_negatives": ({}, LOGITS, LABELS, MC[2]),
    "streaming_false_negatives": ({}, LOGITS, LABELS, MC[3]),
    "streaming_sensitivity_at_specificity": (
        {"specificity": 0.7},
        LOGITS,
        LABELS,
        _ovr(lambda y, s: _sens_at_spec(y, s, 0.7)),
    ),
    "streaming_specificity_at_sensitivity": (
        {"sensitivity": 0.6},
        LOGITS,
        LABELS,
        _ovr(lambda y, s: _spec_at_sens(y, s, 0.6)),
    ),
    "streaming_precision_at_thresholds": (
        {"thresholds": [0.3, 0.5, 0.8]},
        BIN_PROBS,
        BIN_LABELS,
        np.array([skm.precision_score(BY, (th < BP).astype(int)) for th in (0.3, 0.5, 0.8)]),
    ),
    "streaming_recall_at_thresholds": (
        {"thresholds": [0.3, 0.5, 0.8]},
        BIN_PROBS,
        BIN_LABELS,
        np.array([skm.recall_score(BY, (th < BP).astype(int)) for th in (0.3, 0.5, 0.8)]),
    ),
    "streaming_recall_at_k": (
        {"k": 2},
        LOGITS,
        LABELS,
        skm.top_k_accuracy_score(Y, PROBS, k=2, labels=range(C)),
    ),
    "streaming_mean_iou": ({}, LOGITS, LABELS, skm.jaccard_score(Y, PRED, average="macro")),
    "streaming_mean": ({}, VALUES, TARGETS, X.mean()),
    "streaming_mean_squared_error": ({}, VALUES, TARGETS, skm.mean_squared_error(T, X)),
    "streaming_root_mean_squared_error": (
        {},
        VALUES,
        TARGETS,
        np.sqrt(skm.mean_squared_error(T, X)),
    ),
    "streaming_mean_absolute_error": ({}, VALUES, TARGETS, skm.mean_absolute_error(T, X)),
    "streaming_mean_relative_error": ({}, VALUES, TARGETS, np.mean(np.abs(X - T) / np.abs(T))),
    "streaming_pearson_correlation": ({}, VALUES, TARGETS, np.corrcoef(X, T)[0, 1]),
    "streaming_covariance": ({}, VALUES, TARGETS, np.cov(X, T)[0, 1]),
    "streaming_percentage_less": ({"threshold": 1.0}, VALUES, TARGETS, np.mean(X < 1.0)),
}


def _run(metric: StreamingMetric, outputs: torch.Tensor, labels: torch.Tensor, batches: int):
    for out, lab in zip(outputs.chunk(batches), labels.chunk(batches)):
        metric.update(out, lab)
    return metric.compute()


def _check(value: float | torch.Tensor, expected: float | np.ndarray) -> None:
    if isinstance(expected, np.ndarray):
        assert isinstance(value, torch.Tensor)
        np.testing.assert_allclose(value.numpy(), expected, rtol=1e-4, atol=1e-5)
    else:
        assert isinstance(value, float)
        assert value == pytest.approx(float(expected), rel=1e-4, abs=1e-5)


def test_cases_cover_every_streaming_name() -> None:
    streaming = {n for n in METRICS.names() if n.startswith("streaming_")}
    assert streaming == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_metric_matches_reference_streamed_and_in_one_batch(name: str) -> None:
    kwargs, outputs, labels, expected = CASES[name]
    streamed = _run(create_metric(name, **kwargs), outputs, labels, 3)
    whole = _run(create_metric(name, **kwargs), outputs, labels, 1)
    _check(streamed, expected)
    _check(whole, expected)


@pytest.mark.parametrize("name", sorted(METRICS.names()))
def test_every_registered_name_including_aliases_works(name: str) -> None:
    canonical = METRICS.name_of(METRICS.get(name))
    assert canonical in CASES
    kwargs, outputs, labels, expected = CASES[canonical]
    _check(_run(create_metric(name, **kwargs), outputs, labels, 3), expected)


def test_short_aliases_resolve_to_the_streaming_metrics() -> None:
    for alias, name in [
        ("accuracy", "streaming_accuracy"),
        ("mse", "streaming_mean_squared_error"),
        ("rmse", "streaming_root_mean_squared_error"),
        ("mae", "streaming_mean_absolute_error"),
        ("auc", "streaming_auc"),
        ("mean_iou", "streaming_mean_iou"),
    ]:
        assert METRICS.get(alias) is METRICS.get(name)


# --- binary conventions -----------------------------------------------------------------------
BINARY_REFERENCE = {
    "accuracy": skm.accuracy_score(BY, BPRED),
    "precision": skm.precision_score(BY, BPRED),
    "recall": skm.recall_score(BY, BPRED),
    "auc": skm.roc_auc_score(BY, BP),
    "true_positives": B1[0],
    "false_positives": B1[1],
    "true_negatives": B1[2],
    "false_negatives": B1[3],
    "mean_iou": skm.jaccard_score(BY, BPRED, average="macro"),
}


@pytest.mark.parametrize("name", sorted(BINARY_REFERENCE))
def test_binary_probabilities_threshold_at_half(name: str) -> None:
    expected = BINARY_REFERENCE[name]
    _check(_run(create_metric(name), BIN_PROBS, BIN_LABELS, 3), expected)
    # [N, 1] outputs with float labels are the same problem
    _check(_run(create_metric(name), BIN_PROBS[:, None], BIN_LABELS.float(), 3), expected)


@pytest.mark.parametrize("name", sorted(BINARY_REFERENCE))
def test_binary_logits_are_detected_or_declared(name: str) -> None:
    logits = torch.logit(BIN_PROBS.double().clamp(1e-6, 1 - 1e-6))
    expected = BINARY_REFERENCE[name]
    _check(_run(create_metric(name), logits, BIN_LABELS, 1), expected)
    _check(_run(create_metric(name, from_logits=True), logits, BIN_LABELS, 3), expected)


def test_two_column_outputs_are_binary_with_class_one_positive() -> None:
    two = torch.stack([1 - BIN_PROBS, BIN_PROBS], -1)
    _check(_run(create_metric("precision"), two, BIN_LABELS, 3), BINARY_REFERENCE["precision"])
    one_hot = torch.nn.functional.one_hot(BIN_LABELS, 2)
    _check(_run(create_metric("auc", n_classes=2), two, one_hot, 3), BINARY_REFERENCE["auc"])


def test_from_logits_true_changes_logits_that_look_like_probabilities() -> None:
    scores = torch.tensor([0.2, 0.3, 0.9])  # as logits all are positive -> all predicted 1
    labels = torch.tensor([1, 1, 1])
    assert _run(create_metric("accuracy"), scores, labels, 1) == pytest.approx(1 / 3)
    assert _run(create_metric("accuracy", from_logits=True), scores, labels, 1) == 1.0


def test_one_hot_labels_equal_index_labels() -> None:
    one_hot = torch.nn.functional.one_hot(LABELS, C).float()
    for name in ("accuracy", "precision", "auc", "mean_iou", "false_negatives"):
        a = _run(create_metric(name), LOGITS, LABELS, 3)
        b = _run(create_metric(name, n_classes=C), LOGITS, one_hot, 3)
        assert a == pytest.approx(b)


def test_probabilities_and_logits_give_the_same_multiclass_auc() -> None:
    a = _run(create_metric("auc"), LOGITS, LABELS, 3)
    b = _run(create_metric("auc"), torch.softmax(LOGITS, -1), LABELS, 3)
    assert a == pytest.approx(b)


def test_mean_relative_error_counts_zero_labels_as_zero_error() -> None:
    metric = create_metric("mean_relative_error")
    value = _run(metric, torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0]), 1)
    assert value == pytest.approx((0 + 0.5) / 2)


def test_regression_metrics_do_not_broadcast_columns_against_rows() -> None:
    expected = skm.mean_squared_error(T, X)
    _check(_run(create_metric("mse"), VALUES[:, None], TARGETS, 3), expected)
    with pytest.raises(ValueError, match=r"\(3, 1\).*\(2,\)"):
        create_metric("mse").update(torch.zeros(3, 1), torch.zeros(2))


# --- lifecycle --------------------------------------------------------------------------------
def test_reset_forgets_batches_and_compute_before_update_is_nan() -> None:
    metric = create_metric("streaming_accuracy")
    assert np.isnan(metric.compute())
    metric.update(LOGITS, LABELS)
    metric.reset()
    metric.update(LOGITS[:10], LABELS[:10])
    assert metric.compute() == pytest.approx(skm.accuracy_score(Y[:10], PRED[:10]))
    covariance = create_metric("covariance")
    covariance.update(VALUES, TARGETS)
    covariance.reset()
    assert np.isnan(covariance.compute())


def test_outputs_that_require_grad_are_accepted() -> None:
    metric = create_metric("mae")
    metric.update(VALUES.clone().requires_grad_(), TARGETS)
    assert isinstance(metric.compute(), float)


def test_changing_the_number_of_classes_between_batches_is_refused() -> None:
    metric = create_metric("accuracy")
    metric.update(LOGITS, LABELS)
    with pytest.raises(ValueError, match=r"same output width"):
        metric.update(torch.randn(4, 5), torch.zeros(4, dtype=torch.long))


def test_n_classes_must_match_outputs() -> None:
    with pytest.raises(ValueError, match=r"n_classes=5.*\(90, 4\)"):
        create_metric("accuracy", n_classes=5).update(LOGITS, LABELS)


def test_label_count_mismatch_names_shapes() -> None:
    with pytest.raises(ValueError, match=r"one label per example.*\(3,\)"):
        create_metric("accuracy").update(LOGITS[:4], LABELS[:3])


def test_recall_at_k_needs_class_scores() -> None:
    with pytest.raises(ValueError, match=r"\[N, C\]"):
        create_metric("recall_at_k", k=1).update(BIN_PROBS, BIN_LABELS)


def test_threshold_metrics_require_their_target() -> None:
    with pytest.raises(ValueError, match=r"needs `specificity`"):
        create_metric("sensitivity_at_specificity")
    with pytest.raises(ValueError, match=r"needs `sensitivity`"):
        create_metric("specificity_at_sensitivity", sensitivity=1.5)


# --- resolution -------------------------------------------------------------------------------
def test_unknown_metric_suggests_closest() -> None:
    with pytest.raises(UnknownNameError, match=r"Did you mean 'streaming_accuracy'"):
        create_metric("streaming_acuracy")


def test_unknown_kwarg_names_metric_and_closest() -> None:
    with pytest.raises(TypeError, match=r"'percentage_less'.*'treshold'.*'threshold'"):
        create_metric("percentage_less", treshold=0.1)


def test_metric_kwargs_for_config_validation() -> None:
    assert metric_kwargs("streaming_percentage_less") == ["threshold"]
    assert metric_kwargs("recall_at_k") == ["k", "from_logits"]
    assert metric_kwargs("accuracy") == ["from_logits"]
    assert metric_kwargs("mse") == []


def test_importing_metrics_does_not_import_torchmetrics() -> None:
    code = "import petri.metrics, sys; sys.exit('torchmetrics' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
