"""Real processes: 16 at once on one name, SIGKILL mid-logging, exit without close()."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from petri.tracking import Experiment, list_runs, load

from ._helpers import python

ROWS = 50

WORKER = """
import os, sys, time
from petri.tracking import Experiment
save_dir, go = sys.argv[1], sys.argv[2]
while not os.path.exists(go):  # the barrier: every process starts its Experiment together
    time.sleep(0.001)
exp = Experiment(save_dir=save_dir, name="race", autosave=True)
for step in range(ROWS):
    exp.log({"loss": 1.0 / (step + 1), "pid": os.getpid()}, global_step=step)
exp.close()
print(exp.version)
""".replace("ROWS", str(ROWS))


def test_sixteen_processes_at_once_get_distinct_versions(tmp_path):
    go = tmp_path / "go"
    processes = [python(WORKER, str(tmp_path), str(go)) for _ in range(16)]
    time.sleep(0.5)
    go.touch()
    versions = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        versions.append(int(out.strip()))
    assert sorted(versions) == list(range(16))
    runs = list_runs(tmp_path)
    assert [run.version for run in runs] == list(range(16))
    for run in runs:
        assert run.status == "finished"
        assert [row["global_step"] for row in run.metrics] == list(range(ROWS))
        assert len({row["pid"] for row in run.metrics}) == 1


KILLED = """
import sys
from petri.tracking import Experiment
exp = Experiment(save_dir=sys.argv[1], name="killed", autosave=True)
exp.tag({"lr": 0.1})
print(exp.log_dir, flush=True)
step = 0
while True:
    if sys.argv[2] == "text":  # the general path: one write per row
        exp.log({"loss": 1.0 / (step + 1), "note": "row, " * (step % 7)}, global_step=step)
    else:  # the hot path: numbers only, lines queued and written together
        exp.log({"loss": 1.0 / (step + 1)}, global_step=step)
    step += 1
"""


@pytest.mark.parametrize("values", ["text", "numbers"])
def test_sigkill_leaves_a_loadable_run_marked_crashed(tmp_path, values):
    process = python(KILLED, str(tmp_path), values)
    log_dir = Path(process.stdout.readline().strip())
    metrics = log_dir / "metrics.csv"
    deadline = time.time() + 60
    while (not metrics.exists() or metrics.stat().st_size < 20_000) and time.time() < deadline:
        time.sleep(0.02)
    assert load(log_dir).status == "running"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    process.stderr.close()
    run = load(log_dir)
    assert run.status == "crashed"
    rows = run.metrics
    assert len(rows) > 10
    assert [row["global_step"] for row in rows] == list(range(len(rows)))  # no torn row
    assert all(row["loss"] == 1.0 / (row["global_step"] + 1) for row in rows)
    assert run.tags == {"lr": 0.1}
    resumed = Experiment(save_dir=tmp_path, name="killed", version=0, autosave=True)
    resumed.log({"loss": 0.0}, global_step=len(rows))
    resumed.close()
    after = load(log_dir)
    assert [row["global_step"] for row in after.metrics] == list(range(len(rows) + 1))
    assert after.status == "finished"


def test_autosaved_rows_reach_the_file_while_the_run_is_open(tmp_path):
    exp = Experiment(save_dir=tmp_path, name="open", autosave=True)
    for step in range(100):
        exp.log({"loss": 1.0 / (step + 1), "acc": step / 100}, global_step=step)
    deadline = time.monotonic() + 60  # a guard against waiting forever; bench/ times it
    rows: list = []
    while len(rows) < 100 and time.monotonic() < deadline:
        time.sleep(0.02)
        rows = load(exp.log_dir).metrics
    assert [row["global_step"] for row in rows] == list(range(100))
    exp.log({"loss": 0.0, "acc": 1.0}, global_step=100)
    exp.save()  # save() writes queued rows at once
    assert len(load(exp.log_dir).metrics) == 101
    exp.close()


def test_a_torn_last_line_is_ignored_and_repaired_on_resume(tmp_path):
    with Experiment(save_dir=tmp_path, name="torn", autosave=True) as exp:
        exp.log({"loss": 1.0}, global_step=0)
        exp.log({"loss": 0.5}, global_step=1)
    metrics = Path(exp.log_dir) / "metrics.csv"
    with open(metrics, "a") as file:
        file.write("2,0.2")  # what a crash in the middle of a write could leave
    assert [r["global_step"] for r in load(exp.log_dir).metrics] == [0, 1]
    with Experiment(save_dir=tmp_path, name="torn", version=0, autosave=True) as resumed:
        resumed.log({"loss": 0.1}, global_step=2)
    assert [r["loss"] for r in load(exp.log_dir).metrics] == [1.0, 0.5, 0.1]


EXIT = """
import sys
from petri.tracking import Experiment
exp = Experiment(save_dir=sys.argv[1], name=sys.argv[2], autosave=False)
exp.log({"loss": 1.0})
if sys.argv[2] == "error":
    raise ValueError("bad batch")
"""


def test_exit_without_close_saves_and_sets_the_status(tmp_path):
    for name, status in (("clean", "finished"), ("error", "crashed")):
        process = python(EXIT, str(tmp_path), name)
        process.communicate(timeout=60)
        run = load(tmp_path / name / "version_0")
        assert run.status == status, run.meta
        assert len(run.metrics) == 1
    meta = json.loads((tmp_path / "error/version_0/meta.experiment").read_text())
    assert meta["error"] == "ValueError: bad batch"


def test_a_live_writer_lists_as_running(tmp_path):
    process = python(
        "import sys, time\n"
        "from petri.tracking import Experiment\n"
        "exp = Experiment(save_dir=sys.argv[1], name='live', autosave=True)\n"
        "exp.log({'loss': 1.0})\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n",
        str(tmp_path),
    )
    try:
        assert process.stdout.readline().strip() == "ready"
        assert [run.status for run in list_runs(tmp_path)] == ["running"]
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()
    assert [run.status for run in list_runs(tmp_path)] == ["crashed"]


def test_stale_heartbeat_of_another_host_is_crashed(tmp_path):
    run_dir = tmp_path / "remote" / "version_0"
    run_dir.mkdir(parents=True)
    meta = {
        "name": "remote",
        "version": 0,
        "status": "running",
        "host": "elsewhere",
        "pid": os.getpid(),
        "heartbeat": time.time(),
    }
    (run_dir / "meta.experiment").write_text(json.dumps(meta))
    assert load(run_dir).status == "running"
    meta["heartbeat"] = time.time() - 3600
    (run_dir / "meta.experiment").write_text(json.dumps(meta))
    assert load(run_dir).status == "crashed"
