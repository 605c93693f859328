"""Reinforcement-learning configs: environment, memory, exploration, agent, RL model, experiment.

An RL experiment file (``kind: rl``, or any file with an ``environment_config``)::

    kind: rl
    name: dqn_cartpole
    environment_config: {env_id: CartPole-v1, seed: 0}
    agent_config: {module: Agent, memory_config: {size: 100000, batch_size: 64}}
    model_config:
      module: DDQNModel
      graph_config: {definition: [[FullyConnected, {num_units: 256, activation: relu}]]}
      exploration_config: {module: linear, initial: 1.0, final: 0.04, decay_steps: 8000}
      optimizer_config: {module: adam, learning_rate: 0.0023}
      target_update_frequency: 128
    train_steps: 50000
    first_update: 1000
    update_frequency: 256
    gradient_steps: 128
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    NonNegativeInt,
    PositiveInt,
    field_validator,
    model_validator,
)

from petri.configs._base import BaseConfig
from petri.configs._selector import check_selector
from petri.configs._values import check_folder_name
from petri.configs.model import ModelConfig, _WithKwargs
from petri.configs.run import RunConfig
from petri.registry import normalize_name

__all__ = [
    "AgentConfig",
    "EnvironmentConfig",
    "ExplorationConfig",
    "MemoryConfig",
    "RLExperimentConfig",
    "RLModelConfig",
    "is_rl_config",
]


class ExplorationConfig(_WithKwargs):
    """An exploration by name (``decay``, ``linear``, ``ornstein_uhlenbeck``, ...); other keys are
    its arguments (``exploration_rate``, ``decay_steps``, ``sigma``, ...)."""

    _family = "exploration"


class EnvironmentConfig(BaseConfig):
    """A gymnasium environment: id, seed, number of parallel copies."""

    module: Any = Field(default="GymEnvironment", validation_alias=AliasChoices("module", "name"))
    env_id: str = Field(validation_alias=AliasChoices("env_id", "id", "env"))
    """A registered gymnasium id (``CartPole-v1``)."""
    seed: int | None = None
    """Seeds the environment; None uses ``run_config.seed``."""
    num_envs: PositiveInt = 1
    """Copies stepped together (a synchronous gymnasium vector environment when more than 1);
    every step count and cadence counts the steps of all copies, and an on-policy
    ``batch_size`` must be a multiple of it (``batch_size / num_envs`` steps of each copy)."""
    render_mode: str | None = None
    video_dir: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    """Extra keyword arguments of ``gymnasium.make``."""

    @field_validator("module")
    @classmethod
    def _selector(cls, value: Any) -> Any:
        return check_selector(value, "environment", required=True)


class MemoryConfig(BaseConfig):
    """A memory: ``Memory`` (uniform replay), ``PrioritizedMemory`` or ``BatchMemory``."""

    module: Any = Field(default="Memory", validation_alias=AliasChoices("module", "name"))
    size: PositiveInt = 1000
    """Transitions a replay memory keeps."""
    batch_size: PositiveInt = 32
    """Transitions per sample (replay) or per update (BatchMemory; seed default 5000 there)."""
    save_contents: bool = True
    """Replay memories: checkpoints hold the stored transitions."""
    alpha: float | None = Field(default=None, ge=0, le=1)
    """PrioritizedMemory: prioritization exponent (default 0.6)."""
    beta: float | None = Field(default=None, ge=0, le=1)
    """PrioritizedMemory: initial importance-sampling exponent (default 0.4)."""
    beta_final: float | None = Field(default=None, ge=0, le=1)
    beta_steps: PositiveInt | None = None
    epsilon: float | None = Field(default=None, gt=0)

    @field_validator("module")
    @classmethod
    def _selector(cls, value: Any) -> Any:
        return check_selector(value, "memory")

    @model_validator(mode="after")
    def _fits(self) -> MemoryConfig:
        name = normalize_name(self.module) if isinstance(self.module, str) else ""
        if name != "batchmemory" and self.size < self.batch_size:
            raise ValueError(
                f"A replay memory needs size >= batch_size; received size={self.size}, "
                f"batch_size={self.batch_size}. Raise size or lower batch_size."
            )
        replay_only = sorted({"size", "save_contents"} & self.changed_fields())
        if name == "batchmemory" and replay_only:
            raise ValueError(
                f"{replay_only} apply to replay memories; a BatchMemory holds exactly one "
                "batch_size of on-policy steps (its partial batch is always checkpointed). Remove "
                "them."
            )
        prioritized = ("alpha", "beta", "beta_final", "beta_steps", "epsilon")
        if name != "prioritizedmemory":
            given = [key for key in prioritized if getattr(self, key) is not None]
            if given:
                raise ValueError(
                    f"{given} apply to PrioritizedMemory only; set module: PrioritizedMemory or "
                    "remove them."
                )
        return self

    def memory_kwargs(self) -> dict[str, Any]:
        """Constructor arguments of a replay memory (a ``BatchMemory`` takes ``batch_size``)."""
        if isinstance(self.module, str) and normalize_name(self.module) == "batchmemory":
            return {"batch_size": self.batch_size}
        extra = {
            key: getattr(self, key)
            for key in ("alpha", "beta", "beta_final", "beta_steps", "epsilon")
            if getattr(self, key) is not None
        }
        return {
            "size": self.size,
            "batch_size": self.batch_size,
            "save_contents": self.save_contents,
            **extra,
        }


class AgentConfig(BaseConfig):
    """Which agent trains the model (``Agent`` off-policy, ``PGAgent`` on-policy), its memory."""

    module: Any = Field(default="Agent", validation_alias=AliasChoices("module", "name"))
    memory_config: MemoryConfig | None = None
    """None: ``Memory()`` for Agent, ``BatchMemory()`` for PGAgent."""
    output_dir: str | None = Field(
        default=None, validation_alias=AliasChoices("output_dir", "model_dir")
    )
    """The model_dir; defaults to the experiment's output directory."""

    @field_validator("module")
    @classmethod
    def _selector(cls, value: Any) -> Any:
        return check_selector(value, "agent", required=True)


RL_MODEL_KEYS = (  # model arguments an RL model config may set; None: the model's default
    "discount",
    "target_update_frequency",
    "tau",
    "dueling",
    "n_steps",
    "num_epochs",
    "minibatch_size",
    "clip_range",
    "gae_lambda",
    "entropy_coefficient",
    "value_coefficient",
    "normalize_advantages",
    "value_optimizer_config",
    "value_iterations",
    "max_kl",
    "damping",
    "cg_iterations",
)


class RLModelConfig(ModelConfig):
    """An RL model (``DQNModel``, ``DDQNModel``, ``VPGModel``, ``PPOModel``, ``TRPOModel``,
    ``NAFModel``), its graph, optimizer, exploration and algorithm settings.

    Settings left at None take the model's own default; setting one the model does not take
    is an error.
    """

    module: Any = Field(
        default="DQNModel", validation_alias=AliasChoices("module", "model_type", "name")
    )
    exploration_config: ExplorationConfig | None = None
    clip_gradients: float | None = Field(default=10.0, gt=0)
    clip_embed_gradients: float | None = None
    """Not for RL models (rejected when set): their networks have no embedding tables."""
    discount: float | None = Field(default=None, ge=0, le=1)
    """The reward discount gamma (default 0.99)."""
    target_update_frequency: PositiveInt | None = None
    """Q-models: updates between target-network syncs."""
    tau: float | None = Field(default=None, gt=0, le=1)
    """Q-models: 1 copies the weights at each sync, less is a soft (Polyak) update."""
    dueling: Literal["mean", "max", "naive"] | None = None
    n_steps: PositiveInt | None = None
    """Q-models: n-step returns."""
    num_epochs: PositiveInt | None = None
    minibatch_size: PositiveInt | None = None
    clip_range: float | None = Field(default=None, gt=0)
    gae_lambda: float | None = Field(default=None, ge=0, le=1)
    entropy_coefficient: float | None = None
    value_coefficient: float | None = None
    normalize_advantages: bool | None = None
    value_optimizer_config: Any = None
    value_iterations: PositiveInt | None = None
    max_kl: float | None = Field(default=None, gt=0)
    damping: float | None = Field(default=None, ge=0)
    cg_iterations: PositiveInt | None = None

    @model_validator(mode="after")
    def _no_supervised_keys(self) -> RLModelConfig:
        given = [
            key
            for key, unset in (
                ("eval_metrics_config", []),
                ("clip_embed_gradients", None),
                ("one_hot_encode", None),
                ("n_classes", None),
                ("encoder_config", None),
                ("decoder_config", None),
                ("bridge_config", None),
            )
            if getattr(self, key) != unset
        ]
        if given:
            raise ValueError(
                f"{', '.join(given)} belong to supervised models; an RL model reports returns "
                "and losses, not class metrics. Remove them."
            )
        return self

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the model's constructor (besides mode and sizes)."""
        kwargs: dict[str, Any] = {
            "graph_fn": self.graph_config,
            "optimizer_config": self.optimizer_config,
            "summaries": self.summaries,
            "clip_gradients": self.clip_gradients,
        }
        if self.loss_config is not None:
            kwargs["loss_config"] = self.loss_config
        if self.exploration_config is not None:
            kwargs["exploration_config"] = self.exploration_config
        for key in RL_MODEL_KEYS:
            if getattr(self, key) is not None:
                kwargs[key] = getattr(self, key)
        kwargs.update(self.params)
        return kwargs


class RLExperimentConfig(BaseConfig):
    """One RL experiment: environment, agent (with memory), model, and how long to train.

    ``schedule``: ``train`` (train only), ``evaluate`` (greedy evaluation of the checkpoint),
    ``train_and_evaluate`` (train, then evaluate ``eval_episodes`` episodes). With
    ``eval_every_n_steps`` training also evaluates periodically, and with ``target_return`` it
    stops once an evaluation reaches that mean return.
    """

    kind: Literal["rl"] = "rl"
    name: str = "rl_experiment"
    output_dir: str | None = Field(
        default=None, validation_alias=AliasChoices("output_dir", "save_dir")
    )
    """Where the run's files go; None means ``./petri_logs/<name>``."""
    version: int | None = Field(default=None, ge=0)
    run_config: RunConfig = Field(default_factory=RunConfig)
    environment_config: EnvironmentConfig
    eval_environment_config: EnvironmentConfig | None = None
    """None: the training environment's id, seeded differently, in one copy (``num_envs: 1``)."""
    agent_config: AgentConfig = Field(default_factory=AgentConfig)
    model_config_: RLModelConfig = Field(
        default_factory=RLModelConfig, alias="model_config", validation_alias="model_config"
    )
    train_steps: PositiveInt | None = 10000
    """Environment steps to train (all sub-environments counted; training ends at the first
    multiple of ``num_envs`` at or past it)."""
    train_episodes: PositiveInt | None = None
    """Episodes to train; training ends at whichever of steps/episodes comes first."""
    first_update: NonNegativeInt = 5000
    update_frequency: PositiveInt = 15
    gradient_steps: PositiveInt = 1
    eval_episodes: PositiveInt = 20
    eval_every_n_steps: PositiveInt | None = None
    target_return: float | None = None
    schedule: Literal["train", "evaluate", "train_and_evaluate"] = "train_and_evaluate"

    @field_validator("name")
    @classmethod
    def _folder(cls, value: str) -> str:
        return check_folder_name(value, "The experiment's name")

    @property
    def model(self) -> RLModelConfig:
        """The model config (``model_config`` in files)."""
        return self.model_config_

    @model_validator(mode="after")
    def _target_needs_evaluations(self) -> RLExperimentConfig:
        if self.target_return is not None and self.eval_every_n_steps is None:
            raise ValueError(
                "target_return stops training when a periodic evaluation reaches it; set "
                "eval_every_n_steps too, or remove target_return."
            )
        return self

    @field_validator("run_config")
    @classmethod
    def _agent_takes_the_run_config(cls, value: RunConfig) -> RunConfig:
        problem = value.unsupported_by_agents()
        if problem:
            raise ValueError(problem)
        return value

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="python", by_alias=True)


def is_rl_config(values: Mapping[str, Any]) -> bool:
    """Whether a raw config mapping describes an RL experiment (``kind: rl`` or an
    ``environment_config``) — what ``petri run`` dispatches on."""
    return values.get("kind") == "rl" or "environment_config" in values
