"""The run log's files and behaviour: layout, values, autosave, debug, rank, resume, tags."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from petri.tracking import Experiment, load


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def test_layout_and_meta(tmp_path):
    exp = Experiment(save_dir=tmp_path, name="m", description="first try", autosave=True)
    exp.tag({"lr": 0.1})
    exp.log({"loss": 0.5}, global_step=3)
    exp.close()
    run_dir = tmp_path / "m" / "version_0"
    assert exp.log_dir == str(run_dir)
    assert exp.get_data_path("m", 0) == str(run_dir)
    assert exp.get_media_path("m", 0) == str(run_dir / "media")
    assert exp.get_tensorboard_path() == str(run_dir / "tf")
    meta = json.loads((run_dir / "meta.experiment").read_text())
    assert meta["name"] == "m" and meta["version"] == 0 and meta["exp_hash"] == "m_v0"
    assert meta["description"] == "first try" and meta["autosave"] is True
    assert meta["metrics_path"] == str(run_dir / "metrics.csv")
    assert meta["tags_path"] == str(run_dir / "meta_tags.csv")
    assert meta["status"] == "finished" and meta["pid"] == os.getpid()
    assert any(p.name.startswith("events.out.tfevents.") for p in (run_dir / "tf").iterdir())
    assert str(exp) == "Exp: m, v: 0"


def test_save_dir_none_is_petri_logs_in_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exp = Experiment()
    exp.close()
    assert Path(exp.log_dir) == tmp_path / "petri_logs" / "default" / "version_0"


def test_metrics_columns_values_and_flattening(tmp_path):
    exp = Experiment(save_dir=tmp_path, name="v", autosave=True)
    exp.log({"a": 1, "f32": np.float32(0.5), "f64": np.float64(0.25), "i64": np.int64(7)})
    exp.log({"t0": torch.tensor(1.5), "t1": torch.tensor([2.5]), "b": True})
    exp.log({"nested": {"x": 1.0, "deeper": {"y": 2.0}}, "text": 'hello, "world"\nbye'})
    exp.log({"none": None, "list": [1, 2], "obj": object.__name__, "arr": np.arange(3)})
    exp.close()
    header = (Path(exp.log_dir) / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header[:5] == ["a", "f32", "f64", "i64", "created_at"]
    assert {"t0", "t1", "b", "nested/x", "nested/deeper/y", "text", "list", "arr"} <= set(header)
    assert "none" not in header
    rows = load(exp.log_dir).metrics
    assert rows[0]["a"] == 1 and rows[0]["f32"] == 0.5 and rows[0]["i64"] == 7
    assert isinstance(rows[0]["f32"], float) and isinstance(exp.metrics[0]["f32"], float)
    assert rows[1]["t0"] == 1.5 and rows[1]["t1"] == 2.5 and rows[1]["b"] is True
    assert rows[2]["nested/x"] == 1.0 and rows[2]["nested/deeper/y"] == 2.0
    assert rows[2]["text"] == 'hello, "world"\nbye'
    assert rows[3]["list"] == "[1, 2]" and rows[3]["arr"] == "[0, 1, 2]"
    assert all("created_at" in row for row in rows)


def test_log_rejects_non_mapping_with_a_useful_message(tmp_path):
    exp = Experiment(save_dir=tmp_path, debug=True)
    with pytest.raises(TypeError, match=r"expected a dict .* received list"):
        exp.log([("loss", 1.0)])
    with pytest.raises(ValueError, match="path separator"):
        Experiment(save_dir=tmp_path, name="a/b")
    with pytest.raises(ValueError, match="version >= 0"):
        Experiment(save_dir=tmp_path, version=-1)


def test_caller_dict_is_not_modified(tmp_path):
    exp = Experiment(save_dir=tmp_path, autosave=True)
    row = {"loss": 1.0}
    exp.log(row)
    exp.close()
    assert row == {"loss": 1.0}


def test_autosave_appends_rows_without_rewriting(tmp_path):
    exp = Experiment(save_dir=tmp_path, name="a", autosave=True)
    path = Path(exp.log_dir) / "metrics.csv"
    exp.log({"loss": 1.0}, global_step=0)
    inode = path.stat().st_ino
    sizes = []
    for step in range(1, 5):
        exp.log({"loss": 1.0 / (step + 1)}, global_step=step)
        exp.flush()  # queued rows are written within 0.2 s anyway; flush() writes them now
        sizes.append(path.stat().st_size)
        assert len(read_rows(path)) == step + 1  # durable before close()
    assert path.stat().st_ino == inode  # appended, never rewritten
    line = len("4,0.2,") + len(exp.metrics[-1]["created_at"]) + 1
    assert sizes[-1] - sizes[-2] == line
    exp.log({"loss": 0.1, "acc": 0.9}, global_step=5)  # a new column: one atomic rewrite
    assert read_rows(path)[-1]["acc"] == "0.9" and read_rows(path)[0]["acc"] == ""
    exp.tag({"lr": 0.1})
    assert (Path(exp.log_dir) / "meta_tags.csv").is_file()
    exp.close()


def test_autosave_off_writes_nothing_until_save(tmp_path):
    exp = Experiment(save_dir=tmp_path, name="n", autosave=False)
    exp.tag({"lr": 0.1})
    for step in range(3):
        exp.log({"loss": float(step)}, global_step=step)
    exp.log({"img_png": np.zeros((4, 4, 3), np.uint8)})
    run_dir = Path(exp.log_dir)
    assert {p.name for p in files_under(run_dir)} == {
        "meta.experiment",
        ".lock",
    }  # + the writer lock
    exp.save()
    assert len(read_rows(run_dir / "metrics.csv")) == 4
    assert (run_dir / "meta_tags.csv").is_file() and (run_dir / "media/img_png_3.png").is_file()
    exp.log({"loss": 9.0})
    assert len(read_rows(run_dir / "metrics.csv")) == 4
    exp.close()
    assert len(read_rows(run_dir / "metrics.csv")) == 5


def test_switching_autosave_on_saves_waiting_rows(tmp_path):
    exp = Experiment(save_dir=tmp_path, autosave=False)
    exp.log({"loss": 1.0})
    exp.autosave = True
    exp.log({"loss": 2.0})
    assert len(read_rows(Path(exp.log_dir) / "metrics.csv")) == 2
    exp.close()
    assert len(load(exp.log_dir).metrics) == 2


@pytest.mark.parametrize("kwargs", [{"debug": True}, {"rank": 1}])
def test_debug_and_rank_above_zero_write_nothing(tmp_path, kwargs):
    with Experiment(save_dir=tmp_path, name="quiet", autosave=True, **kwargs) as exp:
        exp.tag({"lr": 0.1})
        exp.argparse(type("Namespace", (), {"x": 1})())
        exp.log({"loss": 1.0, "img_png": np.zeros((4, 4), np.uint8)}, global_step=1)
        exp.add_scalar("s", 1.0, 1)
        exp.add_histogram("h", np.arange(10), 1)
        exp.add_image("i", np.zeros((4, 4)), 1)
        exp.add_text("t", "x", 1)
        exp.save()
        exp.flush()
    exp.close()
    exp.close()
    assert files_under(tmp_path) == []
    assert exp.metrics[0]["loss"] == 1.0 and exp.tags["lr"] == 0.1
    assert exp.get_data_path("quiet", exp.version).endswith("version_0")


def test_resume_reloads_typed_tags_and_metrics_and_appends(tmp_path):
    tags = {
        "int": 8,
        "float": 0.5,
        "str_number": "8",
        "bool": True,
        "none": None,
        "list": [1, 2.5, "x"],
        "dict": {"a": 1},
        "numpy": np.float32(0.25),
        "text": 'a, b "c"',
    }
    with Experiment(save_dir=tmp_path, name="r", autosave=True) as exp:
        exp.tag(tags)
        exp.log({"loss": 1.0, "note": "x"}, global_step=1)
        exp.log({"loss": 0.5}, global_step=2)
    resumed = Experiment(save_dir=tmp_path, name="r", version=0, autosave=True)
    assert resumed.tags == {
        "int": 8,
        "float": 0.5,
        "str_number": "8",
        "bool": True,
        "none": None,
        "list": [1, 2.5, "x"],
        "dict/a": 1,
        "numpy": 0.25,
        "text": 'a, b "c"',
    }
    assert type(resumed.tags["int"]) is int and type(resumed.tags["str_number"]) is str
    assert resumed.metrics[0]["global_step"] == 1 and resumed.metrics[0]["note"] == "x"
    assert resumed.metrics[1] == {**resumed.metrics[1], "global_step": 2, "loss": 0.5}
    resumed.log({"loss": 0.25}, global_step=3)
    resumed.close()
    assert [r["global_step"] for r in load(exp.log_dir).metrics] == [1, 2, 3]
    assert Experiment(save_dir=tmp_path, name="r", debug=True).version == 0


def test_test_tube_files_without_type_column_load(tmp_path):
    run_dir = tmp_path / "old" / "version_0"
    run_dir.mkdir(parents=True)
    (run_dir / "meta_tags.csv").write_text("key,value\nlr,0.01\nlayers,2\nname,conv\n")
    (run_dir / "metrics.csv").write_text("loss,created_at\n0.5,2020-01-01 00:00:00.000001\n")
    (run_dir / "meta.experiment").write_text('{"name": "old", "version": 0}')
    run = load(run_dir)
    assert run.tags == {"lr": 0.01, "layers": 2, "name": "conv"} and run.status == "unknown"
    assert run.metrics == [{"loss": 0.5, "created_at": "2020-01-01 00:00:00.000001"}]


def test_context_manager_marks_crashed_on_error(tmp_path):
    with pytest.raises(RuntimeError), Experiment(save_dir=tmp_path, autosave=True) as exp:
        exp.log({"loss": 1.0})
        raise RuntimeError("boom")
    run = load(exp.log_dir)
    assert run.status == "crashed" and run.meta["error"] == "RuntimeError: boom"
    assert len(run.metrics) == 1


def test_tensorboard_only_writers_and_reopen_after_close(tmp_path):
    exp = Experiment(save_dir=tmp_path, autosave=True)
    exp.log({"loss": 1.0}, global_step=0)
    exp.close()
    assert load(exp.log_dir).status == "finished"
    exp.log({"loss": 0.5}, global_step=1)  # reopens the run
    assert load(exp.log_dir).status == "running"
    exp.close()
    assert [r["loss"] for r in load(exp.log_dir).metrics] == [1.0, 0.5]


def test_import_is_light():
    import subprocess
    import sys

    code = (
        "import sys, petri.tracking\n"
        "heavy = [m for m in ('numpy', 'torch', 'tensorboard', 'PIL', 'pydantic', 'yaml')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stderr
