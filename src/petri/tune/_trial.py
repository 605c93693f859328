"""One trial, in a worker process: sample, build the run, train with reports, tell the study.

A trial is a normal run in the run log (the config's ``name``, its own version) tagged with
its sampled parameters, its trial number and the study. Each periodic evaluation is reported to
the study; when the pruner says so the run stops there and ends ``pruned``. A trial that
replaces one whose worker died resumes that trial's run folder when the parameters are the
same, so the run log keeps one record per trial and loses nothing.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from petri.errors import RunStopped
from petri.tune._space import apply_params, suggest
from petri.tune._study import (
    FIRST_BEAT_SECS,
    SearchSettings,
    claim_trial,
    claim_waiting_trial,
    make_sampler,
    open_storage,
    open_study,
    slots_used,
    trial_ownership,
    trials_wanted,
)

__all__ = ["TrialOutcome", "current_trial", "run_next_trial", "run_trial"]

logger = logging.getLogger("petri")

RUN_ATTR = "run_dir"
ERROR_ATTR = "error"
_CURRENT = threading.local()


class TrialOutcome(dict):
    """What the coordinator prints and summarises: number, state, value, params, run, error."""


def current_trial() -> Any:
    """The optuna trial this process is running (None outside a trial)."""
    return getattr(_CURRENT, "trial", None)


def objective_key(metric: str) -> str:
    """``eval/streaming_accuracy`` and ``streaming_accuracy`` name the same result."""
    return metric.removeprefix("eval/")


def run_trial(
    storage: Any,
    study_name: str,
    trial_id: int,
    function: Callable[[dict[str, Any]], Any] | None = None,
    save_dir: str | None = None,
    spec: str | None = None,
    number: int | None = None,
) -> TrialOutcome:
    """Run the claimed trial ``trial_id`` (its ``number``, when known) to its end and tell
    the study how it went.

    ``function`` (a user's own training, called with the sampled parameters) replaces the
    config's experiment; it reports through :mod:`petri.tune.objective`. ``save_dir`` puts
    the trial's run under another root than the study's own. With ``spec`` (the storage's path
    or URL) the trial is named in this process's slot (see ``trial_ownership``), so it is
    queued again if this process dies.
    """
    ownership = trial_ownership(spec, study_name, trial_id) if spec else nullcontext()
    with ownership:
        return _run_claimed(storage, study_name, trial_id, function, save_dir, number)


def run_next_trial(
    storage: Any,
    study_name: str,
    function: Callable[[dict[str, Any]], Any] | None = None,
    save_dir: str | None = None,
    spec: str | None = None,
    hint: tuple[int, int | None] | None = None,
) -> TrialOutcome | None:
    """Claim the study's next WAITING trial and run it (see :func:`run_trial`); None when no
    trial waits and the study holds all its trials. The worker claims for itself: the trial is
    its own from the compare-and-set on, and the process that hands out work never waits on the
    storage. ``hint`` (id, number or None) is the trial to try first: a search hands each of
    its workers a different one, so they do not all try the same. While the search's starter is
    still making the study's trials, it waits for them.
    """
    study, settings = _study_for(storage, study_name)
    if hint is not None and claim_trial(study, hint[0]):
        claimed: tuple[int, int | None] | None = hint
    else:
        waiting = _WAITING.setdefault((id(storage), study_name), deque())
        deadline = time.monotonic() + FILL_WAIT_SECS
        while (claimed := claim_waiting_trial(study, waiting)) is None:
            if time.monotonic() > deadline or slots_used(study) >= trials_wanted(settings):
                return None
            time.sleep(0.01)
    trial_id, number = claimed
    return run_trial(storage, study_name, trial_id, function, save_dir, spec, number)


FILL_WAIT_SECS = 30.0
"""How long a worker waits for the trials a search is still making before it stops."""
_STUDIES: dict[tuple[int, str], tuple[Any, SearchSettings]] = {}
_WAITING: dict[tuple[int, str], deque[int]] = {}


def _study_for(
    storage: Any, study_name: str, number: int | None = None
) -> tuple[Any, SearchSettings]:
    """The study and its settings, loaded once per process; with ``number``, a sampler
    seeded for that trial."""
    key = (id(storage), study_name)
    if key not in _STUDIES:
        _STUDIES[key] = open_study(storage, study_name, trial_number=number)
    study, settings = _STUDIES[key]
    if number is not None:
        study.sampler = make_sampler(settings, number)
    return study, copy.copy(settings)


def _run_claimed(
    storage: Any,
    study_name: str,
    trial_id: int,
    function: Callable[[dict[str, Any]], Any] | None,
    save_dir: str | None,
    number: int | None = None,
) -> TrialOutcome:
    import optuna
    from optuna.trial import TrialState

    if number is None:
        number = storage.get_trial_number_from_id(trial_id)
    study, settings = _study_for(storage, study_name, number)
    if save_dir is not None:  # a worker on a machine with its own save dir
        settings.save_dir = save_dir
    _learn_trial(study, trial_id)
    trial = optuna.trial.Trial(study, trial_id)
    outcome = TrialOutcome(
        number=number, state="FAIL", value=None, params={}, run=None, error=None
    )
    _CURRENT.trial = trial
    try:
        with _heartbeat(storage, trial_id):
            params = suggest(trial, settings.params())
            outcome["params"] = params
            if function is not None:
                value = function(dict(params))
            else:
                value = _train(study, trial, settings, params, outcome)
        value = float(value)
        study.tell(trial, value)
        outcome.update(state="COMPLETE", value=value)
    except (RunStopped, optuna.TrialPruned) as pruned:
        last = storage.get_trial(trial_id).intermediate_values
        value = last[max(last)] if last else None
        study.tell(trial, state=TrialState.PRUNED)
        outcome.update(state="PRUNED", value=value, error=str(pruned))
    except Exception as error:  # the trial fails; the search goes on
        message = f"{type(error).__name__}: {error}"
        storage.set_trial_user_attr(trial_id, ERROR_ATTR, message[:2000])
        study.tell(trial, state=TrialState.FAIL)
        outcome.update(state="FAIL", error=message)
        logger.warning("Trial %d failed: %s", number, message)
    finally:
        _CURRENT.trial = None
    return outcome


def _learn_trial(study: Any, trial_id: int) -> None:
    """Make optuna's cache over a database know ``trial_id`` (made by another process):
    without it the first ``suggest`` fails with ``KeyError(trial_id)``.

    The cache refresh reads every unfinished trial (all the WAITING placeholders), so it runs
    only when the trial is unknown: once per worker, and again after a retry was queued. A
    journal is read whole on every access and needs none.
    """
    from optuna.trial import TrialState

    storage = study._storage
    if not hasattr(storage, "_read_trials_from_remote_storage"):
        return
    known = getattr(storage, "_trial_id_to_study_id_and_number", None)
    if known is None or trial_id not in known:  # (None: another optuna; refresh every time)
        study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))


def _train(
    study: Any, trial: Any, settings: SearchSettings, params: dict[str, Any], outcome: TrialOutcome
) -> float:
    from petri.experiments import create_experiment

    config = apply_params(settings.config, params)
    config["output_dir"] = settings.save_dir
    run_config = config.get("run_config") or {}
    config["run_config"] = {**run_config, "verbose": False}  # the search prints its own table
    resume = _run_to_resume(study, trial, params)
    experiment = create_experiment(config, output_dir=resume)
    run_dir = str(experiment.output_dir)
    study._storage.set_trial_user_attr(trial._trial_id, RUN_ATTR, run_dir)
    outcome["run"] = run_dir
    if experiment.run is not None:
        experiment.run.tag({"tune/study": study.study_name, "tune/trial": trial.number, **params})
    key = objective_key(settings.metric)

    def report(results: dict[str, Any]) -> bool:
        if key not in results:
            raise KeyError(
                f"The evaluation has no metric {key!r} to optimise; it has "
                f"{sorted(k for k in results if k != 'global_step')}. Pass --metric."
            )
        step = int(results["global_step"])
        trial.report(float(results[key]), step)
        if trial.should_prune():
            raise RunStopped(f"pruned at step {step} ({key} = {results[key]:.4g})", "pruned")
        return True

    results = experiment.train_and_evaluate(report)
    return float(results[key])


def _run_to_resume(study: Any, trial: Any, params: dict[str, Any]) -> str | None:
    """The run folder of the trial this one retries, when it ran the same parameters."""
    failed = study._storage.get_trial(trial._trial_id).system_attrs.get("failed_trial")
    if failed is None:
        return None
    earlier = study.get_trials(deepcopy=False)[failed]
    run_dir = earlier.user_attrs.get(RUN_ATTR)
    if run_dir and earlier.params == params and os.path.isdir(run_dir):
        return run_dir
    return None


_BEATS: dict[str, Any] = {}


@contextmanager
def _heartbeat(storage: Any, trial_id: int) -> Iterator[None]:
    """Tell a database with heartbeats that this trial's worker is alive (through a
    connection of its own whose commits need not wait for the disk: see ``open_storage``)."""
    interval = getattr(storage, "heartbeat_interval", None)
    if not interval:
        yield
        return
    url = str(getattr(storage, "url", ""))
    if "://" in url:
        if url not in _BEATS:
            _BEATS[url] = open_storage(url, Path(url), durable=False)
        storage = _BEATS[url]
    stop = threading.Event()

    def beat() -> None:
        wait = FIRST_BEAT_SECS  # most trials end before it: no heartbeat row for them at all
        while not stop.wait(wait):
            storage.record_heartbeat(trial_id)
            wait = interval

    thread = threading.Thread(target=beat, name="petri-trial-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
