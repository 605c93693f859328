"""Seed 004's examples, run as written with ``from petri.tracking import Experiment``.

Only what the seed leaves undefined is supplied (``training_steps``, ``model``, the data, an
image in place of ``np.imread``), ``save_dir='/Desktop/test_tube'`` points into tmp_path, and
``exp.log('tng_err': tng_err)`` is the seed's typo for ``exp.log({'tng_err': tng_err})``.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess

import numpy as np
import pytest

from petri.tracking import load


class _Model:
    def eval(self, x, y):
        return float(np.mean((x - y) ** 2))


@pytest.fixture()
def seed_names(tmp_path, monkeypatch):
    """What the seed's snippets assume exists."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    return {
        "training_steps": range(5),
        "model": _Model(),
        "tng_x": rng.random(8),
        "tng_y": rng.random(8),
        "image": (rng.random((16, 16, 3)) * 255).astype(np.uint8),
    }


def test_class_example(tmp_path, seed_names):
    training_steps, model = seed_names["training_steps"], seed_names["model"]
    tng_x, tng_y = seed_names["tng_x"], seed_names["tng_y"]
    # --- seed ---
    from petri.tracking import Experiment

    exp = Experiment(name="dense_model", debug=False, save_dir=str(tmp_path / "Desktop/test_tube"))

    exp.tag({"learning_rate": 0.002, "nb_layers": 2})

    for step in training_steps:  # noqa: B007 - the seed's loop, verbatim
        tng_err = model.eval(tng_x, tng_y)

        exp.log({"tng_err": tng_err})

    # training complete!
    # --- end seed ---
    exp.save()
    version = tmp_path / "Desktop/test_tube/dense_model/version_0"
    assert {"meta.experiment", "meta_tags.csv", "metrics.csv", "media", "tf"} <= {
        p.name for p in version.iterdir()
    }
    meta = json.loads((version / "meta.experiment").read_text())
    for key in (
        "name",
        "version",
        "tags_path",
        "metrics_path",
        "autosave",
        "description",
        "created_at",
        "exp_hash",
    ):
        assert key in meta
    with open(version / "meta_tags.csv") as file:
        assert [row[:2] for row in csv.reader(file)] == [
            ["key", "value"],
            ["learning_rate", "0.002"],
            ["nb_layers", "2"],
        ]
    with open(version / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 5 and set(rows[0]) == {"tng_err", "created_at"}
    assert load(version).tags == {"learning_rate": 0.002, "nb_layers": 2}


def test_version_example(seed_names, tmp_path):
    from petri.tracking import Experiment

    exp = Experiment(name="dense_model", version=1)
    exp.log({"a": 1.0})
    exp.save()
    assert exp.version == 1
    assert (tmp_path / "petri_logs/dense_model/version_1/metrics.csv").is_file()


def test_debug_example(seed_names, tmp_path):
    from petri.tracking import Experiment

    exp = Experiment(name="dense_model", debug=True)
    exp.tag({"a": 1})
    exp.log({"b": 2.0})
    exp.save()
    exp.close()
    assert not (tmp_path / "petri_logs").exists()


def test_autosave_example(seed_names, tmp_path):
    from petri.tracking import Experiment

    exp = Experiment(name="dense_model", autosave=False)

    # run long training...
    for step in range(3):
        exp.log({"loss": 1.0 / (step + 1)})
    metrics = tmp_path / "petri_logs/dense_model/version_0/metrics.csv"
    assert not metrics.exists()

    # first time any logs are saved
    exp.save()
    assert len(load(metrics.parent).metrics) == 3


def test_create_git_tag_example(seed_names, tmp_path):
    for args in (
        ["init", "-q"],
        ["config", "user.email", "t@example.com"],
        ["config", "user.name", "Test"],
        ["commit", "-q", "--allow-empty", "-m", "x"],
    ):
        subprocess.run(["git", *args], check=True, cwd=tmp_path)
    from petri.tracking import Experiment

    exp = Experiment(name="dense_model", create_git_tag=True)
    exp.close()
    tags = subprocess.run(["git", "tag"], capture_output=True, text=True, cwd=tmp_path).stdout
    assert "petri_dense_model_v0" in tags.split()


def test_tag_and_log_examples(seed_names, tmp_path):
    image = seed_names["image"]
    from petri.tracking import Experiment

    exp = Experiment(name="dense_model", autosave=True)
    exp.tag({"dataset_name": "imagenet_1", "learning_rate": 0.0002})

    exp.log({"val_loss": 0.22, "epoch_nb": 1, "batch_nb": 12})

    # you can also add other rows that have separate information
    exp.log({"tng_loss": 0.01})

    # or even a numpy array image
    exp.log({"fake_png": image})

    # name must have either jpg, png or jpeg in it
    img = image
    exp.log({"test_jpg": img, "val_err": 0.2})
    exp.close()

    version = tmp_path / "petri_logs/dense_model/version_0"
    run = load(version)
    assert run.metrics[2]["fake_png"] == "media/fake_png_2.png"
    assert run.metrics[3]["test_jpg"] == "media/test_jpg_3.jpg"
    assert (version / "media/fake_png_2.png").is_file()
    assert (version / "media/test_jpg_3.jpg").is_file()
    assert run.tags == {"dataset_name": "imagenet_1", "learning_rate": 0.0002}


def test_argparse_example(seed_names):
    from petri.tracking import Experiment

    # test_tube's HyperOptArgumentParser is an argparse.ArgumentParser subclass.
    parser = argparse.ArgumentParser()
    parser.add_argument("--learning_rate", default=0.002, type=float, help="the learning rate")
    hparams = parser.parse_args([])

    exp = Experiment(name="dense_model", autosave=True)
    # learning_rate is now a meta tag for your experiment
    exp.argparse(hparams)
    exp.close()
    assert load(exp.log_dir).tags == {"learning_rate": 0.002}
