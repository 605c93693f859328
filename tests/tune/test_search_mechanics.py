"""How a search stays cheap without giving up its guarantees (issue #12's overhead target):
placeholders on a journal are one append, workers claim their own trials without running one
twice, a database search starts its workers while its placeholders are still being made, and
only writes a crash may lose (placeholders, heartbeats) skip waiting for the disk."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from petri.tune import run  # noqa: E402
from petri.tune._study import (  # noqa: E402
    SearchSettings,
    add_placeholders,
    open_storage,
    open_study,
)

SPACE = {"x": {"type": "float", "low": -10.0, "high": 10.0}}


def square(params: dict) -> float:
    return (params["x"] - 2) ** 2


def _settings(n_trials: int) -> SearchSettings:
    return SearchSettings(
        config={}, space=SPACE, metric="objective", direction="minimize", sampler="random",
        pruner="none", n_trials=n_trials,
    )  # fmt: skip


def test_placeholders_on_a_journal_are_one_append(tmp_path: Path) -> None:
    path = tmp_path / "s.journal"
    storage = open_storage(str(path), path)
    study, settings = open_study(storage, "s", _settings(50))
    appends = []
    backend = storage._backend
    original = backend.append_logs
    backend.append_logs = lambda logs: (appends.append(len(logs)), original(logs))[1]
    assert add_placeholders(study, settings) == 50
    assert appends == [1, 49]  # the first as optuna writes it, the rest together
    again = open_storage(str(path), path)  # another process reads them as optuna's own
    trials = optuna.load_study(study_name="s", storage=again).get_trials()
    assert [t.number for t in trials] == list(range(50))
    assert {t.state for t in trials} == {optuna.trial.TrialState.WAITING}
    assert add_placeholders(study, settings) == 0  # full: nothing more


def test_two_workers_claim_their_own_trials_and_run_each_once(tmp_path: Path) -> None:
    study = run(
        square, SPACE, n_trials=40, n_workers=2, sampler="random", pruner="none",
        storage=str(tmp_path / "s.journal"), save_dir=str(tmp_path),
    )  # fmt: skip
    trials = study.get_trials()
    assert len(trials) == 40
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert all(t.value == pytest.approx(square(t.params)) for t in trials)
    # each trial ran once: its parameter was drawn once and its result told once (two
    # claimers may both write a move to RUNNING; the journal gives the trial to the first)
    operations = [json.loads(line) for line in (tmp_path / "s.journal").read_text().splitlines()]
    done = optuna.trial.TrialState.COMPLETE.value
    drawn = collections.Counter(op["trial_id"] for op in operations if "param_name" in op)
    told = collections.Counter(
        op["trial_id"] for op in operations if "trial_id" in op and op.get("state") == done
    )
    assert set(drawn.values()) == set(told.values()) == {1}
    assert len(drawn) == len(told) == 40
    # the workers ended well: their slot files went with them
    from petri.tune._study import owner_folder

    folder = owner_folder(str(tmp_path / "s.journal"), "square")
    assert folder.is_dir() and not list(folder.glob("*.slot"))


@pytest.mark.slow
def test_a_database_search_runs_while_its_placeholders_are_made(postgres_url: str) -> None:
    study = run(
        square, SPACE, n_trials=30, n_workers=2, sampler="random", pruner="none",
        storage=postgres_url, study_name="meanwhile",
    )  # fmt: skip
    trials = study.get_trials()
    assert [t.number for t in trials] == list(range(30))  # exactly as many as asked
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)


@pytest.mark.slow
def test_only_losable_writes_skip_waiting_for_the_disk(postgres_url: str) -> None:
    import sqlalchemy

    def setting(storage) -> str:
        with storage.engine.connect() as connection:
            return connection.execute(sqlalchemy.text("SHOW synchronous_commit")).scalar()

    assert setting(open_storage(postgres_url, Path("unused"))) == "on"
    assert setting(open_storage(postgres_url, Path("unused"), durable=False)) == "off"


def test_a_trial_that_never_beat_is_retried_after_the_grace(postgres_url: str) -> None:
    """Heartbeats start FIRST_BEAT_SECS into a trial (short trials write none); a RUNNING
    trial older than that plus the grace, with no heartbeat row, lost its worker before the
    first beat: it is failed and queued again. A younger one, or one that beats, is left."""
    import datetime

    import optuna
    import sqlalchemy

    from petri.tune._study import FIRST_BEAT_SECS, GRACE_SECS, requeue_abandoned

    storage = open_storage(postgres_url, Path("unused"))
    study = optuna.create_study(storage=storage, study_name="silent")
    dead, young, beating = (study.ask() for _ in range(3))
    storage.record_heartbeat(beating._trial_id)
    old = datetime.datetime.now() - datetime.timedelta(seconds=FIRST_BEAT_SECS + GRACE_SECS + 5)
    with storage.engine.begin() as connection:
        for trial in (dead, beating):
            connection.execute(
                sqlalchemy.text("UPDATE trials SET datetime_start = :t WHERE trial_id = :id"),
                {"t": old, "id": trial._trial_id},
            )
    requeue_abandoned(study, postgres_url)
    states = {t.number: t.state.name for t in study.get_trials(deepcopy=False)}
    assert states[dead.number] == "FAIL"
    assert states[young.number] == "RUNNING" and states[beating.number] == "RUNNING"
    retries = [t for t in study.get_trials(deepcopy=False) if t.number > beating.number]
    assert [t.state.name for t in retries] == ["WAITING"]  # dead's retry, same parameters
