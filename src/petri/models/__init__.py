"""Models: a graph plus its loss, metrics and optimizer, returning an ``EstimatorSpec``."""

from __future__ import annotations

from petri.models._base import Model
from petri.models.classifier import Classifier
from petri.models.regressor import Regressor
from petri.registry import Registry
from petri.rl import DDQNModel, DQNModel, NAFModel, PPOModel, TRPOModel, VPGModel

__all__ = [
    "MODELS",
    "Classifier",
    "DDQNModel",
    "DQNModel",
    "Model",
    "NAFModel",
    "PPOModel",
    "Regressor",
    "TRPOModel",
    "VPGModel",
]

MODELS: Registry = Registry(
    "model",
    {
        "Model": Model,
        "Classifier": Classifier,
        "Regressor": Regressor,
        "DQNModel": DQNModel,
        "DDQNModel": DDQNModel,
        "VPGModel": VPGModel,
        "PPOModel": PPOModel,
        "TRPOModel": TRPOModel,
        "NAFModel": NAFModel,
    },
    home="petri.models.MODELS",
)
"""Models selectable by ``model_config.module`` / ``model_type``."""
