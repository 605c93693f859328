"""Experiments: schedules of training and evaluation, built from objects or from a config."""

from __future__ import annotations

from petri.estimators.estimator import Estimator
from petri.experiments.experiment import Experiment
from petri.experiments.factory import create_experiment, default_output_dir, export_run

__all__ = ["Estimator", "Experiment", "create_experiment", "default_output_dir", "export_run"]
