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

import atexit
import contextlib
import copy
import datetime
import fcntl
import hashlib
import itertools
import json
import multiprocessing.util
import os
import random
import tempfile
import warnings
from collections import deque
from collections.abc import Callable, Iterator
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
    "add_placeholders",
    "claim_trial",
    "claim_waiting_trial",
    "make_pruner",
    "make_sampler",
    "open_storage",
    "open_study",
    "owner_folder",
    "requeue_abandoned",
    "FIRST_BEAT_SECS",
    "slots_used",
    "trial_of_dead_process",
    "trial_ownership",
    "trials_wanted",
    "waiting_trials",
]

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "halving", "none")
SETTINGS_ATTR = "petri_search"
OWNER_ATTRS = ("petri:host", "petri:pid", "petri:pid_start")  # written by Petri before 12/2026
HEARTBEAT_SECS = 10
FIRST_BEAT_SECS = HEARTBEAT_SECS
"""A trial's first heartbeat waits this long: shorter trials never write one."""
GRACE_SECS = 3 * HEARTBEAT_SECS
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


def open_storage(url: str | None, journal: Path, durable: bool = True) -> Any:
    """An optuna storage: the journal file ``journal`` when ``url`` is None, a journal file
    when ``url`` names a ``.journal`` path, else an RDB (SQLAlchemy URL) with heartbeats, so
    the trials of a worker that died are noticed and run again.

    ``durable=False`` is for writes a database crash may lose without harm, WAITING
    placeholders (made again on resume) and heartbeats (the next beat writes it again): on
    PostgreSQL they commit without waiting for the disk (``synchronous_commit=off``), which
    halves what a short trial costs the server.
    """
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
                engine_kwargs=_engine_options(url, durable),
                heartbeat_interval=HEARTBEAT_SECS,
                grace_period=GRACE_SECS,
                **{callback_arg: _retry_callback()},
            )
    except (optuna.exceptions.StorageInternalError, ImportError, ValueError) as error:
        raise PetriError(f"Cannot open the study storage {url!r}: {error}") from error
    except Exception as error:  # SQLAlchemy's connection errors are many types
        raise PetriError(
            f"Cannot open the study storage {url!r}: {type(error).__name__}: {error}"
        ) from error


def _engine_options(url: str, durable: bool) -> dict[str, Any]:
    if durable or not url.startswith("postgresql"):
        return {}
    return {"connect_args": {"options": "-c synchronous_commit=off"}}


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


def trials_wanted(settings: SearchSettings) -> int:
    """How many trials the study holds when full: ``n_trials``, or fewer for a smaller grid."""
    if settings.sampler != "grid":
        return settings.n_trials
    size = 1
    for values in grid_of(settings.params()).values():
        size *= len(values)
    return min(size, settings.n_trials)


def add_placeholders(
    study: Any,
    settings: SearchSettings,
    most: int | None = None,
    stop: Callable[[], bool] = lambda: False,
    made: Callable[[int], None] | None = None,
) -> int:
    """Make WAITING trials until the study holds ``n_trials`` (at most ``most`` of them, and
    none more once ``stop()`` says so); returns how many were made. ``made`` is told the id of
    each (on a database; a journal's are written together at the end).

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
    if most is not None:
        missing = min(missing, most)
    if missing:  # the first as usual: the journal's replay then knows this process's trials
        _make_placeholder(study, made)
    with _one_append(study._storage) as gathering:
        for count in range(1, missing):
            if stop():
                return count
            _make_placeholder(study, None if gathering else made)
    return missing


def _make_placeholder(study: Any, made: Callable[[int], None] | None) -> None:
    """What ``study.enqueue_trial({})`` makes, keeping the new trial's id."""
    from optuna.trial import TrialState, create_trial

    template = create_trial(state=TrialState.WAITING, system_attrs={"fixed_params": {}})
    trial_id = study._storage.create_new_trial(study._study_id, template_trial=template)
    if made is not None:
        made(trial_id)


@contextmanager
def _one_append(storage: Any) -> Iterator[bool]:
    """On a journal, write the block's operations as one append (one lock, one fsync) instead
    of one each: 200 placeholders cost one fsync, not 200. The operations are the ones optuna
    itself makes, gathered by standing in for the journal's file while the block runs; they are
    written only when the block completes. Other storages write as usual. Yields whether the
    writes are gathered (the ids optuna returns meanwhile are then not the trials')."""
    from optuna.storages.journal import JournalStorage

    backend = getattr(storage, "_backend", None)
    if not isinstance(storage, JournalStorage) or not hasattr(backend, "append_logs"):
        yield False
        return
    gathered: list[dict[str, Any]] = []
    storage._backend = _GatheringBackend(gathered)
    try:
        yield True
    finally:
        storage._backend = backend
    if gathered:
        backend.append_logs(gathered)
        storage._sync_with_backend()


class _GatheringBackend:
    """A journal backend that keeps what is appended and has nothing to read."""

    def __init__(self, gathered: list[dict[str, Any]]) -> None:
        self._gathered = gathered

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        self._gathered.extend(logs)

    def read_logs(self, log_number_from: int) -> list[dict[str, Any]]:
        return []


def claim_waiting_trial(
    study: Any, candidates: deque[tuple[int, int]] | None = None
) -> tuple[int, int] | None:
    """Atomically take a WAITING trial for this process: its id and number (None when there
    is none left).

    ``study.ask()`` would create a new trial when none waits, so several workers could run
    more trials than asked. A claim is the storage's compare-and-set of one trial from WAITING
    to RUNNING (it fails when another process took it first). ``candidates`` keeps the WAITING
    trials (id, number) between calls, so a claim costs one write instead of a read of every
    waiting trial (optuna's own pop, which made claims on a database grow with the study); it is
    refilled from the storage once it runs out. Once another process has taken a trial first,
    the id is drawn from the first few candidates rather than always the first, so workers
    claiming at once rarely try the same trial (a failed compare-and-set is a database round
    trip), and trials still start in about the order of their numbers.
    """
    queue = candidates if candidates is not None else deque()
    refilled = False
    while True:
        if not queue:
            if refilled:
                return None
            queue.extend(waiting_trials(study))
            refilled = True
            continue
        pick = _DRAW.randrange(min(len(queue), CLAIM_SPREAD)) if _CONTENDED else 0
        queue.rotate(-pick)
        trial_id, number = queue.popleft()
        queue.rotate(pick)
        if claim_trial(study, trial_id):
            return trial_id, number
        _contended()


def claim_trial(study: Any, trial_id: int) -> bool:
    """Take the WAITING trial ``trial_id`` for this process; False when another took it."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    try:
        return bool(study._storage.set_trial_state_values(trial_id, state=TrialState.RUNNING))
    except UpdateFinishedTrialError:
        return False


def waiting_trials(study: Any) -> list[tuple[int, int]]:
    """The study's WAITING trials, (id, number), in the order of their numbers."""
    from optuna.trial import TrialState

    waiting = study._storage.get_all_trials(
        study._study_id, deepcopy=False, states=(TrialState.WAITING,)
    )
    return [(t._trial_id, t.number) for t in sorted(waiting, key=lambda t: t.number)]


CLAIM_SPREAD = 4
_DRAW = random.Random()  # seeded by the OS: each worker its own draws
_CONTENDED = False


def _contended() -> None:
    """Another process took a trial first: from now on draw among the first candidates (a
    lone worker keeps taking them in order, so a seeded search stays reproducible)."""
    global _CONTENDED
    _CONTENDED = True


def owner_folder(spec: str, study_name: str) -> Path:
    """This host's folder of worker slots for one study (``spec``: the storage path or URL).

    Each worker process holds an exclusive ``flock`` on its slot file, ``<pid>-<random>.slot``,
    for as long as it lives, and writes into it the id of the trial it runs. The kernel drops
    the lock when the process dies, however it dies. So a slot that is free names a trial
    abandoned by a process of this host, and none of it touches the shared storage (a write
    per trial, fsynced, would cost more than a short trial).
    """
    where = spec if "://" in spec else os.path.abspath(spec)
    key = hashlib.sha1(f"{where}\0{study_name}".encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "petri-trials" / key


class WorkerSlot:
    """This process's slot in :func:`owner_folder`: locked from creation to exit."""

    def __init__(self, spec: str, study_name: str) -> None:
        folder = owner_folder(spec, study_name)
        folder.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        # Locked under a private name, then renamed: a requeue pass never sees it unlocked.
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{pid}.", suffix=".tmp")
        fcntl.flock(handle, fcntl.LOCK_EX)
        self.path = folder / f"{pid}-{Path(temporary).stem.rsplit('.', 1)[-1]}.slot"
        os.rename(temporary, self.path)
        self._handle = handle
        self.pid = pid
        # A process that ends well takes its slot with it (multiprocessing's children leave
        # through os._exit, which skips atexit but runs multiprocessing's finalizers); one that
        # dies leaves it for the next requeue pass.
        atexit.register(_remove_slot, self.path, pid)
        multiprocessing.util.Finalize(None, _remove_slot, args=(self.path, pid), exitpriority=0)

    def hold(self, trial_id: int | None) -> None:
        """Name the trial this process runs now (None: none)."""
        text = b"" if trial_id is None else str(trial_id).encode()
        os.pwrite(self._handle, text, 0)
        os.ftruncate(self._handle, len(text))


def _remove_slot(path: Path, pid: int) -> None:
    if os.getpid() == pid:  # (not from a forked child's exit)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


_SLOTS: dict[tuple[str, str], WorkerSlot] = {}


@contextmanager
def trial_ownership(spec: str, study_name: str, trial_id: int) -> Iterator[None]:
    """Name ``trial_id`` in this process's slot (see :func:`owner_folder`) while the block runs."""
    key = (spec, study_name)
    slot = _SLOTS.get(key)
    if slot is None or slot.pid != os.getpid():  # (a forked child makes its own)
        slot = _SLOTS[key] = WorkerSlot(spec, study_name)
    slot.hold(trial_id)
    try:
        yield
    finally:
        slot.hold(None)


def trial_of_dead_process(spec: str, study_name: str, pid: int) -> int | None:
    """The trial the dead process ``pid`` of this host was running, from its slot (which is
    removed); None when it ran none."""
    folder = owner_folder(spec, study_name)
    found = None
    for path, _, trial_id in _free_slots(folder, frozenset()):
        if path.name.startswith(f"{pid}-"):
            found = trial_id if trial_id is not None else found
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    return found


def requeue_abandoned(
    study: Any, spec: str, exclude: set[int] | frozenset[int] = frozenset()
) -> list[int]:
    """Fail the RUNNING trials whose worker on this host is gone and queue each again.

    Databases with heartbeats also fail the stale trials of other hosts (optuna's
    ``fail_stale_trials``, and trials that never beat: :func:`_silent_trial_ids`) and queue
    them again through their retry callback. Trials of the
    processes in ``exclude`` (the caller's own workers, whose deaths it handles itself) are
    left alone. Returns the numbers requeued.
    """
    optuna = _optuna()
    from optuna.trial import TrialState

    with warnings.catch_warnings():  # "experimental" since optuna 2.9, still so named
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    for trial_id in _silent_trial_ids(study):  # died before its first heartbeat
        _fail_and_retry(study, trial_id)
    folder = owner_folder(spec, study.study_name)
    if not folder.is_dir():
        return []
    abandoned = list(_free_slots(folder, exclude))
    if not abandoned:
        return []
    running = {
        t._trial_id: t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    }
    requeued = []
    for path, _, trial_id in abandoned:
        trial = running.get(trial_id) if trial_id is not None else None
        if trial is not None and _fail_and_retry(study, trial._trial_id):
            requeued.append(trial.number)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return requeued


def _fail_and_retry(study: Any, trial_id: int) -> bool:
    """Fail a RUNNING trial and queue its retry; False when another process did first."""
    optuna = _optuna()
    from optuna.trial import TrialState

    try:
        failed = study._storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    if failed:
        _retry_callback()(study, study._storage.get_trial(trial_id))
    return bool(failed)


def _silent_trial_ids(study: Any) -> list[int]:
    """RUNNING trials of a database study that never beat although they started longer ago
    than the first beat plus the grace period: their worker died before its first beat.

    A trial's first heartbeat waits :data:`FIRST_BEAT_SECS` (most trials end before it, so
    they cost the server no heartbeat at all), and optuna's ``fail_stale_trials`` skips trials
    without one; this finds them. Reads optuna's tables (``trials``, ``trial_heartbeats``)
    with plain SQL."""
    from optuna.storages import RDBStorage

    storage = getattr(study._storage, "_backend", study._storage)
    if not isinstance(storage, RDBStorage):
        return []
    import sqlalchemy

    cutoff = datetime.datetime.now() - datetime.timedelta(seconds=FIRST_BEAT_SECS + GRACE_SECS)
    query = sqlalchemy.text(
        "SELECT t.trial_id FROM trials t LEFT JOIN trial_heartbeats h "
        "ON h.trial_id = t.trial_id WHERE t.study_id = :study AND t.state = 'RUNNING' "
        "AND h.trial_id IS NULL AND t.datetime_start < :cutoff"
    )
    study_id = storage.get_study_id_from_name(study.study_name)
    with storage.engine.connect() as connection:
        rows = connection.execute(query, {"study": study_id, "cutoff": cutoff})
        return [int(row[0]) for row in rows]


def _free_slots(
    folder: Path, exclude: set[int] | frozenset[int]
) -> Iterator[tuple[Path, int, int | None]]:
    """Slots nobody holds (their process died), but not those of ``exclude``'s processes:
    (path, process id, trial id or None)."""
    for path in folder.glob("*.slot"):
        pid_text = path.name.split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) in exclude:
            continue
        try:
            handle = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process is alive
            text = os.read(handle, 32).decode(errors="replace").strip()
            yield path, int(pid_text), int(text) if text.isdigit() else None
        finally:
            os.close(handle)
