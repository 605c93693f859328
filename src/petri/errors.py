"""Petri's exception hierarchy: one root so callers can catch every library condition."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "CheckpointMismatchError",
    "ConfigError",
    "DiskFullError",
    "NotTrainedError",
    "PetriError",
    "RunStopped",
    "UnknownNameError",
    "closest_name",
    "did_you_mean",
]


class PetriError(Exception):
    """Root of every error Petri raises on purpose."""


class ConfigError(PetriError, ValueError):
    """A configuration value is wrong.

    The message names the key path (``model_config.optimizer_config.learning_rate``), the value
    received, what was expected, and, where one exists, the closest valid name.
    """

    def __init__(self, message: str, path: str = "", value: object = None) -> None:
        super().__init__(message)
        self.path = path
        self.value = value


class CheckpointMismatchError(PetriError, ValueError):
    """A checkpoint does not fit the model restoring it (another architecture or layer names)."""


class DiskFullError(PetriError, OSError):
    """A write failed for lack of space (or quota); the message names the file, the space left
    and what is still intact."""

    def __init__(self, message: str, path: str = "") -> None:
        import errno

        super().__init__(errno.ENOSPC, message, path)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotTrainedError(PetriError, ValueError):
    """Evaluating, predicting or exporting asks for a trained model and there is no checkpoint."""


class RunStopped(PetriError):
    """Raised by a schedule's predicate to end a run early under its own ``status`` (a search's
    pruned trial ends ``pruned``, not ``crashed``); the Experiment closes the run and re-raises.
    """

    def __init__(self, message: str, status: str = "stopped") -> None:
        super().__init__(message)
        self.status = status


class UnknownNameError(PetriError, KeyError):
    """A registry lookup failed: the name is not registered."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the message as written.
        return str(self.args[0]) if self.args else ""


def closest_name(name: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate most similar to ``name`` (case-insensitive), or None."""
    by_lower = {c.lower(): c for c in candidates}
    match = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1, cutoff=0.5)
    return by_lower[match[0]] if match else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the candidate closest to ``name``, or an empty string: the one
    did-you-mean every Petri message uses."""
    suggestion = closest_name(name, candidates)
    return f" Did you mean {suggestion!r}?" if suggestion else ""
