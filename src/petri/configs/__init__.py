"""Validated configs for every part of an experiment, readable from dicts, YAML and JSON."""

from __future__ import annotations

from typing import Any

from petri.configs._base import BaseConfig, as_config, deep_merge, load_config_source
from petri.configs._overrides import apply_overrides
from petri.configs._paths import parse_path, set_path
from petri.configs.experiment import (
    EstimatorConfig,
    ExperimentConfig,
    ExportStrategyConfig,
    HookConfig,
)
from petri.configs.input_data import InputDataConfig, PipelineConfig
from petri.configs.model import (
    BridgeConfig,
    GraphConfig,
    LossConfig,
    MetricConfig,
    ModelConfig,
    OptimizerConfig,
)
from petri.configs.rl import (
    AgentConfig,
    EnvironmentConfig,
    ExplorationConfig,
    MemoryConfig,
    RLExperimentConfig,
    RLModelConfig,
    is_rl_config,
)
from petri.configs.run import CompileConfig, DistributedConfig, RunConfig

__all__ = [
    "AgentConfig",
    "BaseConfig",
    "BridgeConfig",
    "CompileConfig",
    "DistributedConfig",
    "EnvironmentConfig",
    "EstimatorConfig",
    "ExperimentConfig",
    "ExplorationConfig",
    "ExportStrategyConfig",
    "GraphConfig",
    "HookConfig",
    "InputDataConfig",
    "LossConfig",
    "MemoryConfig",
    "MetricConfig",
    "ModelConfig",
    "OptimizerConfig",
    "PipelineConfig",
    "RLExperimentConfig",
    "RLModelConfig",
    "RunConfig",
    "apply_overrides",
    "as_config",
    "deep_merge",
    "is_rl_config",
    "json_schema",
    "load_config_source",
    "parse_path",
    "set_path",
]


def json_schema() -> dict[str, Any]:
    """JSON schema of ``ExperimentConfig`` (for editors and config UIs)."""
    return ExperimentConfig.model_json_schema(by_alias=True)
