"""Helpers for the run-log tests: a Python subprocess runner and TensorBoard readers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def python(code: str, *args: str, cwd: Path | None = None, **kwargs: Any) -> subprocess.Popen:
    """Start ``python -c code`` with Petri importable (the repo's src first)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def accumulator(directory: str | Path) -> Any:
    """TensorBoard's own reader over a ``tf/`` folder, everything kept."""
    from tensorboard.backend.event_processing import event_accumulator

    reader = event_accumulator.EventAccumulator(
        str(directory),
        size_guidance={"scalars": 0, "images": 0, "histograms": 0, "tensors": 0},
    )
    reader.Reload()
    return reader
