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

from petri.data import TFRecordImagePipeline, TFRecordPipeline
from petri.data.convert import convert_csv, convert_images, convert_numpy, parse_split

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


def test_one_hot_text_columns_become_indicators_that_train(tmp_path: Path) -> None:
    """--one-hot: one indicator per category (sorted over the whole file, so both splits
    agree), named column=value; a classifier on the records learns a label the text decides."""
    rng = np.random.default_rng(1)
    colours = np.array(["red", "green", "blue"])[rng.integers(0, 3, 300)]
    noise = rng.normal(size=300)
    species = {"red": "fox", "green": "frog", "blue": "jay"}
    lines = ["noise,colour,animal"] + [
        f"{n!r},{c},{species[c]}" for n, c in zip(noise.tolist(), colours, strict=True)
    ]
    (tmp_path / "animals.csv").write_text("\n".join(lines) + "\n")
    done = _petri("convert", "csv", tmp_path / "animals.csv", tmp_path / "rec",
                  "--label", "animal", "--one-hot", "colour")  # fmt: skip
    assert done.returncode == 0, done.stderr
    meta = yaml.safe_load((tmp_path / "rec" / "meta_data.json").read_text())
    assert meta["feature_names"] == ["noise", "colour=blue", "colour=green", "colour=red"]
    assert meta["categories"] == {"colour": ["blue", "green", "red"]}
    assert meta["classes"] == ["fox", "frog", "jay"]
    read = set()
    for split in ("train", "eval"):
        features, labels = _read(tmp_path / "rec", split)
        assert set(features[:, 1:].sum(axis=1).tolist()) == {1.0}  # exactly one indicator
        read |= {
            (f[0], meta["categories"]["colour"][int(np.argmax(f[1:]))], meta["classes"][int(y)])
            for f, y in zip(features.tolist(), labels, strict=True)
        }
    written = {(np.float32(n).item(), c, species[c]) for n, c in zip(noise, colours, strict=True)}
    assert read == written

    config = {
        "name": "animals",
        "train_steps": 200,
        "eval_every_n_steps": 200,
        "eval_steps": None,
        "run_config": {"seed": 0, "verbose": False},
        "model_config": {
            "model_type": "classifier",
            "n_classes": 3,
            "optimizer_config": {"name": "adam", "learning_rate": 0.05},
            "eval_metrics_config": ["streaming_accuracy"],
            "graph_config": {"definition": [["FullyConnected", {"num_units": 3}]]},
        },
    }
    for key, split, epochs in (("train", "train", None), ("eval", "eval", 1)):
        config[f"{key}_input_data_config"] = {
            "pipeline_config": {
                "module": "TFRecordPipeline",
                "batch_size": 32,
                "num_epochs": epochs,
                "params": {
                    "data_files": f"{tmp_path}/rec/*_{split}-*",
                    "meta_data_file": f"{tmp_path}/rec/meta_data.json",
                },
            }
        }
    (tmp_path / "animals.yaml").write_text(yaml.safe_dump(config))
    done = _petri("run", tmp_path / "animals.yaml", "--save-dir", tmp_path / "runs")
    assert done.returncode == 0, done.stderr
    accuracy = re.search(r"streaming_accuracy\s+([0-9.]+)", done.stdout)
    assert accuracy and float(accuracy.group(1)) == 1.0, done.stdout  # the colour decides

    # with the label kept as a feature, the layer list is told which feature to read
    params = config["train_input_data_config"]["pipeline_config"]["params"]
    params["label_feature"] = None
    (tmp_path / "animals.yaml").write_text(yaml.safe_dump(config))
    done = _petri("run", tmp_path / "animals.yaml", "--save-dir", tmp_path / "runs2")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "features ['x', 'y'], and a layer list reads one tensor" in done.stderr
    assert "graph_config.features" in done.stderr and "label_feature" in done.stderr


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
        r"line 2, column 'size': 'big' is not a number .*--one-hot COLUMN",
    ),
    "one-hot column": (
        _csv("size,colour,label\n1,red,1\n2,blue,0\n"),
        ["csv", "{in}", "--label", "label", "--one-hot", "color"],
        "one_hot column 'color' is not in .* Did you mean 'colour'",
    ),
    "one-hot label": (
        _csv("size,label\n1,cat\n2,dog\n"),
        ["csv", "{in}", "--label", "label", "--one-hot", "label"],
        "'label' is the label; a text label becomes class indices by itself",
    ),
    "split sum": (_digit_pngs, [*_IMAGES, "--split", "train=0.8,eval=0.3"], "add up to 1.1"),
    "split form": (_digit_pngs, [*_IMAGES, "--split", "train:0.8"], "is not name=fraction"),
    "x and y lengths": (_unequal_arrays, ["numpy", "{x}", "{y}"], "x has 4 examples but y has 3"),
    "missing label": (
        _csv("size,label\n1,0\n2,\n3,1\n"),
        ["csv", "{in}", "--label", "label"],
        r"line 3, column 'label' \(the label\) has a missing value",
    ),
    "missing feature": (
        _csv("size,label\n1,0\nnan,1\n3,1\n"),
        ["csv", "{in}", "--label", "label"],
        r"line 3, column 'size' has a missing value \('nan'\)",
    ),
    "not utf-8": (
        lambda path: path.write_bytes("size,label\n1,caf\u00e9\n".encode("latin-1")),
        ["csv", "{in}", "--label", "label"],
        r"data.csv' is not UTF-8 text",
    ),
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


def test_spreadsheet_csvs_convert(tmp_path: Path) -> None:
    """A byte-order mark (Excel's UTF-8 CSV), a quoted header and blank lines."""
    text = '\ufeffsize,"weight, kg",label\n1,2.5,cat\n\n3,"4",dog\n5,6,cat\n7,8,dog\n\n'
    (tmp_path / "pets.csv").write_text(text, encoding="utf-8")
    meta = convert_csv(tmp_path / "pets.csv", tmp_path / "out", "label", split={"all": 1.0})
    assert meta["feature_names"] == ["size", "weight, kg"] and meta["classes"] == ["cat", "dog"]
    features, labels = _read(tmp_path / "out", "all")
    np.testing.assert_array_equal(features, [[1, 2.5], [3, 4], [5, 6], [7, 8]])
    np.testing.assert_array_equal(labels, [0, 1, 0, 1])


def test_an_interruption_while_writing_leaves_nothing(tmp_path: Path) -> None:
    """Ctrl-C (or a full disk) after the train split's shards were written: no OUT, no
    staging folder."""
    seen: list[str] = []

    def interrupt_eval(items: Any, total: int, what: str) -> Any:
        seen.append(what)
        if what.endswith("_eval"):
            staged = [p.name for p in tmp_path.glob(".out.*/*")]
            assert "data_train-00000-of-00002.tfrecord" in staged, staged
            raise KeyboardInterrupt
        return items

    with pytest.raises(KeyboardInterrupt):
        convert_numpy(np.zeros((20, 2)), np.arange(20), tmp_path / "out", 2,
                      progress=interrupt_eval)  # fmt: skip
    assert seen == ["writing data_train", "writing data_eval"]
    assert _nothing_left(tmp_path / "out")


def test_progress_follows_the_writing_and_out_is_readable(tmp_path: Path) -> None:
    steps: list[tuple[str, int, int]] = []

    def count(items: Any, total: int, what: str) -> Any:
        done = 0
        for item in items:
            yield item
            done += 1
        steps.append((what, total, done))

    convert_numpy(np.zeros((50, 2)), np.arange(50), tmp_path / "out", progress=count)
    assert steps == [("writing data_train", 40, 40), ("writing data_eval", 10, 10)]
    (tmp_path / "plain").mkdir()  # what a plain mkdir gives under this umask, not 0700
    assert (tmp_path / "out").stat().st_mode == (tmp_path / "plain").stat().st_mode


def test_palette_and_mixed_grey_and_colour_images_read_in_colour(tmp_path: Path) -> None:
    from PIL import Image

    red = np.zeros((6, 5, 3), np.uint8)
    red[..., 0] = 204  # a colour of the web palette convert("P") maps to
    (tmp_path / "png" / "red").mkdir(parents=True)
    (tmp_path / "png" / "grey").mkdir()
    for index in range(5):
        Image.fromarray(red).convert("P").save(tmp_path / "png" / "red" / f"{index}.png")
        grey = np.full((6, 5), 90, np.uint8)
        Image.fromarray(grey).save(tmp_path / "png" / "grey" / f"{index}.png")
    meta = convert_images(tmp_path / "png", tmp_path / "out", split={"all": 1.0})
    assert (meta["channels"], meta["colorspace"], meta["height"], meta["width"]) == (
        3, "rgb", 6, 5,
    )  # fmt: skip
    pipeline = TFRecordImagePipeline(
        {
            "batch_size": 10,
            "num_epochs": 1,
            "params": {
                "data_files": str(tmp_path / "out" / "png_all-*"),
                "meta_data_file": str(tmp_path / "out" / "meta_data.json"),
            },
        }
    )
    features, labels = next(pipeline())
    pixels = (features["image"] * 255).round().numpy()  # [N, 3, H, W]
    colours = {int(label): tuple(image[:, 0, 0]) for image, label in zip(pixels, labels)}
    assert colours == {meta["classes"].index("red"): (204, 0, 0),
                       meta["classes"].index("grey"): (90, 90, 90)}  # fmt: skip
