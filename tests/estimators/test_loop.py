"""The training loop: hooks end on every exit, Ctrl-C keeps the steps taken, a model may own its
train step, and hooks share typed state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import petri as plx
from petri.data import numpy_input_fn
from petri.estimators import Estimator, Hook, LoopState
from petri.models import Classifier


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def _estimator(tmp_path: Path, model: Classifier | None = None) -> Estimator:
    model = model or Classifier(
        graph_fn=[["FullyConnected", {"num_units": 2}]], n_classes=2, optimizer_config="adam"
    )
    return Estimator(model, model_dir=str(tmp_path), config={"save_checkpoints_secs": None})


class _Recorder(Hook):
    def __init__(self, fail_at: int | None = None, exception: type = RuntimeError) -> None:
        super().__init__()
        self.fail_at, self.exception = fail_at, exception
        self.ended: list[LoopState] = []

    def after_step(self, state: LoopState) -> None:
        if state.global_step == self.fail_at:
            raise self.exception("stop here")

    def end(self, state: LoopState) -> None:
        self.ended.append(state)


def test_hooks_end_when_a_step_raises(tmp_path: Path) -> None:
    x, y = _data()
    recorder = _Recorder(fail_at=3)
    with pytest.raises(RuntimeError, match="stop here"):
        _estimator(tmp_path).train(numpy_input_fn(x, y, batch_size=32), steps=10, hooks=[recorder])
    assert len(recorder.ended) == 1 and recorder.ended[0].interrupted
    assert recorder.ended[0].global_step == 3


def test_ctrl_c_saves_a_checkpoint_and_hooks_end(tmp_path: Path) -> None:
    x, y = _data()
    recorder = _Recorder(fail_at=7, exception=KeyboardInterrupt)
    estimator = _estimator(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        estimator.train(
            numpy_input_fn(x, y, batch_size=32, num_epochs=None), steps=50, hooks=[recorder]
        )
    assert recorder.ended[0].interrupted
    resumed = _estimator(tmp_path)
    assert resumed.global_step == 7  # the steps before Ctrl-C were kept
    resumed.train(numpy_input_fn(x, y, batch_size=32, num_epochs=None), max_steps=10)
    assert resumed.global_step == 10


def test_a_model_may_own_its_train_step(tmp_path: Path) -> None:
    calls: list[int] = []

    class TwoLosses(Classifier):
        def train_step(self, features, labels, gradient_step):
            spec = self(features, labels, plx.ModeKeys.TRAIN)
            calls.append(len(labels))
            gradient_step(spec.loss * 2.0)  # e.g. a custom weighting of the loss
            return spec

    x, y = _data()
    model = TwoLosses(
        graph_fn=[["FullyConnected", {"num_units": 2}]], n_classes=2, optimizer_config="adam"
    )
    estimator = _estimator(tmp_path, model)
    estimator.train(numpy_input_fn(x, y, batch_size=32), steps=1)
    before = [p.detach().clone() for p in model.parameters()]
    estimator.train(numpy_input_fn(x, y, batch_size=32), steps=3)
    assert calls == [32, 32, 32, 32]
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_logging_hook_shares_its_rate_through_a_typed_field(tmp_path: Path) -> None:
    x, y = _data()
    seen: list[float | None] = []

    class ReadRate(Hook):
        def end(self, state: LoopState) -> None:
            seen.append(state.steps_per_sec)

    estimator = Estimator(
        Classifier(
            graph_fn=[["FullyConnected", {"num_units": 2}]], n_classes=2, optimizer_config="adam"
        ),
        model_dir=str(tmp_path),
        config={"log_step_count_steps": 2},
    )
    estimator.train(numpy_input_fn(x, y, batch_size=32), steps=4, hooks=[ReadRate()])
    assert seen and seen[0] is not None and seen[0] > 0
