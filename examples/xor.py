"""XOR from Python objects (the seed's ``xor.py``): one hidden tanh layer separates the classes
that no straight line can. The same run as ``configs/xor.yaml``.

Run:  .venv/bin/python examples/xor.py [--model-dir DIR] [--steps N]
"""

from __future__ import annotations

import argparse
import logging

import petri as plx
from petri.data import numpy_input_fn
from petri.datasets import xor


def graph_fn(mode, inputs):
    x = plx.layers.FullyConnected(mode, num_units=8, activation="tanh")(inputs)
    return plx.layers.FullyConnected(mode, num_units=2)(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", default="petri_logs/xor_py")
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    x_train, y_train = xor.load_split("train")
    x_eval, y_eval = xor.load_split("eval")
    model = plx.models.Classifier(
        graph_fn=graph_fn,
        n_classes=2,
        optimizer_config=plx.configs.OptimizerConfig(name="Adam", learning_rate=0.01),
        eval_metrics_config=[plx.configs.MetricConfig(name="streaming_accuracy")],
    )
    # One thread: these models are tiny, and a busy second core stalls two threads.
    config = plx.estimators.RunConfig(seed=0, num_threads=1, log_step_count_steps=250)
    estimator = plx.experiments.Estimator(model, model_dir=args.model_dir, config=config)
    xp = plx.experiments.Experiment(
        estimator=estimator,
        train_input_fn=numpy_input_fn(
            x_train, y_train, batch_size=32, num_epochs=None, shuffle=True, seed=0
        ),
        eval_input_fn=numpy_input_fn(x_eval, y_eval, batch_size=200),
        train_steps=args.steps,
        eval_steps=None,
        eval_every_n_steps=500,
        train_steps_per_iteration=500,
    )
    results = xp.continuous_train_and_evaluate()
    print({k: round(v, 4) if isinstance(v, float) else v for k, v in results.items()})


if __name__ == "__main__":
    main()
