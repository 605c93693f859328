"""Reader processes die with the process that reads from them (issue #11 item 4)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

SCRIPT = """
import multiprocessing, sys, time
import numpy as np
from petri.data import create_input_fn
x = np.arange(40000, dtype=np.float32).reshape(20000, 2)
input_fn = create_input_fn({"pipeline_config": {"module": "NumpyPipeline", "num_threads": 2,
                            "batch_size": 4, "num_epochs": None}, "x": x, "y": None})
batches = input_fn()
next(iter(batches))
print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_readers_exit_when_the_trainer_is_sigkilled(reliability_report) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline()
        readers = [int(pid) for pid in line.split()]
        assert len(readers) == 2, (line, process.stderr.read() if process.poll() else "")
        assert all(_alive(pid) for pid in readers)
        process.send_signal(signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 30  # a guard, not a speed check: they poll every 0.5 s
        while any(_alive(pid) for pid in readers) and time.monotonic() < deadline:
            time.sleep(0.1)
        orphans = [pid for pid in readers if _alive(pid)]
        reliability_report.add("orphaned processes", len(orphans))
        reliability_report.add("child processes checked after their parent ended", len(readers))
        assert not orphans
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
