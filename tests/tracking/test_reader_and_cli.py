"""Reading runs back (load, list_runs) and the ls / show / compare / tensorboard commands."""

from __future__ import annotations

import json
import socket
import sys
import time
import types
from pathlib import Path

import pytest

from petri.cli._report import ls_text
from petri.tracking import Experiment, list_runs, load


def make_runs(save_dir: Path) -> list[Experiment]:
    runs = []
    for lr, acc, fail in [(0.1, 0.91, False), (0.01, 0.95, False), (0.001, 0.5, True)]:
        exp = Experiment(save_dir=save_dir, name="mnist", autosave=True)
        exp.tag({"lr": lr, "layers": 2, "optimizer": "adam"})
        for step in range(1, 4):
            exp.log({"loss": 1.0 / step, "learning_rate": lr}, global_step=step * 10)
        exp.log({"eval/acc": acc, "eval/loss": 1 - acc}, global_step=30)
        exp.close("crashed" if fail else "finished")
        runs.append(exp)
    other = Experiment(save_dir=save_dir, name="cifar", autosave=True)
    other.log({"loss": 2.0}, global_step=5)
    other.close()
    return [*runs, other]


def test_load_and_list_runs(tmp_path):
    made = make_runs(tmp_path)
    runs = list_runs(tmp_path)
    assert [(r.name, r.version) for r in runs] == [
        ("cifar", 0),
        ("mnist", 0),
        ("mnist", 1),
        ("mnist", 2),
    ]
    run = load(made[1].log_dir)
    assert run.tags == {"lr": 0.01, "layers": 2, "optimizer": "adam"}
    assert run.final["eval/acc"] == 0.95 and run.final["loss"] == pytest.approx(1 / 3)
    assert run.last_step == 30 and run.status == "finished"
    assert len(run.metrics) == 4 and run.metrics[0]["global_step"] == 10
    assert run.columns[:3] == ["global_step", "loss", "learning_rate"]
    assert [r.name for r in list_runs(tmp_path, name="cifar")] == ["cifar"]
    assert [r.version for r in list_runs(tmp_path / "mnist")] == [0, 1, 2]
    assert [r.version for r in list_runs(made[0].log_dir)] == [0]
    with pytest.raises(FileNotFoundError, match="list_runs"):
        load(tmp_path)


def test_dataframe_when_pandas_is_installed(tmp_path, monkeypatch):
    made = make_runs(tmp_path)
    try:
        import pandas
    except ImportError:  # stand in for pandas: check what Run.dataframe hands it
        pandas = types.ModuleType("pandas")
        pandas.DataFrame = lambda rows, columns: types.SimpleNamespace(
            rows=rows, columns=columns, __len__=None
        )
        monkeypatch.setitem(sys.modules, "pandas", pandas)
        frame = load(made[0].log_dir).dataframe
        assert len(frame.rows) == 4 and frame.columns[:2] == ["global_step", "loss"]
        monkeypatch.setitem(sys.modules, "pandas", None)
        with pytest.raises(ImportError, match="pip install pandas"):
            load(made[0].log_dir).dataframe  # noqa: B018
        return
    frame = load(made[0].log_dir).dataframe
    assert isinstance(frame, pandas.DataFrame) and len(frame) == 4
    assert list(frame.columns[:2]) == ["global_step", "loss"]


def test_ls_sort_filter_and_status(tmp_path):
    make_runs(tmp_path)
    text = ls_text(str(tmp_path), sort="-eval/acc")
    lines = text.splitlines()
    assert lines[0].split()[:5] == ["name", "version", "created", "status", "step"]
    assert "eval/acc" in lines[0] and "tags" in lines[0]
    body = [line.split() for line in lines[2:-2]]
    assert [row[:2] for row in body] == [
        ["mnist", "1"],
        ["mnist", "0"],
        ["mnist", "2"],
        ["cifar", "0"],
    ]
    assert body[2][4] == "crashed" and body[0][4] == "finished"
    assert "lr=0.01" in lines[2] and "optimizer" not in lines[2]  # only tags that differ
    filtered = ls_text(str(tmp_path), filters=["eval/acc>0.9", "status=finished"])
    assert filtered.count("mnist") == 2 and "2 runs" in filtered
    assert "No runs matching" in ls_text(str(tmp_path), filters=["lr>1"])
    with pytest.raises(ValueError, match="KEY OP VALUE"):
        ls_text(str(tmp_path), filters=["acc"])


def test_cli_ls_show_compare_tensorboard(petri_cli, tmp_path):
    made = make_runs(tmp_path)
    listing = petri_cli("ls", tmp_path, "--filter", "lr<0.05", "--sort", "version")
    assert listing.exit_code == 0, listing.stderr
    assert "mnist" in listing.stdout and "2 runs" in listing.stdout
    shown = petri_cli("show", "mnist:1", "--save-dir", tmp_path)
    assert shown.exit_code == 0, shown.stderr
    for fragment in ("status       finished", "lr", "0.01", "eval/acc", "metrics.csv", "tf/"):
        assert fragment in shown.stdout
    by_path = petri_cli("show", made[2].log_dir)
    assert "crashed" in by_path.stdout
    compared = petri_cli("compare", "mnist:0", "mnist/version_1", "--save-dir", tmp_path)
    assert compared.exit_code == 0, compared.stderr
    lines = compared.stdout.splitlines()
    assert any(line.split()[:3] == ["lr", "0.1", "0.01"] for line in lines)
    assert not any(line.strip().startswith("optimizer") for line in lines)
    assert any(line.split()[:3] == ["eval/acc", "0.91", "0.95"] for line in lines)
    missing = petri_cli("show", "nope", "--save-dir", tmp_path)
    assert missing.exit_code == 2 and "petri ls" in missing.stderr
    board = petri_cli("tensorboard", tmp_path, "--dry-run", "--port", "6007")
    assert board.exit_code == 0 and "--logdir" in board.stdout and "6007" in board.stdout


def _write_run(root: Path, index: int, host: str) -> None:
    run_dir = root / f"exp{index % 20}" / f"version_{index // 20}"
    run_dir.mkdir(parents=True)
    meta = {
        "name": f"exp{index % 20}",
        "version": index // 20,
        "autosave": True,
        "created_at": "2026-01-01 00:00:00.000",
        "exp_hash": f"exp{index % 20}_v{index // 20}",
        "status": ("finished", "running", "crashed")[index % 3],
        "host": host,
        "pid": 1,
        "pid_start": 0,
        "heartbeat": time.time(),
    }
    (run_dir / "meta.experiment").write_text(json.dumps(meta))
    (run_dir / "meta_tags.csv").write_text(
        f"key,value,type\nlr,{0.001 * (index % 7 + 1)},float\nlayers,{index % 4},int\n"
    )
    lines = ["global_step,loss,eval/acc,created_at"] + [
        f"{step},{1 / (step + 1)},{index / 1000},2026-01-01 00:00:00.000" for step in range(200)
    ]
    (run_dir / "metrics.csv").write_text("\n".join(lines) + "\n")


def test_ls_over_a_thousand_runs(petri_cli, tmp_path):
    # How fast this answers is bench/'s to measure; here, that it answers right.
    host = socket.gethostname()
    for index in range(1000):
        _write_run(tmp_path, index, host)
    text = ls_text(str(tmp_path), sort="-eval/acc")
    assert "1000 runs" in text
    rows = [line.split() for line in text.splitlines()[2:-2]]
    assert rows[0][:2] == ["exp19", "49"] and rows[-1][:2] == ["exp0", "0"]
    result = petri_cli("ls", tmp_path, "--filter", "eval/acc>0.5")
    assert result.exit_code == 0 and "499 runs" in result.stdout, result.stderr


def test_ls_takes_tags_as_columns_and_never_cuts_a_differing_tag(tmp_path):
    values = [f"a-long-value-that-differs-between-runs-number-{i}" for i in range(2)]
    for index, value in enumerate(values):
        with Experiment(save_dir=tmp_path, name="wide", autosave=True) as exp:
            exp.tag({"lr": 0.1 * (index + 1), "note": value, "other": f"x{index}" * 20})
            exp.log({"eval/acc": 0.5 + index / 10}, global_step=1)
    text = ls_text(str(tmp_path), metrics=["lr", "eval/acc"], width=80)
    header = text.splitlines()[0].split()
    assert header[5:8] == ["lr", "eval/acc", "tags"]
    assert "0.2" in text and "0.6" in text
    flat = "".join(text.split())  # folded lines joined: every value is whole
    for index, value in enumerate(values):
        assert f"note={value}" in flat and f"other={f'x{index}' * 20}" in flat
    assert "..." not in text and "lr=" not in text  # a tag shown as a column is not repeated


def test_ls_folds_a_narrow_tags_column_between_tags_and_key_path_parts(tmp_path):
    for rate in (0.001, 0.002):
        with Experiment(save_dir=tmp_path, name="narrow", autosave=True) as exp:
            exp.tag({"model_config/optimizer_config/learning_rate": rate, "run_config/seed": 1})
            exp.tag({"run_config/verbose": rate > 0.001})
            exp.log({"eval/acc": 0.5}, global_step=1)
    text = ls_text(str(tmp_path), width=90)
    pieces = [line.split()[-1] for line in text.splitlines()[2:-2] if line.strip()]
    # whole tags, or a key path cut after its "/": never inside a word
    assert "model_config/" in pieces and "optimizer_config/" in pieces, text
    assert "learning_rate=0.002" in pieces and "run_config/verbose=True" in pieces, text


def test_ls_key_metric_of_an_rl_run_is_its_return(tmp_path):
    with Experiment(save_dir=tmp_path, name="dqn", autosave=True) as exp:
        exp.log({"episode/return": 12.0, "episode/length": 12, "losses/td_loss": 0.1}, 12)
        exp.log(
            {
                "eval/return_mean": 9.2,
                "eval/return_min": 8.0,
                "eval/return_max": 10.0,
                "eval/length_mean": 9.2,
                "eval/episodes": 20,
            },
            global_step=600,
        )
    header = ls_text(str(tmp_path)).splitlines()[0].split()
    assert header[5] == "eval/return_mean" and "eval/episodes" not in header
