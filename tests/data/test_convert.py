"""``petri convert`` (issue #16, item 4): image folders, CSV files and numpy arrays become
sharded records that train as the Python path does; bad input is named and leaves nothing."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from petri.data import TFRecordPipeline
from petri.data.convert import convert_numpy, parse_split

ROOT = Path(__file__).resolve().parents[2]
LENET = yaml.safe_load((ROOT / "examples/configs/lenet_digits.yaml").read_text())


def _petri(*args: Any, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "petri", *(str(a) for a in args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd)


def _digit_pngs(folder: Path, limit: int | None = None) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for index, (image, label) in enumerate(zip(digits.images[:limit], digits.target[:limit])):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        pixels = np.round(image / 16 * 255).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(folder / str(label) / f"{index:04d}.png")


def _read(folder: Path, split: str, label: str | None = "y") -> tuple[np.ndarray, np.ndarray]:
    pipeline = TFRecordPipeline(
        {
            "batch_size": 10_000,
            "num_epochs": 1,
            "params": {
                "data_files": f"{folder}/*_{split}-*",
                "meta_data_file": f"{folder}/meta_data.json",
                "label_feature": label,
            },
        }
    )
    features, labels = next(pipeline())
    return features["x"].numpy(), labels.numpy()


def _nothing_left(out: Path) -> bool:
    return not out.exists() and not list(out.parent.glob(f".{out.name}.*"))


@pytest.mark.slow
def test_converted_png_folders_train_as_the_python_path(tmp_path: Path) -> None:
    _digit_pngs(tmp_path / "png")
    done = _petri("convert", "images", tmp_path / "png", tmp_path / "records", "--shards", 2)
    assert done.returncode == 0, done.stderr
    assert "train 1438, eval 359" in done.stdout
    assert len(list((tmp_path / "records").glob("png_train-*.tfrecord"))) == 2
    config = copy.deepcopy(LENET)
    config.update(name="lenet_png", export_strategies=None)
    for key, split in (("train_input_data_config", "train"), ("eval_input_data_config", "eval")):
        pipeline = {k: v for k, v in config[key]["pipeline_config"].items() if k != "params"}
        pipeline.update(
            module="TFRecordImagePipeline",
            params={
                "data_files": str(tmp_path / "records" / f"png_{split}-*"),
                "meta_data_file": str(tmp_path / "records" / "meta_data.json"),
            },
        )
        config[key] = {"pipeline_config": pipeline}
    (tmp_path / "png.yaml").write_text(yaml.safe_dump(config))
    from_records = _accuracy(_petri("run", tmp_path / "png.yaml", "--output-dir", tmp_path / "a"))
    lenet = ROOT / "examples/configs/lenet_digits.yaml"
    no_export = ("--set", "export_strategies=null")
    python_path = _accuracy(_petri("run", lenet, *no_export, "--output-dir", tmp_path / "b"))
    assert from_records >= 0.97 and python_path >= 0.97, (from_records, python_path)
    assert abs(from_records - python_path) <= 0.02, (from_records, python_path)


def _accuracy(done: subprocess.CompletedProcess[str]) -> float:
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if "streaming_accuracy" in line)
    return float(line.split()[-1])


def test_csv_and_numpy_round_trip_through_the_records(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3)).astype(np.float32)
    names = np.array(["setosa", "versicolor", "virginica"])[rng.integers(0, 3, 50)]
    lines = ["a,b,species,c"] + [
        f"{a!r},{b!r},{n},{c!r}" for (a, b, c), n in zip(x.tolist(), names)
    ]
    (tmp_path / "flowers.csv").write_text("\n".join(lines) + "\n")
    done = _petri("convert", "csv", tmp_path / "flowers.csv", tmp_path / "csv",
                  "--label", "species", "--split", "train=0.6,eval=0.4", "--seed", 3)  # fmt: skip
    assert done.returncode == 0, done.stderr
    meta = yaml.safe_load((tmp_path / "csv" / "meta_data.json").read_text())
    assert meta["feature_names"] == ["a", "b", "c"] and meta["num_samples"] == {
        "train": 30,
        "eval": 20,
    }
    assert meta["classes"] == ["setosa", "versicolor", "virginica"]
    rows = {(*r, n) for r, n in zip(x.tolist(), names)}
    read = set()
    for split in ("train", "eval"):
        features, labels = _read(tmp_path / "csv", split)
        read |= {(*f, meta["classes"][int(y)]) for f, y in zip(features.tolist(), labels)}
    assert read == rows  # every row once, values exact

    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.arange(50))
    done = _petri("convert", "numpy", tmp_path / "x.npy", tmp_path / "y.npy", tmp_path / "np",
                  "--shards", 3)  # fmt: skip
    assert done.returncode == 0, done.stderr
    train_x, train_y = _read(tmp_path / "np", "train")
    eval_y = _read(tmp_path / "np", "eval")[1]
    assert (len(train_y), len(eval_y)) == (40, 10)
    assert sorted(np.concatenate([train_y, eval_y]).tolist()) == list(range(50))
    np.testing.assert_array_equal(train_x, x[train_y])
    again = convert_numpy(
        x, np.arange(50), tmp_path / "np2", 3, seed=0
    )  # the Python API, same split
    assert again["num_samples"] == {"train": 40, "eval": 10}
    np.testing.assert_array_equal(_read(tmp_path / "np2", "eval")[1], eval_y)


def _broken_png(folder: Path) -> None:
    _digit_pngs(folder, limit=30)
    (folder / "3" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")


def _unequal_arrays(source: Path) -> None:
    np.save(source.with_suffix(".x.npy"), np.zeros((4, 2)))
    np.save(source.with_suffix(".y.npy"), np.zeros(3))


def _csv(text: str) -> Any:
    return lambda path: path.write_text(text)


_IMAGES = ["images", "{in}"]
_BAD = {
    "no class folders": (lambda d: d.mkdir(), _IMAGES, "has no class sub-folders"),
    "no images": (lambda d: (d / "cats").mkdir(parents=True), _IMAGES, "no image in them"),
    "unreadable image": (_broken_png, _IMAGES, r"broken.png' is not an image Pillow can read"),
    "missing folder": (lambda d: None, _IMAGES, "does not exist"),
    "label column": (
        _csv("size,colour\n1,2\n"),
        ["csv", "{in}", "--label", "color"],
        "label column 'color' is not in .* Did you mean 'colour'",
    ),
    "text feature": (
        _csv("size,label\nbig,1\n2,0\n"),
        ["csv", "{in}", "--label", "label"],
        r"line 2, column 'size': 'big' is not a number",
    ),
    "split sum": (_digit_pngs, [*_IMAGES, "--split", "train=0.8,eval=0.3"], "add up to 1.1"),
    "split form": (_digit_pngs, [*_IMAGES, "--split", "train:0.8"], "is not name=fraction"),
    "x and y lengths": (_unequal_arrays, ["numpy", "{x}", "{y}"], "x has 4 examples but y has 3"),
}


@pytest.mark.parametrize("case", sorted(_BAD))
def test_bad_input_is_named_and_leaves_nothing(tmp_path: Path, case: str) -> None:
    make, args, message = _BAD[case]
    source = tmp_path / ("data.csv" if args[0] == "csv" else "data")
    make(source)
    x, y = source.with_suffix(".x.npy"), source.with_suffix(".y.npy")
    argv = [a.format(**{"in": source, "x": x, "y": y}) for a in args]
    out = tmp_path / "out"
    done = _petri("convert", *argv, out)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "petri: error:" in done.stderr and "Traceback" not in done.stderr
    assert re.search(message, done.stderr), done.stderr
    assert _nothing_left(out)


def test_an_existing_output_is_refused_and_kept(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((10, 2)))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    done = _petri("convert", "numpy", tmp_path / "x.npy", out)
    assert done.returncode == 2 and "already exists and is not an empty folder" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    with pytest.raises(ValueError, match="must add up to 1"):
        parse_split("train=0.5,eval=0.4")
