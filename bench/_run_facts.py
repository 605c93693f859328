"""What a benchmark records about its own run (the command as typed, the machine, its load) and
how it writes its section into docs/benchmarks.md, shared by the benchmark scripts."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, or ``n/a``."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def command_line(script: str, argv: list[str]) -> str:
    """The command as typed, with the ``taskset -c`` that pinned it (if it was pinned)."""
    python = Path(sys.executable)
    shown = python.relative_to(ROOT) if python.is_relative_to(ROOT) else python
    command = " ".join(shlex.quote(w) for w in [str(shown), script, *argv])
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return command
    if len(cpus) < (os.cpu_count() or len(cpus)):
        return f"taskset -c {','.join(map(str, cpus))} {command}"
    return command


def write_section(section: str, begin: str, end: str, path: Path = DOCS) -> Path:
    """Put ``section`` (which starts with ``begin`` and ends with ``end``) in place of the one
    between those markers in ``path``, or append it; the rest of the file is kept."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
