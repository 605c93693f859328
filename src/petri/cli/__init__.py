"""The ``petri`` command (``petri.cli:main``)."""

from __future__ import annotations

from petri.cli._main import main

__all__ = ["main"]
