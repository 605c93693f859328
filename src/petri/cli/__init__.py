"""The ``petri`` command (``petri.cli:main``)."""

from __future__ import annotations

from petri.cli._convert import convert
from petri.cli._main import main
from petri.cli._predict import predict
from petri.cli._tune import tune

main.add_command(tune)
main.add_command(predict)
main.add_command(convert)

__all__ = ["main"]
