"""``create_experiment``: an ``ExperimentConfig`` turned into a ready ``Experiment``."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from petri.configs import ExperimentConfig, HookConfig
from petri.errors import ConfigError
from petri.experiments.experiment import Experiment, _flatten
from petri.tracking import DEFAULT_SAVE_DIR
from petri.tracking import Experiment as RunLog

__all__ = ["create_experiment", "default_output_dir", "export_run"]


def default_output_dir(config: ExperimentConfig) -> Path:
    """The save_dir runs of ``config`` go under: ``output_dir`` (alias ``save_dir``) if set,
    else ``./petri_logs``; each run is ``<save_dir>/<name>/version_<n>/``."""
    return Path(config.output_dir) if config.output_dir else Path(DEFAULT_SAVE_DIR)


def create_experiment(
    config: Any,
    output_dir: str | os.PathLike[str] | None = None,
    run: RunLog | None = None,
) -> Experiment:
    """Build data, model, estimator, hooks and the run log from ``config``.

    The run is ``<output_dir or ./petri_logs>/<name>/version_<n>/`` (config keys ``name``,
    ``output_dir``/``save_dir``, ``version``: None takes the next free version, an existing one
    resumes). It holds ``config.yaml``, the run log's files and ``checkpoints/`` (the
    Estimator's model_dir, unless ``estimator_config.output_dir`` is set), and is tagged with
    the flattened config (``model_config/optimizer_config/learning_rate``, ...).

    Args:
        config: an ExperimentConfig, a dict, or a YAML/JSON path (or a list of them).
        output_dir: use exactly this folder for the run instead of a new version folder.
        run: an open run log to use instead (then ``output_dir`` is ignored).

    Raises:
        ConfigError: the config is invalid or names something that cannot be built.
    """
    config = ExperimentConfig.read_configs(config)
    train_input_fn, eval_input_fn, model = _inputs_and_model(config)
    if run is None:
        run = _open_run(config, output_dir)  # only now: a bad config leaves no folder behind
    directory = Path(run.log_dir)
    try:
        estimator = _estimator(config, model, directory)
    except Exception as error:
        run.close("crashed", error=f"{type(error).__name__}: {error}")
        raise
    _write_config(directory, config)
    run.tag(_flatten(_summarise(config.to_dict())))
    return Experiment(
        estimator=estimator,
        train_input_fn=train_input_fn,
        eval_input_fn=eval_input_fn,
        train_steps=config.train_steps,
        eval_steps=config.eval_steps,
        train_hooks=_hooks(config.train_hooks_config, "train_hooks_config"),
        eval_hooks=_hooks(config.eval_hooks_config, "eval_hooks_config"),
        eval_delay_secs=config.eval_delay_secs,
        continuous_eval_throttle_secs=config.continuous_eval_throttle_secs,
        eval_every_n_steps=config.eval_every_n_steps,
        train_steps_per_iteration=config.train_steps_per_iteration,
        export_strategies=config.export_strategies,
        delay_workers_by_global_step=config.delay_workers_by_global_step,
        run=run,
    )


def _inputs_and_model(config: ExperimentConfig) -> tuple[Any, Any, Any]:
    """Seed the RNGs, then build ``(train_input_fn, eval_input_fn, model)`` from ``config``."""
    from petri.data import create_input_fn
    from petri.models import MODELS

    seed = config.run_config.seed
    if seed is not None:
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        random.seed(seed)
    inputs = [
        create_input_fn(part, seed, key) if part else None
        for part, key in (
            (config.train_input_data_config, "train_input_data_config"),
            (config.eval_input_data_config, "eval_input_data_config"),
        )
    ]
    model_config = config.model
    model_class = MODELS.get(model_config.module)
    try:
        model = model_class.from_config(model_config)
    except (TypeError, ValueError, KeyError) as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(
            f"model_config could not be built: {error}", "model_config", model_config.module
        ) from error
    return inputs[0], inputs[1], model


def _estimator(config: ExperimentConfig, model: Any, directory: Path) -> Any:
    """The config's estimator on ``model``; checkpoints in ``estimator_config.output_dir``,
    else ``<directory>/checkpoints``."""
    from petri.estimators import ESTIMATORS

    return ESTIMATORS.get(config.estimator_config.module)(
        model_fn=model,
        model_dir=config.estimator_config.output_dir or str(directory / "checkpoints"),
        config=config.run_config,
        params=config.estimator_config.params or None,
    )


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
        ValueError: the config cannot rebuild the inputs (arrays given inline are stored only
            as a summary), it is an RL run, or there is no checkpoint.
    """
    from petri.configs import is_rl_config
    from petri.estimators._inputs import iterate_input
    from petri.export import build_raw_serving_input_receiver_fn

    directory = Path(run_dir)
    path = directory / "config.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{str(directory)!r} has no config.yaml: not a Petri run folder.")
    text = path.read_text()
    values = yaml.safe_load(text)
    if is_rl_config(values):
        raise ValueError(
            f"{str(directory)!r} is a reinforcement-learning run; only Estimator runs export."
        )
    if "<array shape=" in text:
        raise ValueError(
            f"{str(path)!r} holds its input arrays only as a summary (they were given inline), so "
            "the run cannot be rebuilt from it; export from Python with "
            "Estimator.export_savedmodel, or give the arrays as .npy/.npz paths."
        )
    config = ExperimentConfig.read_configs(values)
    train_input_fn, eval_input_fn, model = _inputs_and_model(config)
    input_fn = eval_input_fn or train_input_fn
    if input_fn is None:
        raise ValueError(f"{str(path)!r} has no input to take the served features' shape from.")
    estimator = _estimator(config, model, directory)
    features = next(iterate_input(input_fn, repeat_single=False))[0]
    return estimator.export_savedmodel(
        export_dir_base or directory / "exports" / "cli",
        build_raw_serving_input_receiver_fn(features),
        as_text=as_text,
        checkpoint_path=checkpoint_path,
    )


def _open_run(config: ExperimentConfig, output_dir: str | os.PathLike[str] | None) -> RunLog:
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


def _hooks(configs: list[HookConfig], path: str) -> list[Any]:
    from petri.estimators.hooks import HOOKS

    hooks = []
    for index, hook_config in enumerate(configs):
        hook_class = HOOKS.get(hook_config.module)
        try:
            hooks.append(hook_class(**hook_config.params))
        except TypeError as error:
            raise ConfigError(
                f"`{path}[{index}].params` do not fit {hook_class.__name__}: {error}",
                f"{path}[{index}].params",
                hook_config.params,
            ) from None
    return hooks


def _write_config(directory: Path, config: ExperimentConfig) -> None:
    """``config.yaml`` beside the run's files (arrays summarised by shape), written atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(_summarise(config.to_dict()), sort_keys=False)
    handle, temporary = tempfile.mkstemp(prefix=".config.", suffix=".yaml", dir=directory)
    with os.fdopen(handle, "w") as file:
        file.write(text)
    os.replace(temporary, directory / "config.yaml")


def _summarise(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _summarise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_summarise(v) for v in value]
    if isinstance(value, np.ndarray | torch.Tensor):
        return f"<array shape={tuple(value.shape)} dtype={value.dtype}>"
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)
