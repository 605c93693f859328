"""An append-only ``metrics.csv`` of training and evaluation rows in the output directory.

Each row is written with one ``write`` of a complete line and flushed, so a crash leaves at most
a missing row, never a torn one. Columns are fixed by the first row's keys plus known ones;
unknown later keys go to a new file generation only if they appear (rare), otherwise blank.
"""

from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path
from typing import Any

__all__ = ["MetricsLog"]

_COLUMNS = ("created_at", "split", "global_step", "loss", "learning_rate", "steps_per_sec")


class MetricsLog:
    """Rows of ``{key: value}`` appended to ``<directory>/metrics.csv``."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.path = Path(directory) / "metrics.csv"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.columns: list[str] = list(_COLUMNS)
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open(newline="") as file:
                header = next(csv.reader(file), None)
            if header:
                self.columns = header

    def log(self, row: dict[str, Any], split: str) -> None:
        """Append one row; new keys extend the header (the file is rewritten once, atomically)."""
        values = {"created_at": f"{time.time():.3f}", "split": split, **row}
        new_keys = [key for key in values if key not in self.columns]
        if new_keys:
            self._extend_columns(new_keys)
        line = io.StringIO()
        csv.writer(line).writerow([_cell(values.get(column)) for column in self.columns])
        self._append(line.getvalue())

    def rows(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        with self.path.open(newline="") as file:
            return list(csv.DictReader(file))

    def _append(self, text: str) -> None:
        new_file = not self.path.exists() or not self.path.stat().st_size
        if new_file:
            header = io.StringIO()
            csv.writer(header).writerow(self.columns)
            text = header.getvalue() + text
        with self.path.open("a", newline="") as file:
            file.write(text)
            file.flush()

    def _extend_columns(self, new_keys: list[str]) -> None:
        rows = self.rows()
        self.columns.extend(new_keys)
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
