"""Input functions: in-memory arrays, record shards and the pipelines that read them.

An input function is a callable returning an iterator of ``(features, labels)`` batches.
"""

from __future__ import annotations

from petri.data.converters import ImagesToRecordsConverter, write_records
from petri.data.input_fn import INPUT_TYPES, create_input_fn, load_array
from petri.data.iteration import batch_size_of, iterate_input, move_to_device
from petri.data.numpy_input import NumpyBatches, numpy_input_fn
from petri.data.pipelines import (
    PIPELINES,
    CSVPipeline,
    ImageFolderPipeline,
    NumpyPipeline,
    Pipeline,
    PipelineBatches,
    TFRecordImagePipeline,
    TFRecordPipeline,
    TFRecordSequencePipeline,
)
from petri.data.records import CorruptRecordError, read_meta_data
from petri.data.sequence_records import write_sequence_records

__all__ = [
    "INPUT_TYPES",
    "PIPELINES",
    "CSVPipeline",
    "CorruptRecordError",
    "ImageFolderPipeline",
    "ImagesToRecordsConverter",
    "NumpyBatches",
    "NumpyPipeline",
    "Pipeline",
    "PipelineBatches",
    "TFRecordImagePipeline",
    "TFRecordPipeline",
    "TFRecordSequencePipeline",
    "batch_size_of",
    "create_input_fn",
    "iterate_input",
    "load_array",
    "move_to_device",
    "numpy_input_fn",
    "read_meta_data",
    "write_records",
    "write_sequence_records",
]
