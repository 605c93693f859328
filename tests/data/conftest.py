"""Fixtures for the data tests: digits records written once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A folder with digits_train-*/digits_eval-* PNG records and meta_data.json."""
    from petri.datasets import digits

    return digits.prepare(tmp_path_factory.mktemp("digits_records"))


@pytest.fixture()
def digits_config(digits_dir: str):
    """A TFRecordImagePipeline config over the train records; pass overrides as kwargs."""

    def make(split: str = "train", **overrides):
        config = {
            "module": "TFRecordImagePipeline",
            "batch_size": 32,
            "num_epochs": 1,
            "params": {
                "data_files": f"{digits_dir}/digits_{split}-*",
                "meta_data_file": f"{digits_dir}/meta_data.json",
            },
        }
        params = overrides.pop("params", {})
        config.update(overrides)
        config["params"].update(params)
        return config

    return make
