"""``validate_config``: a whole config checked before anything is built or written.

Configs are plain data; every name in one (layers, losses, metrics, optimizers, decays, models,
pipelines, hooks, environments, memories, explorations, agents) is resolved here through the
registry its own package fills, and every argument list checked against what it selects. All
problems come back as one ``ConfigError`` naming each key path, before a run folder exists.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium
import torch

from petri.configs import (
    ExperimentConfig,
    GraphConfig,
    InputDataConfig,
    LossConfig,
    MetricConfig,
    ModelConfig,
    OptimizerConfig,
    RLExperimentConfig,
    deep_merge,
    is_rl_config,
    load_config_source,
)
from petri.configs.rl import RL_MODEL_KEYS, EnvironmentConfig, RLModelConfig
from petri.data import INPUT_TYPES, PIPELINES
from petri.envs import ENVIRONMENTS
from petri.errors import ConfigError, UnknownNameError, did_you_mean
from petri.estimators import ESTIMATORS, Estimator
from petri.layers import LAYERS
from petri.losses import LOSSES, get_loss
from petri.metrics import METRICS, metric_kwargs
from petri.models import BRIDGES, MODELS, Model
from petri.optimizers import DECAYS, OPTIMIZERS, decay_kwargs, optimizer_kwargs
from petri.optimizers.schedules import SCHEDULE_KWARGS
from petri.registry import Registry
from petri.rl import RL_MODELS
from petri.rl.agent import AGENTS
from petri.rl.explorations import EXPLORATIONS, exploration_kwargs
from petri.rl.memories import MEMORIES
from petri.tracking import DEFAULT_SAVE_DIR
from petri.training import HOOKS
from petri.training.checkpoints import latest_checkpoint

__all__ = ["check_schedule", "read_config", "validate_config"]

_SCHEDULE_INPUTS = {
    "train": ("train_input_data_config",),
    "evaluate": ("eval_input_data_config",),
    "train_and_evaluate": ("train_input_data_config", "eval_input_data_config"),
    "continuous_train_and_evaluate": ("train_input_data_config", "eval_input_data_config"),
}

AnyExperimentConfig = ExperimentConfig | RLExperimentConfig


def read_config(config: Any) -> AnyExperimentConfig:
    """A supervised or RL experiment config from an object, a dict, a YAML/JSON path or a list
    of them (merged in order); RL when it has ``kind: rl`` or an ``environment_config``."""
    if isinstance(config, ExperimentConfig | RLExperimentConfig):
        return config
    sources = config if isinstance(config, list | tuple) else [config]
    merged: dict[str, Any] = {}
    for source in sources:
        merged = deep_merge(merged, load_config_source(source))
    if is_rl_config(merged):
        return RLExperimentConfig.from_dict(merged)
    return ExperimentConfig.from_dict(merged)


def validate_config(config: Any) -> AnyExperimentConfig:
    """Read ``config`` (see :func:`read_config`) and resolve every name in it.

    Raises:
        ConfigError: a key, value or name is wrong; the message lists every problem with its
            key path, the value received, what was expected and the closest valid name.
    """
    config = read_config(config)
    checks = _Checks()
    _check_run(config, checks)
    if isinstance(config, RLExperimentConfig):
        _check_rl(config, checks)
    else:
        _check_supervised(config, checks)
    checks.raise_if_any()
    return config


def check_schedule(config: AnyExperimentConfig, output_dir: Any = None) -> None:
    """Refuse a supervised config whose ``schedule`` (what ``petri run`` calls) cannot work: an
    input it reads is missing, or ``evaluate`` finds no checkpoint where it would look (a new
    run folder, or a run or ``estimator_config.output_dir`` without one). From Python, call any
    schedule the inputs allow.

    Raises:
        ConfigError: naming the key to set.
    """
    if isinstance(config, RLExperimentConfig):
        return
    if config.schedule == "evaluate":
        _check_checkpoints(config, output_dir)
    for key in _SCHEDULE_INPUTS[config.schedule]:
        if getattr(config, key) is None:
            raise ConfigError(
                f"Missing required key `{key}`: schedule {config.schedule!r} reads it. Add it, "
                f"or choose a schedule that does not ({', '.join(_SCHEDULE_INPUTS)}).",
                key,
                None,
            )


def _check_checkpoints(config: ExperimentConfig, output_dir: Any) -> None:
    """``evaluate`` restores the newest checkpoint: refuse a config that points at none."""
    if config.estimator_config.output_dir or output_dir is not None:
        folder = Path(config.estimator_config.output_dir or output_dir)
    elif config.version is not None:
        save_dir = Path(config.output_dir or DEFAULT_SAVE_DIR)
        folder = save_dir / config.name / f"version_{config.version}" / "checkpoints"
    else:
        raise ConfigError(
            "Invalid value for `schedule`: received 'evaluate'. It evaluates a trained run's "
            "checkpoint, and this config starts a new run; set `version` (or --output-dir) to "
            "the trained run, or estimator_config.output_dir to its checkpoints.",
            "schedule",
            config.schedule,
        )
    if latest_checkpoint(folder) is None:
        raise ConfigError(
            f"Invalid value for `schedule`: received 'evaluate'. There is no checkpoint in "
            f"{str(folder)!r} to evaluate; train the run first (or point `version`/--output-dir "
            "at a trained one).",
            "schedule",
            config.schedule,
        )


class _Checks:
    """Collects problems as ``(key path, value, message)``."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, Any, str]] = []

    def add(self, path: str, value: Any, message: str) -> None:
        self.problems.append((path, value, message))

    def name(self, path: str, value: Any, registry: Registry[Any]) -> Any:
        """The object ``value`` selects in ``registry`` (None when it selects nothing)."""
        if value is None:
            return None
        if isinstance(value, str) and ":" not in value and value not in registry:
            names = registry.names()
            self.add(
                path,
                value,
                f"Unknown {registry.kind} name.{did_you_mean(value, names)} "
                f"Expected one of: {', '.join(names)}.",
            )
            return None
        try:
            return registry.get(value)
        except UnknownNameError as error:
            self.add(path, value, str(error))
            return None

    def subclass(self, path: str, value: Any, found: Any, base: type) -> None:
        """A problem unless ``found`` (what ``value`` selected, None if nothing) is a class
        derived from ``base``."""
        if found is None or (inspect.isclass(found) and issubclass(found, base)):
            return
        what = found.__name__ if inspect.isclass(found) else type(found).__name__
        self.add(
            path,
            value,
            f"Expected a subclass of {base.__module__}.{base.__name__}; this selects {what}.",
        )

    def call(self, path: str, value: Any, check: Callable[[], Any]) -> None:
        """Run ``check``; a TypeError, ValueError or unknown name it raises is a problem."""
        try:
            check()
        except (TypeError, ValueError, KeyError) as error:
            message = str(error.args[0]) if isinstance(error, KeyError) and error.args else error
            self.add(path, value, str(message))

    def arguments(
        self, path: str, given: Mapping[str, Any], accepted: list[str], what: str
    ) -> None:
        for key in given:
            if key not in accepted:
                self.add(
                    f"{path}.{key}",
                    given[key],
                    f"{what} does not take `{key}`.{did_you_mean(key, accepted)} "
                    f"It takes: {', '.join(accepted) or 'no extra arguments'}.",
                )

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        lines = [
            f"Invalid value for `{path}`: received {_short(value)}. {message}"
            for path, value, message in self.problems
        ]
        path, value, _ = self.problems[0]
        if len(lines) == 1:
            raise ConfigError(lines[0], path, value)
        body = "\n".join(f"  - {line}" for line in lines)
        raise ConfigError(f"{len(lines)} problems in the config:\n{body}", path, value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --------------------------------------------------------------------------------- run
def available_devices() -> list[str]:
    """The devices ``run_config.device`` may name on this machine."""
    devices = ["auto", "cpu"]
    if torch.cuda.is_available():
        devices += ["cuda", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def _check_run(config: AnyExperimentConfig, checks: _Checks) -> None:
    """A device this machine has; no more threads than it can use."""
    run = config.run_config
    devices = available_devices()
    if run.device not in devices:
        checks.add(
            "run_config.device",
            run.device,
            f"This machine has no such device; available: {', '.join(devices)}.",
        )
    cpus = os.cpu_count() or 1
    if run.num_threads is not None and run.num_threads > 4 * cpus:
        checks.add(
            "run_config.num_threads",
            run.num_threads,
            f"This machine has {cpus} CPUs; more than 4 threads per CPU ({4 * cpus}) only "
            "slows training down (and very many cannot be started).",
        )


# --------------------------------------------------------------------------- supervised
def _check_supervised(config: ExperimentConfig, checks: _Checks) -> None:
    model = checks.name("model_config.module", config.model.module, MODELS)
    if model is not None and RL_MODELS.name_of(model) is not None:
        checks.add(
            "model_config.module",
            config.model.module,
            "This is a reinforcement-learning model; an RL experiment needs an "
            "environment_config (and `kind: rl`).",
        )
    _check_model(config.model, "model_config", checks)
    checks.subclass("model_config.module", config.model.module, model, Model)
    estimator = checks.name("estimator_config.module", config.estimator_config.module, ESTIMATORS)
    checks.subclass(
        "estimator_config.module", config.estimator_config.module, estimator, Estimator
    )
    for key in ("train_hooks_config", "eval_hooks_config"):
        for index, hook in enumerate(getattr(config, key)):
            checks.name(f"{key}[{index}].module", hook.module, HOOKS)
    for key in ("train_input_data_config", "eval_input_data_config"):
        part: InputDataConfig | None = getattr(config, key)
        if part is not None:
            checks.name(f"{key}.input_type", part.input_type, INPUT_TYPES)
            checks.name(f"{key}.pipeline_config.module", part.pipeline_config.module, PIPELINES)


def _check_model(model: ModelConfig, path: str, checks: _Checks) -> None:
    for key, graph in model.graphs():
        _check_graph(graph, f"{path}.{key}", checks)
    bridge = model.bridge_config
    if bridge is not None:
        found = checks.name(f"{path}.bridge_config.module", bridge.identifier, BRIDGES)
        if found is not None:
            accepted = list(inspect.signature(found.__init__).parameters)[1:]
            checks.arguments(f"{path}.bridge_config", bridge.kwargs, accepted, bridge.identifier)
            if set(bridge.kwargs) <= set(accepted):
                checks.call(f"{path}.bridge_config", bridge.kwargs, lambda: found(**bridge.kwargs))
    if model.loss_config is not None:
        _check_loss(model.loss_config, f"{path}.loss_config", checks)
    for index, metric in enumerate(model.eval_metrics_config):
        _check_metric(metric, f"{path}.eval_metrics_config[{index}]", checks)
    _check_optimizer(model.optimizer_config, f"{path}.optimizer_config", checks)


def _check_graph(graph: GraphConfig, path: str, checks: _Checks) -> None:
    for index, (layer, _) in enumerate(graph.definition):
        checks.name(f"{path}.definition[{index}]", layer, LAYERS)


def _check_loss(loss: LossConfig, path: str, checks: _Checks) -> None:
    if checks.name(f"{path}.name", loss.identifier, LOSSES) is not None and loss.kwargs:
        checks.call(path, loss.kwargs, lambda: get_loss(loss.identifier, **loss.kwargs))


def _check_metric(metric: MetricConfig, path: str, checks: _Checks) -> None:
    if checks.name(f"{path}.name", metric.identifier, METRICS) is not None and metric.kwargs:
        accepted = metric_kwargs(metric.identifier)
        checks.arguments(path, metric.kwargs, accepted, f"metric {metric.identifier!r}")


def _check_optimizer(optimizer: OptimizerConfig, path: str, checks: _Checks) -> None:
    found = checks.name(f"{path}.name", optimizer.identifier, OPTIMIZERS)
    decay = checks.name(f"{path}.decay_type", optimizer.decay_type, DECAYS)
    given = [key for key in SCHEDULE_KWARGS if key in optimizer.changed_fields()]
    if optimizer.decay_type is None:
        for key in given:
            checks.add(
                f"{path}.{key}",
                getattr(optimizer, key),
                "A learning-rate decay setting without a decay_type; set decay_type (e.g. "
                "exponential_decay) or remove it.",
            )
    elif decay is not None:
        accepted = decay_kwargs(optimizer.decay_type)
        for key in given:
            if key not in accepted:
                checks.add(
                    f"{path}.{key}",
                    getattr(optimizer, key),
                    f"decay_type {optimizer.decay_type!r} does not use `{key}`; it uses "
                    f"{', '.join(accepted)}.",
                )
    if found is not None and isinstance(optimizer.identifier, str):
        accepted = optimizer_kwargs(optimizer.identifier)
        checks.arguments(
            path, optimizer.optimizer_kwargs(), accepted, f"optimizer {optimizer.identifier!r}"
        )


# --------------------------------------------------------------------------------- RL
def _check_rl(config: RLExperimentConfig, checks: _Checks) -> None:
    _check_environment(config.environment_config, "environment_config", checks)
    if config.eval_environment_config is not None:
        _check_environment(config.eval_environment_config, "eval_environment_config", checks)
    agent = config.agent_config
    agent_class = checks.name("agent_config.module", agent.module, AGENTS)
    if agent_class is not None and getattr(agent_class, "on_policy", False):
        for key in ("first_update", "update_frequency", "gradient_steps"):
            if key in config.changed_fields():
                checks.add(
                    key,
                    getattr(config, key),
                    f"{agent_class.__name__} updates once per full batch memory; `{key}` "
                    "applies to the off-policy Agent. Remove it.",
                )
    if agent.memory_config is not None:
        checks.name("agent_config.memory_config.module", agent.memory_config.module, MEMORIES)
    _check_rl_model(config.model, "model_config", checks)


def _check_environment(environment: EnvironmentConfig, path: str, checks: _Checks) -> None:
    checks.name(f"{path}.module", environment.module, ENVIRONMENTS)
    ids = list(gymnasium.registry)
    if environment.env_id not in gymnasium.registry:
        checks.add(
            f"{path}.env_id",
            environment.env_id,
            f"Unknown gymnasium environment id.{did_you_mean(environment.env_id, ids)} Expected "
            "a registered id such as 'CartPole-v1' or 'Pendulum-v1' "
            "(gymnasium.pprint_registry() lists them).",
        )


def _check_rl_model(model: RLModelConfig, path: str, checks: _Checks) -> None:
    found = checks.name(f"{path}.module", model.module, RL_MODELS)
    if model.graph_config.features is not None:
        checks.add(
            f"{path}.graph_config.features",
            model.graph_config.features,
            "RL models read the environment's state, not named features; remove it.",
        )
    if found is not None:
        accepted = set(inspect.signature(found.__init__).parameters) - {"self"}
        for key in (*RL_MODEL_KEYS, "loss_config", "exploration_config"):
            if getattr(model, key) is not None and key not in accepted:
                checks.add(
                    f"{path}.{key}",
                    getattr(model, key),
                    f"{found.__name__} does not take `{key}`; remove it. It takes: "
                    f"{', '.join(sorted(accepted - {'mode', 'name'}))}.",
                )
    exploration = model.exploration_config
    if exploration is not None:
        selected = checks.name(
            f"{path}.exploration_config.module", exploration.identifier, EXPLORATIONS
        )
        if selected is not None and exploration.kwargs:
            checks.arguments(
                f"{path}.exploration_config",
                exploration.kwargs,
                exploration_kwargs(exploration.identifier),
                f"exploration {exploration.identifier!r}",
            )
    _check_model(model, path, checks)
