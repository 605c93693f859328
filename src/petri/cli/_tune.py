"""``petri tune``: start or resume a search, or join one as a worker (``petri tune worker``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from petri.errors import PetriError

__all__ = ["tune"]


class _TuneGroup(click.Group):
    """``petri tune CONFIG ...`` runs the ``start`` command; ``petri tune worker ...`` joins."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["start", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_TuneGroup)
def tune() -> None:
    """Search hyperparameters: each trial is a run in the run log (optuna underneath).

    \b
      petri tune CONFIG --search SPACE.yaml [--trials N] [--workers K] ...
      petri tune worker --storage URL --study NAME [--workers K]
    """


@tune.command("start")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option(
    "--search",
    "search",
    required=True,
    type=click.Path(dir_okay=False),
    help="YAML of config key paths -> {type: float|int, low, high, step, log} or a list.",
)
@click.option(
    "--trials",
    default=None,
    type=int,
    help="Trials in the study (default 20; given when resuming, the study grows to it).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=int,
    help="Worker processes; 0 only makes the study and its WAITING trials in --storage and "
    "returns, for `petri tune worker` processes (on other machines) to run.",
)
@click.option(
    "--sampler", default="tpe", show_default=True, type=click.Choice(["tpe", "random", "grid"])
)
@click.option(
    "--pruner",
    default="median",
    show_default=True,
    type=click.Choice(["median", "halving", "none"]),
)
@click.option(
    "--metric",
    default=None,
    help="Evaluation result to optimise (default: the first eval metric).",
)
@click.option(
    "--direction",
    default=None,
    type=click.Choice(["maximize", "minimize"]),
    help="Default: by the metric's name.",
)
@click.option(
    "--study", "study_name", default=None, help="Study name (default: the experiment's name)."
)
@click.option(
    "--storage",
    default=None,
    help="A .journal file or a database URL (default: SAVE_DIR/NAME/study.journal).",
)
@click.option(
    "--save-dir", default=None, type=click.Path(file_okay=False), help="Root of the trials' runs."
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seeds the sampler.")
@click.option(
    "--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override a config value."
)
@click.option(
    "--resume",
    is_flag=True,
    help="Only continue an existing study (same as running the same command again).",
)
def start(
    config: str,
    search: str,
    trials: int | None,
    workers: int,
    sampler: str,
    pruner: str,
    metric: str | None,
    direction: str | None,
    study_name: str | None,
    storage: str | None,
    save_dir: str | None,
    seed: int,
    overrides: tuple[str, ...],
    resume: bool,
) -> None:
    """Search SPACE for the experiment in CONFIG; running it again resumes the study."""
    from petri.tune._search import run

    started = time.perf_counter()
    try:
        study = run(
            config,
            search,
            n_trials=trials,
            n_workers=workers,
            sampler=sampler,
            pruner=pruner,
            metric=metric,
            direction=direction,
            storage=storage,
            study_name=study_name,
            save_dir=save_dir,
            seed=seed,
            overrides=overrides,
            resume_only=resume,
        )
    except PetriError as error:
        _fail(error)
    except KeyboardInterrupt:
        _interrupted()
    if workers == 0:
        _print_ready(study, storage)
        return
    _print_best(study, time.perf_counter() - started)


@tune.command("worker")
@click.option(
    "--storage", required=True, help="The study's storage: a database URL (or a .journal file)."
)
@click.option("--study", "study_name", required=True, help="The study to join.")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option(
    "--save-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Root of this machine's runs (default: the study's).",
)
def worker(storage: str, study_name: str, workers: int, save_dir: str | None) -> None:
    """Run trials of a study started elsewhere until none waits."""
    from petri.tune._search import work

    started = time.perf_counter()
    try:
        study = work(storage, study_name, n_workers=workers, save_dir=save_dir)
    except PetriError as error:
        _fail(error)
    except KeyboardInterrupt:
        _interrupted()
    _print_best(study, time.perf_counter() - started)


def _print_ready(study: Any, storage: str | None) -> None:
    from optuna.trial import TrialState

    waiting = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
    where = storage or "its journal file"
    click.echo(f"study {study.study_name!r} in {where}: {waiting} trials waiting")
    if storage:
        click.echo(f"join it: petri tune worker --storage {storage} --study {study.study_name}")


def _print_best(study: Any, seconds: float) -> None:
    from optuna.trial import TrialState

    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name.lower()] = counts.get(trial.state.name.lower(), 0) + 1
    states = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    click.echo(f"study {study.study_name!r}: {states} ({seconds:.1f} s)")
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        click.echo("no trial completed")
        return
    best = study.best_trial
    click.echo(f"best: trial {best.number}, value {best.value:.6g}")
    if best.user_attrs.get("run_dir"):
        click.echo(f"run: {Path(best.user_attrs['run_dir'])}")
    for key, value in best.params.items():
        click.echo(f"  {key} = {value}")


def _interrupted() -> None:
    """Ctrl-C: the trials that were running are queued again by the next run."""
    click.echo(
        "petri: interrupted; the trials that were running will run again: run the same "
        "command again to resume the study.",
        err=True,
    )
    sys.exit(130)


def _fail(error: BaseException) -> None:
    click.echo(f"petri: error: {error}", err=True)
    sys.exit(2)
