"""``meta_tags.csv``: tags with their types.

test_tube wrote ``key,value`` and read every value back as pandas guessed it, so ``8`` and
``"8"`` became the same and ``True`` became a string. The file keeps ``key,value`` first (what
test_tube and pandas readers use) and adds a ``type`` column (``int``, ``float``, ``bool``,
``str``, ``none``, ``json``) from which :func:`read_tags` restores each value exactly, and a
``default`` column (``True`` for a tag whose value is the default of the config it was flattened
from), so ``petri show`` and TensorBoard's HParams tab can leave those out.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Collection
from typing import Any

from petri._fsync import replace_atomically
from petri.errors import PetriError

__all__ = ["read_tag_file", "read_tags", "tag_value", "write_tags"]


def tag_value(value: Any) -> Any:
    """A tag value as plain data: numpy scalars and 0-d tensors become Python numbers, arrays
    lists, paths strings; anything else that JSON can't hold becomes its ``str``."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, dict):
        return {str(k): tag_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [tag_value(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    module = type(value).__module__ or ""
    if module.startswith(("numpy", "torch")) and hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, int | float | str):  # subclasses (enums, numpy float64)
        return value
    return str(value)


def _encode(value: Any) -> tuple[str, str]:
    if value is None:
        return "", "none"
    if isinstance(value, bool):
        return str(value), "bool"
    if isinstance(value, int):
        return str(value), "int"
    if isinstance(value, float):
        return repr(value), "float"
    if isinstance(value, str):
        return value, "str"
    try:
        return json.dumps(value, allow_nan=True), "json"
    except (TypeError, ValueError):
        return str(value), "str"


def _decode(text: str, kind: str) -> Any:
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            return text == "True"
        if kind == "none":
            return None
        if kind == "json":
            return json.loads(text)
    except ValueError:
        return text
    if kind == "str":
        return text
    return _guess(text)


def _guess(text: str) -> Any:
    """Values of a test_tube file (no type column): numbers and booleans as pandas read them."""
    for cast in (int, float):
        try:
            value = cast(text)
        except ValueError:
            continue
        return value if not (isinstance(value, float) and math.isnan(value)) else text
    if text in ("True", "False"):
        return text == "True"
    return text


def write_tags(path: str, tags: dict[str, Any], defaults: Collection[str] = frozenset()) -> None:
    """Write all tags atomically (temporary file, then ``os.replace``); ``defaults`` are the keys
    whose value is a config's default."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["key", "value", "type", "default"])
    for key, value in tags.items():
        text, kind = _encode(value)
        writer.writerow([key, text, kind, "True" if key in defaults else ""])
    replace_atomically(path, lambda file: file.write(buffer.getvalue()))


class RunFileError(PetriError, ValueError):
    """A file of a run cannot be read (damaged); the message names the file and where."""


def read_tags(path: str) -> dict[str, Any]:
    """Tags with their types; files without a type column (test_tube's) are guessed."""
    return read_tag_file(path)[0]


def read_tag_file(path: str) -> tuple[dict[str, Any], set[str]]:
    """Tags with their types, and the keys whose value is a config's default (none in files
    written before the ``default`` column)."""
    try:
        with open(path, newline="", encoding="utf-8") as file:
            records = list(csv.reader(file))
    except FileNotFoundError:
        return {}, set()
    except UnicodeDecodeError as error:
        raise RunFileError(
            f"{path} is damaged: not UTF-8 text at byte {error.start} ({error.reason}). Restore "
            "it from a backup or delete it; the run's other files are unaffected."
        ) from None
    except csv.Error as error:
        raise RunFileError(f"{path} is damaged: {error}.") from None
    if not records:
        return {}, set()
    header = records[0]
    key_at = header.index("key") if "key" in header else 0
    value_at = header.index("value") if "value" in header else 1
    type_at = header.index("type") if "type" in header else None
    default_at = header.index("default") if "default" in header else None
    tags: dict[str, Any] = {}
    defaults: set[str] = set()
    for record in records[1:]:
        if len(record) <= max(key_at, value_at):
            continue
        kind = record[type_at] if type_at is not None and type_at < len(record) else ""
        tags[record[key_at]] = _decode(record[value_at], kind)
        if default_at is not None and default_at < len(record) and record[default_at] == "True":
            defaults.add(record[key_at])
    return tags, defaults & tags.keys()
