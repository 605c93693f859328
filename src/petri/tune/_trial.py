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
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from petri.errors import RunStopped
from petri.tune._space import apply_params, suggest
from petri.tune._study import SearchSettings, make_sampler, open_study, trial_ownership

__all__ = ["TrialOutcome", "current_trial", "run_trial"]

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
) -> TrialOutcome:
    """Run the claimed trial ``trial_id`` to its end and tell the study how it went.

    ``function`` (a user's own training, called with the sampled parameters) replaces the
    config's experiment; it reports through :mod:`petri.tune.objective`. ``save_dir`` puts
    the trial's run under another root than the study's own. With ``spec`` (the storage's path
    or URL) the trial is held under this host's lock for it (see ``trial_ownership``), so it is
    queued again if this process dies.
    """
    ownership = trial_ownership(spec, study_name, trial_id) if spec else nullcontext()
    with ownership:
        return _run_claimed(storage, study_name, trial_id, function, save_dir)


_STUDIES: dict[tuple[int, str], tuple[Any, SearchSettings]] = {}


def _study_for(storage: Any, study_name: str, number: int) -> tuple[Any, SearchSettings]:
    """The study and its settings, loaded once per process; a sampler seeded for the trial."""
    key = (id(storage), study_name)
    if key not in _STUDIES:
        _STUDIES[key] = open_study(storage, study_name, trial_number=number)
    study, settings = _STUDIES[key]
    study.sampler = make_sampler(settings, number)
    return study, copy.copy(settings)


def _run_claimed(
    storage: Any,
    study_name: str,
    trial_id: int,
    function: Callable[[dict[str, Any]], Any] | None,
    save_dir: str | None,
) -> TrialOutcome:
    import optuna
    from optuna.trial import TrialState

    number = storage.get_trial_number_from_id(trial_id)
    study, settings = _study_for(storage, study_name, number)
    if save_dir is not None:  # a worker on a machine with its own save dir
        settings.save_dir = save_dir
    # optuna's cache over a database knows only the trials it has read: without this read,
    # the first suggest of a trial another process made fails with KeyError(trial_id). A
    # journal is read whole on every access, so it needs none.
    if hasattr(study._storage, "_read_trials_from_remote_storage"):
        study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
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


@contextmanager
def _heartbeat(storage: Any, trial_id: int) -> Iterator[None]:
    """Tell a database with heartbeats that this trial's worker is alive."""
    interval = getattr(storage, "heartbeat_interval", None)
    if not interval:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.is_set():
            storage.record_heartbeat(trial_id)
            stop.wait(interval)

    thread = threading.Thread(target=beat, name="petri-trial-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
