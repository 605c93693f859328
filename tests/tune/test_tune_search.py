"""petri tune: searches whose trials are runs, in worker processes, that resume after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from petri.errors import ConfigError
from petri.tracking import load
from petri.tune import objective, run

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "examples" / "tune" / "mlp_digits.yaml"
SPACE = ROOT / "examples" / "tune" / "mlp_search.yaml"
PETRI = [sys.executable, "-m", "petri"]
LEARNING_RATE = "model_config.optimizer_config.learning_rate"


def _trials(save_dir: Path, study: str = "mlp_digits") -> list[dict]:
    summary = json.loads((save_dir / "mlp_digits" / f"study-{study}.json").read_text())
    return summary["trials"]


@pytest.mark.slow
def test_sixteen_trials_with_four_workers_and_median_pruning(tmp_path: Path) -> None:
    done = subprocess.run(
        [*PETRI, "tune", CONFIG, "--search", SPACE, "--trials", "16", "--workers", "4",
         "--save-dir", tmp_path],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    trials = _trials(tmp_path)
    assert len(trials) == 16 and {t["state"] for t in trials} <= {"COMPLETE", "PRUNED"}
    runs = {t["run"] for t in trials}
    assert len(runs) == 16  # one run per trial
    for trial in trials:
        run_log = load(trial["run"])
        assert run_log.tags["tune/trial"] == trial["number"]
        assert run_log.tags["tune/study"] == "mlp_digits"
        for path, value in trial["params"].items():
            assert (
                run_log.tags[path] == pytest.approx(value) if isinstance(value, float) else value
            )
        evals = [r for r in run_log.metrics if "eval/streaming_accuracy" in r]
        assert evals[-1]["eval/streaming_accuracy"] == pytest.approx(trial["value"])
        assert run_log.status == ("pruned" if trial["state"] == "PRUNED" else "finished")
    best = max((t for t in trials if t["state"] == "COMPLETE"), key=lambda t: t["value"])
    assert best["value"] >= 0.95
    pruned = [t for t in trials if t["state"] == "PRUNED"]
    # at least one stopped before the last evaluation (one pruned at its last is pruned too)
    assert any(t["last_step"] is not None and t["last_step"] < 600 for t in pruned)
    assert f"best: trial {best['number']}" in done.stdout
    assert f"run: {best['run']}" in done.stdout
    shown = subprocess.run([*PETRI, "ls", tmp_path], capture_output=True, text=True, check=True)
    assert "study mlp_digits (mlp_digits): 16 trials" in shown.stdout
    table = subprocess.run(
        [*PETRI, "show", "study:mlp_digits", "--save-dir", tmp_path],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert len([line for line in table.stdout.splitlines() if line[:1].isdigit()]) == 16


def flaky(params: dict) -> float:
    """A searched function: some trials raise, one takes its worker process down."""
    if params["mode"] == "raise":
        raise RuntimeError("this trial raises")
    if params["mode"] == "exit":
        os._exit(1)
    return params["x"]


def test_a_trial_that_raises_or_exits_fails_alone(tmp_path: Path) -> None:
    space = {"mode": ["ok", "raise", "exit"], "x": [1, 2]}
    study = run(flaky, space, n_trials=6, n_workers=2, sampler="grid", save_dir=str(tmp_path),
                study_name="flaky", direction="maximize")  # fmt: skip
    assert len(study.trials) == 6  # a failure is not retried: it would fail again
    states = {(t.params["mode"], t.params["x"]): t.state.name for t in study.trials}
    assert states == {
        ("ok", 1): "COMPLETE", ("ok", 2): "COMPLETE",
        ("raise", 1): "FAIL", ("raise", 2): "FAIL",
        ("exit", 1): "FAIL", ("exit", 2): "FAIL",
    }  # fmt: skip
    errors = {
        t.params["mode"]: t.user_attrs.get("error") for t in study.trials if t.state.name == "FAIL"
    }
    assert "this trial raises" in errors["raise"]
    assert "exited with status 1" in errors["exit"]
    assert study.best_value == 2


def reporting(params: dict) -> float:
    """A user's own loop that reports as it goes and is pruned when it falls behind."""
    for step in range(5):
        objective.report(params["quality"] * (step + 1), step)
    return params["quality"] * 5


def test_a_users_loop_reports_and_is_pruned(tmp_path: Path) -> None:
    space = {"quality": [1.0, 0.95, 0.9, 0.1, 0.05, 0.01]}
    study = run(reporting, space, n_trials=6, n_workers=1, sampler="grid", pruner="median",
                save_dir=str(tmp_path), study_name="reporting", direction="maximize")  # fmt: skip
    states = {t.params["quality"]: t.state.name for t in study.trials}
    assert states == {
        1.0: "COMPLETE",
        0.95: "COMPLETE",
        0.9: "PRUNED",
        0.1: "PRUNED",
        0.05: "PRUNED",
        0.01: "PRUNED",
    }  # below the running median: stopped
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    assert all(max(t.intermediate_values) < 4 for t in pruned)  # stopped early
    with pytest.raises(Exception, match="no trial is running"):
        objective.report(1.0, 0)


def test_search_mistakes_are_named_before_any_trial(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"learnin_rate.*Did you mean 'learning_rate'"):
        run(
            str(CONFIG),
            {"model_config.optimizer_config.learnin_rate": [0.1]},
            save_dir=str(tmp_path),
        )
    with pytest.raises(ConfigError, match=r"definition` has 3 items, so position \[7\]"):
        run(str(CONFIG), {"model_config.graph_config.definition[7][1].num_units": [4]},
            save_dir=str(tmp_path))  # fmt: skip
    with pytest.raises(ConfigError, match="a float range needs finite numbers low and high"):
        run(str(CONFIG), {LEARNING_RATE: {"type": "float", "low": "a", "high": 1}},
            save_dir=str(tmp_path))  # fmt: skip
    with pytest.raises(ConfigError, match="grid search needs a list of values or a `step`"):
        run(str(CONFIG), {LEARNING_RATE: {"type": "float", "low": 0.1, "high": 1}},
            sampler="grid", save_dir=str(tmp_path))  # fmt: skip
    with pytest.raises(ConfigError, match=r"Unknown pruner 'medain'. Did you mean 'median'"):
        run(str(CONFIG), str(SPACE), pruner="medain", save_dir=str(tmp_path))
    assert list(tmp_path.iterdir()) == []  # no run folder, no study


def test_set_reaches_into_lists(tmp_path: Path, petri_cli) -> None:
    done = petri_cli(
        "run", CONFIG, "--save-dir", tmp_path, "--set", "train_steps=2",
        "--set", "eval_every_n_steps=2",
        "--set", "model_config.graph_config.definition[1][1].num_units=7",
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    config = (tmp_path / "mlp_digits" / "version_0" / "config.yaml").read_text()
    assert "num_units: 7" in config
    wrong = petri_cli(
        "run", CONFIG, "--set", "model_config.graph_config.definition[1].num_units=7"
    )
    assert wrong.exit_code == 2
    assert "holds ['FullyConnected'" in wrong.stderr and "not a mapping" in wrong.stderr


@pytest.mark.slow
def test_a_killed_search_resumes_with_every_trial_accounted_for(tmp_path: Path) -> None:
    command = [*PETRI, "tune", CONFIG, "--search", SPACE, "--trials", "6", "--workers", "2",
               "--pruner", "none", "--save-dir", tmp_path,
               "--set", "train_steps=2000"]  # fmt: skip
    search = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # fmt: skip
    journal = tmp_path / "mlp_digits"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # kill while two trials have logged some rows
            rows = [p.stat().st_size for p in journal.glob("version_*/metrics.csv")]
            if len(rows) >= 2 and all(size > 300 for size in rows[-2:]):
                break
            time.sleep(0.2)
        else:
            pytest.fail("no trial logged rows within 300 s")
        os.killpg(search.pid, signal.SIGKILL)  # the machine goes away: coordinator and workers
        search.wait()
    finally:
        if search.poll() is None:
            os.killpg(search.pid, signal.SIGKILL)
    killed_runs = sorted(p.parent for p in journal.glob("version_*/metrics.csv"))
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "queued again" in done.stderr
    trials = _trials(tmp_path)
    finished = [t for t in trials if t["state"] == "COMPLETE"]
    failed = [t for t in trials if t["state"] == "FAIL"]
    assert len(finished) == 6 and failed  # six results; the killed trials failed ...
    retried = {t["retry_of"] for t in finished if t["retry_of"] is not None}
    assert retried == {t["number"] for t in failed}  # ... and each was run again
    for trial in failed:
        retry = next(t for t in finished if t["retry_of"] == trial["number"])
        if trial["run"] is not None:  # the retry continued the killed trial's run folder
            assert retry["run"] == trial["run"]
    assert len({t["run"] for t in finished}) == 6
    for run_dir in killed_runs:
        steps = [
            r["global_step"] for r in load(run_dir).metrics if "loss" in r and "eval/loss" not in r
        ]
        assert steps == sorted(set(steps)), run_dir  # no row twice after the resume


def test_the_test_tube_style_example(tmp_path: Path) -> None:
    example = ROOT / "examples" / "tune" / "test_tube_style.py"
    done = subprocess.run(
        [sys.executable, example, "--save_dir", tmp_path, "--nb_trials", "4", "--steps", "200",
         "--learning_rate", "0.003"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("accuracy")]
    assert len(lines) == 4 and all("lr=0.003 " in line for line in lines)  # pinned
    runs = sorted((tmp_path / "digits_mlp").glob("version_*"))
    assert len(runs) == 4
    accuracies = sorted(load(run).metrics[-1]["accuracy"] for run in runs)
    assert accuracies[-1] >= 0.9
    assert {load(run).tags["learning_rate"] for run in runs} == {0.003}
