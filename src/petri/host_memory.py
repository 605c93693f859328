"""Keep freed host memory in the process from one training step to the next (glibc's malloc).

Why: glibc serves large allocations (above a threshold that starts at 128 KiB) with a fresh
``mmap`` and hands freed heap tops back to the system, so every training step's activations
and gradients are mapped, zeroed by the kernel one page fault at a time (6,000-16,000 faults
a step on a 3x32x32 CNN at batch 128) and unmapped again. Raising glibc's mmap and trim
thresholds when a loop starts lets each step reuse the memory of the one before: 1.2-1.5x
the samples/s of that CNN on CPU, what PyTorch's CPU tuning guide gets by preloading
jemalloc or tcmalloc, without a preload.

``RunConfig.host_memory``: ``auto`` (the default) retains on glibc unless the user already
tuned the allocator (``MALLOC_*_`` / ``GLIBC_TUNABLES`` variables, a preloaded jemalloc or
tcmalloc); ``retain`` asks for it and fails where it cannot be done; ``system`` leaves malloc
as it is.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import threading
from collections.abc import Iterator
from typing import Literal

from petri.errors import ConfigError

__all__ = ["HostMemory", "retained_host_memory", "retaining", "retention_unavailable"]

HostMemory = Literal["auto", "retain", "system"]

logger = logging.getLogger("petri")

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
# tried in order: some glibc versions refuse an mmap threshold above HEAP_MAX_SIZE / 2 (32 MiB)
_RETAINED_THRESHOLDS = (1 << 30, 32 << 20)
_USER_TUNING = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")

_lock = threading.Lock()
_depth = 0  # loops running (an evaluation inside training): the outermost one trims


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The process's C library when it is glibc (mallopt and malloc_trim exist), else None."""
    try:
        libc = ctypes.CDLL(None)
    except (OSError, TypeError):  # pragma: no cover - Windows has no process-wide handle
        return None
    needed = ("gnu_get_libc_version", "mallopt", "malloc_trim")
    return libc if all(hasattr(libc, name) for name in needed) else None


def retention_unavailable() -> str | None:
    """Why retaining cannot be done in this process (None when it can)."""
    if _glibc() is None:
        return "the C library is not glibc (it needs Linux with glibc)"
    preload = os.environ.get("LD_PRELOAD", "")
    if "jemalloc" in preload or "tcmalloc" in preload or "mimalloc" in preload:
        return f"LD_PRELOAD={preload!r} replaces malloc already"
    return None


def retaining() -> bool:
    """Whether a loop in this process keeps freed host memory right now."""
    return _depth > 0


def _user_tuned() -> bool:
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    return any(name in os.environ for name in _USER_TUNING) or "glibc.malloc" in tunables


@contextlib.contextmanager
def retained_host_memory(mode: HostMemory) -> Iterator[bool]:
    """Within the block, freed host memory stays in the process for the next step.

    Yields whether retention is on. Leaving the outermost block, ``malloc_trim`` returns the
    free memory to the system. The raised thresholds stay for the rest of the process: setting
    them back would switch off glibc's own adaptive threshold, which no call can switch on
    again, and leave every later large allocation to a fresh ``mmap``.

    Raises:
        ConfigError: ``mode='retain'`` where it cannot be done (not glibc, another malloc).
    """
    global _depth
    if mode == "system":
        yield False
        return
    unavailable = retention_unavailable()
    if unavailable and mode == "retain":
        raise ConfigError(
            f"run_config.host_memory='retain' cannot be done here: {unavailable}. Use 'auto' "
            "(retain where possible) or 'system'."
        )
    libc = None if unavailable or (mode == "auto" and _user_tuned()) else _glibc()
    with _lock:
        retained = libc is not None and (_depth > 0 or _set_thresholds(libc))
        if retained:
            _depth += 1
    try:
        yield retained
    finally:
        if retained:
            with _lock:
                _depth -= 1
                if _depth == 0:
                    libc.malloc_trim(0)  # type: ignore[union-attr]


def _set_thresholds(libc: ctypes.CDLL) -> bool:
    for threshold in _RETAINED_THRESHOLDS:
        if libc.mallopt(_M_MMAP_THRESHOLD, threshold) == 1:
            libc.mallopt(_M_TRIM_THRESHOLD, threshold)
            return True
    logger.debug("glibc refused a larger mmap threshold; host memory is not retained.")
    return False
