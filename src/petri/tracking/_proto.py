"""TensorBoard's protobuf messages for the run log, built with tensorboard's generated classes.

``tensorboard.compat.proto`` is imported when the first event is encoded, not with
``petri.tracking`` (a test_tube-style log that writes no events never loads it). With protobuf's
upb backend an ``Event`` costs ~1.2 µs to build and serialize here, as much as hand encoding did.
The run log's batch path for metric rows (``_tensorboard.EventWriter``) lays the same bytes out
for thousands of rows at once with numpy, from the prefixes these classes serialize; the tests
parse every kind back with TensorBoard's own ``EventAccumulator``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

__all__ = [
    "END_STATUS",
    "event",
    "hparams_session_end",
    "hparams_session_start",
    "histogram_value",
    "image_value",
    "scalar_event",
    "scalar_value_prefix",
    "session_start",
    "text_value",
    "varint",
]


@cache
def _protos() -> tuple[Any, Any, Any]:
    # tensorboard's generated classes: loaded on the first event (petri.tracking stays light)
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2

    return event_pb2, summary_pb2, tensor_pb2


def varint(value: int) -> bytes:
    """Protobuf's base-128 varint (the batch path writes length prefixes with it)."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def scalar_value_prefix(tag: str) -> bytes:
    """A ``Summary`` holding one ``simple_value`` of ``tag``, serialized, without the value's 4
    float bytes (which come last): the batch path appends each row's float to it (and keeps
    each tag's prefix)."""
    _, summary_pb2, _ = _protos()
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=1.0)])
    return summary.SerializeToString()[:-4]


def scalar_event(
    wall_time: float, step: int, tags: Sequence[str], values: Sequence[float]
) -> bytes:
    """An ``Event`` at ``step`` whose summary holds ``tags[i] = values[i]``."""
    event_pb2, summary_pb2, _ = _protos()
    summary = summary_pb2.Summary(
        value=[
            summary_pb2.Summary.Value(tag=tag, simple_value=value)
            for tag, value in zip(tags, values)
        ]
    )
    return event_pb2.Event(wall_time=wall_time, step=step, summary=summary).SerializeToString()


def event(wall_time: float, step: int, summary: bytes = b"", file_version: str = "") -> bytes:
    """An ``Event`` with a serialized ``Summary`` (or the file's version record)."""
    event_pb2 = _protos()[0]
    message = event_pb2.Event(wall_time=wall_time, step=step)
    if file_version:
        message.file_version = file_version
    if summary:
        message.summary.ParseFromString(summary)
    return message.SerializeToString()


def session_start(wall_time: float, step: int) -> bytes:
    """An ``Event`` with ``SessionLog(status=START)`` at ``step``: TensorBoard then discards the
    events at ``step`` and later that an earlier session wrote (its purge of orphaned data), so
    a resumed run's curves do not double back."""
    event_pb2 = _protos()[0]
    message = event_pb2.Event(wall_time=wall_time, step=step)
    message.session_log.status = event_pb2.SessionLog.START
    return message.SerializeToString()


def image_value(tag: str, height: int, width: int, channels: int, encoded: bytes) -> bytes:
    """A serialized ``Summary`` with one encoded image."""
    _, summary_pb2, _ = _protos()
    image = summary_pb2.Summary.Image(
        height=height, width=width, colorspace=channels, encoded_image_string=encoded
    )
    return summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag, image=image)]
    ).SerializeToString()


def histogram_value(
    tag: str,
    minimum: float,
    maximum: float,
    count: float,
    total: float,
    sum_squares: float,
    bucket_limit: Sequence[float],
    bucket: Sequence[float],
) -> bytes:
    """A serialized ``Summary`` with one histogram."""
    _, summary_pb2, _ = _protos()
    histogram = summary_pb2.HistogramProto(
        min=minimum,
        max=maximum,
        num=count,
        sum=total,
        sum_squares=sum_squares,
        bucket_limit=list(bucket_limit),
        bucket=list(bucket),
    )
    return summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag, histo=histogram)]
    ).SerializeToString()


def text_value(tag: str, text: str) -> bytes:
    """A serialized ``Summary`` with a text-plugin value (a scalar string tensor)."""
    _, summary_pb2, tensor_pb2 = _protos()
    tensor = tensor_pb2.TensorProto(dtype=7, string_val=[text.encode()])  # 7: DT_STRING
    tensor.tensor_shape.SetInParent()
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text")
    )
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=metadata)
    return summary_pb2.Summary(value=[value]).SerializeToString()


# ------------------------------------------------------------------ the HParams tab
END_STATUS = {"finished": 1, "pruned": 2, "stopped": 2}
"""How a run's end reads in TensorBoard's HParams tab (``api_pb2.Status``: 1 success, 2
failure). A ``crashed`` run gets no session end: TensorBoard keeps the first end it reads in a
run, and a crashed run is usually resumed, then finishes."""


def hparams_session_start(hparams: Mapping[str, Any], group: str, start_time: float) -> bytes:
    """A serialized ``Summary`` with the HParams plugin's session start: ``hparams`` as numbers,
    strings or booleans (None and lists as their text), ``group`` the session group's name.

    TensorBoard keeps the first session start of a run; a resumed run writes the same one again
    (same values, group and start time), in case the first never reached disk.
    """
    from tensorboard.plugins.hparams import summary_v2  # no TensorFlow needed for the protos

    values = {str(key): _hparam_value(value) for key, value in hparams.items()}
    summary = summary_v2.hparams_pb(values, trial_id=group, start_time_secs=start_time)
    return summary.SerializeToString()


def hparams_session_end(status: int, end_time: float) -> bytes:
    """A serialized ``Summary`` with the HParams plugin's session end (``api_pb2.Status``)."""
    from tensorboard.plugins.hparams import metadata, plugin_data_pb2

    _, summary_pb2, _ = _protos()
    info = plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=end_time)
    value = summary_pb2.Summary.Value(
        tag=metadata.SESSION_END_INFO_TAG,
        metadata=metadata.create_summary_metadata(
            plugin_data_pb2.HParamsPluginData(session_end_info=info)
        ),
        tensor=metadata.NULL_TENSOR,
    )
    return summary_pb2.Summary(value=[value]).SerializeToString()


def _hparam_value(value: Any) -> bool | float | str:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if value is None:
        return "None"  # as the text tab's table shows it
    return json.dumps(value, default=str)
