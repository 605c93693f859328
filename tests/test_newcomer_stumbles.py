"""Issue #11's daily-use defects: what a new user hit, each kept fixed here."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from petri.configs import ExperimentConfig
from petri.data import ImagesToRecordsConverter
from petri.errors import ConfigError
from petri.experiments import create_experiment


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _config(tmp_path: Path, **overrides: object) -> dict:
    x = np.random.default_rng(0).standard_normal((32, 3)).astype(np.float32)
    config = {
        "name": "mlp",
        "output_dir": str(tmp_path / "runs"),
        "train_steps": 4,
        "train_input_data_config": {"x": x, "y": (x[:, 0] > 0).astype(np.int64)},
        "model_config": {
            "n_classes": 2,
            "graph_config": {"definition": [["FullyConnected", {"num_units": 2}]]},
        },
    }
    config.update(overrides)
    return config


def test_written_files_are_readable_by_others_under_umask_022(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        experiment = create_experiment(_config(tmp_path))
        experiment.train()
        run = Path(experiment.output_dir)
        for path in [
            run / "config.yaml",
            *run.glob("config_arrays/*.npy"),
            *run.glob("checkpoints/model.ckpt-*.pt"),
        ]:
            assert _mode(path) == 0o644, path
        images = (np.arange(4 * 8 * 8) % 255).astype(np.uint8).reshape(4, 8, 8)
        folder = tmp_path / "records"
        ImagesToRecordsConverter(
            classes=["a", "b"],
            colorspace="grayscale",
            image_format="png",
            channels=1,
            height=8,
            width=8,
        ).convert(images, np.array([0, 1, 0, 1]), folder, "train", 2)
        for path in folder.iterdir():
            assert _mode(path) == 0o644, path
    finally:
        os.umask(previous)


def test_yaml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: a\nmodel_config: {module: classifier\ntrain_steps: 3\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml', line 3, column \d+: .*not valid YAML"):
        ExperimentConfig.read_configs(str(path))


def test_an_evaluation_that_never_ends_is_refused() -> None:
    config = {
        "eval_input_data_config": {"x": [[1.0]], "pipeline_config": {"num_epochs": None}},
        "eval_steps": None,
    }
    with pytest.raises(ConfigError, match="an evaluation would never end"):
        ExperimentConfig.from_dict(config)


def test_resuming_with_a_changed_config_is_refused_unless_allowed(tmp_path: Path) -> None:
    first = create_experiment(_config(tmp_path, version=0))
    first.train()
    with pytest.raises(ConfigError, match=r"(?s)started with another config.*\+train_steps: 8"):
        create_experiment(_config(tmp_path, version=0, train_steps=8))
    same = create_experiment(_config(tmp_path, version=0))  # the same config: resumes
    assert same.train_steps == 4
    same.close()  # a run has one writer: release it before opening it again
    again = create_experiment(
        _config(tmp_path, version=0, train_steps=8), allow_config_change=True
    )
    assert again.train_steps == 8


_TRAIN_FROM_A_SCRIPT = """
import sys
import numpy as np
from petri.experiments import create_experiment

x = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
config = {{
    "name": "mlp", "output_dir": sys.argv[1], "train_steps": 40, "eval_steps": 1,
    "run_config": {{"log_step_count_steps": 10, "verbose": {verbose}}},
    "train_input_data_config": {{
        "x": x, "y": (x[:, 0] > 0).astype(np.int64),
        "pipeline_config": {{"batch_size": 16, "num_epochs": None}},
    }},
    "eval_input_data_config": {{"x": x, "y": (x[:, 0] > 0).astype(np.int64)}},
    "model_config": {{
        "n_classes": 2,
        "graph_config": {{"definition": [["FullyConnected", {{"num_units": 2}}]]}},
    }},
}}
create_experiment(config).train_and_evaluate()
"""


@pytest.mark.parametrize("verbose", [True, False])
def test_a_script_shows_progress_without_setting_up_logging(tmp_path: Path, verbose: bool) -> None:
    """Keras and Lightning print progress by default; a plain script using Petri does too."""
    import subprocess
    import sys

    script = _TRAIN_FROM_A_SCRIPT.format(verbose=verbose)
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    progress = [line for line in done.stderr.splitlines() if line.startswith("step ")]
    if verbose:
        assert [line.split(":")[0] for line in progress] == [
            f"step {n}/40" for n in (10, 20, 30, 40)
        ], done.stderr
        assert all("steps/s" in line and "loss = " in line for line in progress)
        assert all(", ETA " in line for line in progress[:-1])
        assert "Evaluation at step 40: " in done.stderr
    else:
        assert progress == [], done.stderr
        assert "Evaluation" not in done.stderr


def test_quiet_cli_runs_silently_and_resumes_with_progress(tmp_path: Path, petri_cli) -> None:
    """`petri -q run` shows no progress; verbosity is not part of the run: a resume may differ."""
    import yaml

    config = _config(tmp_path)
    x = config["train_input_data_config"]["x"]
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", (x[:, 0] > 0).astype(np.int64))
    config["train_input_data_config"] = {
        "x": str(tmp_path / "x.npy"),
        "y": str(tmp_path / "y.npy"),
    }
    config["run_config"] = {"log_step_count_steps": 1}
    config["schedule"] = "train"
    path = tmp_path / "mlp.yaml"
    path.write_text(yaml.safe_dump(config))
    run_dir = tmp_path / "run"

    quiet = petri_cli("-q", "run", path, "--output-dir", run_dir)
    assert quiet.exit_code == 0, quiet.stderr
    assert " steps/s" not in quiet.stderr
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["run_config"]["verbose"] is False

    resumed = petri_cli("run", path, "--output-dir", run_dir)
    assert resumed.exit_code == 0, resumed.stderr
    assert "started with another config" not in resumed.stderr
