"""Seed 003, step 3: reload the trained Estimator, predict both splits, plot and log the plot.

Rebuilds the Estimator on the run's ``checkpoints`` folder (nothing else is kept in memory),
predicts y for every train and eval record, saves ``predictions.png`` (y and the predictions
against x, per split) in the run folder and logs it to the run as an image, with each split's
RMSE.

Run:  .venv/bin/python examples/sin_workflow/infer.py --run-dir petri_logs/sin_workflow/version_0
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train import input_fn, model_fn

from petri.estimators import Estimator
from petri.tracking import Experiment as RunLog


def predict_split(estimator: Estimator, data_dir: str, split: str) -> dict[str, np.ndarray]:
    """x, y and the predictions for every record of a split (x sorted for plotting)."""
    xs, ys = [], []
    for features, labels in input_fn(data_dir, split, batch_size=256, num_epochs=1)():
        xs.append(features["x"].numpy())
        ys.append(labels.numpy())
    predictions = estimator.predict(
        input_fn(data_dir, split, batch_size=256, num_epochs=1), predict_keys="y"
    )
    y_hat = np.array([p["y"] for p in predictions]).reshape(-1)
    x, y = np.concatenate(xs).reshape(-1), np.concatenate(ys).reshape(-1)
    order = np.argsort(x)
    return {"x": x[order], "y": y[order], "prediction": y_hat[order]}


def plot(results: dict[str, dict[str, np.ndarray]], path: str | Path) -> Any:
    """Save y and the predictions against x, one panel per split; returns the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4), sharey=True)
    for axis, (split, data) in zip(np.atleast_1d(axes), results.items()):
        axis.scatter(data["x"], data["y"], s=4, alpha=0.5, label="y")
        axis.plot(data["x"], data["prediction"], color="C3", label="prediction")
        axis.set_title(split)
        axis.set_xlabel("x")
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100)
    return figure


def infer(run_dir: str, data_dir: str, model_dir: str | None = None) -> dict[str, Any]:
    """Predict, plot and log; returns the plot path and each split's RMSE."""
    estimator = Estimator(
        model_fn,
        model_dir=model_dir or os.path.join(run_dir, "checkpoints"),
        params={"units": 100, "learning_rate": 0.01},
    )
    results = {split: predict_split(estimator, data_dir, split) for split in ("train", "eval")}
    rmse = {
        f"infer/{split}_rmse": float(np.sqrt(np.mean((d["prediction"] - d["y"]) ** 2)))
        for split, d in results.items()
    }
    path = Path(run_dir) / "predictions.png"
    figure = plot(results, path)
    run = RunLog(log_dir=run_dir, name="sin_workflow", autosave=True)
    run.log({**rmse, "predictions_png": figure}, global_step=estimator.global_step)
    run.close()
    return {"plot": str(path), **rmse}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-dir", required=True, help="The folder train.py printed.")
    parser.add_argument("--data-dir", default="petri_data/sin")
    parser.add_argument("--model-dir", help="Checkpoints folder (default: <run-dir>/checkpoints).")
    args = parser.parse_args()
    for key, value in infer(args.run_dir, args.data_dir, args.model_dir).items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
