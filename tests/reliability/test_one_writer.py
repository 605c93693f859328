"""A run has one writer (issue #11 item 8): a second gets a clear error, a dead one's lock is
taken over."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from petri.tracking import Experiment, RunLockedError

HOLD = """
import sys, time
from petri.tracking import Experiment
run = Experiment(save_dir=sys.argv[1], name="shared", version=0, autosave=True)
run.log({"loss": 1.0}, global_step=1)
print("open", flush=True)
time.sleep(600)
"""


def test_a_second_writer_is_refused_and_a_dead_writers_lock_taken_over(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(RunLockedError, match=rf"being written by process {holder.pid} on"):
            Experiment(save_dir=tmp_path, name="shared", version=0, autosave=True)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        with Experiment(save_dir=tmp_path, name="shared", version=0, autosave=True) as run:
            run.log({"loss": 2.0}, global_step=2)
        assert [row["loss"] for row in run.metrics] == [1.0, 2.0]
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_a_second_open_run_object_in_one_process_is_refused(tmp_path: Path) -> None:
    first = Experiment(save_dir=tmp_path, name="same", version=0, autosave=True)
    with pytest.raises(RunLockedError):
        Experiment(save_dir=tmp_path, name="same", version=0, autosave=True)
    first.close()
    Experiment(save_dir=tmp_path, name="same", version=0, autosave=True).close()  # free again
