"""``create_rl_experiment``: an ``RLExperimentConfig`` turned into a ready ``RLExperiment``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from petri.configs.rl import RLExperimentConfig
from petri.errors import ConfigError

__all__ = ["RLExperiment", "create_rl_experiment"]


class RLExperiment:
    """An agent, its training and evaluation environments, and the schedule from its config.

    Args:
        agent: an ``Agent`` or ``PGAgent``.
        env: the training environment.
        eval_env: the evaluation environment (greedy episodes).
        config: the ``RLExperimentConfig`` the experiment was built from.
        output_dir: the run's directory.
        run: the run log (a ``petri.tracking.Experiment``) the agent logs to; each schedule
            marks it ``finished`` when it returns and ``crashed`` when it raises.
    """

    def __init__(
        self,
        agent: Any,
        env: Any,
        eval_env: Any,
        config: RLExperimentConfig,
        output_dir: Path,
        run: Any = None,
    ) -> None:
        self.agent, self.env, self.eval_env = agent, env, eval_env
        self.config, self.output_dir, self.run = config, output_dir, run
        self.evaluation_hook: Any = None

    @property
    def estimator(self) -> Any:
        """The agent (the name ``petri run`` reports for supervised experiments)."""
        return self.agent

    def train(self) -> dict[str, Any]:
        """Train until ``train_steps`` (absolute) or ``train_episodes`` more episodes."""
        return self._recorded(self._train)

    def evaluate(self) -> dict[str, Any]:
        """Greedy evaluation over ``eval_episodes`` episodes."""
        return self._recorded(self._evaluate)

    def train_and_evaluate(self) -> dict[str, Any]:
        """Train, then evaluate."""
        return self._recorded(lambda: (self._train(), self._evaluate())[1])

    def run_schedule(self) -> dict[str, Any]:
        """Run the config's ``schedule`` (``train``, ``evaluate`` or ``train_and_evaluate``)."""
        return getattr(self, self.config.schedule)()

    def close(self) -> None:
        """Close the environments and the run log."""
        self.env.close()
        self.eval_env.close()
        if self.run is not None:
            self.run.close()

    # ----------------------------------------------------------------- helpers
    def _recorded(self, action: Any) -> dict[str, Any]:
        try:
            result = action()
        except BaseException as error:
            if self.run is not None:
                self.run.close("crashed", error=f"{type(error).__name__}: {error}")
            raise
        if self.run is not None:
            self.run.close()
        return result

    def _train(self) -> dict[str, Any]:
        from petri.estimators import EvaluateAgentHook

        config = self.config
        hooks = []
        if config.eval_every_n_steps:
            self.evaluation_hook = EvaluateAgentHook(
                self.agent,
                self.eval_env,
                every_n_steps=config.eval_every_n_steps,
                episodes=config.eval_episodes,
                target_return=config.target_return,
            )
            hooks.append(self.evaluation_hook)
        self.agent.train(
            self.env,
            max_steps=config.train_steps,
            episodes=config.train_episodes,
            first_update=config.first_update,
            update_frequency=config.update_frequency,
            gradient_steps=config.gradient_steps,
            hooks=hooks,
        )
        return {"global_step": self.agent.global_step, "episodes": self.agent.episodes}

    def _evaluate(self) -> dict[str, Any]:
        return self.agent.evaluate(self.eval_env, self.config.eval_episodes)


def create_rl_experiment(
    config: Any,
    output_dir: str | os.PathLike[str] | None = None,
    run: Any = None,
) -> RLExperiment:
    """Build environments, memory, model, agent and the run log from ``config``.

    The run is ``<config.output_dir or ./petri_logs>/<name>/version_<n>/`` (as for supervised
    experiments: ``version`` None takes the next free one, an existing one resumes), holding
    ``config.yaml``, the run log's files (``metrics.csv``, TensorBoard events, tags from the
    flattened config) and ``checkpoints/`` (the agent's model_dir unless
    ``agent_config.output_dir`` is set).

    Args:
        config: an ``RLExperimentConfig``, its dict, a YAML/JSON path, or a list merged in order.
        output_dir: use exactly this folder for the run instead of a new version folder.
        run: an open run log (``petri.tracking.Experiment``) to use instead (then
            ``output_dir`` is ignored), or any object with ``log(metrics, global_step)``.

    Everything is checked before any environment step: unknown names, a memory smaller than a
    batch, a discrete-action model on a continuous environment (and the reverse), an
    on-policy model with an off-policy agent.

    Raises:
        ConfigError: the config is invalid or does not fit the environment.
    """
    from petri.estimators import ESTIMATORS, Agent
    from petri.models import MODELS
    from petri.models.rl import RLModel

    config = RLExperimentConfig.read_configs(config)
    seed = config.run_config.seed
    env = config.environment_config.create(seed=seed)
    base_seed = (
        config.environment_config.seed if config.environment_config.seed is not None else seed
    )
    eval_config = config.eval_environment_config or config.environment_config.model_copy(
        update={
            "seed": None if base_seed is None else base_seed + 10_000,
            "num_envs": 1,
            "video_dir": None,
        }
    )
    eval_env = eval_config.create(seed=None)
    model_config = config.model
    model_class = MODELS.get(model_config.module)
    if not (isinstance(model_class, type) and issubclass(model_class, RLModel)):
        raise ConfigError(
            f"model_config.module={model_config.module!r} is not an RL model; expected one of "
            f"DQNModel, DDQNModel, VPGModel, PPOModel, TRPOModel, NAFModel.",
            "model_config.module",
            model_config.module,
        )
    _check_action_space(model_class, env, model_config)
    agent_class = ESTIMATORS.get(config.agent_config.module)
    if not (isinstance(agent_class, type) and issubclass(agent_class, Agent)):
        raise ConfigError(
            f"agent_config.module={config.agent_config.module!r} is not an agent; expected "
            "Agent or PGAgent.",
            "agent_config.module",
            config.agent_config.module,
        )
    model_on_policy = getattr(model_class, "on_policy", False)
    if model_on_policy != agent_class.on_policy:
        wanted = "PGAgent" if model_on_policy else "Agent"
        raise ConfigError(
            f"{model_class.__name__} is {'on' if model_on_policy else 'off'}-policy; set "
            f"agent_config.module: {wanted}.",
            "agent_config.module",
            config.agent_config.module,
        )
    try:
        model = model_class.from_config(
            model_config,
            num_states=tuple(env.state_shape),
            num_actions=env.num_actions,
            **_environment_kwargs(model_class, env, model_config),
        )
    except (TypeError, ValueError) as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(
            f"model_config could not be built: {error}", "model_config", model_config.module
        ) from error
    memory_config = config.agent_config.memory_config
    memory = memory_config.create() if memory_config is not None else None
    if run is None:
        run = _open_run(config, output_dir)  # only now: a bad config leaves no folder behind
    directory = Path(getattr(run, "log_dir", None) or output_dir or _default_output_dir(config))
    model_dir = config.agent_config.output_dir or str(directory / "checkpoints")
    try:
        agent = agent_class(
            model_fn=model,
            memory=memory,
            model_dir=model_dir,
            config=config.run_config,
            run_log=run,
        )
    except TypeError as error:
        if hasattr(run, "close"):
            run.close("crashed", error=f"{type(error).__name__}: {error}")
        raise ConfigError(str(error), "agent_config", config.agent_config.module) from None
    _write_config(directory, config)
    if hasattr(run, "tag"):
        run.tag({"kind": "rl", **_plain(config.to_dict())})
    return RLExperiment(agent, env, eval_env, config, directory, run)


def _default_output_dir(config: RLExperimentConfig) -> Path:
    from petri.tracking import DEFAULT_SAVE_DIR

    save_dir = Path(config.output_dir) if config.output_dir else Path(DEFAULT_SAVE_DIR)
    return save_dir / config.name


def _open_run(config: RLExperimentConfig, output_dir: str | os.PathLike[str] | None) -> Any:
    from petri.tracking import DEFAULT_SAVE_DIR
    from petri.tracking import Experiment as RunLog

    try:
        if output_dir is not None:
            return RunLog(name=config.name, log_dir=output_dir, autosave=True)
        return RunLog(
            save_dir=config.output_dir or DEFAULT_SAVE_DIR,
            name=config.name,
            version=config.version,
            autosave=True,
        )
    except ValueError as error:
        raise ConfigError(str(error), "name", config.name) from None


def _check_action_space(model_class: type, env: Any, model_config: Any) -> None:
    discrete = getattr(model_class, "discrete_actions", None)
    if discrete is True and env.is_continuous:
        raise ConfigError(
            f"model_config.module={model_config.module!r} needs a discrete action space, but "
            f"environment_config.env_id={env.env_id!r} has continuous actions "
            f"{env.action_space}. Use NAFModel, or PPOModel/VPGModel/TRPOModel.",
            "model_config.module",
            model_config.module,
        )
    if discrete is False and not env.is_continuous:
        raise ConfigError(
            f"model_config.module={model_config.module!r} needs a continuous action space, but "
            f"environment_config.env_id={env.env_id!r} has discrete actions {env.action_space}. "
            "Use DQNModel or DDQNModel.",
            "model_config.module",
            model_config.module,
        )


def _environment_kwargs(model_class: type, env: Any, model_config: Any) -> dict[str, Any]:
    """Settings a model takes from the environment when the config leaves them unset."""
    import inspect

    accepted = inspect.signature(model_class.__init__).parameters
    kwargs: dict[str, Any] = {}
    if "is_continuous" in accepted and "is_continuous" not in model_config.params:
        kwargs["is_continuous"] = env.is_continuous
    wants_bounds = "action_bounds" in accepted and "action_bounds" not in model_config.params
    if wants_bounds and env.is_continuous:
        kwargs["action_bounds"] = (env.action_low.tolist(), env.action_high.tolist())
    return kwargs


def _write_config(directory: Path, config: RLExperimentConfig) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(_plain(config.to_dict()), sort_keys=False)
    handle, temporary = tempfile.mkstemp(prefix=".config.", suffix=".yaml", dir=directory)
    with os.fdopen(handle, "w") as file:
        file.write(text)
    os.replace(temporary, directory / "config.yaml")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)
