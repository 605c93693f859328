"""Many runs in the run log's own file format, written directly (no training), for measuring
tools that read run logs at scale (the dashboard, `petri ls`).

Each run is ``<save_dir>/<name>/version_<n>/`` with ``meta.experiment`` (JSON),
``meta_tags.csv`` (key, value, type, default) and ``metrics.csv`` (``rows`` rows of
``global_step``, ``loss``, ``eval/streaming_accuracy``, ``created_at``), as
``petri.tracking.Experiment`` writes them; 50 experiment names, tags varying per run.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from pathlib import Path

__all__ = ["make_runs"]

NAMES = 50


def make_runs(save_dir: str | os.PathLike[str], n: int, seed: int = 0, rows: int = 20) -> Path:
    """Write ``n`` runs under ``save_dir``; returns it."""
    root = Path(save_dir)
    draw = random.Random(seed)
    versions: dict[str, int] = {}
    start = time.time() - n * 60
    for index in range(n):
        name = f"exp{index % NAMES:02d}"
        version = versions.get(name, 0)
        versions[name] = version + 1
        folder = root / name / f"version_{version}"
        folder.mkdir(parents=True)
        created = start + index * 60
        rate = round(10 ** draw.uniform(-4, -1), 6)
        units = draw.choice([16, 32, 64, 128])
        status = "finished" if draw.random() > 0.05 else "crashed"
        meta = {
            "name": name,
            "version": version,
            "created_at": time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime(created)),
            "status": status,
            "finished_at": created + draw.uniform(10, 600),
            "heartbeat": created + 5,
            "error": None if status == "finished" else "RuntimeError: out of memory",
            "git": None,
        }
        (folder / "meta.experiment").write_text(json.dumps(meta))
        (folder / "meta_tags.csv").write_text(
            "key,value,type,default\n"
            f"learning_rate,{rate},float,\nnum_units,{units},int,\nseed,{index},int,\n"
        )
        quality = 1 - math.exp(-units * rate * 10)
        lines = ["global_step,loss,eval/streaming_accuracy,created_at"]
        for row in range(rows):
            step = (row + 1) * 100
            loss = 2.3 * math.exp(-step * rate / 10) + draw.uniform(0, 0.05)
            accuracy = min(1.0, quality * (row + 1) / rows + draw.uniform(0, 0.02))
            stamp = time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime(created + row))
            lines.append(f"{step},{loss:.5f},{accuracy:.5f},{stamp}")
        (folder / "metrics.csv").write_text("\n".join(lines) + "\n")
    return root
