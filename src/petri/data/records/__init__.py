"""Record shards: TFRecord files of ``tf.train.Example`` protos plus ``meta_data.json``."""

from __future__ import annotations

from petri.data.records.example import Example, make_example, parse_example
from petri.data.records.features import FeatureSpec, infer_specs
from petri.data.records.meta_data import (
    META_DATA_FILENAME,
    feature_specs,
    read_meta_data,
    split_name,
    write_meta_data,
)
from petri.data.records.sequence_example import make_sequence_example, parse_sequence_example
from petri.data.records.shards import (
    ShardedRecordWriter,
    expand_data_files,
    shard_name,
    shard_names,
)
from petri.data.records.tfrecord import (
    CorruptRecordError,
    TFRecordWriter,
    iter_records,
    masked_crc32c,
    read_record_at,
)

__all__ = [
    "META_DATA_FILENAME",
    "CorruptRecordError",
    "Example",
    "FeatureSpec",
    "ShardedRecordWriter",
    "TFRecordWriter",
    "expand_data_files",
    "feature_specs",
    "infer_specs",
    "iter_records",
    "make_example",
    "make_sequence_example",
    "masked_crc32c",
    "parse_example",
    "parse_sequence_example",
    "read_meta_data",
    "read_record_at",
    "shard_name",
    "shard_names",
    "split_name",
    "write_meta_data",
]
