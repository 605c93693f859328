"""A run's config.yaml reads back to the config that made it: names, user classes (as
``module:qualname``) and arrays given inline (kept beside it as .npy files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from petri._plain import to_plain
from petri.data import load_array
from petri.experiments import create_experiment, validate_config
from petri.models import Classifier


class WideClassifier(Classifier):
    """A user's model class, not registered anywhere."""


def _comparable(config) -> dict:
    """Plain data, with the arrays that config.yaml names as .npy files loaded."""
    values = config.to_dict()
    inputs = values["train_input_data_config"]
    inputs["x"], inputs["y"] = load_array(inputs["x"], "x"), load_array(inputs["y"], "y")
    return to_plain(values)


def test_config_yaml_reads_back_equal(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3)).astype(np.float32)
    config = {
        "name": "round_trip",
        "train_steps": 2,
        "run_config": {"seed": 4},
        "train_input_data_config": {"x": x, "y": (x[:, 0] > 0).astype(np.int64)},
        "model_config": {
            "module": WideClassifier,
            "n_classes": 2,
            "graph_config": {"definition": [["FullyConnected", {"num_units": 2}]]},
            "optimizer_config": {"name": "adam", "learning_rate": 0.01},
        },
    }
    experiment = create_experiment(config, output_dir=tmp_path / "run")
    written = tmp_path / "run" / "config.yaml"
    again = validate_config(written)
    original = validate_config(config)
    assert _comparable(again) == _comparable(original)
    assert again.model.module == f"{__name__}:WideClassifier"
    rebuilt = create_experiment(written, output_dir=tmp_path / "again")
    assert type(rebuilt.estimator.model) is WideClassifier
    experiment.train()
    rebuilt.train()  # same seed, same data, same model: the same weights
    for name, value in experiment.estimator.model.state_dict().items():
        assert torch.equal(value, rebuilt.estimator.model.state_dict()[name]), name
