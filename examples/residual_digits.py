"""A residual network from Python objects (the seed's ``residual_net_mnist.py``, on the
bundled 8x8 digits): a convolution, two residual blocks (the second halves the resolution),
global average pooling and a dense classifier. The same run as ``configs/residual_digits.yaml``.

Run:  .venv/bin/python examples/residual_digits.py [--model-dir DIR] [--steps N]
"""

from __future__ import annotations

import argparse
import logging

import petri as plx
from petri.data import numpy_input_fn
from petri.datasets import digits


def graph_fn(mode, inputs):
    x = plx.layers.Conv2d(mode, num_filter=16, filter_size=3, activation="relu")(inputs)
    x = plx.layers.ResidualBlock(mode, num_filter=16, num_blocks=1)(x)
    x = plx.layers.ResidualBlock(mode, num_filter=32, num_blocks=1, downsample=True)(x)
    x = plx.layers.GlobalAvgPool(mode)(x)
    return plx.layers.FullyConnected(mode, num_units=10)(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", default="petri_logs/residual_digits_py")
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    (x_train, y_train), (x_eval, y_eval) = digits.load_data()
    model = plx.models.Classifier(
        graph_fn=graph_fn,
        n_classes=10,
        optimizer_config=plx.configs.OptimizerConfig(name="Adam", learning_rate=0.003),
        eval_metrics_config=[plx.configs.MetricConfig(name="streaming_accuracy")],
    )
    # One thread: 8x8 images gain little from a second, and a busy second core stalls two.
    config = plx.estimators.RunConfig(seed=0, num_threads=1, log_step_count_steps=250)
    estimator = plx.experiments.Estimator(model, model_dir=args.model_dir, config=config)
    xp = plx.experiments.Experiment(
        estimator=estimator,
        train_input_fn=numpy_input_fn(
            x_train, y_train, batch_size=64, num_epochs=None, shuffle=True, seed=0
        ),
        eval_input_fn=numpy_input_fn(x_eval, y_eval, batch_size=360),
        train_steps=args.steps,
        eval_steps=None,
        eval_every_n_steps=500,
        train_steps_per_iteration=500,
    )
    results = xp.continuous_train_and_evaluate()
    print({k: round(v, 4) if isinstance(v, float) else v for k, v in results.items()})


if __name__ == "__main__":
    main()
