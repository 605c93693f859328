"""`petri tensorboard` takes TensorBoard down with it (issue #11 item 10)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found += [int(child) for child in text.split()]
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return (Path(f"/proc/{pid}/stat").read_text().split()[2]) != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def test_sigterm_to_petri_tensorboard_stops_tensorboard(
    tmp_path: Path, reliability_report
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    petri = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "petri",
            "tensorboard",
            str(tmp_path),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[int] = []
    try:
        deadline = time.monotonic() + 60  # a guard, not a speed check
        while not children and time.monotonic() < deadline:
            time.sleep(0.2)
            children = _children(petri.pid)
        assert children, "petri tensorboard started no TensorBoard process"
        petri.send_signal(signal.SIGTERM)
        petri.wait(timeout=60)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        orphans = [pid for pid in children if _alive(pid)]
        reliability_report.add("orphaned processes", len(orphans))
        reliability_report.add("child processes checked after their parent ended", len(children))
        assert not orphans
    finally:
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if petri.poll() is None:
            petri.kill()
            petri.wait()
