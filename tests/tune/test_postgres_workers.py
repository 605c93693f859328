"""Issue #12 item 5: `petri tune worker` processes sharing one study in a real PostgreSQL.

The study is made with ``petri tune ... --workers 0`` and run by ``petri tune worker``
processes started at once, as on several machines (here: one host, one run-log root). Checked:
the trials are split without one running twice, each trial is one run folder tagged with its
number, a worker SIGKILLed mid-trial has its trial failed and retried in the same run folder
with every logged step exactly once, and running ``petri tune`` again resumes the study.
"""

from __future__ import annotations

import csv
import functools
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tune"
CONFIG, SPACE = EXAMPLES / "mlp_digits.yaml", EXAMPLES / "mlp_search.yaml"
DONE = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
# Two workers share this host's cores (two machines would not): one torch thread each.
ONE_THREAD = "run_config.num_threads=1"
TRIAL_LINE = re.compile(r"^\s*(\d+)\s+(COMPLETE|PRUNED|FAIL)\b", re.MULTILINE)


def petri(*args: object) -> list[str]:
    script = Path(sys.executable).with_name("petri")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "petri"]
    return [*command, *(str(arg) for arg in args)]


def start_study(url: str, name: str, save_dir: Path, trials: int, *options: str) -> None:
    """``petri tune ... --workers 0``: the study and its WAITING trials, nothing run."""
    done = subprocess.run(
        petri("tune", CONFIG, "--search", SPACE, "--trials", trials, "--workers", 0,
              "--storage", url, "--study", name, "--save-dir", save_dir, *options),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{trials} trials waiting" in done.stdout, done.stdout
    assert not list(save_dir.rglob("metrics.csv")), "--workers 0 ran a trial"


def worker(url: str, name: str, log: Path) -> subprocess.Popen:
    """``petri tune worker`` in its own process group (its pool's processes go with it),
    its output (the trial table is on stderr) in ``log``."""
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(
            petri("tune", "worker", "--storage", url, "--study", name, "--workers", 1),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    process.log = log
    return process


def finish(process: subprocess.Popen, timeout: float = 120) -> str:
    """Wait for a worker to succeed; returns its output."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        pytest.fail(f"the worker did not finish in {timeout} s:\n{process.log.read_text()}")
    output = process.log.read_text(encoding="utf-8")
    assert process.returncode == 0, output
    return output


@functools.cache
def _storage(url: str):
    return optuna.storages.RDBStorage(url)  # one connection pool for all the test's looks


def load(url: str, name: str):
    study = optuna.load_study(study_name=name, storage=_storage(url))
    return study.get_trials(deepcopy=False)


def tags(run_dir: str) -> dict[str, str]:
    with open(Path(run_dir) / "meta_tags.csv", newline="", encoding="utf-8") as file:
        return {row["key"]: row["value"] for row in csv.DictReader(file)}


def logged_rows(run_dir: str) -> list[tuple[int, str]]:
    """(step, created_at) of the training rows metrics.csv holds (evaluation rows left out)."""
    path = Path(run_dir) / "metrics.csv"
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    return [
        (int(row["global_step"]), row["created_at"])
        for row in rows
        if row.get("loss") not in (None, "")
    ]


def check_one_run_per_trial(trials, save_dir: Path) -> None:
    """Each finished trial names its own run folder, tagged with its number; no folder holds
    another trial (a trial run twice would leave two folders tagged with one number)."""
    finished = [t for t in trials if t.state in DONE]
    run_dirs = [t.user_attrs["run_dir"] for t in finished]
    assert len(set(run_dirs)) == len(run_dirs), run_dirs
    for trial in finished:
        assert int(tags(trial.user_attrs["run_dir"])["tune/trial"]) in (
            trial.number,
            trial.system_attrs.get("failed_trial"),
        )
    folders = sorted(p.parent for p in save_dir.rglob("meta_tags.csv"))
    numbers = [int(tags(str(folder))["tune/trial"]) for folder in folders]
    assert len(numbers) == len(set(numbers)), f"a trial number in two run folders: {numbers}"
    assert {Path(d).resolve() for d in run_dirs} == {f.resolve() for f in folders}


def test_two_workers_split_the_trials(postgres_url, tmp_path):
    save_dir = tmp_path / "runs"
    start_study(postgres_url, "split", save_dir, 8, "--set", ONE_THREAD)
    assert [t.state for t in load(postgres_url, "split")] == [optuna.trial.TrialState.WAITING] * 8

    workers = [worker(postgres_url, "split", tmp_path / f"worker{i}.log") for i in range(2)]
    outputs = [finish(process) for process in workers]

    trials = load(postgres_url, "split")
    assert len(trials) == 8
    assert all(t.state in DONE for t in trials), [t.state.name for t in trials]
    check_one_run_per_trial(trials, save_dir)
    ran = [{int(n) for n, _ in TRIAL_LINE.findall(out)} for out in outputs]
    assert ran[0] and ran[1], f"a worker ran no trial: {ran}"
    assert not ran[0] & ran[1], f"trials run by both workers: {ran[0] & ran[1]}"
    assert ran[0] | ran[1] == set(range(8))
    assert len({_writer_pid(t.user_attrs["run_dir"]) for t in trials}) == 2


def test_a_killed_worker_s_trial_is_retried_in_its_run_folder(postgres_url, tmp_path):
    save_dir = tmp_path / "runs"
    steps, every, checkpoint = 6000, 200, 1000
    sets = [
        ONE_THREAD,
        f"train_steps={steps}",
        f"run_config.log_step_count_steps={every}",
        "eval_every_n_steps=2000",
        f"run_config.save_checkpoints_steps={checkpoint}",
    ]
    start_study(postgres_url, "killed", save_dir, 8, "--pruner", "none",
                *(part for value in sets for part in ("--set", value)))  # fmt: skip
    victim = worker(postgres_url, "killed", tmp_path / "victim.log")
    survivor = worker(postgres_url, "killed", tmp_path / "survivor.log")
    killed, before = None, []
    deadline = time.monotonic() + 90
    while killed is None and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        for trial in load(postgres_url, "killed"):
            run_dir = trial.user_attrs.get("run_dir")
            pid = _writer_pid(run_dir) if run_dir else None
            if trial.state != optuna.trial.TrialState.RUNNING or not pid or not run_dir:
                continue
            try:
                mine = os.getpgid(pid) == victim.pid  # the victim's pool runs it
            except ProcessLookupError:
                continue
            rows = logged_rows(run_dir)
            if mine and rows and rows[-1][0] >= checkpoint + every:
                os.killpg(victim.pid, signal.SIGKILL)  # the worker, its forkserver, its trial
                killed = trial
                before = logged_rows(run_dir)
                break
    assert killed is not None, "the victim never ran a trial past its first checkpoint"
    assert victim.wait() == -signal.SIGKILL
    finish(survivor)  # it queues the dead worker's trial again as soon as it claims the next
    finish(worker(postgres_url, "killed", tmp_path / "rerun.log"))  # whatever the survivor left

    trials = load(postgres_url, "killed")
    assert trials[killed.number].state == optuna.trial.TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
    assert [t.state for t in retries] == [optuna.trial.TrialState.COMPLETE], retries
    retry = retries[0]
    assert retry.params == killed.params
    assert [t.state for t in trials].count(optuna.trial.TrialState.FAIL) == 1
    assert sum(t.state in DONE for t in trials) == 8
    assert len(trials) == 9
    check_one_run_per_trial(trials, save_dir)

    run_dir = retry.user_attrs["run_dir"]
    assert run_dir == killed.user_attrs["run_dir"], "the retry did not resume the run folder"
    after = logged_rows(run_dir)
    assert [step for step, _ in after] == list(range(every, steps + 1, every)), after
    kept = [row for row in before if row[0] <= checkpoint]
    assert after[: len(kept)] == kept, "rows logged before the kill were rewritten"
    assert len(kept) >= checkpoint // every


def test_petri_tune_twice_resumes_the_study(postgres_url, tmp_path):
    save_dir = tmp_path / "runs"
    command = petri("tune", CONFIG, "--search", SPACE, "--trials", 3, "--workers", 2,
                    "--storage", postgres_url, "--study", "twice", "--save-dir", save_dir,
                    "--set", "train_steps=200")  # fmt: skip
    for _ in range(2):
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        trials = load(postgres_url, "twice")
        assert len(trials) == 3
        assert all(t.state in DONE for t in trials)
    assert len(list(save_dir.rglob("meta_tags.csv"))) == 3


def _writer_pid(run_dir: str) -> int | None:
    """The process that ran a trial: its run's writer (the worker process itself)."""
    import json

    try:
        return json.loads((Path(run_dir) / "meta.experiment").read_text()).get("pid")
    except (OSError, ValueError):
        return None
