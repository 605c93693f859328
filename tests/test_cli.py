"""The ``petri`` command, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "configs" / "lenet_digits.yaml"


def petri(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "petri", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def test_version_and_help():
    import petri as package

    assert petri("--version").stdout.strip().endswith(package.__version__)
    result = petri("--help")
    assert result.returncode == 0 and "run" in result.stdout
    assert "--set" in petri("run", "--help").stdout


def test_run_trains_prints_metrics_and_paths(tmp_path):
    result = petri(
        "run",
        str(EXAMPLE),
        "--set",
        "train_steps=60",
        "--set",
        "train_steps_per_iteration=30",
        "--set",
        "eval_every_n_steps=30",
        "--output-dir",
        str(tmp_path / "run"),
    )
    assert result.returncode == 0, result.stderr
    assert "streaming_accuracy" in result.stdout
    assert "global_step" in result.stdout
    assert str(tmp_path / "run") in result.stdout
    assert (tmp_path / "run" / "model.ckpt-60.pt").is_file()
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["train_steps"] == 60
    exports = list((tmp_path / "run" / "exports" / "latest").iterdir())  # 2 evaluations, keep 1
    assert len(exports) == 1 and f"export:      {exports[0]}" in result.stdout
    assert json.loads((exports[0] / "saved_model.json").read_text())["global_step"] == 60


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        (
            "model_config.optimizer_config.learning_rate=fast",
            "model_config.optimizer_config.learning_rate",
        ),
        ("model_config.optimizer_config.name=adamm", "Did you mean 'adam'"),
        ("train_stepz=5", "Did you mean 'train_steps'"),
    ],
)
def test_bad_config_exits_non_zero_with_one_paragraph(tmp_path, override, fragment):
    result = petri("run", str(EXAMPLE), "--set", override, "--output-dir", str(tmp_path / "x"))
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()  # nothing was written before the config was checked


def test_missing_config_file(tmp_path):
    result = petri("run", str(tmp_path / "missing.yaml"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_run_dispatches_rl_configs_to_an_agent(tmp_path):
    config = ROOT / "examples" / "rl" / "dqn_cartpole.yaml"
    result = petri(
        "run",
        str(config),
        "--set",
        "train_steps=600",
        "--set",
        "first_update=200",
        "--output-dir",
        str(tmp_path / "rl"),
    )
    assert result.returncode == 0, result.stderr
    assert "return_mean" in result.stdout and "global_step" in result.stdout
    assert (tmp_path / "rl" / "checkpoints").is_dir()
    bad = petri("run", str(config), "--set", "environment_config.env_id=CartPol-v1")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_export_a_finished_run(tmp_path):
    from petri.export import load_exported

    run_dir = tmp_path / "run"
    trained = petri(
        "run",
        str(EXAMPLE),
        "--set",
        "train_steps=40",
        "--set",
        "train_steps_per_iteration=40",
        "--set",
        "export_strategies=null",
        "--output-dir",
        str(run_dir),
    )
    assert trained.returncode == 0, trained.stderr
    assert not (run_dir / "exports").exists()
    exported = petri("export", str(run_dir), "--as-text")
    assert exported.returncode == 0, exported.stderr
    folder = Path(exported.stdout.strip().splitlines()[-1])
    assert folder.parent == run_dir / "exports" / "cli" and (folder / "saved_model.txt").is_file()
    served = load_exported(folder)
    assert served.metadata["global_step"] == 40
    assert served(np.zeros((3, 1, 8, 8), np.float32))["classes"].shape == (3,)
    missing = petri("export", str(run_dir), "--checkpoint", str(tmp_path / "nope.pt"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_export_rebuilds_a_run_given_inline_arrays(tmp_path):
    from petri.experiments import create_experiment

    x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    inline = {"input_type": "numpy", "x": x, "y": (x[:, 0] > 0).astype(np.int64)}
    config = {
        "name": "inline",
        "train_steps": 5,
        "train_input_data_config": {**inline, "pipeline_config": {"num_epochs": None}},
        "model_config": {
            "model_type": "classifier",
            "n_classes": 2,
            "graph_config": {"definition": [["FullyConnected", {"num_units": 2}]]},
        },
    }
    create_experiment(config, output_dir=tmp_path / "inline").train()
    arrays = sorted(p.name for p in (tmp_path / "inline" / "config_arrays").iterdir())
    assert arrays == ["train_input_data_config.x.npy", "train_input_data_config.y.npy"]
    result = petri("export", str(tmp_path / "inline"))
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "inline" / "exports" / "cli").iterdir())) == 1
    # a run written by an older Petri kept only a summary of its arrays: refused, by name
    config_file = tmp_path / "inline" / "config.yaml"
    text = config_file.read_text()
    config_file.write_text(text + "note: <array shape=(64, 4) dtype=float32>\n")
    result = petri("export", str(tmp_path / "inline"))
    assert result.returncode == 2 and "only as a summary" in result.stderr
    assert "Traceback" not in result.stderr
