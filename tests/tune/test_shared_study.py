"""Starting a study for workers elsewhere (``--workers 0``) and queuing a dead worker's trial
again, on a journal file (no server needed; the PostgreSQL runs are test_postgres_workers.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tune"


def test_workers_0_makes_the_study_and_runs_nothing(petri_cli, tmp_path):
    journal = tmp_path / "study.journal"
    args = ["tune", EXAMPLES / "mlp_digits.yaml", "--search", EXAMPLES / "mlp_search.yaml",
            "--storage", journal, "--study", "later", "--save-dir", tmp_path]  # fmt: skip
    result = petri_cli(*args, "--trials", 3, "--workers", 0)
    assert result.exit_code == 0, result.stderr
    assert "3 trials waiting" in result.stdout
    assert "petri tune worker --storage" in result.stdout
    study = optuna.load_study(study_name="later", storage=_journal(journal))
    assert [t.state.name for t in study.get_trials()] == ["WAITING"] * 3
    assert not list(tmp_path.rglob("metrics.csv"))

    again = petri_cli(*args, "--trials", 3, "--workers", 0)  # the same study, not 3 more
    assert again.exit_code == 0, again.stderr
    assert len(study.get_trials()) == 3

    negative = petri_cli(*args, "--trials", 4, "--workers", -1)
    assert negative.exit_code == 2
    assert "n_workers must be a non-negative integer" in negative.stderr


def test_a_dead_worker_s_trial_is_retried_without_its_owner(tmp_path):
    import fcntl
    import os

    from petri.tune._study import OWNER_ATTRS, owner_folder, requeue_abandoned

    spec = str(tmp_path / "s.journal")
    study = optuna.create_study(storage=_journal(tmp_path / "s.journal"), study_name="s")
    trial = study.ask()
    trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    trial.set_user_attr("run_dir", "somewhere")
    for key, value in zip(OWNER_ATTRS, (socket.gethostname(), 2**22 + 1, 1)):  # older Petri's
        study._storage.set_trial_system_attr(trial._trial_id, key, value)
    assert requeue_abandoned(study, spec) == []  # no lock file: not this host's
    folder = owner_folder(spec, "s")
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / f"{2**22 + 1}-x1y2.slot"  # a worker's slot names the trial it runs
    lock.write_text(str(trial._trial_id))
    holder = os.open(lock, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)  # its worker is alive
    assert requeue_abandoned(study, spec) == []
    assert requeue_abandoned(study, spec, exclude=set()) == []
    os.close(holder)  # the worker died: the kernel let go of its lock
    assert requeue_abandoned(study, spec, exclude={2**22 + 1}) == []  # the caller's own
    assert requeue_abandoned(study, spec) == [0]
    failed, retry = study.get_trials()
    assert (failed.state.name, retry.state.name) == ("FAIL", "WAITING")
    assert retry.params == failed.params
    assert retry.user_attrs["run_dir"] == "somewhere"
    assert retry.system_attrs["failed_trial"] == 0
    # an older Petri's owner attributes stay with the failed trial only
    assert not set(OWNER_ATTRS) & set(retry.system_attrs)
    assert not lock.exists()
    assert requeue_abandoned(study, spec) == []


def _journal(path: Path):
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    return JournalStorage(JournalFileBackend(str(path)))


def test_a_resumed_study_grows_to_the_trials_asked(petri_cli, tmp_path):
    journal = tmp_path / "study.journal"
    args = ["tune", EXAMPLES / "mlp_digits.yaml", "--search", EXAMPLES / "mlp_search.yaml",
            "--storage", journal, "--study", "grows", "--save-dir", tmp_path,
            "--workers", 0]  # fmt: skip
    assert petri_cli(*args, "--trials", 2).exit_code == 0
    assert petri_cli(*args).exit_code == 0  # no --trials: the study keeps its 2
    study = optuna.load_study(study_name="grows", storage=_journal(journal))
    assert len(study.get_trials()) == 2
    assert petri_cli(*args, "--trials", 5).exit_code == 0
    assert len(study.get_trials()) == 5
