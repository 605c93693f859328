"""``ModelConfig`` keys change the model that is built (issue #10: a key acts or is rejected)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from petri.configs import ModelConfig
from petri.data import numpy_input_fn
from petri.estimators import Estimator, Hook
from petri.models import MODELS, Classifier

DENSE = [["FullyConnected", {"num_units": 3}]]


def _build(**config: Any) -> Any:
    torch.manual_seed(0)
    model_config = ModelConfig.from_dict({"graph_config": {"definition": DENSE}, **config})
    return MODELS.get(model_config.module).from_config(model_config)


def test_module_selects_classifier_or_regressor() -> None:
    x = torch.randn(4, 2)
    assert set(_build(module="classifier")(x, None, "infer").predictions) == {
        "logits",
        "probabilities",
        "classes",
    }
    assert set(_build(model_type="regressor")(x, None, "infer").predictions) == {"results"}


def test_loss_config_selects_the_loss_and_its_arguments() -> None:
    x, y = torch.randn(8, 2), torch.randn(8, 3) * 5

    def loss_and_outputs(loss_config: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        model = _build(module="regressor", loss_config=loss_config)
        outputs = model(x, None, "infer").predictions["results"]  # builds the weights
        return model(x, y, "eval").loss, outputs

    loss, outputs = loss_and_outputs({"name": "absolute_difference"})
    torch.testing.assert_close(loss, (outputs - y).abs().mean())
    loss, outputs = loss_and_outputs({"module": "mean_squared_error"})
    torch.testing.assert_close(loss, (outputs - y).pow(2).mean())
    loss, outputs = loss_and_outputs({"name": "huber_loss", "delta": 0.5})
    torch.testing.assert_close(loss, F.huber_loss(outputs, y, delta=0.5))


def test_one_hot_encode_feeds_the_loss_one_hot_labels() -> None:
    x, labels = torch.randn(6, 2), torch.tensor([0, 1, 2, 0, 1, 2])
    sigmoid = {"name": "sigmoid_cross_entropy"}
    encoded = _build(n_classes=3, one_hot_encode=True, loss_config=sigmoid)
    logits = encoded(x, None, "infer").predictions["logits"]
    expected = F.binary_cross_entropy_with_logits(logits, F.one_hot(labels, 3).float())
    torch.testing.assert_close(encoded(x, labels, "eval").loss, expected)
    with pytest.raises(ValueError):  # index labels against 3 logit columns
        _build(n_classes=3, one_hot_encode=False, loss_config=sigmoid)(x, labels, "eval")
    with pytest.raises(ValueError, match="one_hot_encode applies to classifiers"):
        _build(module="regressor", one_hot_encode=True)


def test_n_classes_reaches_the_metrics(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32)
    y = np.arange(16) % 3

    def evaluate(n_classes: int) -> dict[str, Any]:
        model = _build(n_classes=n_classes, eval_metrics_config=[{"name": "streaming_accuracy"}])
        estimator = Estimator(model, model_dir=tmp_path / str(n_classes))
        estimator.train(numpy_input_fn(x, y, batch_size=8, num_epochs=None), steps=1)
        return estimator.evaluate(numpy_input_fn(x, y, batch_size=8))

    assert 0.0 <= evaluate(3)["streaming_accuracy"] <= 1.0
    with pytest.raises(ValueError, match="n_classes=5"):
        evaluate(5)


class _TemperatureClassifier(Classifier):
    """A classifier with a constructor argument of its own, set through ``params``."""

    def __init__(self, *args: Any, temperature: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.temperature = temperature

    def _build_predictions(self, outputs: torch.Tensor) -> dict[str, torch.Tensor]:
        return super()._build_predictions(outputs / self.temperature)


def test_params_reach_the_model_constructor() -> None:
    x = torch.randn(4, 2)
    plain = _build(module=_TemperatureClassifier)(x, None, "infer").predictions["logits"]
    hot = _build(module=_TemperatureClassifier, params={"temperature": 4.0})
    torch.testing.assert_close(hot(x, None, "infer").predictions["logits"], plain / 4.0)


class _Rates(Hook):
    def __init__(self) -> None:
        self.seen: list[tuple[type, float]] = []

    def after_step(self, state: Any) -> None:
        self.seen.append((type(state.optimizer), state.learning_rate))


def test_optimizer_config_builds_the_training_optimizer(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32)
    optimizer = {
        "name": "momentum",
        "learning_rate": 0.4,
        "decay_type": "exponential_decay",
        "decay_steps": 1,
        "decay_rate": 0.5,
    }
    model = _build(n_classes=3, optimizer_config=optimizer)
    rates = _Rates()
    estimator = Estimator(model, model_dir=tmp_path)
    estimator.train(numpy_input_fn(x, np.arange(16) % 3, batch_size=8), steps=2, hooks=[rates])
    assert rates.seen == [(torch.optim.SGD, 0.2), (torch.optim.SGD, 0.1)]


class _Start(Hook):
    def begin(self, state: Any) -> None:
        self.weights = torch.cat(
            [p.detach().reshape(-1).clone() for p in state.model.parameters()]
        )


def test_clip_gradients_bounds_each_update(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32) * 100
    y = np.arange(16) % 3

    def change(clip: float | None) -> float:
        model = _build(
            n_classes=3, clip_gradients=clip, optimizer_config={"name": "sgd", "learning_rate": 1}
        )
        start = _Start()
        estimator = Estimator(model, model_dir=tmp_path / str(clip))
        estimator.train(numpy_input_fn(x, y, batch_size=16), steps=1, hooks=[start])
        after = torch.cat([p.detach().reshape(-1) for p in estimator.model.parameters()])
        return float((after - start.weights).norm())

    assert change(1e-3) == pytest.approx(1e-3, rel=1e-3)
    assert change(None) > 1.0


def test_graph_config_name_features_and_definition() -> None:
    model = _build(
        graph_config={
            "name": "net",
            "features": ["a"],
            "definition": [["FullyConnected", {"num_units": 5}]],
        }
    )
    a = torch.randn(4, 2)
    logits = model({"a": a, "b": torch.randn(4, 7)}, None, "infer").predictions["logits"]
    assert logits.shape == (4, 5)  # definition: 5 units
    assert sorted(model.state_dict()) == [
        "net.fully_connected_1.bias",
        "net.fully_connected_1.weight",
    ]
    other_b = model({"a": a, "b": torch.zeros(4, 7)}, None, "infer").predictions["logits"]
    torch.testing.assert_close(other_b, logits)  # only feature "a" feeds the graph
    with pytest.raises(KeyError, match=r"graph_config\.features names 'c'"):
        _build(graph_config={"features": ["c"], "definition": DENSE})({"a": a}, None, "infer")
