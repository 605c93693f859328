"""``tf.train.Example`` protos without TensorFlow, and numpy <-> Example conversion.

The message classes are built from the schema of TensorFlow's ``example.proto`` and
``feature.proto`` (same package, names, field numbers and types), so their bytes are the bytes
TensorFlow writes and reads. They live in a private descriptor pool: importing TensorFlow, the
``tfrecord`` package or TensorBoard (which register the same names in protobuf's default pool)
in the same process therefore never collides with Petri.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = [
    "BytesList",
    "Example",
    "Feature",
    "FeatureList",
    "FeatureLists",
    "Features",
    "FloatList",
    "Int64List",
    "SequenceExample",
    "feature_kind",
    "fill_feature",
    "make_example",
    "parse_example",
]

_FIELD = descriptor_pb2.FieldDescriptorProto


def _field(
    name: str, number: int, kind: int, label: int = _FIELD.LABEL_OPTIONAL, type_name: str = ""
) -> descriptor_pb2.FieldDescriptorProto:
    field = _FIELD(name=name, number=number, type=kind, label=label, json_name=name)
    if type_name:
        field.type_name = type_name
    return field


def _list_message(name: str, kind: int, packed: bool) -> descriptor_pb2.DescriptorProto:
    message = descriptor_pb2.DescriptorProto(name=name)
    value = _field("value", 1, kind, _FIELD.LABEL_REPEATED)
    if packed:
        value.options.packed = True
    message.field.append(value)
    return message


def _map_message(name: str, entry: str, value_type: str, field: str) -> Any:
    """A message holding ``map<string, value_type> field = 1`` (protobuf's map encoding)."""
    message = descriptor_pb2.DescriptorProto(name=name)
    message.field.append(
        _field(field, 1, _FIELD.TYPE_MESSAGE, _FIELD.LABEL_REPEATED, f".tensorflow.{name}.{entry}")
    )
    nested = message.nested_type.add(name=entry)
    nested.options.map_entry = True
    nested.field.append(_field("key", 1, _FIELD.TYPE_STRING))
    nested.field.append(_field("value", 2, _FIELD.TYPE_MESSAGE, type_name=value_type))
    return message


def _schema() -> descriptor_pb2.FileDescriptorProto:
    """TensorFlow's feature.proto and example.proto (tensorflow/core/example/), as one file."""
    schema = descriptor_pb2.FileDescriptorProto(
        name="petri/tensorflow/example.proto", package="tensorflow", syntax="proto3"
    )
    schema.message_type.extend(
        [
            _list_message("BytesList", _FIELD.TYPE_BYTES, packed=False),
            _list_message("FloatList", _FIELD.TYPE_FLOAT, packed=True),
            _list_message("Int64List", _FIELD.TYPE_INT64, packed=True),
        ]
    )
    feature = schema.message_type.add(name="Feature")
    feature.oneof_decl.add(name="kind")
    for number, (name, kind) in enumerate(
        [("bytes_list", "BytesList"), ("float_list", "FloatList"), ("int64_list", "Int64List")],
        start=1,
    ):
        field = _field(name, number, _FIELD.TYPE_MESSAGE, type_name=f".tensorflow.{kind}")
        field.oneof_index = 0
        feature.field.append(field)
    schema.message_type.append(
        _map_message("Features", "FeatureEntry", ".tensorflow.Feature", "feature")
    )
    feature_list = schema.message_type.add(name="FeatureList")
    feature_list.field.append(
        _field("feature", 1, _FIELD.TYPE_MESSAGE, _FIELD.LABEL_REPEATED, ".tensorflow.Feature")
    )
    schema.message_type.append(
        _map_message("FeatureLists", "FeatureListEntry", ".tensorflow.FeatureList", "feature_list")
    )
    example = schema.message_type.add(name="Example")
    example.field.append(
        _field("features", 1, _FIELD.TYPE_MESSAGE, type_name=".tensorflow.Features")
    )
    sequence = schema.message_type.add(name="SequenceExample")
    sequence.field.append(
        _field("context", 1, _FIELD.TYPE_MESSAGE, type_name=".tensorflow.Features")
    )
    sequence.field.append(
        _field("feature_lists", 2, _FIELD.TYPE_MESSAGE, type_name=".tensorflow.FeatureLists")
    )
    return schema


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_schema())


def _message(name: str) -> Any:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"tensorflow.{name}"))


BytesList = _message("BytesList")
FloatList = _message("FloatList")
Int64List = _message("Int64List")
Feature = _message("Feature")
Features = _message("Features")
FeatureList = _message("FeatureList")
FeatureLists = _message("FeatureLists")
Example = _message("Example")
SequenceExample = _message("SequenceExample")

# numpy dtype kind -> the Feature list that holds it. Example protos have three value types:
# float32, int64 and bytes; narrower dtypes widen losslessly (meta_data.json keeps the original).
_KINDS = {"f": "float_list", "i": "int64_list", "u": "int64_list", "b": "int64_list"}


def feature_kind(value: Any) -> str:
    """The Feature list (``float_list``, ``int64_list``, ``bytes_list``) a value is stored in."""
    if isinstance(value, bytes | str):
        return "bytes_list"
    array = np.asarray(value)
    if array.dtype.kind in ("S", "U", "O"):
        return "bytes_list"
    kind = _KINDS.get(array.dtype.kind)
    if kind is None:
        raise TypeError(
            f"Example protos hold floats, integers and bytes; received dtype {array.dtype}. "
            "Convert the feature to one of those first."
        )
    return kind


def _as_bytes(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def make_example(features: Mapping[str, Any]) -> bytes:
    """Serialize one example: feature name -> scalar, array, bytes or list of bytes.

    Numeric arrays are flattened (their shape belongs in ``meta_data.json``); floats are stored
    as float32, integers and booleans as int64.

    Example:
        >>> data = make_example({"x": [1.5, 2.0], "label": 3, "name": b"a"})
        >>> parse_example(data)["label"]
        array([3])
    """
    example = Example()
    feature_map = example.features.feature
    for name, value in features.items():
        fill_feature(feature_map[name], value)
    return example.SerializeToString()


def fill_feature(feature: Any, value: Any) -> None:
    """Put ``value`` (scalar, array, bytes or list of bytes, flattened) in a ``Feature``."""
    kind = feature_kind(value)
    if kind == "bytes_list":
        items = [value] if isinstance(value, bytes | str) else list(np.ravel(value))
        feature.bytes_list.value.extend(_as_bytes(item) for item in items)
    elif kind == "float_list":
        feature.float_list.value.extend(np.ravel(np.asarray(value, dtype=np.float32)).tolist())
    else:
        feature.int64_list.value.extend(np.ravel(np.asarray(value, dtype=np.int64)).tolist())


def _to_array(values: Any, dtype: type) -> np.ndarray:
    # np.array() on a repeated field has a high fixed cost; fromiter is faster for a few values
    # and slower for many.
    count = len(values)
    if count <= 32:
        return np.fromiter(values, dtype, count)
    return np.array(values, dtype=dtype)


def parse_example(data: bytes | memoryview, keys: Any = None) -> dict[str, Any]:
    """Parse one serialized Example: float32/int64 arrays (1-D) and lists of bytes.

    Args:
        data: the serialized Example.
        keys: parse only these features (missing ones are left out); None parses all.

    Raises:
        google.protobuf.message.DecodeError: ``data`` is not an Example.
    """
    feature_map = Example.FromString(bytes(data)).features.feature
    items = (
        feature_map.items()
        if keys is None
        else ((k, feature_map[k]) for k in keys if k in feature_map)
    )
    parsed: dict[str, Any] = {}
    for name, feature in items:
        kind = feature.WhichOneof("kind")
        if kind == "float_list":
            parsed[name] = _to_array(feature.float_list.value, np.float32)
        elif kind == "int64_list":
            parsed[name] = _to_array(feature.int64_list.value, np.int64)
        elif kind == "bytes_list":
            parsed[name] = list(feature.bytes_list.value)
        else:  # a Feature with no list set: TensorFlow reads it as an empty list
            parsed[name] = np.zeros(0, dtype=np.float32)
    return parsed
