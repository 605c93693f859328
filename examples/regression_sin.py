"""A seed-style ``model_fn`` regressing a noisy sine wave (seed 003's data, in memory).

Shows the Estimator's TF-style contract: ``model_fn(features, labels, mode, params)`` builds
layers with ``plx.layers`` on every call; Petri creates them once and reuses them.
3,000 steps reach an eval RMSE of 0.105 (the noise alone: 0.1).

Run:  .venv/bin/python examples/regression_sin.py [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import logging

import numpy as np

import petri as plx
from petri.data import numpy_input_fn
from petri.estimators import Estimator, EstimatorSpec, ModeKeys, RunConfig


def make_data(seed: int = 1234) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.linspace(-4 * np.pi, 4 * np.pi, 1024, dtype=np.float32)[:, None]
    y = (np.sin(x) + 1 + rng.normal(0, 0.1, size=x.shape)).astype(np.float32)
    return x, y


def model_fn(features, labels, mode, params):
    dense = {"num_units": params["units"], "activation": "relu", "weights_init": "xavier"}
    hidden = plx.layers.FullyConnected(mode, **dense)(features)
    hidden = plx.layers.FullyConnected(mode, **dense)(hidden)
    outputs = plx.layers.FullyConnected(mode, num_units=1, weights_init="xavier")(hidden)
    loss = None
    if mode != ModeKeys.PREDICT:
        loss = plx.losses.get_loss("mean_squared_error")(outputs, labels)
    return EstimatorSpec(
        mode,
        predictions={"y": outputs},
        loss=loss,
        optimizer=plx.configs.OptimizerConfig(name="adam", learning_rate=params["learning_rate"]),
        eval_metric_ops=(
            {
                "rmse": (
                    plx.metrics.create_metric("streaming_root_mean_squared_error"),
                    (outputs, labels),
                )
            }
            if mode == ModeKeys.EVAL
            else None
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", default="petri_logs/regression_sin")
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    x, y = make_data()
    order = np.random.default_rng(0).permutation(len(x))
    train, evaluation = order[: int(0.67 * len(x))], order[int(0.67 * len(x)) :]
    estimator = Estimator(
        model_fn,
        model_dir=args.model_dir,
        config=RunConfig(seed=0, num_threads=1),  # a tiny MLP: a second thread only stalls
        params={"units": 100, "learning_rate": 0.01},
    )
    estimator.train(
        numpy_input_fn(x[train], y[train], batch_size=256, num_epochs=None, shuffle=True, seed=0),
        max_steps=args.steps,
    )
    results = estimator.evaluate(numpy_input_fn(x[evaluation], y[evaluation], batch_size=256))
    print({k: round(v, 4) if isinstance(v, float) else v for k, v in results.items()})


if __name__ == "__main__":
    main()
