"""End to end: seed 002's JSON on digits records, and seed 003's sine workflow."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIN_WORKFLOW = ROOT / "examples" / "sin_workflow"


@pytest.mark.slow
def test_seed002_json_reaches_97_percent(digits_dir, tmp_path) -> None:
    """Seed 002's JSON, unchanged but for the data paths (and output_dir), on digits records."""
    from petri.experiments import create_experiment

    text = (Path(__file__).parent / "seed002_lenet.json").read_text()
    config = json.loads(text.replace("/path-to-my-data", digits_dir))
    config["output_dir"] = config["estimator_config"]["output_dir"] = str(tmp_path)
    config["run_config"]["seed"] = 0
    experiment = create_experiment(config)
    results = experiment.continuous_train_and_evaluate()
    # num_epochs 5 of 1,437 examples in batches of 64: the input ends at step 113.
    assert results["global_step"] == 113
    assert results["streaming_accuracy"] >= 0.97, results


@pytest.fixture(scope="module")
def sin_modules():
    sys.path.insert(0, str(SIN_WORKFLOW))
    try:
        import create_records
        import infer
        import train

        yield create_records, train, infer
    finally:
        sys.path.remove(str(SIN_WORKFLOW))
        for name in ("create_records", "train", "infer"):
            sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def sin_data(sin_modules, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sin_data")
    paths = sin_modules[0].create_records(folder)
    assert [p.name for p in paths] == [
        *(f"sin_train-0000{i}-of-00003.tfrecord" for i in range(3)),
        *(f"sin_eval-0000{i}-of-00002.tfrecord" for i in range(2)),
    ]
    return folder


@pytest.mark.slow
def test_sin_workflow_train_infer_plot(sin_modules, sin_data, tmp_path) -> None:
    pytest.importorskip("matplotlib")  # infer.py plots with it (in the dev extra)
    from PIL import Image

    from petri.data.records import read_meta_data
    from petri.tracking import load

    _, train, infer = sin_modules
    assert read_meta_data(sin_data)["num_samples"] == {"train": 686, "eval": 338}
    run, results = train.train(str(sin_data), str(tmp_path), steps=3000, steps_per_eval=1000)
    assert results["rmse"] < 0.15, results
    outcome = infer.infer(run.log_dir, str(sin_data))
    assert outcome["infer/eval_rmse"] < 0.15
    plot = Path(outcome["plot"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(plot) as image:
        image.verify()
    logged = load(run.log_dir)
    assert any(str(v).endswith(".png") for row in logged.metrics for v in row.values())
    assert any(row.get("eval/rmse") not in (None, "") for row in logged.metrics)


@pytest.mark.slow
def test_sin_workflow_yaml_runs_with_petri_run(sin_data, tmp_path) -> None:
    from click.testing import CliRunner

    from petri.cli import main

    def data(split: str) -> list[str]:
        key = f"{split}_input_data_config.pipeline_config.params"
        return [
            "--set",
            f"{key}.data_files={sin_data}/sin_{split}-*",
            "--set",
            f"{key}.meta_data_file={sin_data}/meta_data.json",
        ]

    arguments = [
        "run",
        str(SIN_WORKFLOW / "sin_workflow.yaml"),
        "--save-dir",
        str(tmp_path),
        "--set",
        "train_steps=300",
        "--set",
        "train_steps_per_iteration=150",
        *data("train"),
        *data("eval"),
    ]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sin_workflow" / "version_0" / "checkpoints").is_dir()
