"""A time series from Python objects (the seed's ``timeseries.py``): an LSTM predicts a noisy
sine wave's next value from the 20 values before it; evaluation is the series' last 20%, time
the model never saw. The noise (std 0.05) puts the best eval MSE near 0.0025. The same run as
``configs/sine_lstm.yaml``.

Run:  .venv/bin/python examples/sine_lstm.py [--model-dir DIR] [--steps N]
"""

from __future__ import annotations

import argparse
import logging

import petri as plx
from petri.data import numpy_input_fn
from petri.datasets import sine


def graph_fn(mode, inputs):
    x = plx.layers.LSTM(mode, num_units=32)(inputs)  # [N, 20, 1] -> the last step's [N, 32]
    return plx.layers.FullyConnected(mode, num_units=1)(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", default="petri_logs/sine_lstm_py")
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    x_train, y_train = sine.load_split("train")
    x_eval, y_eval = sine.load_split("eval")
    model = plx.models.Regressor(
        graph_fn=graph_fn,
        loss_config=plx.configs.LossConfig(name="mean_squared_error"),
        optimizer_config=plx.configs.OptimizerConfig(name="Adam", learning_rate=0.01),
        eval_metrics_config=[plx.configs.MetricConfig(name="streaming_mean_squared_error")],
    )
    # One thread: these models are tiny, and a busy second core stalls two threads.
    config = plx.estimators.RunConfig(seed=0, num_threads=1, log_step_count_steps=250)
    estimator = plx.experiments.Estimator(model, model_dir=args.model_dir, config=config)
    xp = plx.experiments.Experiment(
        estimator=estimator,
        train_input_fn=numpy_input_fn(
            x_train, y_train, batch_size=32, num_epochs=None, shuffle=True, seed=0
        ),
        eval_input_fn=numpy_input_fn(x_eval, y_eval, batch_size=400),
        train_steps=args.steps,
        eval_steps=None,
        eval_every_n_steps=500,
        train_steps_per_iteration=500,
    )
    results = xp.continuous_train_and_evaluate()
    print({k: round(v, 4) if isinstance(v, float) else v for k, v in results.items()})


if __name__ == "__main__":
    main()
