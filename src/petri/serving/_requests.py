"""Reading a predict request in TensorFlow Serving's REST shape, and writing its answer.

Row format: ``{"instances": [row, ...]}`` (a row is the value of the single input, or an
object ``{input: value}``), answered ``{"predictions": [...]}`` (per row: the value of the
single output, or an object ``{output: value}``). Columnar format: ``{"inputs": value}`` or
``{"inputs": {input: value}}``, answered ``{"outputs": value}`` or ``{"outputs": {output:
value}}``. Every problem a client can cause is a :class:`BadRequest` that names it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from petri.errors import PetriError

__all__ = ["BadRequest", "PredictRequest", "answer", "read_request"]


class BadRequest(PetriError, ValueError):
    """A client's mistake: answered with ``status`` and ``{"error": message}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class PredictRequest:
    """A checked request: arrays in the export's input order, its row count and signature."""

    arrays: list[np.ndarray]
    rows: int
    signature: str
    row_format: bool


def read_request(
    body: Any, inputs: Mapping[str, Mapping[str, Any]], signatures: Mapping[str, list[str]],
    default_signature: str, max_rows: int,
) -> PredictRequest:  # fmt: skip
    """Check ``body`` (parsed JSON) against the export's ``inputs`` and ``signatures``."""
    if not isinstance(body, dict):
        raise BadRequest('The body must be a JSON object with "instances" or "inputs".')
    unknown = sorted(set(body) - {"instances", "inputs", "signature_name"})
    if unknown:
        raise BadRequest(
            f'Unknown keys {unknown}; a predict request has "instances" (rows) or "inputs" '
            '(columns), and optionally "signature_name".'
        )
    signature = body.get("signature_name") or default_signature
    if not isinstance(signature, str) or signature not in signatures:
        raise BadRequest(
            f"No signature {signature!r}; this model has {sorted(signatures)}.", status=404
        )
    if ("instances" in body) == ("inputs" in body):
        raise BadRequest('Give exactly one of "instances" (rows) and "inputs" (columns).')
    names = list(inputs)
    if "instances" in body:
        columns = _columns_of_rows(body["instances"], names)
        row_format = True
    else:
        columns = _columns(body["inputs"], names)
        row_format = False
    arrays = [_array(name, columns[name], inputs[name]) for name in names]
    rows = {len(array) for array in arrays}
    if len(rows) != 1:
        raise BadRequest(
            "The inputs have different numbers of rows: "
            + ", ".join(f"{name}: {len(a)}" for name, a in zip(names, arrays))
        )
    count = rows.pop()
    if count == 0:
        raise BadRequest("The request has no rows.")
    if count > max_rows:
        raise BadRequest(
            f"The request has {count} rows; this server takes at most {max_rows} per request "
            "(--max-rows): send several requests.",
            status=413,
        )
    return PredictRequest(arrays, count, signature, row_format)


def _columns_of_rows(instances: Any, names: list[str]) -> dict[str, list[Any]]:
    if not isinstance(instances, list):
        raise BadRequest('"instances" must be a list of rows.')
    if len(names) == 1 and not any(isinstance(row, dict) for row in instances):
        return {names[0]: instances}
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for number, row in enumerate(instances):
        if not isinstance(row, dict):
            raise BadRequest(
                f"instances[{number}] must be an object {{input: value}}: this model takes "
                f"several inputs, {names}."
            )
        _check_names(row, names, f"instances[{number}]")
        for name in names:
            columns[name].append(row[name])
    return columns


def _columns(inputs: Any, names: list[str]) -> dict[str, Any]:
    if isinstance(inputs, dict):
        _check_names(inputs, names, '"inputs"')
        return inputs
    if len(names) != 1:
        raise BadRequest(f'"inputs" must be an object {{input: values}} with the inputs {names}.')
    return {names[0]: inputs}


def _check_names(given: Mapping[str, Any], names: list[str], where: str) -> None:
    unknown, missing = sorted(set(given) - set(names)), sorted(set(names) - set(given))
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"unknown inputs {unknown}")
        if missing:
            parts.append(f"missing inputs {missing}")
        raise BadRequest(f"{where}: {' and '.join(parts)}; this model's inputs are {names}.")


def _array(name: str, value: Any, spec: Mapping[str, Any]) -> np.ndarray:
    """``value`` as an array of the input's dtype and shape (``-1``: the rows)."""
    dtype = np.dtype(spec["dtype"])
    expected = list(spec["shape"])
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged lists
        raise BadRequest(
            f"Input {name!r}: the rows are not all of one shape (expected {expected}, -1 any "
            f"number of rows): {error}"
        ) from None
    if array.dtype == object or array.dtype.kind in "USV":
        raise BadRequest(
            f"Input {name!r} takes {dtype.name} numbers; received "
            f"{'text' if array.dtype.kind in 'US' else 'mixed or ragged values'}."
        )
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise BadRequest(f"Input {name!r} holds NaN or infinity, which no model input takes.")
    fractions = array.dtype.kind == "f" and not (array == np.round(array)).all()
    if dtype.kind in "iub" and fractions:
        raise BadRequest(f"Input {name!r} takes {dtype.name} values; received fractions.")
    if list(array.shape[1:]) != expected[1:] or array.ndim != len(expected):
        raise BadRequest(
            f"Input {name!r} expected shape {expected} (-1: any number of rows); received "
            f"{list(array.shape)}."
        )
    return array.astype(dtype, copy=False)


def answer(request: PredictRequest, outputs: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The response body for ``request`` given its signature's ``outputs`` (its rows only)."""
    plain = {name: _plain(value) for name, value in outputs.items()}
    if request.row_format:
        if len(plain) == 1:
            return {"predictions": next(iter(plain.values()))}
        return {
            "predictions": [
                {name: plain[name][row] for name in plain} for row in range(request.rows)
            ]
        }
    if len(plain) == 1:
        return {"outputs": next(iter(plain.values()))}
    return {"outputs": plain}


def _plain(value: np.ndarray) -> Any:
    """JSON-ready: lists of Python numbers, NaN and infinity as null (JSON has neither)."""
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        return [_none_if_not_finite(v) for v in value.tolist()]
    return value.tolist()


def _none_if_not_finite(value: Any) -> Any:
    if isinstance(value, list):
        return [_none_if_not_finite(v) for v in value]
    return None if isinstance(value, float) and not math.isfinite(value) else value
