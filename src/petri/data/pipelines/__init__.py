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

__all__ = [
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
    "TFRecordSource",
]
