"""Models: a graph plus its loss, metrics and optimizer, returning an ``EstimatorSpec``."""

from __future__ import annotations

from petri.models._base import Model
from petri.models.bridges import BRIDGES
from petri.models.classifier import Classifier
from petri.models.generator import Generator
from petri.models.regressor import Regressor
from petri.registry import Registry
from petri.rl import DDQNModel, DQNModel, NAFModel, PPOModel, TRPOModel, VPGModel

__all__ = [
    "BRIDGES",
    "MODELS",
    "Classifier",
    "DDQNModel",
    "DQNModel",
    "Generator",
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
        "Generator": Generator,
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
