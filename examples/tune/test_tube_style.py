"""Seed 004's HyperOptArgumentParser, searched the way test_tube's users did.

Each trial trains a small MLP on scikit-learn's digits in a worker process and logs to its own
run (``Experiment(...).argparse(hparams)`` tags it with the trial's hyperparameters);
``optimize_parallel_cpu`` returns ``[[trial_params, result], ...]``.

Run:  .venv/bin/python examples/tune/test_tube_style.py [--save_dir DIR] [--nb_trials 8]
      (a value given on the command line, e.g. --learning_rate 0.01, is not searched)
"""

from __future__ import annotations

import numpy as np
import torch

import petri as plx
from petri.data import numpy_input_fn
from petri.datasets import digits
from petri.tracking import Experiment, HyperOptArgumentParser


def train(hparams) -> float:
    """One trial: train, evaluate, log; returns the eval accuracy."""
    torch.set_num_threads(1)  # the trials share the cores
    exp = Experiment(name="digits_mlp", save_dir=hparams.save_dir)
    exp.argparse(hparams)
    (x_train, y_train), (x_eval, y_eval) = digits.load_data()
    model = plx.models.Classifier(
        graph_fn=[
            ["Flatten", {}],
            ["FullyConnected", {"num_units": hparams.nb_units, "activation": hparams.activation}],
            ["FullyConnected", {"num_units": 10}],
        ],
        n_classes=10,
        eval_metrics_config=[{"name": "streaming_accuracy"}],
        optimizer_config={"name": "adam", "learning_rate": hparams.learning_rate},
    )
    estimator = plx.estimators.Estimator(
        model,
        model_dir=f"{exp.log_dir}/checkpoints",
        config=plx.estimators.RunConfig(seed=0, verbose=False),
    )
    train_input = numpy_input_fn(x_train, y_train, batch_size=32, num_epochs=None, seed=0)
    for _ in range(hparams.steps // 100):
        estimator.train(train_input, steps=100)
        results = estimator.evaluate(numpy_input_fn(x_eval, y_eval, batch_size=256))
        exp.log({"accuracy": results["streaming_accuracy"], "loss": results["loss"]},
                global_step=estimator.global_step)  # fmt: skip
    exp.close()
    return float(results["streaming_accuracy"])


def main() -> None:
    parser = HyperOptArgumentParser(strategy="random_search")
    parser.add_argument("--save_dir", default="petri_logs")
    parser.add_argument("--steps", default=400, type=int)
    parser.add_argument("--nb_trials", default=8, type=int)
    parser.opt_list("--learning_rate", default=0.001, type=float,
                    options=[0.0003, 0.001, 0.003, 0.01], tunable=True)  # fmt: skip
    parser.opt_list("--activation", default="relu", options=["relu", "tanh"], tunable=True)
    parser.opt_range("--nb_units", default=64, type=int, low=16, high=256, nb_samples=6,
                     tunable=True)  # fmt: skip
    hparams = parser.parse_args()
    print(hparams)
    results = hparams.optimize_parallel_cpu(train, nb_trials=hparams.nb_trials, nb_workers=2)
    results.sort(key=lambda pair: -np.inf if pair[1] is None else pair[1], reverse=True)
    for trial, accuracy in results:
        print(f"accuracy {accuracy:.4f}  lr={trial.learning_rate} units={trial.nb_units} "
              f"activation={trial.activation}")  # fmt: skip


if __name__ == "__main__":
    main()
