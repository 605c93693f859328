"""The ``petri`` command, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
