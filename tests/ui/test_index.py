"""The dashboard's run index and path guard, without a browser: a refresh re-reads only the
runs whose files changed, finds new and removed runs, and views follow the change; no path
from a URL leaves the folder it names."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("starlette")

from petri.tracking import Experiment
from petri.ui import _index
from petri.ui._index import RunIndex
from petri.ui._paths import inside


def _run(root: Path, name: str, rate: float, rows: int = 3) -> Experiment:
    run = Experiment(save_dir=root, name=name)
    run.tag({"learning_rate": rate})
    for step in range(rows):
        run.log({"loss": 1.0 / (step + 1)}, global_step=step)
    return run


def test_a_refresh_rereads_only_changed_runs_and_finds_new_and_removed_ones(tmp_path, monkeypatch):
    root = tmp_path / "logs"
    _run(root, "a", 0.1).close()
    b = _run(root, "b", 0.01)
    b.close()
    index = RunIndex(str(root))
    index.refresh(force=True)
    assert [(i.run.name, i.run.version) for i in index.runs()] == [("a", 0), ("b", 0)]
    assert [i.run.name for i in index.view("learning_rate<0.05", "created", True)] == ["b"]

    reads: list[str] = []
    real_read = _index._read
    monkeypatch.setattr(
        _index, "_read", lambda path, stamp: reads.append(path) or real_read(path, stamp)
    )
    index.refresh(force=True)
    assert reads == []  # nothing changed, nothing read

    metrics = Path(b.log_dir) / "metrics.csv"
    header = metrics.read_text().splitlines()[0].split(",")
    row = {"global_step": "10", "loss": "0.1", "created_at": "2026-01-01 00:00:00.000"}
    with metrics.open("a") as file:  # a row as the writer appends it
        file.write(",".join(row.get(key, "") for key in header) + "\n")
    index.refresh(force=True)
    assert reads == [b.log_dir]
    assert index.find("b", 0).run.last_step == 10

    _run(root, "c", 0.001).close()
    assert index.find("c", 0) is not None  # a miss rescans at once
    assert [i.run.name for i in index.view("learning_rate<0.05", "created", True)] == ["c", "b"]


def test_a_bad_filter_is_a_value_error(tmp_path):
    index = RunIndex(str(tmp_path))
    index.refresh(force=True)
    with pytest.raises(ValueError, match="Bad filter"):
        index.view("no operator here", "created", True)


@pytest.mark.parametrize(
    "relative", ["..", "../meta.experiment", "a/../../x", "/etc/passwd", "", "x\x00y", "out"]
)
def test_paths_outside_the_folder_are_refused(tmp_path, relative):
    folder = tmp_path / "media"
    folder.mkdir()
    (tmp_path / "outside").mkdir()
    (folder / "out").symlink_to(tmp_path / "outside")
    assert inside(folder, relative) is None


def test_paths_inside_the_folder_resolve(tmp_path):
    (tmp_path / "img_3.png").write_bytes(b"")
    assert inside(tmp_path, "img_3.png") == (tmp_path / "img_3.png").resolve()
    assert inside(tmp_path, "sub/../img_3.png") == (tmp_path / "img_3.png").resolve()
