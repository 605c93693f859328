"""Experiments: schedules of training and evaluation, and the one builder that makes them from a
config (``create_experiment``, supervised and RL)."""

from __future__ import annotations

from petri.estimators.estimator import Estimator
from petri.experiments._validate import check_schedule, read_config, validate_config
from petri.experiments.builder import (
    create_experiment,
    create_rl_experiment,
    default_output_dir,
    export_run,
    predict_run,
    write_config,
)
from petri.experiments.experiment import Experiment
from petri.experiments.rl_experiment import RLExperiment

__all__ = [
    "Estimator",
    "Experiment",
    "RLExperiment",
    "check_schedule",
    "create_experiment",
    "create_rl_experiment",
    "default_output_dir",
    "export_run",
    "predict_run",
    "read_config",
    "validate_config",
    "write_config",
]
