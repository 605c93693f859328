"""The search: check everything first, make the study, run its trials in worker processes.

``run`` starts (or resumes) a search on this machine; ``work`` joins one that lives in a
shared storage. Both hand trials one at a time to reused worker processes (``forkserver``,
torch threads per worker ``cores // workers``); a trial that raises or takes its process down
fails alone, and the trials of workers that died (this host's, by process id; any host's, by
database heartbeat) are queued again.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from petri._workers import WorkerPool
from petri.configs import apply_overrides, load_config_source
from petri.errors import ConfigError
from petri.tracking import DEFAULT_SAVE_DIR
from petri.tune._report import TrialPrinter, write_summary
from petri.tune._space import apply_params, read_search_space
from petri.tune._study import (
    SETTINGS_ATTR,
    SearchSettings,
    add_placeholders,
    open_storage,
    open_study,
    requeue_abandoned,
    trial_of_dead_process,
    waiting_trials,
)
from petri.tune._trial import ERROR_ATTR, TrialOutcome, run_next_trial

__all__ = ["default_direction", "run", "work"]

logger = logging.getLogger("petri")

DEFAULT_TRIALS = 20
REQUEUE_SECS = 5.0
"""How often a search looks for trials whose worker died (and always before it ends)."""
SUMMARY_SECS = 1.0
"""The study summary file is rewritten at most this often during a search (less often when
writing it takes long), and at its end."""

_MAXIMISED = re.compile(r"acc|precision|recall|auc|f1|r2|iou|top_?k|map|return|reward|score")


def default_direction(metric: str) -> str:
    """Accuracy-like metrics are maximised, losses and errors minimised."""
    return "maximize" if _MAXIMISED.search(metric.lower()) else "minimize"


def run(
    config: Any,
    search_space: Any,
    n_trials: int | None = None,
    n_workers: int = 1,
    sampler: str = "tpe",
    pruner: str = "median",
    metric: str | None = None,
    direction: str | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    save_dir: str | None = None,
    seed: int | None = 0,
    overrides: Iterable[str] = (),
    on_trial: Callable[[TrialOutcome, Any], None] | None = None,
    resume_only: bool = False,
) -> Any:
    """Search ``search_space`` for the experiment ``config``; returns the optuna ``Study``.

    Args:
        config: an experiment config (dict or YAML/JSON path), or a function called with the
            sampled parameters (a dict keyed by the search space's names) that returns the
            objective and reports through ``petri.tune.objective``.
        search_space: a mapping or a YAML/JSON file: config key path -> range or choices.
        n_trials: trials in the study (default 20; a resumed study keeps its own number
            unless this is given, and is topped up to it).
        n_workers: worker processes on this machine; 0 makes the study and its WAITING
            trials and returns without running one, for ``petri tune worker`` processes.
        sampler: ``tpe``, ``random`` or ``grid``. pruner: ``median``, ``halving`` or ``none``.
        metric: the evaluation result to optimise (default: the config's first eval metric).
        direction: ``maximize`` or ``minimize`` (default: by the metric's name).
        storage: None (a journal file beside the runs), a ``.journal`` path or a database URL.
        study_name: default the experiment's name.
        save_dir: root of the trials' runs (default: the config's ``output_dir``).
        overrides: ``key.path=value`` strings applied to the config first (``--set``).
        on_trial: called in this process with each finished trial's outcome and the study.
        resume_only: refuse to start a new study (``petri tune --resume``).

    Raises:
        ConfigError: a bad config, search space, metric, sampler or pruner, before any trial.
    """
    function = config if callable(config) else None
    _check_workers(n_workers, allow_zero=function is None)
    settings = _settings(
        None if function else config,
        search_space,
        n_trials,
        sampler,
        pruner,
        metric,
        direction,
        save_dir,
        seed,
        overrides,
    )
    name = study_name or (
        getattr(function, "__name__", None) if function else settings.config["name"]
    )
    journal = Path(settings.save_dir) / (settings.config.get("name") or name) / "study.journal"
    spec = storage or str(journal)
    study_storage = open_storage(storage, journal)
    study, settings = open_study(study_storage, name, settings, must_exist=resume_only)
    if n_trials is not None and n_trials != settings.n_trials:  # asked for more (or fewer)
        settings.n_trials = n_trials
        study.set_user_attr(SETTINGS_ATTR, settings.to_json())
    requeued = requeue_abandoned(study, spec)
    if requeued:
        logger.warning(
            "Trials %s were running in processes that are gone; queued again.", requeued
        )
    if n_workers == 0:  # the study is made ready; workers elsewhere will run its trials
        add_placeholders(study, settings)
        return study
    hints: deque[tuple[int, int | None]] = deque()
    with _placeholders_meanwhile(study, settings, spec, n_workers, hints):
        _drive(study, spec, n_workers, function, on_trial, settings, hints=hints)
    return study


def _load_study(name: str, storage: Any) -> Any:
    import optuna

    return optuna.load_study(study_name=name, storage=storage)


@contextmanager
def _placeholders_meanwhile(
    study: Any,
    settings: SearchSettings,
    spec: str,
    n_workers: int,
    hints: deque[tuple[int, int | None]],
) -> Iterator[None]:
    """Make the study's WAITING trials, and put every waiting trial in ``hints`` (the trials
    to hand out); on a database only the first few before the block, the rest in a thread
    while the workers already run trials (each is a transaction: 200 of them would hold up the
    search for a second). A journal writes them all in one append."""
    if "://" not in spec:
        add_placeholders(study, settings)
        hints.extend(waiting_trials(study))
        yield
        return
    light = open_storage(spec, Path(spec), durable=False)
    study = _load_study(study.study_name, light)
    add_placeholders(study, settings, most=2 * n_workers)
    hints.extend(waiting_trials(study))
    stop, failure = threading.Event(), []

    def fill() -> None:
        try:
            add_placeholders(
                study, settings, stop=stop.is_set, made=lambda i: hints.append((i, None))
            )
        except Exception as error:  # raised in the search's thread after the block
            failure.append(error)

    filler = threading.Thread(target=fill, name="petri-placeholders", daemon=True)
    filler.start()
    try:
        yield
    finally:
        stop.set()
        filler.join()
    if failure:
        raise failure[0]


def work(
    storage: str,
    study_name: str,
    n_workers: int = 1,
    save_dir: str | None = None,
    on_trial: Callable[[TrialOutcome, Any], None] | None = None,
) -> Any:
    """Join the search ``study_name`` in ``storage`` (started elsewhere by ``run``) with
    ``n_workers`` processes until no trial waits; returns the study."""
    _check_workers(n_workers)
    study_storage = open_storage(storage, Path(storage))
    study, settings = open_study(study_storage, study_name)
    if save_dir is not None:
        settings.save_dir = save_dir
    requeue_abandoned(study, storage)
    hints = deque(waiting_trials(study))
    _drive(study, storage, n_workers, None, on_trial, settings, save_dir, hints)
    return study


def _check_workers(n_workers: Any, allow_zero: bool = False) -> None:
    least = 0 if allow_zero else 1
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < least:
        kind = "a non-negative" if allow_zero else "a positive"
        raise ConfigError(
            f"n_workers must be {kind} integer; got {n_workers!r}.", "workers", n_workers
        )


def _settings(
    config: Any,
    search_space: Any,
    n_trials: int | None,
    sampler: str,
    pruner: str,
    metric: str | None,
    direction: str | None,
    save_dir: str | None,
    seed: int | None,
    overrides: Iterable[str],
) -> SearchSettings:
    """Everything about the search, checked: a mistake is found before any trial runs."""
    from petri.tune._study import make_pruner, make_sampler

    if n_trials is not None and (
        isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1
    ):
        raise ConfigError(
            f"n_trials must be a positive integer; got {n_trials!r}.", "trials", n_trials
        )
    space = read_search_space(search_space)
    plain: dict[str, Any] = {}
    if config is not None:
        from petri.experiments import validate_config  # torch: not for a function's search

        plain = apply_overrides(load_config_source(config), overrides)
        try:
            json.dumps(plain)
        except TypeError:
            raise ConfigError(
                "A searched config must be plain data (it travels inside the study to every "
                "worker): save arrays to .npy files and name the files.",
                "",
            ) from None
        checked = validate_config(
            apply_params(plain, {p: param.first() for p, param in space.items()})
        )
        metric = metric or _first_eval_metric(checked)
        save_dir = save_dir or plain.get("output_dir") or DEFAULT_SAVE_DIR
    metric = metric or "objective"
    direction = direction or default_direction(metric)
    if direction not in ("maximize", "minimize"):
        raise ConfigError(
            f"direction must be 'maximize' or 'minimize'; got {direction!r}.",
            "direction",
            direction,
        )
    settings = SearchSettings(
        config=plain,
        space={path: param.to_dict() for path, param in space.items()},
        metric=metric,
        direction=direction,
        sampler=sampler,
        pruner=pruner,
        n_trials=n_trials or DEFAULT_TRIALS,
        save_dir=str(save_dir or DEFAULT_SAVE_DIR),
        seed=seed,
    )
    make_sampler(settings)  # unknown names (and a grid over a float range) are named now
    make_pruner(pruner)
    return settings


def _first_eval_metric(config: Any) -> str:
    """The config's first ``eval_metrics_config`` entry (``loss`` when there is none)."""
    model = getattr(config, "model_config_", None)  # pydantic keeps `model_config` for itself
    first = (getattr(model, "eval_metrics_config", None) or [None])[0]
    name = getattr(first, "name", first)
    return name if isinstance(name, str) else "loss"


def _init_worker(threads: int) -> None:
    """Each worker: its share of the cores, optuna quiet. A function's search does not import
    torch here (a second per worker): the thread count then waits in ``OMP_NUM_THREADS``, which
    torch reads when the function imports it."""
    if "torch" in sys.modules:
        from petri.runtime import use_threads

        use_threads(threads)
    else:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    logging.getLogger("optuna").setLevel(logging.WARNING)


_STORAGES: dict[str, Any] = {}


def _trial_task(
    spec: str,
    study_name: str,
    function: Any,
    save_dir: str | None,
    hint: tuple[int, int | None] | None,
) -> TrialOutcome | None:
    """What a worker runs: claim the next trial (``hint`` first) and run it (None: none
    waits), on a storage opened once per process."""
    storage = _STORAGES.get(spec)
    if storage is None:
        storage = _STORAGES[spec] = open_storage(spec, Path(spec))
    return run_next_trial(storage, study_name, function, save_dir, spec, hint)


def _drive(
    study: Any,
    spec: str,
    n_workers: int,
    function: Any,
    on_trial: Callable[[TrialOutcome, Any], None] | None,
    settings: SearchSettings,
    save_dir: str | None = None,
    hints: deque[tuple[int, int | None]] | None = None,
) -> None:
    """Have worker processes claim and run the study's waiting trials until none is left,
    each task with the next trial of ``hints`` to try first (a different one per worker, so
    this host's workers do not race for one trial)."""
    threads = max(1, (os.cpu_count() or 1) // n_workers)
    printer = on_trial or TrialPrinter(settings)
    summary = (
        Path(settings.save_dir)
        / (settings.config.get("name") or study.study_name)
        / f"study-{study.study_name}.json"
    )
    own_workers: set[int] = set()  # their deaths are handled below, not requeued
    exhausted = False  # a worker found no waiting trial, and no abandoned one was queued again
    last_requeue = last_summary = -math.inf
    summary_every = SUMMARY_SECS

    def tasks() -> Iterator[tuple]:
        nonlocal last_requeue
        while not exhausted:
            own_workers.update(pool.pids)
            # A scan of the study (and database round trips) per trial cost more than a short
            # trial: look for abandoned trials every few seconds, and always before giving up.
            if time.monotonic() - last_requeue >= REQUEUE_SECS:
                requeue_abandoned(study, spec, own_workers)
                last_requeue = time.monotonic()
            try:
                hint = hints.popleft() if hints is not None else None
            except IndexError:  # none left: the worker looks in the storage
                hint = None
            yield (spec, study.study_name, function, save_dir, hint)

    preload = ["torch", "optuna", "petri.experiments"] if function is None else ["optuna"]
    # Two tasks per worker: a worker finds its next "claim a trial" waiting when it finishes
    # one (the claim itself happens only when the task runs).
    pool = WorkerPool(n_workers, _init_worker, (threads,), preload=preload, prefetch=2)
    with pool:
        for result in pool.imap_unordered(_trial_task, tasks()):
            if result.ok and result.value is None:  # nothing waits: unless a trial is requeued
                if not exhausted and not requeue_abandoned(study, spec, own_workers):
                    exhausted = True
                last_requeue = time.monotonic()
                continue
            if result.ok:
                outcome = result.value
            else:
                outcome = _lost(study, spec, result.pid, result.error or "")
                if outcome is None:
                    continue  # it died before it took a trial
            printer(outcome, study)
            if time.monotonic() - last_summary >= summary_every:  # rewriting it is O(trials)
                began = time.monotonic()
                write_summary(study, settings, summary)
                last_summary = time.monotonic()
                # at most a tenth of this process's time (a database read of the whole study)
                summary_every = max(SUMMARY_SECS, 10 * (last_summary - began))
    write_summary(study, settings, summary)


def _lost(study: Any, spec: str, pid: int | None, error: str) -> TrialOutcome | None:
    """The trial whose worker process died under it (a crash, the OOM killer) fails; its
    slot names it. None when the process ran no trial."""
    from optuna.trial import TrialState

    trial_id = None if pid is None else trial_of_dead_process(spec, study.study_name, pid)
    if trial_id is None:
        return None
    storage = study._storage
    frozen = storage.get_trial(trial_id)
    message = error.splitlines()[-1] if error else "the worker process died"
    if frozen.state == TrialState.RUNNING:
        storage.set_trial_user_attr(trial_id, ERROR_ATTR, message)
        storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
    logger.warning("Trial %d failed: %s", frozen.number, message)
    return TrialOutcome(
        number=frozen.number,
        state="FAIL",
        value=None,
        params=dict(frozen.params),
        run=frozen.user_attrs.get("run_dir"),
        error=message,
    )
