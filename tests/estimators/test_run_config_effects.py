"""``RunConfig`` keys change what the Estimator does (issue #10: a key acts or is rejected)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from petri.data import numpy_input_fn
from petri.errors import ConfigError
from petri.estimators import Estimator, EstimatorSpec, Hook, ModeKeys
from petri.layers import FullyConnected
from petri.training.checkpoints import list_checkpoints, wait_for_checkpoints

X = np.linspace(-1, 1, 64, dtype=np.float32).reshape(64, 1)
Y = 3 * X - 1


def _model_fn(features: Any, labels: Any, mode: str) -> EstimatorSpec:
    outputs = FullyConnected(mode, num_units=1, name="dense")(features)
    loss = None if mode == ModeKeys.PREDICT else torch.nn.functional.mse_loss(outputs, labels)
    return EstimatorSpec(mode, predictions={"y": outputs}, loss=loss, optimizer="sgd")


def _input() -> Any:
    return numpy_input_fn(X, Y, batch_size=16, num_epochs=None)


def _estimator(tmp_path: Path, **config: Any) -> Estimator:
    return Estimator(_model_fn, model_dir=tmp_path, config=config)


def test_seed_decides_the_initial_weights(tmp_path: Path) -> None:
    def first_weights(folder: str, seed: int) -> np.ndarray:
        estimator = _estimator(tmp_path / folder, seed=seed)
        estimator.train(_input(), steps=1)
        return estimator.get_variable_value("dense/weight")

    same = first_weights("a", 1), first_weights("b", 1)
    np.testing.assert_array_equal(*same)
    assert not np.array_equal(same[0], first_weights("c", 2))


def test_seed_decides_the_order_of_an_input_built_before_the_run(tmp_path: Path) -> None:
    """An unseeded shuffled numpy_input_fn made before the Estimator follows RunConfig.seed,
    whatever ran in between (the README's Python snippet gives the same accuracy twice)."""

    def trained(folder: str, seed: int) -> np.ndarray:
        input_fn = numpy_input_fn(X, Y, batch_size=16, num_epochs=None, shuffle=True)
        torch.randn(int(folder[-1]))  # unrelated draws between the input and the run
        estimator = _estimator(tmp_path / folder, seed=seed)
        estimator.train(input_fn, steps=3)
        return estimator.get_variable_value("dense/weight")

    np.testing.assert_array_equal(trained("a1", 5), trained("b2", 5))
    assert not np.array_equal(trained("c3", 5), trained("d4", 6))


def test_save_checkpoints_secs_checkpoints_on_a_clock(tmp_path: Path) -> None:
    def checkpoints(folder: str, secs: float) -> list[Path]:
        estimator = _estimator(
            tmp_path / folder,
            save_checkpoints_steps=None,
            save_checkpoints_secs=secs,
            keep_checkpoint_max=100,
        )
        estimator.train(_input(), steps=6)
        wait_for_checkpoints()
        return list_checkpoints(tmp_path / folder)

    assert len(checkpoints("often", 1e-9)) == 6  # every step is past the interval
    assert [p.name for p in checkpoints("hourly", 3600.0)] == ["model.ckpt-6.pt"]  # the end


class _Threads(Hook):
    def __init__(self) -> None:
        self.seen: list[int] = []

    def after_step(self, state: Any) -> None:
        self.seen.append(torch.get_num_threads())


def test_num_threads_sets_torch_threads_for_the_run(tmp_path: Path) -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        hook = _Threads()
        _estimator(tmp_path / "one", num_threads=1).train(_input(), steps=2, hooks=[hook])
        assert hook.seen == [1, 1]
        torch.set_num_threads(2)
        untouched = _Threads()
        _estimator(tmp_path / "none").train(_input(), steps=2, hooks=[untouched])
        assert untouched.seen == [2, 2]
    finally:
        torch.set_num_threads(before)


def test_device_places_the_model(tmp_path: Path) -> None:
    estimator = _estimator(tmp_path / "cpu", device="cpu")
    estimator.train(_input(), steps=1)
    assert estimator.device == torch.device("cpu")
    assert {p.device.type for p in estimator.model.parameters()} == {"cpu"}
    if torch.cuda.is_available():
        cuda = _estimator(tmp_path / "cuda", device="cuda")
        cuda.train(_input(), steps=1)
        assert {p.device.type for p in cuda.model.parameters()} == {"cuda"}
    else:  # the key is honoured, so a machine without CUDA refuses it by name
        with pytest.raises(ConfigError, match=r"run_config.device is 'cuda'.*no CUDA device"):
            _estimator(tmp_path / "cuda", device="cuda").train(_input(), steps=1)


def test_compile_runs_the_model_through_torch_compile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[Any] = []
    calls: list[str] = []

    def fake_compile(module: torch.nn.Module, **options: Any) -> Any:  # a fast stand-in
        compiled.append(module)

        def call(*args: Any) -> Any:
            calls.append(args[-1])
            return module(*args)

        return call

    monkeypatch.setattr(torch, "compile", fake_compile)
    _estimator(tmp_path / "off").train(_input(), steps=2)
    assert compiled == [] and calls == []
    estimator = _estimator(tmp_path / "on", compile=True)
    estimator.train(_input(), steps=2)
    estimator.evaluate(numpy_input_fn(X, Y, batch_size=32))
    assert compiled == [estimator.model]
    assert calls == [ModeKeys.TRAIN, ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.EVAL]
