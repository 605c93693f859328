"""A TensorBoard histogram of an array or tensor (what ``add_histogram`` writes)."""

from __future__ import annotations

from typing import Any

from petri.tracking import _proto

__all__ = ["histogram_value"]


def histogram_value(tag: str, values: Any, bins: int) -> bytes | None:
    """The encoded ``Summary.Value`` of ``values``' finite entries in ``bins`` equal bins; None
    when there are none (TensorBoard cannot draw an empty histogram)."""
    import numpy as np  # lazy: logging scalars never needs numpy

    if hasattr(values, "detach"):
        values = values.detach().float().cpu().numpy()
    array = np.asarray(values, dtype=np.float64).ravel()
    array = array[np.isfinite(array)]
    if array.size == 0:
        return None
    counts, edges = np.histogram(array, bins=bins)
    return _proto.histogram_value(
        tag,
        float(array.min()),
        float(array.max()),
        float(array.size),
        float(array.sum()),
        float(np.dot(array, array)),
        edges[1:].tolist(),
        counts.astype(np.float64).tolist(),
    )
