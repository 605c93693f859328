"""The git snapshot of every run, and ``create_git_tag``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from petri.tracking import Experiment


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture()
def repo(tmp_path, monkeypatch):
    git("init", "-q", "-b", "main", cwd=tmp_path)
    git("config", "user.email", "test@example.com", cwd=tmp_path)
    git("config", "user.name", "Test", cwd=tmp_path)
    (tmp_path / "train.py").write_text("print('hi')\n")
    git("add", "train.py", cwd=tmp_path)
    git("commit", "-q", "-m", "first", cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def meta(exp: Experiment) -> dict:
    return json.loads((Path(exp.log_dir) / "meta.experiment").read_text())


def test_tag_commit_branch_and_dirty_state(repo):
    exp = Experiment(
        save_dir=repo / "logs", name="mnist conv", create_git_tag=True, description="baseline"
    )
    exp.close()
    head = git("rev-parse", "HEAD", cwd=repo)
    assert git("rev-parse", "petri_mnist_conv_v0^{commit}", cwd=repo) == head
    assert "baseline" in git("tag", "-n1", "petri_mnist_conv_v0", cwd=repo)
    recorded = meta(exp)
    assert recorded["git"] == {"commit": head, "branch": "main", "dirty": False}
    assert recorded["git_tag"] == "petri_mnist_conv_v0"
    (repo / "train.py").write_text("print('changed')\n")
    second = Experiment(save_dir=repo / "logs", name="mnist conv")
    second.close()
    assert meta(second)["git"]["dirty"] is True and meta(second)["git_tag"] is None


def test_outside_a_git_tree_warns_and_continues(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    with pytest.warns(RuntimeWarning, match="not a git work tree"):
        exp = Experiment(save_dir=tmp_path / "logs", create_git_tag=True, autosave=True)
    exp.log({"loss": 1.0})
    exp.close()
    assert meta(exp)["git"] is None and meta(exp)["status"] == "finished"


def test_an_existing_tag_warns(repo):
    Experiment(save_dir=repo / "logs", name="dup", create_git_tag=True).close()
    git("tag", "petri_dup_v1", cwd=repo)
    with pytest.warns(RuntimeWarning, match="could not create tag"):
        exp = Experiment(save_dir=repo / "logs", name="dup", create_git_tag=True)
    exp.close()
    assert exp.version == 1
