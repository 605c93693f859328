"""``FeatureSpec``: a record feature's name, dtype and per-example shape.

Example protos only know flat lists of float32, int64 or bytes. The dtype and shape that make
those lists into arrays again come from ``meta_data.json`` (written with the records), or are
inferred from the first record when there is no such file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BYTES", "FeatureSpec", "infer_specs"]

BYTES = "bytes"
"""The dtype name of byte-string features (TensorFlow's ``tf.string``)."""

_STRING_NAMES = {"bytes", "string", "str", "object"}


@dataclass(frozen=True)
class FeatureSpec:
    """How one feature of an Example becomes an array.

    Args:
        name: the feature key in the Example.
        dtype: a numpy dtype name (``float32``, ``int64``, ``uint8``, ``bool``, ...) or
            ``bytes``.
        shape: the shape of one example's value; ``None`` marks a dimension whose length varies
            (batch such features with ``dynamic_pad``). ``()`` is a scalar.
    """

    name: str
    dtype: str
    shape: tuple[int | None, ...] = ()

    def __post_init__(self) -> None:
        dtype = BYTES if str(self.dtype).lower() in _STRING_NAMES else str(np.dtype(self.dtype))
        object.__setattr__(self, "dtype", dtype)
        shape = tuple(None if d is None or int(d) < 0 else int(d) for d in self.shape)
        if sum(d is None for d in shape) > 1:
            raise ValueError(
                f"Feature {self.name!r}: at most one dimension may vary; received shape "
                f"{list(self.shape)}."
            )
        object.__setattr__(self, "shape", shape)
        # Precomputed for decode(), which runs once per feature per example.
        known = [d for d in shape if d is not None]
        object.__setattr__(self, "_size", int(np.prod(known)) if known else 1)
        object.__setattr__(self, "_target", tuple(-1 if d is None else d for d in shape))
        object.__setattr__(self, "_fixed", None not in shape)
        object.__setattr__(self, "_np_dtype", None if dtype == BYTES else np.dtype(dtype))

    @property
    def is_bytes(self) -> bool:
        return self.dtype == BYTES

    @classmethod
    def from_array(cls, name: str, value: Any) -> FeatureSpec:
        """The spec of one example's value (a scalar, array, bytes or str)."""
        if isinstance(value, bytes | str):
            return cls(name, BYTES, ())
        array = np.asarray(value)
        if array.dtype.kind in ("S", "U", "O"):
            return cls(name, BYTES, array.shape)
        dtype = np.float32 if array.dtype == np.float64 else array.dtype
        return cls(name, str(np.dtype(dtype)), array.shape)

    @classmethod
    def from_json(cls, name: str, value: Mapping[str, Any]) -> FeatureSpec:
        """Read a ``meta_data.json`` entry ``{"dtype": "float32", "shape": [1]}``."""
        try:
            return cls(name, value["dtype"], tuple(value.get("shape", ())))
        except (KeyError, TypeError) as error:
            raise ValueError(
                f"meta_data.json feature {name!r} must be {{'dtype': ..., 'shape': [...]}}; "
                f"received {value!r} ({error})."
            ) from None

    def to_json(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": [d if d is not None else -1 for d in self.shape]}

    def decode(self, value: Any) -> Any:
        """Turn a parsed Example list into this feature's value.

        Raises:
            ValueError: the number of values does not fit the shape.
        """
        if self.is_bytes:
            values = value if isinstance(value, list) else [bytes(value)]
            if self.shape == ():
                return values[0] if values else b""
            return values
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
        if array.dtype != self._np_dtype:  # type: ignore[attr-defined]
            array = array.astype(self._np_dtype)  # type: ignore[attr-defined]
        size = self._size  # type: ignore[attr-defined]
        if self._fixed:  # type: ignore[attr-defined]
            if array.size != size:
                raise ValueError(
                    f"Feature {self.name!r} has shape {list(self.shape)} ({size} value(s)) in its "
                    f"spec but the record holds {array.size}; fix the shape in meta_data.json."
                )
        elif size == 0 or array.size % size:
            raise ValueError(
                f"Feature {self.name!r} has shape {self.to_json()['shape']} in its spec; "
                f"{array.size} values do not fit it."
            )
        return array.reshape(self._target)  # type: ignore[attr-defined]


def infer_specs(parsed: Iterable[Mapping[str, Any]]) -> dict[str, FeatureSpec]:
    """Specs guessed from parsed Examples (the first records of a dataset).

    A feature with one value in every example is a scalar; with ``n`` values in every example,
    a vector of ``n``; with varying counts, a vector of varying length (needs ``dynamic_pad``).
    """
    counts: dict[str, set[int]] = {}
    dtypes: dict[str, str] = {}
    for example in parsed:
        for name, value in example.items():
            counts.setdefault(name, set()).add(len(value))
            dtypes.setdefault(name, BYTES if isinstance(value, list) else str(value.dtype))
    specs = {}
    for name, seen in counts.items():
        if seen == {1}:
            shape: tuple[int | None, ...] = ()
        elif len(seen) == 1:
            shape = (seen.pop(),)
        else:
            shape = (None,)
        specs[name] = FeatureSpec(name, dtypes[name], shape)
    return specs
