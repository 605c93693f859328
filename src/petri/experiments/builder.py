"""The one builder: a config turned into objects and a run.

``create_experiment`` validates the whole config first (no run folder for a bad one), seeds the
RNGs and sets torch's threads once, before any input or model exists, builds inputs, model and
estimator (or environments, memory, model and agent for an RL config), then opens the run:
``<save_dir>/<name>/version_<n>/`` with ``config.yaml`` (arrays given inline are written beside
it as ``.npy`` files, so the file rebuilds the run) and the run log tagged with the flattened
config (the keys left at their defaults marked so, see ``_tags.config_tags``).
"""

from __future__ import annotations

import inspect
import os
import random
from pathlib import Path
from typing import Any

import numpy as np

from petri import distributed
from petri.configs import ExperimentConfig, HookConfig, RLExperimentConfig
from petri.data import create_input_fn, iterate_input
from petri.datasets import load_split
from petri.envs import ENVIRONMENTS
from petri.errors import ConfigError, PetriError
from petri.estimators import ESTIMATORS
from petri.experiments._config_file import CONFIG_FILE, check_unchanged, write_config
from petri.experiments._dry_run import dry_run_model
from petri.experiments._prediction import predictions
from petri.experiments._tags import config_tags
from petri.experiments._validate import AnyExperimentConfig, validate_config
from petri.experiments.experiment import Experiment
from petri.experiments.rl_experiment import RLExperiment
from petri.export import as_export_strategies, build_raw_serving_input_receiver_fn
from petri.models import MODELS
from petri.modes import ModeKeys
from petri.rl import RL_MODELS, action_space_problem, rollout_problem
from petri.rl.agent import AGENTS
from petri.rl.memories import MEMORIES
from petri.runtime import seed_everything, use_threads
from petri.tracking import DEFAULT_SAVE_DIR
from petri.tracking import Experiment as RunLog
from petri.training import HOOKS

__all__ = [
    "create_experiment",
    "create_rl_experiment",
    "default_output_dir",
    "export_run",
    "predict_run",
    "write_config",
]


def default_output_dir(config: AnyExperimentConfig) -> Path:
    """The save_dir runs of ``config`` go under: ``output_dir`` (alias ``save_dir``) if set,
    else ``./petri_logs``; each run is ``<save_dir>/<name>/version_<n>/``."""
    return Path(config.output_dir) if config.output_dir else Path(DEFAULT_SAVE_DIR)


def create_experiment(
    config: Any,
    output_dir: str | os.PathLike[str] | None = None,
    run: RunLog | None = None,
    allow_config_change: bool = False,
) -> Experiment | RLExperiment:
    """Build data, model, estimator, hooks and the run log from ``config``.

    The run is ``<output_dir or ./petri_logs>/<name>/version_<n>/`` (config keys ``name``,
    ``output_dir``/``save_dir``, ``version``: None takes the next free version, an existing one
    resumes). It holds ``config.yaml``, the run log's files and ``checkpoints/`` (the
    Estimator's model_dir, unless ``estimator_config.output_dir`` is set), and is tagged with
    the flattened config (``model_config/optimizer_config/learning_rate``, ...). A config with
    ``kind: rl`` or an ``environment_config`` builds an :class:`RLExperiment` instead (see
    :func:`create_rl_experiment`).

    Args:
        config: an ExperimentConfig or RLExperimentConfig, a dict, or a YAML/JSON path (or a
            list of them, merged in order).
        output_dir: use exactly this folder for the run instead of a new version folder.
        run: an open run log to use instead (then ``output_dir`` is ignored).
        allow_config_change: resume a run whose config.yaml differs from ``config`` (by
            default that is refused, with the diff: a resumed run keeps the config it began
            with, except ``version``, ``output_dir`` and ``schedule``).

    Raises:
        ConfigError: the config is invalid, names something that cannot be built, or differs
            from the config of the run it would resume; nothing is written then.
    """
    config = validate_config(config)
    if isinstance(config, RLExperimentConfig):
        if distributed.launched():
            raise ConfigError(
                "RL experiments train in one process; run them without torchrun or --nproc.",
                "kind",
                "rl",
            )
        if run is None and not allow_config_change:
            check_unchanged(config, output_dir, default_output_dir(config))
        return _create_rl(config, output_dir, run)
    _start_process(config)
    if run is None and not allow_config_change:  # rank 0 reads the run folder for every rank
        distributed.main_decides(
            lambda: check_unchanged(config, output_dir, default_output_dir(config))
        )
    train_input_fn, eval_input_fn, model = _inputs_and_model(config)
    train_hooks = _hooks(config.train_hooks_config, "train_hooks_config")
    eval_hooks = _hooks(config.eval_hooks_config, "eval_hooks_config")
    export_strategies = _export_strategies(config)
    if distributed.is_active():  # one run log, written by rank 0; the others train beside it
        run, directory = _open_shared_run(config, output_dir, run)
    elif run is None:
        run = _open_run(config, output_dir)  # only now: a bad config leaves no folder behind
    if run:
        directory = Path(run.log_dir)
    try:
        estimator = _estimator(config, model, directory)
        if run:
            write_config(directory, config)
    except BaseException as error:
        if run:
            run.close("crashed", error=f"{type(error).__name__}: {error}")
        raise
    if run:
        tags, defaults = config_tags(config)
        run.tag(tags, defaults=defaults)
    return Experiment(
        estimator=estimator,
        train_input_fn=train_input_fn,
        eval_input_fn=eval_input_fn,
        train_steps=config.train_steps,
        eval_steps=config.eval_steps,
        train_hooks=train_hooks,
        eval_hooks=eval_hooks,
        eval_delay_secs=config.eval_delay_secs,
        continuous_eval_throttle_secs=config.continuous_eval_throttle_secs,
        eval_every_n_steps=config.eval_every_n_steps,
        train_steps_per_iteration=config.train_steps_per_iteration,
        export_strategies=export_strategies,
        delay_workers_by_global_step=config.delay_workers_by_global_step,
        output_dir=directory,
        run=run,
    )


def create_rl_experiment(
    config: Any,
    output_dir: str | os.PathLike[str] | None = None,
    run: Any = None,
) -> RLExperiment:
    """Build environments, memory, model, agent and the run log from an RL config.

    As :func:`create_experiment`: ``config.yaml``, the run log's files (``metrics.csv``,
    TensorBoard events, tags from the flattened config) and ``checkpoints/`` (the agent's
    model_dir unless ``agent_config.output_dir`` is set). Everything is checked before any
    environment step: unknown names, a memory smaller than a batch, a discrete-action model on
    a continuous environment (and the reverse), an on-policy model with an off-policy agent.

    Args:
        config: an ``RLExperimentConfig``, its dict, a YAML/JSON path, or a list merged in order.
        output_dir: use exactly this folder for the run instead of a new version folder.
        run: an open run log (``petri.tracking.Experiment``) to use instead, or any object with
            ``log(metrics, global_step)``.

    Raises:
        ConfigError: the config is invalid or does not fit the environment.
    """
    config = validate_config(config)
    if not isinstance(config, RLExperimentConfig):
        raise ConfigError(
            "create_rl_experiment needs an RL config (`kind: rl` or an environment_config); "
            "use create_experiment for supervised ones.",
            "kind",
            None,
        )
    return _create_rl(config, output_dir, run)


def export_run(
    run_dir: str | os.PathLike[str],
    checkpoint_path: str | None = None,
    export_dir_base: str | os.PathLike[str] | None = None,
    as_text: bool = False,
) -> str:
    """Export the model of the run in ``run_dir`` (rebuilt from its ``config.yaml``) into a new
    timestamped folder below ``export_dir_base`` (default ``<run_dir>/exports/cli``); clients
    send features as the run's evaluation (else training) input gives them.

    Raises:
        FileNotFoundError: ``run_dir`` has no ``config.yaml``.
        ValueError: the config cannot rebuild the inputs (a run written before inline arrays
            were kept), or there is no checkpoint. An RL run exports its greedy policy
            (``Agent.export_savedmodel``).
    """
    directory = Path(run_dir)
    config = _run_config(directory, "export from Python with Estimator.export_savedmodel")
    if isinstance(config, RLExperimentConfig):
        return _export_policy(config, directory, checkpoint_path, export_dir_base, as_text)
    estimator, input_fn = _rebuilt(config, directory)
    features = next(iterate_input(input_fn, repeat_single=False))[0]
    return estimator.export_savedmodel(
        export_dir_base or directory / "exports" / "cli",
        build_raw_serving_input_receiver_fn(features),
        as_text=as_text,
        checkpoint_path=checkpoint_path,
    )


def predict_run(
    run_dir: str | os.PathLike[str],
    features: Any = None,
    mode: str = ModeKeys.PREDICT,
    count: int | None = None,
    seed: int | None = None,
    checkpoint_path: str | None = None,
    batch_size: int = 256,
) -> dict[str, np.ndarray]:
    """Predictions of the model of the run in ``run_dir`` (rebuilt from its ``config.yaml``,
    weights of ``checkpoint_path`` or the newest checkpoint): name -> array, one row per
    example of ``features`` (an array or a dict of arrays, as the run's input gives them).

    ``mode``: ``infer``, or for a generator ``encode`` (features to codes) and ``generate``
    (``features`` are codes; or, with ``count`` and no features, draws from the prior).

    Raises:
        FileNotFoundError: ``run_dir`` has no ``config.yaml``.
        ValueError: no checkpoint; a mode the model lacks; both or neither of ``features``
            and ``count``; features (codes for ``generate``) the model cannot take, named with
            their shape and the run's; an RL run (its policy serves through ``petri export``).
    """
    directory = Path(run_dir)
    config = _run_config(directory, "predict from Python with Estimator.predict")
    if isinstance(config, RLExperimentConfig):
        raise ValueError(
            f"{str(directory)!r} is an RL run; its greedy actions come from Agent.predict or "
            "an export (petri export, then petri serve)."
        )
    if (features is None) == (count is None):
        raise ValueError("Give either input features or a count of samples to generate.")
    estimator, input_fn = _rebuilt(config, directory)
    if count is not None:
        if mode != ModeKeys.GENERATE:
            raise ValueError(f"A count of samples needs mode 'generate', not {mode!r}.")
        samples = estimator.generate(count, seed, input_fn, checkpoint_path)
        return {"results": samples}
    return predictions(estimator, input_fn, features, mode, checkpoint_path, batch_size)


def _run_config(directory: Path, instead: str) -> Any:
    """The validated config of the run in ``directory``."""
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{str(directory)!r} has no config.yaml: not a Petri run folder.")
    if "<array shape=" in path.read_text():
        raise ValueError(
            f"{str(path)!r} holds its input arrays only as a summary (written by an older "
            f"Petri), so the run cannot be rebuilt from it; {instead}."
        )
    return validate_config(path)


def _rebuilt(config: ExperimentConfig, directory: Path) -> tuple[Any, Any]:
    """The run's Estimator on its checkpoints, and the input that builds its model (the
    evaluation input, else the training one)."""
    _start_process(config)
    train_input_fn, eval_input_fn, model = _inputs_and_model(config)
    input_fn = eval_input_fn or train_input_fn
    if input_fn is None:
        raise ValueError(
            f"{str(directory / CONFIG_FILE)!r} has no input to take the features' shape from."
        )
    return _estimator(config, model, directory), input_fn


def _export_policy(
    config: RLExperimentConfig,
    directory: Path,
    checkpoint_path: str | None,
    export_dir_base: str | os.PathLike[str] | None,
    as_text: bool,
) -> str:
    """An RL run's greedy policy (state -> action and the model's values), rebuilt from its
    config, its environment giving the state's shape; nothing is written to the run log."""
    _start_process(config)
    env = _environment(config.environment_config, config.run_config.seed, "environment_config")
    try:
        model, memory, agent_class = _rl_parts(config, env)
    finally:
        close = getattr(env, "close", None)
        if close is not None:
            close()
    agent = agent_class(
        model_fn=model,
        memory=memory,
        model_dir=config.agent_config.output_dir or str(directory / "checkpoints"),
        config=config.run_config,
    )
    return agent.export_savedmodel(
        export_dir_base or directory / "exports" / "cli",
        as_text=as_text,
        checkpoint_path=checkpoint_path,
    )


# ----------------------------------------------------------------------------- helpers
def _start_process(config: AnyExperimentConfig) -> None:
    """Join a distributed launch's process group, seed every RNG and set torch's threads:
    once, before any input or model exists.

    Across ranks the seed must be one: every rank shuffles its input identically and keeps
    its share; an unseeded run takes rank 0's random seed."""
    run_config = config.run_config
    seed = run_config.seed
    joined = distributed.init_from_environment(
        run_config.distributed.backend, run_config.distributed.timeout_s, run_config.device
    )
    if joined and seed is None:
        seed = distributed.broadcast(random.SystemRandom().randrange(2**31))
    seed_everything(seed)
    use_threads(run_config.num_threads)


def _inputs_and_model(config: ExperimentConfig) -> tuple[Any, Any, Any]:
    """``(train_input_fn, eval_input_fn, model)`` from ``config``."""
    seed = config.run_config.seed
    inputs = [
        create_input_fn(part, seed, key, load_dataset=load_split) if part else None
        for part, key in (
            (config.train_input_data_config, "train_input_data_config"),
            (config.eval_input_data_config, "eval_input_data_config"),
        )
    ]
    _same_categories(inputs)
    model_config = config.model
    model_class = MODELS.get(model_config.module)
    dry_run_model(config, model_class, inputs)  # on `meta`: allocates nothing
    model = _built(
        "model_config", model_config.module, lambda: model_class.from_config(model_config)
    )
    return inputs[0], inputs[1], model


def _same_categories(inputs: list[Any]) -> None:
    """pandas inputs' categorical columns must list the same categories in training and
    evaluation, or one-hot widths and embedding ids would not mean the same."""
    train, evaluation = (getattr(fn, "categories", None) for fn in inputs)
    if not train or not evaluation:
        return
    for name in sorted(set(train) & set(evaluation)):
        if train[name] != evaluation[name]:
            key = f"eval_input_data_config.categorical.{name}"
            raise ConfigError(
                f"Column {name!r} has categories {train[name]} in train_input_data_config but "
                f"{evaluation[name]} in eval_input_data_config; list them in both "
                f"(categorical: {{{name}: {{encoding: one_hot, categories: [...]}}}}).",
                key,
                evaluation[name],
            )


def _built(path: str, value: Any, build: Any) -> Any:
    """``build()``; what a constructor rejects becomes a ConfigError naming ``path``."""
    try:
        return build()
    except PetriError:
        raise
    except (TypeError, ValueError, KeyError) as error:
        raise ConfigError(f"`{path}` could not be built: {error}", path, value) from error


def _estimator(config: ExperimentConfig, model: Any, directory: Path) -> Any:
    """The config's estimator on ``model``; checkpoints in ``estimator_config.output_dir``,
    else ``<directory>/checkpoints``."""
    return ESTIMATORS.get(config.estimator_config.module)(
        model_fn=model,
        model_dir=config.estimator_config.output_dir or str(directory / "checkpoints"),
        config=config.run_config,
        params=config.estimator_config.params or None,
    )


def _open_shared_run(
    config: AnyExperimentConfig, output_dir: str | os.PathLike[str] | None, run: RunLog | None
) -> tuple[Any, Path]:
    """Rank 0 opens the run log and tells every rank its folder (or its error); the other
    ranks log nothing (``run=False``)."""
    opened: list[RunLog] = []

    def open_on_main() -> str:
        opened.append(run or _open_run(config, output_dir))
        return str(opened[0].log_dir)

    folder = distributed.main_decides(open_on_main)
    return (opened[0] if opened else False), Path(folder)


def _open_run(config: AnyExperimentConfig, output_dir: str | os.PathLike[str] | None) -> RunLog:
    try:
        if output_dir is not None:
            return RunLog(name=config.name, log_dir=output_dir, autosave=True)
        return RunLog(
            save_dir=default_output_dir(config),
            name=config.name,
            version=config.version,
            autosave=True,
        )
    except ValueError as error:
        raise ConfigError(str(error), "name", config.name) from None


def _export_strategies(config: ExperimentConfig) -> list[Any]:
    """The config's export strategies, built before the run exists: one that cannot be built
    (an ``assets_extra`` file missing, two with one name) is a ConfigError naming it."""
    strategies = [
        _built(
            f"export_strategies[{index}]", item, lambda item=item: as_export_strategies(item)[0]
        )
        for index, item in enumerate(config.export_strategies or [])
    ]
    return _built(
        "export_strategies", config.export_strategies, lambda: as_export_strategies(strategies)
    )


def _hooks(configs: list[HookConfig], path: str) -> list[Any]:
    hooks = []
    for index, hook_config in enumerate(configs):
        hook_class = HOOKS.get(hook_config.module)
        try:
            hooks.append(hook_class(**hook_config.params))
        except (TypeError, ValueError) as error:
            raise ConfigError(
                f"`{path}[{index}].params` do not fit {hook_class.__name__}: {error}",
                f"{path}[{index}].params",
                hook_config.params,
            ) from None
    return hooks


# --------------------------------------------------------------------------------- RL
def _create_rl(
    config: RLExperimentConfig, output_dir: str | os.PathLike[str] | None, run: Any
) -> RLExperiment:
    _start_process(config)
    seed = config.run_config.seed
    env = _environment(config.environment_config, seed, "environment_config")
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
    eval_env = _environment(eval_config, None, "eval_environment_config")
    model, memory, agent_class = _rl_parts(config, env)
    if run is None:
        run = _open_run(config, output_dir)  # only now: a bad config leaves no folder behind
    directory = Path(getattr(run, "log_dir", None) or output_dir or default_output_dir(config))
    model_dir = config.agent_config.output_dir or str(directory / "checkpoints")
    try:
        agent = _built(
            "agent_config",
            config.agent_config.module,
            lambda: agent_class(
                model_fn=model,
                memory=memory,
                model_dir=model_dir,
                config=config.run_config,
                run_log=run,
            ),
        )
        write_config(directory, config)
    except BaseException as error:
        if hasattr(run, "close"):
            run.close("crashed", error=f"{type(error).__name__}: {error}")
        raise
    tags, defaults = config_tags(config)
    if isinstance(run, RunLog):
        run.tag({"kind": "rl", **tags}, defaults=defaults)
    elif hasattr(run, "tag"):  # a run log of the user's own: tags without defaults
        run.tag({"kind": "rl", **tags})
    return RLExperiment(agent, env, eval_env, config, directory, run)


def _rl_parts(config: RLExperimentConfig, env: Any) -> tuple[Any, Any, Any]:
    """The model (sized by ``env``), the memory (the agent's default when none is configured)
    and the agent class of an RL config, each checked against the others and ``env``."""
    model_config = config.model
    model_class = RL_MODELS.get(model_config.module)
    problem = action_space_problem(model_class, env)
    if problem:
        raise ConfigError(
            f"model_config.module={model_config.module!r}: {problem}",
            "model_config.module",
            model_config.module,
        )
    agent_class = AGENTS.get(config.agent_config.module)
    model_on_policy = getattr(model_class, "on_policy", False)
    if model_on_policy != agent_class.on_policy:
        wanted = "PGAgent" if model_on_policy else "Agent"
        raise ConfigError(
            f"{model_class.__name__} is {'on' if model_on_policy else 'off'}-policy; set "
            f"agent_config.module: {wanted}.",
            "agent_config.module",
            config.agent_config.module,
        )
    model = _built(
        "model_config",
        model_config.module,
        lambda: model_class.from_config(
            model_config,
            num_states=tuple(env.state_shape),
            num_actions=env.num_actions,
            **_environment_kwargs(model_class, env, model_config),
        ),
    )
    memory_config = config.agent_config.memory_config
    memory = agent_class.default_memory()
    if memory_config is not None:
        memory_class = MEMORIES.get(memory_config.module)
        memory = _built(
            "agent_config.memory_config",
            memory_config.module,
            lambda: memory_class(**memory_config.memory_kwargs()),
        )
    if agent_class.on_policy:
        problem = rollout_problem(memory.batch_size, env.num_envs)
        if problem:
            raise ConfigError(
                "agent_config.memory_config.batch_size and environment_config.num_envs: "
                + problem,
                "agent_config.memory_config.batch_size",
                memory.batch_size,
            )
    return model, memory, agent_class


def _environment(environment: Any, seed: int | None, path: str) -> Any:
    cls = ENVIRONMENTS.get(environment.module)
    return _built(
        path,
        environment.env_id,
        lambda: cls(
            environment.env_id,
            seed=environment.seed if environment.seed is not None else seed,
            num_envs=environment.num_envs,
            render_mode=environment.render_mode,
            video_dir=environment.video_dir,
            **environment.params,
        ),
    )


def _environment_kwargs(model_class: type, env: Any, model_config: Any) -> dict[str, Any]:
    """Settings a model takes from the environment when the config leaves them unset."""
    accepted = inspect.signature(model_class.__init__).parameters
    kwargs: dict[str, Any] = {}
    if "is_continuous" in accepted and "is_continuous" not in model_config.params:
        kwargs["is_continuous"] = env.is_continuous
    wants_bounds = "action_bounds" in accepted and "action_bounds" not in model_config.params
    if wants_bounds and env.is_continuous:
        kwargs["action_bounds"] = (env.action_low.tolist(), env.action_high.tolist())
    return kwargs
