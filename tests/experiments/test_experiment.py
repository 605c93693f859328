"""Experiments from Python objects and from the seeds' configs, on real digits."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

import petri as plx
from petri.configs import ExperimentConfig
from petri.data import numpy_input_fn
from petri.estimators import Estimator, RunConfig
from petri.experiments import Experiment, create_experiment
from petri.models import Classifier
from petri.tracking import Experiment as RunLog


def seed_000_config(digits, output_dir):
    """Seed 000's config dict with only the data swapped for digits and plx = petri."""
    (x_train, y_train), (x_test, y_test) = digits
    X = {"train": x_train, "test": x_test}
    y = {"train": y_train, "test": y_test}
    return {
        "name": "lenet_mnsit",
        "output_dir": output_dir,
        "eval_every_n_steps": 1,
        "train_steps_per_iteration": 100,
        "run_config": {"save_checkpoints_steps": 100},
        "train_input_data_config": {
            "input_type": plx.configs.InputDataConfig.NUMPY,
            "pipeline_config": {
                "name": "train",
                "batch_size": 64,
                "num_epochs": None,
                "shuffle": True,
            },
            "x": X["train"],
            "y": y["train"],
        },
        "eval_input_data_config": {
            "input_type": plx.configs.InputDataConfig.NUMPY,
            "pipeline_config": {
                "name": "eval",
                "batch_size": 32,
                "num_epochs": None,
                "shuffle": False,
            },
            "x": X["test"],
            "y": y["test"],
        },
        "estimator_config": {"output_dir": output_dir},
        "model_config": {
            "model_type": "classifier",
            "loss_config": {"name": "softmax_cross_entropy"},
            "eval_metrics_config": [
                {"name": "streaming_accuracy"},
                {"name": "streaming_precision"},
            ],
            "optimizer_config": {
                "name": "Adam",
                "learning_rate": 0.002,
                "decay_type": "exponential_decay",
                "decay_rate": 0.2,
            },
            "graph_config": {
                "name": "lenet",
                "definition": [
                    (
                        plx.layers.Conv2d,
                        {
                            "num_filter": 32,
                            "filter_size": 5,
                            "strides": 1,
                            "regularizer": "l2_regularizer",
                        },
                    ),
                    (plx.layers.MaxPool2d, {"kernel_size": 2}),
                    (
                        plx.layers.Conv2d,
                        {"num_filter": 64, "filter_size": 5, "regularizer": "l2_regularizer"},
                    ),
                    (plx.layers.MaxPool2d, {"kernel_size": 2}),
                    (plx.layers.FullyConnected, {"n_units": 1024, "activation": "tanh"}),
                    (plx.layers.FullyConnected, {"n_units": 10}),
                ],
            },
        },
    }


def test_seed_000_config_runs_continuous_train_and_evaluate(digits, tmp_path):
    config = seed_000_config(digits, str(tmp_path / "lenet"))
    config["train_steps"] = 300  # the seed's default is 10,000; the test keeps it short
    xp_config = plx.configs.ExperimentConfig.read_configs(config)
    xp = plx.experiments.create_experiment(xp_config)
    results = xp.continuous_train_and_evaluate()
    assert results["global_step"] == 300
    assert results["streaming_accuracy"] > 0.8
    assert len(xp.eval_results) == 3  # eval_every_n_steps=1: after every 100-step iteration
    # The run is versioned under output_dir (the save_dir); checkpoints stay in
    # estimator_config.output_dir as the seed asks.
    run_dir = tmp_path / "lenet" / "lenet_mnsit" / "version_0"
    assert xp.output_dir == run_dir
    assert (run_dir / "config.yaml").is_file()
    with open(run_dir / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    assert [r["global_step"] for r in rows if r["eval/loss"]] == ["100", "200", "300"]


def test_a_config_without_a_chunk_size_evaluates_every_eval_every_n_steps(digits, tmp_path):
    """As Experiment in Python: train_steps_per_iteration None means eval_every_n_steps."""
    config = seed_000_config(digits, str(tmp_path / "lenet"))
    del config["train_steps_per_iteration"]
    config.update(train_steps=30, eval_every_n_steps=10, eval_steps=2)
    xp = plx.experiments.create_experiment(plx.configs.ExperimentConfig.read_configs(config))
    xp.continuous_train_and_evaluate()
    with open(xp.output_dir / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    assert [r["global_step"] for r in rows if r["eval/loss"]] == ["10", "20", "30"]


def test_seed_002_json_with_numpy_data(digits, tmp_path):
    (x_train, y_train), (x_eval, y_eval) = digits
    seed_json = {
        "name": "MyModel",
        "output_dir": str(tmp_path / "mymodel"),
        "eval_every_n_steps": 10,
        "train_steps_per_iteration": 1000,
        "run_config": {"save_checkpoints_steps": 100},
        "train_input_data_config": {
            "pipeline_config": {
                "module": "TFRecordImagePipeline",
                "batch_size": 64,
                "num_epochs": 5,
                "shuffle": True,
                "dynamic_pad": False,
                "params": {
                    "data_files": "/path-to-my-data/mnist_train.tfrecord",
                    "meta_data_file": "/path-to-my-data/meta_data.json",
                },
            }
        },
        "eval_input_data_config": {
            "pipeline_config": {
                "module": "TFRecordImagePipeline",
                "batch_size": 32,
                "num_epochs": 1,
                "shuffle": True,
                "dynamic_pad": False,
                "params": {
                    "data_files": "/path-to-my-data/mnist_eval.tfrecord",
                    "meta_data_file": "/path-to-my-data/meta_data.json",
                },
            }
        },
        "estimator_config": {"output_dir": str(tmp_path / "mymodel")},
        "model_config": {
            "summaries": ["loss", "gradients", "activations"],
            "module": "Classifier",
            "loss_config": {"module": "softmax_cross_entropy"},
            "eval_metrics_config": [
                {"module": m}
                for m in [
                    "streaming_true_positives",
                    "streaming_true_negatives",
                    "streaming_false_positives",
                    "streaming_false_negatives",
                    "streaming_recall",
                    "streaming_auc",
                    "streaming_accuracy",
                    "streaming_precision",
                ]
            ],
            "optimizer_config": {
                "module": "adam",
                "learning_rate": 0.007,
                "decay_type": "exponential_decay",
                "decay_rate": 0.2,
            },
            "one_hot_encode": True,
            "n_classes": 10,
            "graph_config": {
                "name": "lenet",
                "features": ["image"],
                "definition": [
                    [
                        "Conv2d",
                        {
                            "regularizer": "l2_regularizer",
                            "num_filter": 32,
                            "filter_size": 5,
                            "strides": 1,
                        },
                    ],
                    ["MaxPool2d", {"kernel_size": 2}],
                    [
                        "Conv2d",
                        {"num_filter": 64, "filter_size": 5, "regularizer": "l2_regularizer"},
                    ],
                    ["MaxPool2d", {"kernel_size": 2}],
                    ["FullyConnected", {"num_units": 1024, "activation": "tanh"}],
                    ["FullyConnected", {"num_units": 10}],
                ],
            },
        },
    }
    text = json.dumps(seed_json)
    config = json.loads(text)
    # The only change: the record pipelines become NUMPY data (features named "image").
    for key, (x, y) in {
        "train_input_data_config": (x_train, y_train),
        "eval_input_data_config": (x_eval, y_eval),
    }.items():
        pipeline = config[key]["pipeline_config"]
        pipeline.pop("module"), pipeline.pop("params")
        config[key].update({"input_type": "numpy", "x": {"image": x}, "y": y})
    config["train_steps"] = 100
    xp = create_experiment(ExperimentConfig.read_configs(config))
    results = xp.continuous_train_and_evaluate()
    assert results["global_step"] == 100
    for name in [
        "streaming_true_positives",
        "streaming_auc",
        "streaming_recall",
        "streaming_accuracy",
    ]:
        assert name in results
    assert results["streaming_accuracy"] > 0.5


def test_experiment_from_python_objects(digits, tmp_path):
    (x_train, y_train), (x_eval, y_eval) = digits
    model = Classifier(
        graph_fn=[
            ["Flatten", {}],
            ["FullyConnected", {"num_units": 64, "activation": "relu"}],
            ["FullyConnected", {"num_units": 10}],
        ],
        n_classes=10,
        optimizer_config={"name": "adam", "learning_rate": 0.01},
        eval_metrics_config=["streaming_accuracy"],
    )
    estimator = plx.experiments.Estimator(model, model_dir=tmp_path, config=RunConfig(seed=0))
    xp = Experiment(
        estimator,
        train_input_fn=numpy_input_fn(
            x_train, y_train, batch_size=32, num_epochs=None, shuffle=True
        ),
        eval_input_fn=numpy_input_fn(x_eval, y_eval, batch_size=128, shuffle=False),
        train_steps=400,
        eval_steps=None,
        eval_every_n_steps=150,
        train_steps_per_iteration=50,
    )
    results = xp.continuous_train_and_evaluate()
    assert results["streaming_accuracy"] > 0.9
    # eval_every_n_steps is honoured: evaluations at 150, 300 (iteration boundaries) and the end
    assert [r["global_step"] for r in xp.eval_results] == [150, 300, 400]
    xp.train_steps = 500
    xp.train()
    assert estimator.global_step == 500


def test_train_and_evaluate_stops_when_training_input_ends(digits, tmp_path):
    (x_train, y_train), (x_eval, y_eval) = digits
    model = Classifier(
        graph_fn=[["Flatten", {}], ["FullyConnected", {"num_units": 10}]],
        n_classes=10,
        optimizer_config="adam",
    )
    xp = Experiment(
        Estimator(model, model_dir=tmp_path),
        numpy_input_fn(x_train, y_train, batch_size=100, num_epochs=1),
        numpy_input_fn(x_eval, y_eval, batch_size=100),
        train_steps=10_000,
        eval_every_n_steps=5,
    )
    results = xp.train_and_evaluate()
    assert results["global_step"] == 15  # 1,437 examples in batches of 100


@pytest.mark.slow
def test_lenet_digits_example_reaches_97_percent(tmp_path):
    from pathlib import Path

    example = Path(__file__).parents[2] / "examples" / "configs" / "lenet_digits.yaml"
    config = ExperimentConfig.read_configs(example)
    xp = create_experiment(config, output_dir=tmp_path / "lenet")
    results = getattr(xp, config.schedule)()
    assert results["streaming_accuracy"] >= 0.97, results
    assert np.isfinite(results["loss"])


TRAINER = """
import sys, time
import numpy as np
from petri.data import numpy_input_fn
from petri.estimators import Estimator, Hook, RunConfig
from petri.models import Classifier

class Slow(Hook):  # a trainer slower than the evaluator
    def after_step(self, state):
        time.sleep(0.01)

rng = np.random.default_rng(0)
x = rng.normal(size=(256, 8)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int64)
model = Classifier(graph_fn=[["FullyConnected", {"num_units": 2}]], n_classes=2,
                   optimizer_config={"name": "sgd", "learning_rate": 0.5})
estimator = Estimator(model, model_dir=sys.argv[1],
                      config=RunConfig(seed=0, save_checkpoints_steps=20, keep_checkpoint_max=2))
estimator.train(numpy_input_fn(x, y, batch_size=32, num_epochs=None, shuffle=True, seed=1),
                max_steps=200, hooks=[Slow()])
"""


@pytest.mark.slow
@pytest.mark.timeout(300)  # continuous_eval waits for checkpoints: fail, don't hang, if none come
def test_continuous_eval_follows_a_training_process(tmp_path):
    model_dir = tmp_path / "model"
    script = tmp_path / "trainer.py"
    script.write_text(TRAINER)
    trainer = subprocess.Popen([sys.executable, str(script), str(model_dir)])
    try:
        rng = np.random.default_rng(1)
        x = rng.normal(size=(128, 8)).astype(np.float32)
        y = (x[:, 0] > 0).astype(np.int64)
        estimator = Estimator(
            Classifier(
                graph_fn=[["FullyConnected", {"num_units": 2}]],
                n_classes=2,
                eval_metrics_config=["streaming_accuracy"],
            ),
            model_dir=model_dir,
        )
        experiment = Experiment(
            estimator,
            train_input_fn=None,
            eval_input_fn=numpy_input_fn(x, y, batch_size=64, shuffle=False),
            train_steps=200,
            eval_steps=None,
            run=RunLog(log_dir=tmp_path / "evaluator", autosave=True),
        )
        results = experiment.continuous_eval(throttle_delay_secs=0)
        assert trainer.wait(timeout=120) == 0
    finally:
        trainer.kill()
        trainer.wait()
    steps = [r["global_step"] for r in experiment.eval_results]
    assert results["global_step"] == 200 and steps[-1] == 200
    assert len(steps) >= 3 and steps == sorted(set(steps)), steps  # each checkpoint once
    assert results["streaming_accuracy"] > 0.9  # the trained model, really read from disk
    with open(tmp_path / "evaluator" / "metrics.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(r["global_step"]) for r in rows] == steps
