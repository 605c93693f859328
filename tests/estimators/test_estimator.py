"""Every item of the seed's Estimator page, with real training on real files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import petri as plx
from petri.data import numpy_input_fn
from petri.estimators import Estimator, EstimatorSpec, ModeKeys, NanLossError, RunConfig
from petri.training.checkpoints import (
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    wait_for_checkpoints,
)


def regression_model_fn(features, labels, mode, params):
    outputs = plx.layers.FullyConnected(mode, num_units=1, name="dense")(features)
    loss = None
    if mode != ModeKeys.PREDICT:
        loss = torch.nn.functional.mse_loss(outputs, labels)
    return EstimatorSpec(
        mode,
        predictions={"y": outputs, "double": outputs * 2},
        loss=loss,
        optimizer=plx.configs.OptimizerConfig(name="sgd", learning_rate=params["lr"]),
        eval_metric_ops={"mae": (outputs - labels).abs().mean()} if labels is not None else None,
    )


@pytest.fixture()
def data(linear_data):
    x, y = linear_data
    return {
        "train": numpy_input_fn(x, y, batch_size=32, num_epochs=None, shuffle=True, seed=0),
        "eval": numpy_input_fn(x, y, batch_size=64, num_epochs=1, shuffle=False),
        "x": x,
    }


def make(tmp_path, **config):
    return Estimator(
        regression_model_fn,
        model_dir=tmp_path / "model",
        config=RunConfig(**{"seed": 0, **config}),
        params={"lr": 0.1},
    )


def test_train_returns_self_and_steps_are_incremental(tmp_path, data):
    estimator = make(tmp_path)
    assert estimator.train(data["train"], steps=10) is estimator
    assert estimator.global_step == 10
    estimator.train(data["train"], steps=10)
    assert estimator.global_step == 20


def test_max_steps_is_absolute(tmp_path, data):
    estimator = make(tmp_path)
    estimator.train(data["train"], max_steps=15)
    estimator.train(data["train"], max_steps=15)
    assert estimator.global_step == 15
    estimator.train(data["train"], max_steps=25)
    assert estimator.global_step == 25


def test_steps_and_max_steps_together_is_an_error(tmp_path, data):
    with pytest.raises(ValueError, match="both steps and max_steps"):
        make(tmp_path).train(data["train"], steps=1, max_steps=2)
    with pytest.raises(ValueError, match="steps > 0"):
        make(tmp_path).train(data["train"], steps=0)


def test_training_until_the_input_ends(tmp_path, linear_data):
    x, y = linear_data
    estimator = make(tmp_path)
    estimator.train(numpy_input_fn(x, y, batch_size=64, num_epochs=2))
    assert estimator.global_step == 8  # 256 examples / 64 * 2 epochs


def test_evaluate_returns_metrics_and_global_step(tmp_path, data):
    estimator = make(tmp_path)
    estimator.train(data["train"], steps=300)
    results = estimator.evaluate(data["eval"])
    assert results["global_step"] == 300
    assert results["loss"] < 0.01
    assert results["mae"] < 0.1


def test_evaluate_stops_after_steps_or_at_end_of_input(tmp_path, data, linear_data):
    estimator = make(tmp_path)
    estimator.train(data["train"], steps=5)
    seen = []

    class Count:
        def after_step(self, state):
            seen.append(state.step)

    estimator.evaluate(data["eval"], hooks=[Count()])
    assert seen[-1] == 4  # 256 / 64: the input ended
    seen.clear()
    x, y = linear_data
    estimator.evaluate(
        numpy_input_fn(x, y, batch_size=8, num_epochs=None), steps=3, hooks=[Count()]
    )
    assert seen == [1, 2, 3]


def test_predict_without_a_trained_model_raises(tmp_path, data):
    with pytest.raises(ValueError, match="Could not find trained model"):
        next(make(tmp_path).predict(data["eval"]))
    with pytest.raises(ValueError, match="Could not find trained model"):
        make(tmp_path).evaluate(data["eval"])


def test_predict_yields_per_example_dicts_and_filters_keys(tmp_path, data):
    estimator = make(tmp_path)
    estimator.train(data["train"], steps=300)
    predictions = list(estimator.predict(numpy_input_fn(data["x"][:5], batch_size=2)))
    assert len(predictions) == 5
    assert set(predictions[0]) == {"y", "double"}
    np.testing.assert_allclose(predictions[0]["y"], 3 * data["x"][0] - 1, atol=0.1)
    only = list(estimator.predict(numpy_input_fn(data["x"][:3], batch_size=2), predict_keys=["y"]))
    assert set(only[0]) == {"y"}
    with pytest.raises(ValueError, match="not in the predictions"):
        list(estimator.predict(numpy_input_fn(data["x"][:3]), predict_keys=["nope"]))


def test_variable_names_and_values(tmp_path, data):
    estimator = make(tmp_path)
    estimator.train(data["train"], steps=300)
    names = estimator.get_variable_names()
    assert names == ["dense/bias", "dense/weight", "global_step"]
    weight = estimator.get_variable_value("dense/weight")
    assert isinstance(weight, np.ndarray) and weight.shape == (1, 1)
    assert weight[0, 0] == pytest.approx(3.0, abs=0.1)
    assert estimator.get_variable_value("global_step") == 300
    with pytest.raises(ValueError, match="Did you mean 'dense/weight'"):
        estimator.get_variable_value("dense/weigth")


def test_new_estimator_on_same_model_dir_continues(tmp_path, data):
    first = make(tmp_path)
    first.train(data["train"], steps=40)
    weight = first.get_variable_value("dense/weight")
    second = make(tmp_path)
    assert second.global_step == 40
    np.testing.assert_array_equal(second.get_variable_value("dense/weight"), weight)
    second.train(data["train"], steps=10)
    assert second.global_step == 50
    state = load_checkpoint(latest_checkpoint(tmp_path / "model"))
    assert state["global_step"] == 50 and "optimizer" in state and "rng" in state


def test_a_model_dir_of_another_model_gives_a_clear_error_and_keeps_its_files(tmp_path, data):
    make(tmp_path).train(data["train"], steps=5)
    wait_for_checkpoints()
    written = {path.name: path.read_bytes() for path in (tmp_path / "model").iterdir()}

    def wider_model_fn(features, labels, mode, params):
        hidden = plx.layers.FullyConnected(mode, num_units=8, name="hidden")(features)
        return regression_model_fn(hidden, labels, mode, params)

    other = Estimator(wider_model_fn, model_dir=tmp_path / "model", params={"lr": 0.1})
    lacks = r"different model: the model has, the checkpoint lacks: \[.hidden"
    with pytest.raises(plx.CheckpointMismatchError, match=lacks):
        other.evaluate(data["eval"])
    with pytest.raises(plx.CheckpointMismatchError, match="new model_dir"):
        other.train(data["train"], steps=1)
    assert {path.name: path.read_bytes() for path in (tmp_path / "model").iterdir()} == written


def test_resume_matches_uninterrupted_training(tmp_path, data):
    straight = make(tmp_path / "a")
    straight.train(data["train"], steps=30)
    split = make(tmp_path / "b")
    split.train(data["train"], steps=12)
    resumed = make(tmp_path / "b")
    resumed.train(data["train"], steps=18)
    np.testing.assert_allclose(
        straight.get_variable_value("dense/weight"),
        resumed.get_variable_value("dense/weight"),
        rtol=1e-6,
    )


def test_checkpoints_every_n_steps_and_keep_max(tmp_path, data):
    estimator = make(tmp_path, save_checkpoints_steps=5, keep_checkpoint_max=3)
    estimator.train(data["train"], steps=23)
    steps = [int(p.name.split("-")[1].split(".")[0]) for p in list_checkpoints(tmp_path / "model")]
    assert steps == [15, 20, 23]
    assert not list((tmp_path / "model").glob("*.tmp"))


@pytest.mark.parametrize("arity", [3, 4, 5, 6])
def test_model_fn_signatures(tmp_path, data, arity):
    received = {}

    def model_fn3(features, labels, mode):
        return regression_model_fn(features, labels, mode, {"lr": 0.1})

    def model_fn4(features, labels, mode, params):
        received["params"] = params
        return regression_model_fn(features, labels, mode, params)

    def model_fn5(features, labels, mode, params, config):
        received["config"] = config
        return regression_model_fn(features, labels, mode, params)

    def model_fn6(features, labels, mode, params, config, model_dir):
        received["model_dir"] = model_dir
        return regression_model_fn(features, labels, mode, params)

    fn = {3: model_fn3, 4: model_fn4, 5: model_fn5, 6: model_fn6}[arity]
    params = None if arity == 3 else {"lr": 0.1}
    estimator = Estimator(fn, model_dir=tmp_path, params=params)
    estimator.train(data["train"], steps=2)
    assert estimator.global_step == 2
    if arity == 4:
        assert received["params"] == {"lr": 0.1}
    if arity == 5:
        assert isinstance(received["config"], RunConfig)
    if arity == 6:
        assert received["model_dir"] == str(tmp_path)


def test_params_that_model_fn_cannot_take_raise(tmp_path):
    def model_fn(features, labels, mode):
        raise AssertionError("not called")

    with pytest.raises(ValueError, match="no `params` argument"):
        Estimator(model_fn, model_dir=tmp_path, params={"lr": 1})
    with pytest.raises(ValueError, match="lacks"):
        Estimator(lambda x, mode: None, model_dir=tmp_path)


def test_layers_are_built_once_and_shared_across_calls(tmp_path, data):
    estimator = make(tmp_path)
    estimator.train(data["train"], steps=3)
    assert [name for name, _ in estimator.model.named_parameters()] == [
        "dense.weight",
        "dense.bias",
    ]


def test_nan_loss_stops_training_with_a_clear_error(tmp_path, data):
    def exploding(features, labels, mode):
        outputs = plx.layers.FullyConnected(mode, num_units=1)(features)
        return EstimatorSpec(
            mode, loss=(outputs - labels).pow(2).mean() * math.inf, optimizer="sgd"
        )

    estimator = Estimator(exploding, model_dir=tmp_path / "nan")
    with pytest.raises(NanLossError, match=r"loss = (nan|inf)"):
        estimator.train(data["train"], steps=5)


def test_user_hooks_get_begin_steps_and_end(tmp_path, data):
    calls = []

    class Recorder:
        def begin(self, state):
            calls.append(("begin", state.global_step))

        def after_step(self, state):
            calls.append(("after", state.global_step))
            if state.global_step == 3:
                state.stop = True

        def end(self, state):
            calls.append(("end", state.global_step))

    make(tmp_path).train(data["train"], steps=10, hooks=[Recorder()])
    assert calls == [("begin", 0), ("after", 1), ("after", 2), ("after", 3), ("end", 3)]
    with pytest.raises(TypeError, match="is not a hook"):
        make(tmp_path).train(data["train"], steps=1, hooks=[object()])


def test_keep_checkpoint_every_n_hours_preserves_milestones(tmp_path):
    import os

    from petri.training.checkpoints import save_checkpoint

    for step in range(1, 7):  # one checkpoint every half hour, none pruned yet
        path = save_checkpoint(tmp_path, {"global_step": step, "model": {}}, keep_max=None)
        os.utime(path, (step * 1800, step * 1800))
    save_checkpoint(tmp_path, {"global_step": 7, "model": {}}, keep_max=2, keep_every_n_hours=1)
    steps = sorted(int(p.name.split("-")[1].split(".")[0]) for p in list_checkpoints(tmp_path))
    assert steps == [3, 5, 6, 7]  # the last two, plus one per hour after the first


def test_training_hooks_from_the_spec_run(tmp_path, data):
    seen = []

    class Count:
        def after_step(self, state):
            seen.append(state.global_step)

    hook = Count()

    def model_fn(features, labels, mode):
        spec = regression_model_fn(features, labels, mode, {"lr": 0.1})
        spec.training_hooks = [hook]
        return spec

    Estimator(model_fn, model_dir=tmp_path).train(data["train"], steps=3)
    assert seen == [1, 2, 3]
