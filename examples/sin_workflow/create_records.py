"""Seed 003, step 1: noisy sine examples written as sharded TFRecords plus meta_data.json.

x = linspace(-4π, 4π, 1024), y = sin(x) + 1 + N(0, 0.1) with seed 1234; 67% of the points
(chosen at random) train, 33% evaluate. Train goes into 3 shards and eval into 2, in one folder:
``sin_train-0000k-of-00003.tfrecord``, ``sin_eval-0000k-of-00002.tfrecord``, ``meta_data.json``.

Run:  .venv/bin/python examples/sin_workflow/create_records.py [--data-dir petri_data/sin]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from petri.data import write_records

NUM_POINTS = 1024
SEED = 1234
TRAIN_FRACTION = 0.67


def make_data(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """The biased, noisy sine of seed 003: x and y as float32 [1024, 1]."""
    rng = np.random.default_rng(seed)
    x = np.linspace(-4 * np.pi, 4 * np.pi, NUM_POINTS, dtype=np.float32)[:, None]
    y = (np.sin(x) + 1 + rng.normal(0.0, 0.1, size=x.shape)).astype(np.float32)
    return x, y


def create_records(data_dir: str | Path, seed: int = SEED) -> list[Path]:
    """Write the train (3 shards) and eval (2 shards) records; returns every shard path."""
    x, y = make_data(seed)
    order = np.random.default_rng(seed).permutation(len(x))
    cut = round(TRAIN_FRACTION * len(x))
    splits = {"sin_train": (np.sort(order[:cut]), 3), "sin_eval": (np.sort(order[cut:]), 2)}
    descriptions = {"x": "a point in [-4π, 4π]", "y": "sin(x) + 1 + N(0, 0.1)"}
    paths: list[Path] = []
    for prefix, (rows, num_shards) in splits.items():
        paths += write_records(
            {"x": x[rows], "y": y[rows]},
            data_dir,
            prefix,
            num_shards,
            items_to_descriptions=descriptions,
        )
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default="petri_data/sin")
    args = parser.parse_args()
    for path in create_records(args.data_dir):
        print(path)


if __name__ == "__main__":
    main()
