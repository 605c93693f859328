"""A damaged file of one run is reported by name and never breaks reading the others
(issue #11 item 6, for meta_tags.csv)."""

from __future__ import annotations

from pathlib import Path

import pytest

from petri.tracking import Experiment, RunFileError, list_runs, load


def test_a_bad_byte_in_meta_tags_is_named_and_the_listing_goes_on(
    tmp_path: Path, petri_cli
) -> None:
    for index in range(2):
        with Experiment(save_dir=tmp_path, name=f"run{index}", autosave=True) as run:
            run.tag({"lr": 0.1 * (index + 1)})
            run.log({"loss": 1.0}, global_step=1)
    tags = tmp_path / "run0" / "version_0" / "meta_tags.csv"
    tags.write_bytes(tags.read_bytes() + b"note,\xff\xfe,str\n")
    with pytest.raises(RunFileError, match=r"meta_tags\.csv is damaged: not UTF-8 text at byte"):
        load(tmp_path / "run0" / "version_0")
    statuses = {run.name: run.status for run in list_runs(tmp_path)}
    assert statuses == {"run0": "damaged", "run1": "finished"}
    listing = petri_cli("ls", tmp_path)
    assert listing.exit_code == 0 and "damaged" in listing.stdout and "run1" in listing.stdout
    shown = petri_cli("show", "run0", "--save-dir", tmp_path)  # shown as damaged, with why
    assert shown.exit_code == 0 and "meta_tags.csv is damaged" in shown.stdout


# --- seeded random damage to every file a run or a dataset keeps (issue #11, suite item b) ---
import os  # noqa: E402
import random  # noqa: E402
import zlib  # noqa: E402

import numpy as np  # noqa: E402

from petri.errors import PetriError  # noqa: E402

CASES_PER_FILE = 24


def _damages(original: bytes, seed: int) -> list[tuple[str, bytes]]:
    """Bit flips, truncations, an emptied file, garbage and an inserted line."""
    rng = random.Random(seed)
    cases: list[tuple[str, bytes]] = [("empty", b""), ("garbage", bytes(rng.randbytes(64)))]
    while len(cases) < CASES_PER_FILE:
        data = bytearray(original)
        if len(cases) % 2:
            position = rng.randrange(len(data))
            data[position] ^= 1 << rng.randrange(8)
            cases.append((f"flip@{position}", bytes(data)))
        else:
            cut = rng.randrange(len(data))
            cases.append((f"cut@{cut}", bytes(data[:cut])))
    return cases


def _names_the_file(error: BaseException, name: str) -> bool:
    return isinstance(error, PetriError) and name in str(error)


def _make_run(save_dir: Path) -> Path:
    with Experiment(save_dir=save_dir, name="victim", version=0, autosave=True) as run:
        run.tag({"lr": 0.1, "layers": 3, "note": "a,b"})
        for step in range(1, 41):
            run.log({"loss": 1.0 / step, "accuracy": step / 40}, global_step=step)
    return save_dir / "victim" / "version_0"


@pytest.mark.parametrize("name", ["metrics.csv", "meta_tags.csv", "meta.experiment"])
def test_random_damage_to_a_run_file_is_named_or_harmless(
    tmp_path: Path, name: str, petri_cli, reliability_report
) -> None:
    run_dir = _make_run(tmp_path)
    target = run_dir / name
    original = target.read_bytes()
    intact_rows = load(run_dir).metrics
    raw: list[str] = []
    seed = int(os.environ.get("PETRI_DAMAGE_SEED", "0")) + zlib.crc32(name.encode())
    for label, damaged in _damages(original, seed=seed):
        target.write_bytes(damaged)
        try:  # reading: the run, its rows and tags
            run = load(run_dir)
            rows, _ = run.metrics, run.tags
            if name == "metrics.csv" and label.startswith("cut"):
                assert rows == intact_rows[: len(rows)], label  # a prefix, nothing garbled
        except Exception as error:
            if not _names_the_file(error, name):
                raw.append(f"{label}: {type(error).__name__}: {error}")
        listing = petri_cli("ls", tmp_path)  # the listing never breaks
        assert listing.exit_code == 0, (label, listing.stderr)
        shown = petri_cli("show", "victim", "--save-dir", tmp_path)
        assert shown.exit_code in (0, 2) and "Traceback" not in shown.stderr, label
        try:  # resuming the run as its writer
            with Experiment(save_dir=tmp_path, name="victim", version=0, autosave=True) as again:
                again.log({"loss": 0.5}, global_step=41)
        except Exception as error:
            if not _names_the_file(error, name):
                raw.append(f"resume {label}: {type(error).__name__}: {error}")
            elif name == "meta.experiment":
                assert target.read_bytes() == damaged  # refused, not silently rewritten
        target.write_bytes(original)
        (run_dir / "metrics.csv").write_bytes((run_dir / "metrics.csv").read_bytes())
    leftovers = [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]
    reliability_report.add("damaged files tried", CASES_PER_FILE)
    reliability_report.add("raw exceptions", len(raw))
    reliability_report.add("leaked temp files", len(leftovers))
    assert not raw, raw
    assert not leftovers


def test_random_damage_to_a_dataset_is_named_or_harmless(
    tmp_path: Path, reliability_report
) -> None:
    from petri.data import write_records
    from petri.data.pipelines import TFRecordPipeline

    x = np.arange(400, dtype=np.float64).reshape(200, 2)
    write_records({"x": x, "label": np.arange(200) % 3}, tmp_path, "toy_train", 4)
    pipeline = {
        "batch_size": 50,
        "params": {
            "data_files": str(tmp_path / "toy_train-*"),
            "meta_data_file": str(tmp_path / "meta_data.json"),
        },
    }
    raw, tried = [], 0
    for name in ("meta_data.json", "toy_train-00001-of-00004.tfrecord"):
        target = tmp_path / name
        original = target.read_bytes()
        seed = int(os.environ.get("PETRI_DAMAGE_SEED", "0")) + len(name)
        for label, damaged in _damages(original, seed=seed):
            target.write_bytes(damaged)
            tried += 1
            try:
                rows = sum(len(labels) for _, labels in TFRecordPipeline(pipeline)())
                assert rows == 200, f"{name} {label}: trained on {rows} of 200 examples"
            except AssertionError:
                raise
            except Exception as error:
                if not _names_the_file(error, name):
                    raw.append(f"{name} {label}: {type(error).__name__}: {error}")
            target.write_bytes(original)
    reliability_report.add("damaged files tried", tried)
    reliability_report.add("raw exceptions", len(raw))
    assert not raw, raw


def test_a_damaged_config_yaml_stops_a_resume_by_name(tmp_path: Path) -> None:
    from petri.errors import ConfigError
    from petri.experiments import create_experiment

    x = np.random.default_rng(0).standard_normal((32, 3)).astype(np.float32)
    config = {
        "name": "mlp", "output_dir": str(tmp_path), "version": 0, "train_steps": 2,
        "run_config": {"verbose": False},
        "train_input_data_config": {"x": x, "y": (x[:, 0] > 0).astype(np.int64)},
        "model_config": {"n_classes": 2,
                         "graph_config": {"definition": [["FullyConnected", {"num_units": 2}]]}},
    }  # fmt: skip
    create_experiment(config).train()
    path = tmp_path / "mlp" / "version_0" / "config.yaml"
    path.write_bytes(b"name: [unclosed\n\xff")
    with pytest.raises(ConfigError, match=r"config\.yaml is damaged"):
        create_experiment(config)
