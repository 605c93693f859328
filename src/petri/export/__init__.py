"""Exporting trained models for serving (the seed's ``export_savedmodel``).

``Estimator.export_savedmodel(export_dir_base, serving_input_receiver_fn)`` writes a
timestamped folder with a ``torch.export`` program; ``load_exported(folder)`` serves it.
"""

from __future__ import annotations

from petri.export._loaded import ExportedModel, load_exported
from petri.export._receiver import ServingInputReceiver, build_raw_serving_input_receiver_fn
from petri.export._savedmodel import DEFAULT_SERVING_SIGNATURE_DEF_KEY, export_savedmodel
from petri.export._strategy import ExportStrategy, as_export_strategies, make_export_strategy

__all__ = [
    "as_export_strategies",
    "DEFAULT_SERVING_SIGNATURE_DEF_KEY",
    "ExportStrategy",
    "ExportedModel",
    "ServingInputReceiver",
    "build_raw_serving_input_receiver_fn",
    "export_savedmodel",
    "load_exported",
    "make_export_strategy",
]
