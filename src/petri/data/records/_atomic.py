"""What the record writers share: a ``with`` block keeps their output only if it succeeds."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import TypeVar

__all__ = ["AtomicWriter"]

_Writer = TypeVar("_Writer", bound="AtomicWriter")


class AtomicWriter(abc.ABC):
    """A writer whose output appears whole or not at all.

    As a context manager it calls :meth:`close` when the block ends normally and :meth:`abort`
    when it raises, so an error never leaves a torn file behind.
    """

    @abc.abstractmethod
    def close(self) -> None:
        """Finish writing and move the output into place."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Discard everything written."""

    def __enter__(self: _Writer) -> _Writer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
