"""Record pipelines selectable by ``pipeline_config.module``; each one is an input function."""

from __future__ import annotations

from petri.data.pipelines._base import Pipeline
from petri.data.pipelines._iterator import PipelineBatches
from petri.data.pipelines._sources import IndexSource, LineSource, RecordSource, TFRecordSource
from petri.data.pipelines._stream import RecordStream
from petri.data.pipelines.csv_pipeline import CSVPipeline
from petri.data.pipelines.image_folder import ImageFolderPipeline
from petri.data.pipelines.numpy_pipeline import NumpyPipeline
from petri.data.pipelines.tfrecord import TFRecordPipeline
from petri.data.pipelines.tfrecord_image import TFRecordImagePipeline
from petri.data.pipelines.tfrecord_sequence import TFRecordSequencePipeline
from petri.registry import Registry

__all__ = [
    "PIPELINES",
    "CSVPipeline",
    "ImageFolderPipeline",
    "IndexSource",
    "LineSource",
    "NumpyPipeline",
    "Pipeline",
    "PipelineBatches",
    "RecordSource",
    "RecordStream",
    "TFRecordImagePipeline",
    "TFRecordPipeline",
    "TFRecordSequencePipeline",
    "TFRecordSource",
]

PIPELINES: Registry = Registry(
    "pipeline",
    {
        "TFRecordImagePipeline": TFRecordImagePipeline,
        "TFRecordPipeline": TFRecordPipeline,
        "TFRecordSequencePipeline": TFRecordSequencePipeline,
        "NumpyPipeline": NumpyPipeline,
        "CSVPipeline": CSVPipeline,
        "ImageFolderPipeline": ImageFolderPipeline,
    },
    home="petri.data.PIPELINES",
)
"""Pipelines selectable by ``pipeline_config.module``."""
