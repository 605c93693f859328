"""``ExperimentConfig``: everything one experiment needs, with the seed library's keys."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    NonNegativeFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from petri.configs._base import BaseConfig
from petri.configs._selector import check_selector
from petri.configs._values import check_folder_name
from petri.configs.input_data import InputDataConfig
from petri.configs.model import ModelConfig
from petri.configs.run import RunConfig

__all__ = [
    "EstimatorConfig",
    "ExperimentConfig",
    "ExportStrategyConfig",
    "HookConfig",
    "SCHEDULES",
]

SCHEDULES = ("train", "evaluate", "train_and_evaluate", "continuous_train_and_evaluate")


class EstimatorConfig(BaseConfig):
    """Which estimator trains the model and where it keeps checkpoints."""

    module: Any = Field(default="Estimator", validation_alias=AliasChoices("module", "name"))
    output_dir: str | None = Field(
        default=None, validation_alias=AliasChoices("output_dir", "model_dir")
    )
    """The model_dir; defaults to the experiment's output directory."""
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("module")
    @classmethod
    def _selector(cls, value: Any) -> Any:
        return check_selector(value, "estimator", required=True)


class HookConfig(BaseConfig):
    """A training or evaluation hook by name; ``params`` are its constructor arguments."""

    module: Any = Field(
        default=None, validation_alias=AliasChoices("module", "name"), validate_default=True
    )
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("module")
    @classmethod
    def _selector(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("A hook needs `module` (or `name`).")
        return check_selector(value, "hook")


class ExportStrategyConfig(BaseConfig):
    """Export after each evaluation (``petri.export.ExportStrategy``); clients of the export
    send the features as the evaluation input gives them."""

    name: str = "default"
    """The folder below ``<run>/exports/``."""
    exports_to_keep: PositiveInt | None = 5
    """How many newest exports to keep (None: all)."""
    as_text: bool = False
    """Also write the program as text (``saved_model.txt``)."""
    assets_extra: dict[str, str] = Field(default_factory=dict)
    """Destination inside ``assets.extra/`` -> source file."""

    @field_validator("name")
    @classmethod
    def _folder(cls, value: str) -> str:
        return check_folder_name(value, "An export strategy's name")


class ExperimentConfig(BaseConfig):
    """One experiment: data, model, estimator, and the train/evaluate schedule.

    Training runs ``train_steps_per_iteration`` steps at a time until ``train_steps``; after an
    iteration it evaluates on ``eval_steps`` batches (None: the whole eval input) whenever
    ``eval_every_n_steps`` steps have passed since the last evaluation, and always at the end.
    """

    name: str = "experiment"
    output_dir: str | None = Field(
        default=None, validation_alias=AliasChoices("output_dir", "save_dir")
    )
    """The save directory of run logs: the run goes to ``<output_dir>/<name>/version_<n>/``
    (``./petri_logs`` when None)."""
    version: int | None = Field(default=None, ge=0)
    """Resume this version of the run instead of allocating a new one."""
    run_config: RunConfig = Field(default_factory=RunConfig)
    train_input_data_config: InputDataConfig | None = None
    eval_input_data_config: InputDataConfig | None = None
    estimator_config: EstimatorConfig = Field(default_factory=EstimatorConfig)
    model_config_: ModelConfig = Field(
        default_factory=ModelConfig, alias="model_config", validation_alias="model_config"
    )
    train_hooks_config: list[HookConfig] = Field(default_factory=list)
    eval_hooks_config: list[HookConfig] = Field(default_factory=list)
    eval_every_n_steps: PositiveInt = 1000
    train_steps: PositiveInt = 10000
    eval_steps: PositiveInt | None = 10
    eval_delay_secs: NonNegativeFloat = 0
    continuous_eval_throttle_secs: NonNegativeFloat = 60
    delay_workers_by_global_step: bool = False
    """Only false: seed configs may carry it; true is rejected (one process, no workers)."""
    export_strategies: list[ExportStrategyConfig] | None = None
    train_steps_per_iteration: PositiveInt | None = None
    """Steps per training call of ``continuous_train_and_evaluate``; None: ``eval_every_n_steps``
    (so evaluations come every ``eval_every_n_steps``, as ``Experiment`` does in Python)."""
    schedule: Literal[
        "train", "evaluate", "train_and_evaluate", "continuous_train_and_evaluate"
    ] = "continuous_train_and_evaluate"
    """Which Experiment method ``petri run`` calls."""

    @field_validator("name")
    @classmethod
    def _folder(cls, value: str) -> str:
        return check_folder_name(value, "The experiment's name")

    @field_validator("export_strategies", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @field_validator("delay_workers_by_global_step")
    @classmethod
    def _one_process(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "delay_workers_by_global_step staggers TensorFlow's distributed workers; Petri "
                "trains in one process, so there is nothing to delay. Remove it (or set false)."
            )
        return value

    @model_validator(mode="after")
    def _evaluations_end(self) -> ExperimentConfig:
        evaluation = self.eval_input_data_config
        if (
            evaluation is not None
            and evaluation.pipeline_config.num_epochs is None
            and self.eval_steps is None
        ):
            raise ValueError(
                "eval_input_data_config.pipeline_config.num_epochs is null (repeat forever) and "
                "eval_steps is null (until the input ends): an evaluation would never end. Set "
                "num_epochs (1 evaluates the whole input once) or eval_steps."
            )
        return self

    @model_validator(mode="after")
    def _params_need_a_model_fn(self) -> ExperimentConfig:
        if self.estimator_config.params:
            raise ValueError(
                "estimator_config.params are passed to a model_fn, but a config builds its model "
                "from model_config; put model settings in model_config.params instead."
            )
        return self

    @property
    def model(self) -> ModelConfig:
        """The model config (``model_config`` in files; pydantic reserves that attribute)."""
        return self.model_config_

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="python", by_alias=True)
