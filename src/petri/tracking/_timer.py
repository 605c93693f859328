"""The run's background thread: calls the run's ``tick`` every ``period`` seconds."""

from __future__ import annotations

import threading
import warnings
import weakref
from collections.abc import Callable

__all__ = ["RunTimer"]


class RunTimer(threading.Thread):
    """Calls ``tick`` every ``period`` seconds until stopped or until its run is collected.

    The run's tick writes an autosaving run's queued rows and TensorBoard events and refreshes
    its heartbeat; a disk error there warns instead of killing the training that logs.
    """

    def __init__(self, tick: Callable[[], None], period: float, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._tick = weakref.WeakMethod(tick)  # a forgotten run can still be collected
        self._period = period
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.wait(self._period):
            tick = self._tick()
            if tick is None:
                return
            try:
                tick()
            except OSError as error:  # a full disk must not kill training
                warnings.warn(f"Run log flush failed: {error}", RuntimeWarning, stacklevel=1)
            del tick
