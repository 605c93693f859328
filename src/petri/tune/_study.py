"""Studies: where they live (optuna storages), how trials are claimed, and what a search is.

The default storage is a journal file beside the runs (``<save_dir>/<name>/study.journal``),
safe for several processes on one machine; an RDB URL (``postgresql+psycopg://...``) lets
workers on several machines share one study. A search's settings (the config, the space, the
metric, the sampler and pruner) travel inside the study as a user attribute, so a worker needs
only the storage URL and the study name.

Trials are made ahead as WAITING placeholders (``n_trials`` in all) and claimed atomically by
workers, so several workers never run more trials than asked; their parameters are still
sampled when a worker starts them, so TPE learns from every trial finished by then.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import itertools
import json
import os
import tempfile
import warnings
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from petri.errors import ConfigError, PetriError, did_you_mean
from petri.tune._space import Param, grid_of, read_search_space

__all__ = [
    "SAMPLERS",
    "PRUNERS",
    "SearchSettings",
    "claim_waiting_trial",
    "make_pruner",
    "make_sampler",
    "open_storage",
    "open_study",
    "owner_folder",
    "requeue_abandoned",
    "trial_ownership",
    "slots_used",
]

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "halving", "none")
SETTINGS_ATTR = "petri_search"
OWNER_ATTRS = ("petri:host", "petri:pid", "petri:pid_start")  # written by Petri before 12/2026
HEARTBEAT_SECS = 10
MAX_RETRY = 3


@dataclass
class SearchSettings:
    """What a search is; stored in its study so every worker runs the same one."""

    config: dict[str, Any]
    space: dict[str, Any]
    metric: str
    direction: str
    sampler: str = "tpe"
    pruner: str = "median"
    n_trials: int = 20
    save_dir: str = "petri_logs"
    seed: int | None = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Param]:
        return read_search_space(self.space)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SearchSettings:
        return cls(**json.loads(text))


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as error:  # optuna is the `tune` extra
        raise PetriError(
            "Hyperparameter search needs optuna: pip install 'petri[tune]'."
        ) from error
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_storage(url: str | None, journal: Path) -> Any:
    """An optuna storage: the journal file ``journal`` when ``url`` is None, a journal file
    when ``url`` names a ``.journal`` path, else an RDB (SQLAlchemy URL) with heartbeats, so
    the trials of a worker that died are noticed and run again."""
    optuna = _optuna()
    from optuna.storages import RDBStorage
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    if url is None or url.endswith(".journal"):
        path = Path(url) if url else journal
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    if "://" not in url:
        raise ConfigError(
            f"--storage {url!r} is neither a .journal file nor a database URL such as "
            "postgresql+psycopg://user@host/db.",
            "storage",
            url,
        )
    callback_arg = _retry_base()[1]
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" since optuna 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(
                url,
                heartbeat_interval=HEARTBEAT_SECS,
                grace_period=3 * HEARTBEAT_SECS,
                **{callback_arg: _retry_callback()},
            )
    except (optuna.exceptions.StorageInternalError, ImportError, ValueError) as error:
        raise PetriError(f"Cannot open the study storage {url!r}: {error}") from error
    except Exception as error:  # SQLAlchemy's connection errors are many types
        raise PetriError(
            f"Cannot open the study storage {url!r}: {type(error).__name__}: {error}"
        ) from error


def _retry_callback() -> Any:
    """optuna's retry of a failed trial (up to :data:`MAX_RETRY` times, same parameters), but
    without the dead worker's ``petri:host``/``petri:pid``: copied into the WAITING retry, they
    would make the retry look abandoned from the moment a worker claims it until that worker
    records itself, and another worker on the dead one's host would fail it again."""
    optuna = _optuna()

    class _Retry(_retry_base()[0]):
        def __call__(self, study: Any, trial: Any) -> None:
            trial = copy.copy(trial)
            trial.system_attrs = {
                k: v for k, v in trial.system_attrs.items() if k not in OWNER_ATTRS
            }
            super().__call__(study, trial)

    with warnings.catch_warnings():  # "experimental" since optuna 2.8
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _Retry(max_retry=MAX_RETRY)


def _retry_base() -> tuple[type, str]:
    """optuna's retry callback and the RDBStorage argument that takes it."""
    try:  # optuna >= 4.9; RetryFailedTrialCallback became its deprecated alias
        from optuna.storages import RetryHeartbeatStaleTrialCallback
    except ImportError:
        from optuna.storages import RetryFailedTrialCallback

        return RetryFailedTrialCallback, "failed_trial_callback"
    return RetryHeartbeatStaleTrialCallback, "heartbeat_stale_trial_callback"


def make_sampler(settings: SearchSettings, trial_number: int | None = None) -> Any:
    """optuna's sampler by name, seeded per trial so a trial's draws do not depend on which
    worker runs it."""
    optuna = _optuna()
    seed = None if settings.seed is None else settings.seed + (trial_number or 0)
    if settings.sampler == "tpe":
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=min(10, settings.n_trials // 3 or 1)
        )
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if settings.sampler == "grid":
        grid_of(settings.params())  # a float range without a step is named now
        return optuna.samplers.RandomSampler(seed=seed)  # the grid points come enqueued
    raise ConfigError(
        f"Unknown sampler {settings.sampler!r}.{did_you_mean(settings.sampler, SAMPLERS)} "
        f"Expected one of: {', '.join(SAMPLERS)}.",
        "sampler",
        settings.sampler,
    )


def make_pruner(name: str) -> Any:
    optuna = _optuna()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(
        f"Unknown pruner {name!r}.{did_you_mean(name, PRUNERS)} Expected one of: "
        f"{', '.join(PRUNERS)}.",
        "pruner",
        name,
    )


def open_study(
    storage: Any,
    study_name: str,
    settings: SearchSettings | None = None,
    trial_number: int | None = None,
    must_exist: bool = False,
) -> tuple[Any, SearchSettings]:
    """Create the study (with ``settings``) or load it; returns it with its settings.

    Raises:
        ConfigError: the study exists with another search, or does not exist and no settings
            were given (a worker joining a study nobody started).
    """
    optuna = _optuna()
    names = optuna.get_all_study_names(storage)  # (summaries would copy every trial)
    if study_name not in names:
        if settings is None or must_exist:
            raise ConfigError(
                f"No study named {study_name!r} in this storage.{did_you_mean(study_name, names)} "
                f"Studies there: {', '.join(names) or 'none'}. Start it with `petri tune CONFIG "
                "--search SPACE --study NAME --storage URL` first.",
                "study",
                study_name,
            )
        study = optuna.create_study(
            storage=storage,
            study_name=study_name,
            direction=settings.direction,
            sampler=make_sampler(settings),
            pruner=make_pruner(settings.pruner),
            load_if_exists=True,
        )
        study.set_user_attr(SETTINGS_ATTR, settings.to_json())
        return study, settings
    summary = optuna.load_study(study_name=study_name, storage=storage)
    stored = SearchSettings.from_json(summary.user_attrs[SETTINGS_ATTR])
    if settings is not None:
        _check_same_search(study_name, stored, settings)
    study = optuna.load_study(
        study_name=study_name,
        storage=storage,
        sampler=make_sampler(stored, trial_number),
        pruner=make_pruner(stored.pruner),
    )
    return study, stored


def _check_same_search(name: str, stored: SearchSettings, new: SearchSettings) -> None:
    """Resuming a study under another search would mix incomparable trials."""
    for key in ("config", "space", "metric", "direction", "sampler", "pruner"):
        before, after = getattr(stored, key), getattr(new, key)
        if json.dumps(before, sort_keys=True) != json.dumps(after, sort_keys=True):
            raise ConfigError(
                f"Study {name!r} exists with another {key} ({_short(before)} vs {_short(after)}); "
                "run the same search to resume it, or pass --study with a new name.",
                key,
                after,
            )


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def slots_used(study: Any) -> int:
    """Trials that count toward ``n_trials``: all but failures whose retry was made."""
    trials = study.get_trials(deepcopy=False)
    retried = {t.system_attrs.get("failed_trial") for t in trials}
    from optuna.trial import TrialState

    return sum(1 for t in trials if not (t.state == TrialState.FAIL and t.number in retried))


def add_placeholders(study: Any, settings: SearchSettings) -> int:
    """Make WAITING trials until the study holds ``n_trials``; returns how many were made.

    A grid search enqueues its points themselves, in the order of the product of each key's
    values (as test_tube did), at most ``n_trials`` of them; points already in the study are
    not added again.
    """
    if settings.sampler == "grid":
        grid = grid_of(settings.params())
        points = itertools.islice(itertools.product(*grid.values()), settings.n_trials)
        before = len(study.get_trials(deepcopy=False))
        for point in points:
            study.enqueue_trial(dict(zip(grid, point)), skip_if_exists=True)
        return len(study.get_trials(deepcopy=False)) - before
    missing = max(0, settings.n_trials - slots_used(study))
    for _ in range(missing):
        study.enqueue_trial({}, skip_if_exists=False)
    return missing


def claim_waiting_trial(study: Any, candidates: deque[int] | None = None) -> int | None:
    """Atomically take a WAITING trial for this process (None when there is none left).

    ``study.ask()`` would create a new trial when none waits, so several workers could run
    more trials than asked. A claim is the storage's compare-and-set of one trial from WAITING
    to RUNNING (it fails when another process took it first). ``candidates`` keeps the WAITING
    trial ids between calls, so a claim costs one write instead of a read of every waiting
    trial (optuna's own pop, which made claims on a database grow with the study); it is
    refilled from the storage once it runs out.
    """
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    queue = candidates if candidates is not None else deque()
    refilled = False
    while True:
        if not queue:
            if refilled:
                return None
            waiting = study._storage.get_all_trials(
                study._study_id, deepcopy=False, states=(TrialState.WAITING,)
            )
            queue.extend(t._trial_id for t in sorted(waiting, key=lambda t: t.number))
            refilled = True
            continue
        trial_id = queue.popleft()
        try:
            if study._storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                return trial_id
        except UpdateFinishedTrialError:
            continue  # finished by another process meanwhile


def owner_folder(spec: str, study_name: str) -> Path:
    """This host's folder of trial locks for one study (``spec``: the storage path or URL).

    A worker holds an exclusive ``flock`` on ``<trial id>.lock`` while it runs a trial; the
    kernel drops the lock when the process dies, however it dies. So a RUNNING trial whose lock
    file is here but free was abandoned by a process of this host, and none of it touches the
    shared storage (a write per trial, fsynced, would cost more than a short trial).
    """
    where = spec if "://" in spec else os.path.abspath(spec)
    key = hashlib.sha1(f"{where}\0{study_name}".encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "petri-trials" / key


@contextmanager
def trial_ownership(spec: str, study_name: str, trial_id: int) -> Iterator[None]:
    """Hold this trial's lock (see :func:`owner_folder`) while the block runs."""
    folder = owner_folder(spec, study_name)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{trial_id}.lock"
    # Locked under a private name, then renamed: a requeue pass never sees it unlocked.
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{trial_id}.", suffix=".tmp")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        os.write(handle, str(os.getpid()).encode())
        os.rename(temporary, final)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(final)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        os.close(handle)


def requeue_abandoned(
    study: Any, spec: str, exclude: set[int] | frozenset[int] = frozenset()
) -> list[int]:
    """Fail the RUNNING trials whose worker on this host is gone and queue each again.

    Databases with heartbeats also fail the stale trials of other hosts (optuna's
    ``fail_stale_trials``) and queue them again through their retry callback. Trials of the
    processes in ``exclude`` (the caller's own workers, whose deaths it handles itself) are
    left alone. Returns the numbers requeued.
    """
    optuna = _optuna()
    from optuna.trial import TrialState

    with warnings.catch_warnings():  # "experimental" since optuna 2.9, still so named
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    folder = owner_folder(spec, study.study_name)
    if not folder.is_dir():
        return []
    abandoned = [trial_id for trial_id in _free_locks(folder, exclude)]
    if not abandoned:
        return []
    running = {
        t._trial_id: t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    }
    retry = _retry_callback()
    requeued = []
    for trial_id in abandoned:
        trial = running.get(trial_id)
        if trial is not None:
            try:
                failed = study._storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                failed = False  # another process failed it (and queued its retry) first
            if failed:
                retry(study, study._storage.get_trial(trial_id))
                requeued.append(trial.number)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(folder / f"{trial_id}.lock")
    return requeued


def _free_locks(folder: Path, exclude: set[int] | frozenset[int]) -> Iterator[int]:
    """Trial ids whose lock file nobody holds (its worker died), but not ``exclude``'s."""
    for path in folder.glob("*.lock"):
        if not path.stem.isdigit():
            continue
        try:
            handle = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its worker is alive
            owner = os.read(handle, 32).decode(errors="replace")
            if owner.isdigit() and int(owner) in exclude:
                continue
            yield int(path.stem)
        finally:
            os.close(handle)
