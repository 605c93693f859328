"""The ``petri`` command (``petri.cli:main``)."""

from __future__ import annotations

from petri.cli._main import main
from petri.cli._tune import tune

main.add_command(tune)

__all__ = ["main"]
