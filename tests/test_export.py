"""Estimator.export_savedmodel and load_exported: real training, real files, a real subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import petri as plx
from petri.data import numpy_input_fn
from petri.datasets import digits
from petri.estimators import Estimator, EstimatorSpec, ModeKeys
from petri.export import (
    ServingInputReceiver,
    build_raw_serving_input_receiver_fn,
    load_exported,
)
from petri.training.checkpoints import list_checkpoints, wait_for_checkpoints


@pytest.fixture(scope="module")
def digits_data():
    return digits.load_data()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, digits_data):
    (x_train, y_train), _ = digits_data
    model = plx.models.Classifier(
        graph_fn=[
            ["Conv2d", {"num_filter": 8, "filter_size": 5}],
            ["MaxPool2d", {"kernel_size": 2}],
            ["FullyConnected", {"num_units": 10}],
        ],
        n_classes=10,
        optimizer_config={"name": "adam", "learning_rate": 0.002},
    )
    model_dir = tmp_path_factory.mktemp("lenet")
    estimator = Estimator(
        model, model_dir=model_dir, config={"seed": 0, "save_checkpoints_steps": 100}
    )
    estimator.train(
        numpy_input_fn(x_train, y_train, batch_size=64, num_epochs=None, shuffle=True), steps=300
    )
    return estimator


def test_export_serves_the_estimators_predictions(trained, digits_data, tmp_path):
    _, (x_eval, y_eval) = digits_data
    vocab = tmp_path / "labels.txt"
    vocab.write_text("\n".join(str(i) for i in range(10)))
    path = Path(
        trained.export_savedmodel(
            tmp_path / "export",
            build_raw_serving_input_receiver_fn(x_eval[:1]),
            assets_extra={"labels.txt": vocab, "nested/labels.txt": vocab},
            as_text=True,
        )
    )
    assert path.parent == tmp_path / "export" and path.name.isdigit()
    assert abs(int(path.name) - __import__("time").time()) < 120
    assert {p.name for p in path.iterdir()} == {
        "model.pt2",
        "model.onnx",
        "saved_model.json",
        "saved_model.txt",
        "assets.extra",
    }
    assert (path / "assets.extra" / "nested" / "labels.txt").read_text() == vocab.read_text()
    meta = json.loads((path / "saved_model.json").read_text())
    assert meta["global_step"] == 300 and meta["default_signature"] == "serving_default"
    assert meta["inputs"] == {"input": {"dtype": "float32", "shape": [-1, 1, 8, 8]}}
    assert set(meta["signatures"]["serving_default"]["outputs"]) == {
        "logits",
        "probabilities",
        "classes",
    }

    served = load_exported(path)
    expected = np.array(
        [p["classes"] for p in trained.predict(numpy_input_fn(x_eval, batch_size=100))]
    )
    for rows in (1, 7, len(x_eval)):  # the batch dimension is dynamic, even from a 1-row example
        np.testing.assert_array_equal(served(x_eval[:rows])["classes"], expected[:rows])
    assert (served(x_eval)["classes"] == y_eval).mean() >= 0.9
    with pytest.raises(ValueError, match=r"expected shape \[-1, 1, 8, 8\]"):
        served(x_eval[:, :, :4])


def test_an_export_loads_with_torch_alone_in_another_process(trained, digits_data, tmp_path):
    _, (x_eval, _) = digits_data
    path = trained.export_savedmodel(tmp_path, build_raw_serving_input_receiver_fn(x_eval[:4]))
    np.save(tmp_path / "x.npy", x_eval[:50])
    expected = load_exported(path)(x_eval[:50])["classes"]
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, torch
        program = torch.export.load({str(Path(path) / "model.pt2")!r}).module()
        out = program(torch.from_numpy(np.load({str(tmp_path / "x.npy")!r})))
        assert not any(name.startswith("petri") for name in sys.modules), "petri was imported"
        print(",".join(str(int(c)) for c in out["serving_default/classes"]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ",".join(str(int(c)) for c in expected)


def test_onnx_runtime_alone_gives_the_estimators_predictions(trained, digits_data, tmp_path):
    """Issue #14: predictions of model.pt2 and of ONNX Runtime, in a process that imports
    neither petri nor torch, equal the Estimator's on the whole eval split within 1e-5."""
    pytest.importorskip("onnxruntime")
    _, (x_eval, _) = digits_data
    path = Path(
        trained.export_savedmodel(tmp_path, build_raw_serving_input_receiver_fn(x_eval[:1]))
    )
    meta = json.loads((path / "saved_model.json").read_text())
    assert meta["onnx"]["file"] == "model.onnx" and meta["onnx"]["checked"] is True
    assert meta["onnx"]["max_difference"] <= 1e-4
    predicted = list(trained.predict(numpy_input_fn(x_eval, batch_size=128)))
    probabilities = np.stack([p["probabilities"] for p in predicted])
    classes = np.array([p["classes"] for p in predicted])
    np.save(tmp_path / "x.npy", x_eval)
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, onnxruntime
        session = onnxruntime.InferenceSession({str(path / "model.onnx")!r})
        names = [o.name for o in session.get_outputs()]
        x = np.load({str(tmp_path / "x.npy")!r})
        out = dict(zip(names, session.run(None, {{"input": x}})))
        assert not any(m.split(".")[0] in ("petri", "torch") for m in sys.modules), "imported"
        np.save({str(tmp_path / "p.npy")!r}, out["serving_default/probabilities"])
        np.save({str(tmp_path / "c.npy")!r}, out["serving_default/classes"])
        """
    )
    subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), probabilities, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), classes)
    for runtime in ("torch", "onnxruntime"):
        served = load_exported(path, runtime=runtime)(x_eval)
        np.testing.assert_allclose(served["probabilities"], probabilities, rtol=0, atol=1e-5)
        np.testing.assert_array_equal(served["classes"], classes)


def test_an_export_onnx_cannot_express_still_succeeds_and_says_why(
    trained, digits_data, tmp_path, monkeypatch
):
    _, (x_eval, _) = digits_data

    def refuse(*args, **kwargs):
        raise RuntimeError("Unsupported FX nodes: {'call_function': ['aten.unheard_of']}")

    monkeypatch.setattr(torch.onnx, "export", refuse)
    path = Path(
        trained.export_savedmodel(tmp_path, build_raw_serving_input_receiver_fn(x_eval[:2]))
    )
    assert not (path / "model.onnx").exists()
    missing = json.loads((path / "saved_model.json").read_text())["onnx"]["missing"]
    assert "ONNX exporter failed" in missing and "aten.unheard_of" in missing
    assert load_exported(path)(x_eval[:3])["classes"].shape == (3,)  # model.pt2 serves it
    with pytest.raises(ValueError, match="no ONNX model: torch's ONNX exporter failed"):
        load_exported(path, runtime="onnxruntime")
    with pytest.raises(ValueError, match="runtime must be one of torch, onnxruntime"):
        load_exported(path, runtime="tensorrt")


def test_exporting_an_older_checkpoint(trained, digits_data, tmp_path):
    _, (x_eval, _) = digits_data
    wait_for_checkpoints()
    oldest = list_checkpoints(trained.model_dir)[0]
    receiver = build_raw_serving_input_receiver_fn(x_eval[:2])
    old = load_exported(trained.export_savedmodel(tmp_path, receiver, checkpoint_path=oldest))
    new = load_exported(trained.export_savedmodel(tmp_path, receiver))
    assert old.metadata["global_step"] == 100 and new.metadata["global_step"] == 300
    assert not np.allclose(old(x_eval)["logits"], new(x_eval)["logits"])
    assert len(list(tmp_path.iterdir())) == 2  # same second: the next free one, no leftovers
    assert trained.global_step == 300


def _two_head_model_fn(features, labels, mode, params):
    hidden = plx.layers.FullyConnected(mode, num_units=16, activation="relu")(features)
    value = plx.layers.FullyConnected(mode, num_units=1)(hidden)
    loss = None if mode == ModeKeys.PREDICT else torch.nn.functional.mse_loss(value, labels)
    return EstimatorSpec(
        mode,
        predictions={"value": value},
        loss=loss,
        optimizer="adam",
        export_outputs={
            "serving_default": {"value": value},
            "embedding": {"hidden": hidden, "norm": hidden.norm(dim=1)},
        },
    )


def test_several_signatures_and_a_preprocessing_receiver(tmp_path):
    x = np.random.default_rng(0).standard_normal((256, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    estimator = Estimator(_two_head_model_fn, model_dir=tmp_path / "m", config={"seed": 0})
    estimator.train(numpy_input_fn(x, y, batch_size=32, num_epochs=None), steps=50)

    def receiver_fn() -> ServingInputReceiver:
        raw = {"a": torch.zeros(2, 2), "b": torch.zeros(2, 1)}  # clients send two columns + one
        return ServingInputReceiver(lambda t: torch.cat([t["a"], t["b"]], dim=1), raw)

    served = load_exported(estimator.export_savedmodel(tmp_path / "export", receiver_fn))
    assert served.signatures == {"serving_default": ["value"], "embedding": ["hidden", "norm"]}
    out = served({"a": x[:5, :2], "b": x[:5, 2:]})
    direct = np.array([p["value"] for p in estimator.predict(numpy_input_fn(x[:5], batch_size=5))])
    np.testing.assert_allclose(out["value"], direct.reshape(-1, 1), rtol=1e-5, atol=1e-6)
    embedding = served({"a": x[:5, :2], "b": x[:5, 2:]}, signature="embedding")
    np.testing.assert_allclose(
        embedding["norm"], np.linalg.norm(embedding["hidden"], axis=1), rtol=1e-5
    )
    with pytest.raises(ValueError, match="Missing inputs"):
        served({"a": x[:5, :2]})


def test_bad_exports_fail_clearly_and_leave_nothing(tmp_path, trained, digits_data):
    _, (x_eval, _) = digits_data
    receiver = build_raw_serving_input_receiver_fn(x_eval[:2])
    with pytest.raises(ValueError, match="serving_input_receiver_fn"):
        trained.export_savedmodel(tmp_path / "e", None)
    with pytest.raises(ValueError, match="relative path inside"):
        trained.export_savedmodel(tmp_path / "e", receiver, assets_extra={"../x": __file__})
    with pytest.raises(ValueError, match="is not a file"):
        trained.export_savedmodel(tmp_path / "e", receiver, assets_extra={"x": tmp_path / "nope"})
    untrained = Estimator(_two_head_model_fn, model_dir=tmp_path / "none")
    with pytest.raises(ValueError, match="Could not find trained model"):
        untrained.export_savedmodel(
            tmp_path / "e", build_raw_serving_input_receiver_fn(np.zeros((2, 3)))
        )
    assert not (tmp_path / "e").exists() or not os.listdir(tmp_path / "e")
    with pytest.raises(ValueError, match="not a Petri export"):
        load_exported(tmp_path)


def _digits_config(digits_data, output_dir, **extra):
    (x_train, y_train), (x_eval, y_eval) = digits_data
    numpy_input = {"input_type": plx.configs.InputDataConfig.NUMPY}
    return {
        "name": "exported",
        "output_dir": str(output_dir),
        "train_steps": 400,
        "eval_every_n_steps": 100,
        "train_steps_per_iteration": 100,
        "run_config": {"seed": 0},
        "train_input_data_config": {
            **numpy_input,
            "pipeline_config": {"batch_size": 64, "num_epochs": None, "shuffle": True},
            "x": x_train,
            "y": y_train,
        },
        "eval_input_data_config": {
            **numpy_input,
            "pipeline_config": {"batch_size": 128},
            "x": x_eval,
            "y": y_eval,
        },
        "model_config": {
            "model_type": "classifier",
            "n_classes": 10,
            "optimizer_config": {"name": "adam", "learning_rate": 0.002},
            "eval_metrics_config": [{"name": "streaming_accuracy"}],
            "graph_config": {
                "definition": [
                    ["Conv2d", {"num_filter": 8, "filter_size": 5}],
                    ["MaxPool2d", {"kernel_size": 2}],
                    ["FullyConnected", {"num_units": 10}],
                ]
            },
        },
        **extra,
    }


def test_export_strategies_from_a_config_keep_the_newest(digits_data, tmp_path):
    from petri.configs import ExperimentConfig
    from petri.experiments import create_experiment

    config = _digits_config(
        digits_data, tmp_path, export_strategies=[{"name": "latest", "exports_to_keep": 2}]
    )
    xp = create_experiment(ExperimentConfig.read_configs(config))
    results = xp.continuous_train_and_evaluate()
    assert len(xp.eval_results) == 4 and len(xp.exports) == 4
    base = xp.output_dir / "exports" / "latest"
    kept = sorted(base.iterdir(), key=lambda p: int(p.name))
    assert [str(p) for p in kept] == xp.exports[-2:]  # the oldest two were deleted
    newest = load_exported(kept[-1])
    assert newest.metadata["global_step"] == results["global_step"] == 400
    _, (x_eval, y_eval) = digits_data
    accuracy = (newest(x_eval)["classes"] == y_eval).mean()
    assert accuracy == pytest.approx(results["streaming_accuracy"], abs=1e-6)


def test_export_strategy_in_python_with_its_own_receiver(digits_data, tmp_path):
    from petri.experiments import Experiment
    from petri.export import make_export_strategy

    (x_train, y_train), (x_eval, y_eval) = digits_data
    model = plx.models.Classifier(
        graph_fn=[["FullyConnected", {"num_units": 10}]],
        n_classes=10,
        optimizer_config={"name": "adam", "learning_rate": 0.01},
    )
    estimator = Estimator(model, model_dir=tmp_path / "model", config={"seed": 0})
    flat = build_raw_serving_input_receiver_fn(x_eval[:2].reshape(2, 64))

    def receiver_fn() -> ServingInputReceiver:  # clients send flat 64-pixel rows
        raw = flat().receiver_tensors["input"]  # type: ignore[index]
        return ServingInputReceiver(lambda t: t["pixels"].view(-1, 1, 8, 8), {"pixels": raw})

    xp = Experiment(
        estimator,
        numpy_input_fn(x_train, y_train, batch_size=64, num_epochs=None, shuffle=True),
        numpy_input_fn(x_eval, y_eval, batch_size=128),
        train_steps=200,
        eval_steps=None,
        export_strategies=make_export_strategy(receiver_fn, exports_to_keep=None, name="flat"),
    )
    xp.train_and_evaluate()
    (folder,) = xp.exports
    served = load_exported(folder)
    assert served.inputs == {"pixels": {"dtype": "float32", "shape": [-1, 64]}}
    assert (served(x_eval.reshape(-1, 64))["classes"] == y_eval).mean() > 0.8


def test_bad_export_strategy_configs(digits_data, tmp_path):
    from petri.configs import ExperimentConfig
    from petri.errors import ConfigError

    for strategies, path in [
        ([{"name": "a", "exports_to_keep": 0}], "export_strategies[0].exports_to_keep"),
        ({"name": "a", "export_to_keep": 3}, "export_strategies[0].export_to_keep"),
    ]:
        config = _digits_config(digits_data, tmp_path, export_strategies=strategies)
        with pytest.raises(ConfigError, match=re.escape(path)):
            ExperimentConfig.read_configs(config)
