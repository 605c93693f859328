"""The ``petri`` command line."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import click

from petri import __version__
from petri.errors import PetriError

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="petri")
@click.option("-q", "--quiet", is_flag=True, help="Only print errors and the final result.")
def main(quiet: bool) -> None:
    """Petri: deep-learning and reinforcement-learning experiments on PyTorch."""
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname).1s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


@main.command()
@click.argument("config", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override a config value, e.g. --set model_config.optimizer_config.learning_rate=0.01",
)
@click.option("--output-dir", type=click.Path(file_okay=False), help="Where the run's files go.")
@click.option(
    "--schedule",
    type=click.Choice(
        ["train", "evaluate", "train_and_evaluate", "continuous_train_and_evaluate"]
    ),
    help="Override the config's schedule.",
)
def run(
    config: tuple[str, ...],
    overrides: tuple[str, ...],
    output_dir: str | None,
    schedule: str | None,
) -> None:
    """Train and evaluate the experiment in CONFIG (YAML/JSON; several merge in order)."""
    try:
        result, directory, elapsed, experiment = _run(config, overrides, output_dir, schedule)
    except PetriError as error:
        _fail(error)
    _print_result(result, directory, elapsed, experiment)


def _run(
    sources: tuple[str, ...],
    overrides: tuple[str, ...],
    output_dir: str | None,
    schedule: str | None,
) -> tuple[dict[str, Any], Path, float, Any]:
    from petri.configs import ExperimentConfig, apply_overrides, deep_merge
    from petri.configs._base import load_config_source
    from petri.experiments import create_experiment

    merged: dict[str, Any] = {}
    for source in sources:
        merged = deep_merge(merged, load_config_source(source))
    merged = apply_overrides(merged, overrides)
    if output_dir:
        merged["output_dir"] = output_dir
    if schedule:
        merged["schedule"] = schedule
    config = ExperimentConfig.read_configs(merged)
    started = time.perf_counter()
    experiment = create_experiment(config)
    click.echo(
        f"petri: running {config.name!r} ({config.schedule}) in {experiment.output_dir}", err=True
    )
    action = getattr(experiment, config.schedule)
    result = action()
    if config.schedule == "train":
        result = {"global_step": experiment.estimator.global_step}
    return result, experiment.output_dir, time.perf_counter() - started, experiment


def _print_result(
    result: dict[str, Any], directory: Path, elapsed: float, experiment: Any
) -> None:
    width = max((len(key) for key in result), default=10)
    click.echo("")
    click.echo(f"{'metric'.ljust(width)}  value")
    click.echo(f"{'-' * width}  ----------")
    for key, value in result.items():
        text = f"{value:.4f}" if isinstance(value, float) else str(value)
        click.echo(f"{key.ljust(width)}  {text}")
    click.echo("")
    click.echo(f"finished in {elapsed:.1f} s")
    click.echo(f"checkpoints: {experiment.estimator.model_dir}")
    click.echo(f"metrics:     {experiment.metrics_log.path}")
    click.echo(f"config:      {directory / 'config.yaml'}")


def _fail(error: BaseException) -> None:
    click.echo(f"petri: error: {error}", err=True)
    sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
