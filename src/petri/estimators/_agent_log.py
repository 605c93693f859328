"""The Agent's run log: one row per episode, per logging interval and per evaluation.

The Agent writes through any object with ``log(metrics: dict, global_step: int)`` (the run
log of ``petri.tracking`` has that method). Without one it appends to ``<model_dir>/metrics.csv``
(``CsvRunLog``): each row is one complete ``write`` of a line, flushed, so a crash leaves at most
a missing row; a key not seen before extends the header (the file is rewritten once,
atomically).
"""

from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path
from typing import Any, Protocol

__all__ = ["CsvRunLog", "RunLog"]


class RunLog(Protocol):
    def log(self, metrics: dict[str, Any], global_step: int | None = None) -> None: ...


class CsvRunLog:
    """Append-only ``metrics.csv`` with a ``created_at`` and ``global_step`` column."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.columns: list[str] = ["created_at", "global_step"]
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open(newline="") as file:
                header = next(csv.reader(file), None)
            if header:
                self.columns = header

    def log(self, metrics: dict[str, Any], global_step: int | None = None) -> None:
        row = {"created_at": f"{time.time():.3f}", "global_step": global_step, **metrics}
        new = [key for key in row if key not in self.columns]
        if new:
            self._extend(new)
        line = io.StringIO()
        csv.writer(line).writerow([_cell(row.get(column)) for column in self.columns])
        text = line.getvalue()
        if not self.path.exists() or not self.path.stat().st_size:
            header = io.StringIO()
            csv.writer(header).writerow(self.columns)
            text = header.getvalue() + text
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", newline="") as file:
            file.write(text)

    def rows(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        with self.path.open(newline="") as file:
            return list(csv.DictReader(file))

    def _extend(self, keys: list[str]) -> None:
        rows = self.rows()
        self.columns.extend(keys)
        if not rows:
            return
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns)
        writer.writeheader()
        writer.writerows(rows)
        temporary = self.path.with_suffix(".csv.tmp")
        temporary.write_text(buffer.getvalue())
        os.replace(temporary, self.path)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value
