"""The ``petri`` command: in-process (click's runner) on a small MLP, and a few real processes.

The in-process tests check what the command does: arguments, output, files, exit codes and
error messages. The subprocess tests at the end check what only a real process shows: the
console script and ``python -m petri`` start, the exit status a shell sees, and SIGINT.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "configs" / "lenet_digits.yaml"
RL_EXAMPLE = ROOT / "examples" / "rl" / "dqn_cartpole.yaml"


def _digits(split: str, batch_size: int, num_epochs: int | None) -> dict:
    return {
        "input_type": "dataset",
        "x": "digits",
        "pipeline_config": {
            "name": split,
            "batch_size": batch_size,
            "num_epochs": num_epochs,
            "shuffle": split == "train",
            "params": {"split": split},
        },
    }


# The LeNet example's layout with a one-hidden-layer MLP: a step takes about a millisecond.
MLP = {
    "name": "mlp_digits",
    "train_steps": 40,
    "train_steps_per_iteration": 20,
    "eval_every_n_steps": 20,
    "eval_steps": None,
    "export_strategies": [{"name": "latest", "exports_to_keep": 1}],
    "run_config": {"seed": 1, "save_checkpoints_steps": 20, "num_threads": 1},
    "train_input_data_config": _digits("train", 32, None),
    "eval_input_data_config": _digits("eval", 128, 1),
    "model_config": {
        "model_type": "classifier",
        "n_classes": 10,
        "one_hot_encode": True,
        "loss_config": {"name": "softmax_cross_entropy"},
        "eval_metrics_config": [{"name": "streaming_accuracy"}],
        "optimizer_config": {"name": "adam", "learning_rate": 0.01},
        "graph_config": {
            "name": "mlp",
            "definition": [
                ["FullyConnected", {"num_units": 32, "activation": "relu"}],
                ["FullyConnected", {"num_units": 10}],
            ],
        },
    },
}


@pytest.fixture()
def mlp(tmp_path: Path) -> Path:
    path = tmp_path / "mlp.yaml"
    path.write_text(yaml.safe_dump(MLP))
    return path


# ------------------------------------------------------------------ in-process
def test_version_and_help(petri_cli):
    import petri as package

    assert petri_cli("--version").stdout.strip().endswith(package.__version__)
    result = petri_cli("--help")
    assert result.exit_code == 0 and "run" in result.stdout
    assert "--set" in petri_cli("run", "--help").stdout


def test_run_trains_prints_metrics_and_paths(petri_cli, mlp, tmp_path):
    run_dir = tmp_path / "run"
    result = petri_cli("run", mlp, "--set", "train_steps=40", "--output-dir", run_dir)
    assert result.exit_code == 0, result.stderr
    assert "streaming_accuracy" in result.stdout
    assert "global_step" in result.stdout
    assert str(run_dir) in result.stdout and "running 'mlp_digits'" in result.stderr
    assert (run_dir / "model.ckpt-40.pt").is_file()
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["train_steps"] == 40
    exports = list((run_dir / "exports" / "latest").iterdir())  # 2 evaluations, keep 1
    assert len(exports) == 1 and f"export:      {exports[0]}" in result.stdout
    assert json.loads((exports[0] / "saved_model.json").read_text())["global_step"] == 40


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
def test_bad_config_exits_non_zero_with_one_paragraph(petri_cli, tmp_path, override, fragment):
    result = petri_cli("run", EXAMPLE, "--set", override, "--output-dir", tmp_path / "x")
    assert result.exit_code == 2
    assert fragment in result.stderr and result.stderr.startswith("petri: error:")
    assert not (tmp_path / "x").exists()  # nothing was written before the config was checked


def test_missing_config_file(petri_cli, tmp_path):
    result = petri_cli("run", tmp_path / "missing.yaml")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_run_dispatches_rl_configs_to_an_agent(petri_cli, tmp_path):
    result = petri_cli(
        "run",
        RL_EXAMPLE,
        "--set",
        "train_steps=600",
        "--set",
        "first_update=200",
        "--output-dir",
        tmp_path / "rl",
    )
    assert result.exit_code == 0, result.stderr
    assert "return_mean" in result.stdout and "global_step" in result.stdout
    assert (tmp_path / "rl" / "checkpoints").is_dir()
    bad = petri_cli("run", RL_EXAMPLE, "--set", "environment_config.env_id=CartPol-v1")
    assert bad.exit_code == 2 and "Did you mean 'CartPole-v1'" in bad.stderr
    # issue #14: `petri export` of an RL run writes its greedy policy
    from petri.estimators import Agent
    from petri.experiments import create_experiment
    from petri.export import load_exported

    exported = petri_cli("export", tmp_path / "rl")
    assert exported.exit_code == 0, exported.stderr
    folder = Path(exported.stdout.strip().splitlines()[-1])
    assert folder.parent == tmp_path / "rl" / "exports" / "cli"
    served = load_exported(folder)
    assert served.inputs == {"state": {"dtype": "float32", "shape": [-1, 4]}}
    states = np.random.default_rng(0).uniform(-0.2, 0.2, (50, 4)).astype(np.float32)
    agent = create_experiment(tmp_path / "rl" / "config.yaml", output_dir=tmp_path / "rl").agent
    assert isinstance(agent, Agent)
    np.testing.assert_array_equal(served(states)["actions"], agent.predict(states)["actions"])


def test_export_a_finished_run(petri_cli, mlp, tmp_path):
    from petri.export import load_exported

    run_dir = tmp_path / "run"
    trained = petri_cli(
        "run",
        mlp,
        "--set",
        "train_steps_per_iteration=40",
        "--set",
        "export_strategies=null",
        "--output-dir",
        run_dir,
    )
    assert trained.exit_code == 0, trained.stderr
    assert not (run_dir / "exports").exists()
    exported = petri_cli("export", run_dir, "--as-text")
    assert exported.exit_code == 0, exported.stderr
    folder = Path(exported.stdout.strip().splitlines()[-1])
    assert folder.parent == run_dir / "exports" / "cli" and (folder / "saved_model.txt").is_file()
    served = load_exported(folder)
    assert served.metadata["global_step"] == 40
    assert served(np.zeros((3, 1, 8, 8), np.float32))["classes"].shape == (3,)
    missing = petri_cli("export", run_dir, "--checkpoint", tmp_path / "nope.pt")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


def test_export_rebuilds_a_run_given_inline_arrays(petri_cli, tmp_path):
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
    result = petri_cli("export", tmp_path / "inline")
    assert result.exit_code == 0, result.stderr
    assert len(list((tmp_path / "inline" / "exports" / "cli").iterdir())) == 1
    # a run written by an older Petri kept only a summary of its arrays: refused, by name
    config_file = tmp_path / "inline" / "config.yaml"
    config_file.write_text(config_file.read_text() + "note: <array shape=(64, 4) dtype=float32>\n")
    result = petri_cli("export", tmp_path / "inline")
    assert result.exit_code == 2 and "only as a summary" in result.stderr


# ------------------------------------------------------------ real processes
def _console_script() -> list[str]:
    """The installed ``petri`` entry point beside this interpreter, else ``python -m petri``."""
    script = Path(sys.executable).with_name("petri")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "petri"]


def _default_sigint() -> None:
    # A shell starts background jobs with SIGINT ignored, and Python keeps an ignored SIGINT
    # ignored: give the child the default so that it installs its KeyboardInterrupt handler.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_console_script_runs_the_example_config(tmp_path):
    """The README's demo command, shortened: the entry point, the shipped LeNet config."""
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [
            *_console_script(),
            "run",
            str(EXAMPLE),
            "--set",
            "train_steps=60",
            "--set",
            "train_steps_per_iteration=30",
            "--set",
            "eval_every_n_steps=30",
            "--output-dir",
            str(run_dir),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "streaming_accuracy" in result.stdout and f"run:         {run_dir}" in result.stdout
    assert (run_dir / "model.ckpt-60.pt").is_file()
    assert len(list((run_dir / "exports" / "latest").iterdir())) == 1


def test_bad_config_exit_status_in_a_real_process(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "petri", "run", str(EXAMPLE), "--set", "train_stepz=5"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 2
    assert "Did you mean 'train_steps'" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == "" and not (tmp_path / "petri_logs").exists()


def test_sigint_stops_a_run_that_resumes_from_its_last_checkpoint(petri_cli, mlp, tmp_path):
    from petri.tracking import load

    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [
            *_console_script(),
            "run",
            str(mlp),
            "--schedule",
            "train",
            "--set",
            "train_steps=1000000",
            "--output-dir",
            str(run_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    try:
        deadline = time.monotonic() + 300  # a guard against hanging, not a speed check
        while not list(run_dir.glob("model.ckpt-*.pt")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, (process.returncode, err)
    assert "Traceback" not in err and "global_step" not in out  # no result printed
    assert "interrupted at step" in err and f"--output-dir {run_dir}" in err  # how to resume
    run = load(run_dir)
    assert run.status == "crashed" and "KeyboardInterrupt" in str(run.meta["error"])
    steps = sorted(int(path.stem.split("-")[1]) for path in run_dir.glob("model.ckpt-*.pt"))
    assert steps and steps[-1] < 1000000
    arguments = ["run", mlp, "--schedule", "train", "--set", f"train_steps={steps[-1] + 10}"]
    refused = petri_cli(*arguments, "--output-dir", run_dir)  # another train_steps: refused
    assert refused.exit_code == 2 and "-train_steps: 1000000" in refused.stderr
    resumed = petri_cli(*arguments, "--output-dir", run_dir, "--allow-config-change")
    assert resumed.exit_code == 0, resumed.stderr
    assert (run_dir / f"model.ckpt-{steps[-1] + 10}.pt").is_file()
    assert load(run_dir).status == "finished"


# ---------------------------------------------------------- petri show / ls views (issue #13)
def test_show_lists_the_tags_set_and_the_config_keys_off_their_defaults(petri_cli, mlp, tmp_path):
    from petri.cli._report import show_text
    from petri.tracking import load

    assert petri_cli("run", mlp, "--save-dir", tmp_path).exit_code == 0
    run = load(tmp_path / "mlp_digits" / "version_0")
    text = show_text(run, width=80)
    tag_lines = text.split("\ntags", 1)[1].split("\nfinal metrics")[0]
    assert all(len(line) <= 80 for line in tag_lines.splitlines()), tag_lines
    assert "optimizer_config/learning_rate" in tag_lines and "0.01" in tag_lines
    assert "optimizer_config/beta1" not in tag_lines  # a default nobody set
    hidden = len(run.default_tags)
    assert hidden > 30 and f"{hidden} config defaults hidden, --all shows them" in tag_lines
    assert "num_units" in tag_lines and "FullyConnected" in tag_lines  # folded, not cut
    shown = petri_cli("show", "mlp_digits", "--save-dir", tmp_path, "--all")
    assert shown.exit_code == 0 and "optimizer_config/beta1" in shown.stdout
    assert "hidden" not in shown.stdout


def test_resuming_with_set_version_adds_no_version_tag(petri_cli, mlp, tmp_path):
    from petri.tracking import load

    assert petri_cli("run", mlp, "--save-dir", tmp_path).exit_code == 0
    resumed = petri_cli("run", mlp, "--save-dir", tmp_path, "--set", "version=0")
    assert resumed.exit_code == 0, resumed.stderr
    run = load(tmp_path / "mlp_digits" / "version_0")
    assert "version" not in run.tags and "output_dir" not in run.tags
    assert run.tags["name"] == "mlp_digits"


def test_a_run_shows_its_chosen_config_keys_in_tensorboards_hparams_tab(petri_cli, mlp, tmp_path):
    from tracking._helpers import hparams_sessions

    assert petri_cli("run", mlp, "--save-dir", tmp_path).exit_code == 0
    experiment, (group,) = hparams_sessions(tmp_path)
    names = {info.name for info in experiment.hparam_infos}
    assert "model_config/optimizer_config/learning_rate" in names and "train_steps" in names
    assert not any("beta1" in name for name in names) and "version" not in names
    assert group.hparams["model_config/optimizer_config/learning_rate"].number_value == 0.01
    metrics = {value.name.tag: value.value for value in group.metric_values}
    assert 0 < metrics["eval/streaming_accuracy"] <= 1
