"""The reliability suite's report: what was tried and what went wrong, counted across tests.

Tests add to named counters through the ``reliability_report`` fixture, for example
``reliability_report.add("kills survived (supervised)", 1)`` or ``.add("rows lost", lost)``; the
totals are printed at the end of the pytest run and written to ``.reliability-report.json`` in
the rootdir (``docs/reliability.md`` quotes them). Counters named in ``MUST_BE_ZERO`` are failures
when non-zero; each test asserts its own share, the report shows the total.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

MUST_BE_ZERO = (
    "rows lost",
    "rows duplicated",
    "evaluations missing",
    "corrupt checkpoints loaded",
    "raw exceptions",
    "run folders left by invalid configs",
    "leaked temp files",
    "orphaned processes",
    "weights differing from an uninterrupted run",
)

_COUNTS: Counter[str] = Counter()


class ReliabilityReport:
    """Adds to the suite-wide counters; one instance per session."""

    def add(self, name: str, amount: int = 1) -> None:
        _COUNTS[name] += amount

    def __getitem__(self, name: str) -> int:
        return _COUNTS[name]


@pytest.fixture(scope="session")
def reliability_report() -> ReliabilityReport:
    return ReliabilityReport()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _COUNTS:
        return
    report = {name: _COUNTS[name] for name in sorted(_COUNTS)}
    for name in MUST_BE_ZERO:
        report.setdefault(name, 0)
    terminalreporter.section("reliability report")
    width = max(len(name) for name in report)
    for name, value in report.items():
        flag = "  <-- must be 0" if name in MUST_BE_ZERO and value else ""
        terminalreporter.write_line(f"{name:<{width}}  {value:>7}{flag}")
    path = Path(config.rootpath) / ".reliability-report.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
