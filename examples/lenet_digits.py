"""Seed 000's LeNet on scikit-learn's digits, built from Python objects.

Run:  .venv/bin/python examples/lenet_digits.py [--model-dir DIR] [--steps N]
"""

from __future__ import annotations

import argparse
import logging

import petri as plx
from petri.data import numpy_input_fn
from petri.datasets import digits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", default="petri_logs/lenet_digits_py")
    parser.add_argument("--steps", type=int, default=1500)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    (x_train, y_train), (x_eval, y_eval) = digits.load_data()
    model = plx.models.Classifier(
        graph_fn=plx.configs.GraphConfig(
            name="lenet",
            definition=[
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
        ),
        n_classes=10,
        loss_config=plx.configs.LossConfig(name="softmax_cross_entropy"),
        eval_metrics_config=[
            plx.configs.MetricConfig(name="streaming_accuracy"),
            plx.configs.MetricConfig(name="streaming_precision"),
        ],
        optimizer_config=plx.configs.OptimizerConfig(
            name="Adam",
            learning_rate=0.002,
            decay_type="exponential_decay",
            decay_rate=0.5,
            decay_steps=500,
        ),
    )
    # One thread, as configs/lenet_digits.yaml asks: 8x8 images gain little from a second, and
    # on a machine whose other core is busy two threads stall at every parallel region.
    config = plx.estimators.RunConfig(seed=1, num_threads=1)
    estimator = plx.experiments.Estimator(model, model_dir=args.model_dir, config=config)
    xp = plx.experiments.Experiment(
        estimator=estimator,
        train_input_fn=numpy_input_fn(
            x_train, y_train, batch_size=64, num_epochs=None, shuffle=True, seed=0
        ),
        eval_input_fn=numpy_input_fn(x_eval, y_eval, batch_size=128, shuffle=False),
        train_steps=args.steps,
        eval_steps=None,
        eval_every_n_steps=250,
        train_steps_per_iteration=250,
    )
    results = xp.continuous_train_and_evaluate()
    print({k: round(v, 4) if isinstance(v, float) else v for k, v in results.items()})


if __name__ == "__main__":
    main()
