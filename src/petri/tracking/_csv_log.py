"""``metrics.csv``: one row per ``log``, appended, never rewritten per row.

Every batch of rows reaches the file in one ``os.write`` of whole lines, so a process killed at
any instant leaves complete rows plus, at worst, one final line without its newline; readers drop
such a line and a resumed writer cuts it off. A hot logger may queue formatted lines in
:attr:`CsvLog.pending` and have them written together by :meth:`CsvLog.flush_lines` (from any
thread): a write system call costs as much as formatting a row, so one per row would halve
the logging rate. A new column rewrites the file once (the old rows
get empty cells for the new columns) through a temporary file and ``os.replace``, so readers
see the old file or the new one, never half of either.
"""

from __future__ import annotations

import csv
import io
import os
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

from petri._fsync import replace_atomically, reporting_disk_full
from petri.tracking._tags import RunFileError

__all__ = ["CsvLog", "format_cell", "last_values", "parse_cell", "read_csv", "read_csv_tail"]

_SPECIAL = (",", '"', "\n", "\r")


def format_cell(value: Any) -> str:
    """One CSV cell: numbers by ``repr`` (round-trips floats), text quoted when needed."""
    kind = type(value)
    if kind is float or kind is int or kind is bool:
        return repr(value)
    if value is None:
        return ""
    text = value if kind is str else str(value)
    if '"' in text or "," in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def parse_cell(text: str) -> Any:
    """A cell back to int, float, bool or str (the inverse of :func:`format_cell`)."""
    first = text[0]
    if first.isdigit() or first in "-+.":
        if "_" in text:  # int() and float() accept "1_000"; a logged string may not mean it
            return text
        if text.isdigit() or (first in "-+" and text[1:].isdigit()):
            return int(text)
        try:
            return float(text)
        except ValueError:
            return text
    if text == "True":
        return True
    if text == "False":
        return False
    if text in ("nan", "inf", "NaN", "Infinity"):
        return float(text)
    return text


def _rows(header: list[str], records: Iterable[list[str]]) -> list[dict[str, Any]]:
    return [
        {key: parse_cell(cell) for key, cell in zip(header, record) if cell != ""}
        for record in records
    ]


def read_csv(path: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and typed rows of a metrics file; a torn final line (crash mid-write) is dropped."""
    try:
        with open(path, newline="", encoding="utf-8") as file:
            text = file.read()
    except FileNotFoundError:
        return [], []
    except UnicodeDecodeError as error:
        raise RunFileError(
            f"{path} is damaged: not UTF-8 text at byte {error.start}. The rows before it are "
            "intact; cut the file there (or restore it) to read the run."
        ) from None
    if not text:
        return [], []
    try:
        records = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise RunFileError(f"{path} is damaged: {error}.") from None
    if not text.endswith("\n") and records:
        records.pop()  # a line cut short by a kill: the resumed run logs that step again
    if not records:
        return [], []
    header = records[0]
    for number, record in enumerate(records[1:], start=2):
        if len(record) > len(header):
            raise RunFileError(
                f"{path} is damaged at line {number}: {len(record)} cells under a header of "
                f"{len(header)} columns. Lines 1-{number - 1} are intact."
            )
    return header, _rows(header, records[1:])


def read_csv_tail(path: str, max_bytes: int = 65536) -> tuple[list[str], list[str]]:
    """Header and the complete lines found in the last ``max_bytes`` of a metrics file.

    What ``petri ls`` reads: it answers in constant time however long the run's history is.
    Lines are left unparsed; :func:`last_values` parses only those it needs, from the end.
    """
    try:
        with open(path, "rb") as file:
            header_line = file.readline()
            if not header_line.endswith(b"\n"):
                return [], []
            size = file.seek(0, os.SEEK_END)
            start = max(len(header_line), size - max_bytes)
            file.seek(start)
            data = file.read()
    except FileNotFoundError:
        return [], []
    # lenient: a listing shows what it can; reading the whole file names the damage
    header = next(csv.reader([header_line.decode("utf-8", errors="replace")]), [])
    lines = data.decode("utf-8", errors="replace").split("\n")
    lines.pop()  # after the last newline: empty, or a torn line
    if start > len(header_line) and lines:
        lines.pop(0)  # the window may start inside a line
    return header, lines


def last_values(header: list[str], lines: list[str]) -> dict[str, Any]:
    """The last non-empty value of each column, parsing lines from the end until all are
    found."""
    found: dict[str, Any] = {}
    missing = set(range(len(header)))
    for line in reversed(lines):
        if not line:
            continue
        record = next(csv.reader([line]), [])
        for index in list(missing):
            if index < len(record) and record[index] != "":
                found[header[index]] = parse_cell(record[index])
                missing.discard(index)
        if not missing:
            break
    return {key: found[key] for key in header if key in found}


def repair_tail(path: str) -> None:
    """Cut a final line that lacks its newline (left by a crash in the middle of a write)."""
    try:
        with open(path, "r+b") as file:
            size = file.seek(0, os.SEEK_END)
            if size == 0:
                return
            file.seek(size - 1)
            if file.read(1) == b"\n":
                return
            back = min(size, 1 << 20)
            file.seek(size - back)
            tail = file.read(back)
            cut = tail.rfind(b"\n")
            file.truncate(size - back + cut + 1 if cut >= 0 else 0)
    except FileNotFoundError:
        return


class CsvLog:
    """Appends rows to one CSV file whose header is the union of the rows' keys.

    Not thread-safe: one writer per file (the run's owning process).

    Args:
        path: the CSV file; an existing one is continued (its header is read, a torn last line
            cut).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.columns: list[str] = []
        self._column_set: set[str] = set()
        self._fd: int | None = None
        self._has_header = False
        self._templates: dict[frozenset[str], str | None] = {}
        self.pending: deque[str] = deque()
        """Formatted lines (from a template of :meth:`append_row`) waiting to be written."""
        self._pending_lock = threading.Lock()

    def flush_lines(self) -> None:
        """Write the queued lines in one write; safe from another thread, keeps the order."""
        with self._pending_lock:  # never skipped: a concurrent flush may be mid-write
            pending = self.pending
            count = len(pending)
            if count and self._fd is not None:
                self._write("".join([pending.popleft() for _ in range(count)]))

    def open(self) -> None:
        """Open the file for appending (creating it), reading the header of an existing one."""
        if self._fd is not None:
            return
        if os.path.exists(self.path) and os.path.getsize(self.path) > 0:
            repair_tail(self.path)
            with open(self.path, newline="", encoding="utf-8") as file:
                header = next(csv.reader([file.readline()]), [])
            self.columns = list(header)
            self._column_set = set(header)
            self._has_header = bool(header)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def close(self) -> None:
        self.flush_lines()
        self._close_fd()

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def fd(self) -> int:
        """The open file descriptor (-1 when closed)."""
        return self._fd if self._fd is not None else -1

    def append_row(self, row: dict[str, Any], plain: bool = False) -> str | None:
        """Append one row now (one ``os.write``).

        Args:
            row: column -> value.
            plain: every value is an int/float/bool except a ``created_at`` string written by
                Petri, so rows with these keys can be formatted by one ``%`` template.

        Returns:
            That template (valid until the next call that adds columns, or ``close``), or None.
        """
        self.flush_lines()
        if plain and self._fd is not None and self._has_header:
            template = self._template_for(tuple(row))
            if template is not None:
                self._write(template % row)
                return template
        self.append([row])
        return None

    def append(self, rows: list[dict[str, Any]], plain: list[bool] | None = None) -> None:
        """Append rows in one write, extending the header first if they bring new keys.

        Args:
            rows: the rows.
            plain: per row, as for :meth:`append_row` (None: format every cell by type).
        """
        if not rows:
            return
        self.flush_lines()
        if self._fd is None:
            self.open()
        seen = self._column_set
        new = [key for row in rows for key in row if key not in seen]
        if new:
            self._add_columns(list(dict.fromkeys(new)))
        columns = self.columns
        lines = []
        keys: Any = None
        template: str | None = None
        for index, row in enumerate(rows):
            if plain is not None and plain[index]:
                if row.keys() != keys:
                    keys = row.keys()
                    template = self._template_for(tuple(row))
                if template is not None:
                    lines.append(template % row)
                    continue
            lines.append(",".join([format_cell(row.get(c)) for c in columns]) + "\n")
        text = "".join(lines)
        if not self._has_header:
            text = self._header() + text
            self._has_header = True
        self._write(text)

    def rewrite(self, rows: list[dict[str, Any]]) -> None:
        """Replace the file with exactly ``rows`` (header from their keys), atomically: a
        resumed run drops the rows it logged after the checkpoint it resumes from."""
        self.flush_lines()
        self._close_fd()
        columns = list(dict.fromkeys(key for row in rows for key in row))

        def write(target: Any) -> None:
            if rows:
                target.write(",".join(format_cell(column) for column in columns) + "\n")
                for row in rows:
                    target.write(",".join(format_cell(row.get(c)) for c in columns) + "\n")

        replace_atomically(self.path, write)
        self.columns, self._column_set = columns, set(columns)
        self._has_header = bool(rows)
        self._templates.clear()

    # ----------------------------------------------------------------- helpers
    def _template_for(self, keys: tuple[str, ...]) -> str | None:
        """A ``%(name)``-format line for rows with exactly these keys (plain values), or None."""
        key_set = frozenset(keys)
        if key_set in self._templates:
            return self._templates[key_set]
        template = None
        if self._column_set.issuperset(keys):
            template = self._make_template(keys)
            self._templates[key_set] = template
        return template

    def _make_template(self, keys: tuple[str, ...]) -> str | None:
        if any(type(key) is not str or "(" in key or ")" in key for key in keys):
            return None  # %(name) needs str keys and ends at the first unbalanced parenthesis
        present = set(keys)
        cells = [
            (f"%({column})s" if column == "created_at" else f"%({column})r")
            if column in present
            else ""
            for column in self.columns
        ]
        return ",".join(cells) + "\n"

    def _header(self) -> str:
        return ",".join(format_cell(column) for column in self.columns) + "\n"

    def _write(self, text: str) -> None:
        data = text.encode("utf-8")
        with reporting_disk_full(self.path):  # a torn last line is cut when the file reopens
            written = os.write(self._fd, data)  # type: ignore[arg-type]
            while written < len(data):  # regular files write fully; this only guards odd ones
                data = data[written:]
                written = os.write(self._fd, data)  # type: ignore[arg-type]

    def _add_columns(self, new: list[str]) -> None:
        self.columns.extend(new)
        self._column_set.update(new)
        self._templates.clear()
        if not self._has_header:
            return
        self._close_fd()
        padding = "," * len(new)
        with open(self.path, "rb") as source:
            source.readline()
            body = source.read()
        cut = body.rfind(b"\n") + 1
        body = body[:cut]  # a torn last line is dropped here too
        if b'"' not in body:
            # No quoted cells, so one line is one row: pad every line with the new empty cells.
            body = body.replace(b"\n", padding.encode() + b"\n")
        else:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            for record in csv.reader(io.StringIO(body.decode("utf-8"))):
                writer.writerow(record + [""] * (len(self.columns) - len(record)))
            body = buffer.getvalue().encode("utf-8")
        header = self._header().encode("utf-8")
        replace_atomically(self.path, lambda target: target.write(header + body), binary=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
