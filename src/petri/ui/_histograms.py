"""The histograms a run's summaries wrote, read from its TensorBoard events by TensorBoard's own
reader (the run log keeps them nowhere else)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

__all__ = ["read_histograms"]

HISTOGRAM_STEPS = 10


def read_histograms(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Per tag, up to 10 steps spread over the run, each with its bucket edges and counts; a
    torn or unreadable event file gives none rather than an error page."""
    folder = run_dir / "tf"
    if not folder.is_dir():
        return {}
    from tensorboard.backend.event_processing import event_accumulator

    events = event_accumulator.EventAccumulator(
        str(folder), size_guidance={event_accumulator.HISTOGRAMS: 0}
    )
    try:
        events.Reload()
        tags = events.Tags().get(event_accumulator.HISTOGRAMS, [])
    except Exception:  # a torn event file: no histograms rather than no page
        return {}
    found: dict[str, list[dict[str, Any]]] = {}
    for tag in tags:
        series = events.Histograms(tag)
        stride = max(1, math.ceil(len(series) / HISTOGRAM_STEPS))
        chosen = series[::stride][-HISTOGRAM_STEPS:]
        found[tag] = [
            {
                "step": item.step,
                "limits": list(item.histogram_value.bucket_limit),
                "counts": list(item.histogram_value.bucket),
                "min": item.histogram_value.min,
                "max": item.histogram_value.max,
            }
            for item in chosen
        ]
    return found
