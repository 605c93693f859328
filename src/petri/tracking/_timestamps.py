"""``created_at`` strings, as test_tube wrote them (``str(datetime.utcnow())``), but cheap.

Formatting a datetime costs ~1.5 µs; the date-and-seconds part changes once a second, so it is
cached and only the microseconds are formatted per row.
"""

from __future__ import annotations

import time

__all__ = ["parse_utc", "utc_millis_string", "utc_string"]

_cache: list = [-1, ""]


def utc_string(timestamp: float) -> str:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC for a Unix ``timestamp``."""
    seconds = int(timestamp)
    if seconds != _cache[0]:
        _cache[0] = seconds
        _cache[1] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))
    return f"{_cache[1]}.{int((timestamp - seconds) * 1e6):06d}"


def utc_millis_string(milliseconds: int) -> str:
    """``YYYY-MM-DD HH:MM:SS.fff`` in UTC for Unix time in whole milliseconds (a row's stamp:
    ``log`` re-formats it only when the millisecond changes)."""
    seconds = milliseconds // 1000
    if seconds != _cache[0]:
        _cache[0] = seconds
        _cache[1] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))
    return f"{_cache[1]}.{milliseconds % 1000:03d}"


def parse_utc(text: str) -> float | None:
    """Unix time of a ``created_at`` string (``YYYY-MM-DD HH:MM:SS[.ffffff]``, either
    separator); None if it is not one. Parsed by slicing: ``petri ls`` calls it once per run."""
    import calendar

    text = text.strip()
    if len(text) < 19 or text[4] != "-" or text[7] != "-" or text[13] != ":":
        try:
            seconds = float(text)
        except ValueError:
            return None
        return seconds if 0 <= seconds < 1e11 else None  # a damaged file: no time at all
    try:
        fields = (
            int(text[0:4]),
            int(text[5:7]),
            int(text[8:10]),
            int(text[11:13]),
            int(text[14:16]),
            int(text[17:19]),
        )
    except ValueError:
        return None
    digits = text[20:26] if len(text) > 20 and text[19] == "." else ""
    fraction = int(digits) / 10 ** len(digits) if digits.isdigit() else 0.0
    try:
        return calendar.timegm((*fields, 0, 0, 0)) + fraction
    except (ValueError, OverflowError):  # month 13 and the like: a damaged file
        return None
