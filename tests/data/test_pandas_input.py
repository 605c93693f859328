"""pandas input (issue #16, item 3): a DataFrame in Python, CSV and Parquet files in configs,
categorical columns one-hot or embedded, and the errors a user meets."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

import petri as plx
from petri.errors import ConfigError
from petri.experiments import create_experiment

pd = pytest.importorskip("pandas")


def _colours(size: int, seed: int) -> Any:
    """A label that needs the text column: red XOR (size > 0)."""
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], size)
    size_ = rng.normal(size=size)
    label = ((colour == "red") ^ (size_ > 0)).astype(np.int64)
    return pd.DataFrame({"size": size_, "colour": colour, "noise": rng.normal(size=size),
                         "label": label})  # fmt: skip


def _input(x: Any, eval_: bool = False, **keys: Any) -> dict[str, Any]:
    pipeline = (
        {"batch_size": 256} if eval_ else {"batch_size": 32, "num_epochs": None, "shuffle": True}
    )
    return {
        "input_type": "pandas",
        "x": x,
        "y_column": "label",
        "pipeline_config": pipeline,
        **keys,
    }


_MLP = [
    ["FullyConnected", {"num_units": 16, "activation": "relu"}],
    ["FullyConnected", {"num_units": 2}],
]


def _config(
    tmp_path: Path, train: Any, evaluation: Any, steps: int = 600, **keys: Any
) -> dict[str, Any]:
    return {
        "name": "pandas",
        "output_dir": str(tmp_path),
        "train_steps": steps,
        "export_strategies": None,
        "run_config": {"seed": 0, "verbose": False, "num_threads": 1},
        "train_input_data_config": _input(train, **keys),
        "eval_input_data_config": _input(evaluation, eval_=True, **keys),
        "model_config": {
            "model_type": "classifier",
            "n_classes": 2,
            "eval_metrics_config": [{"name": "streaming_accuracy"}],
            "optimizer_config": {"name": "adam", "learning_rate": 0.01},
            "graph_config": {"definition": _MLP},
        },
    }  # fmt: skip


def test_a_dataframe_trains_a_classifier_from_python(tmp_path: Path) -> None:
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame.sample(frac=1.0, random_state=0)
    config = _config(tmp_path, wine.iloc[:140].rename(columns={"target": "label"}),
                     wine.iloc[140:].rename(columns={"target": "label"}))  # fmt: skip
    config["model_config"]["n_classes"] = 3
    config["model_config"]["graph_config"]["definition"] = [
        ["BatchNormalization", {}],
        ["FullyConnected", {"num_units": 16, "activation": "relu"}],
        ["FullyConnected", {"num_units": 3}],
    ]
    experiment = create_experiment(config)
    assert experiment.train_input_fn.features.shape == (140, 13)
    results = experiment.train_and_evaluate()
    assert results["streaming_accuracy"] >= 0.9, results


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_csv_and_parquet_files_with_a_one_hot_column(tmp_path: Path, suffix: str) -> None:
    paths = {}
    for split, seed in (("train", 0), ("eval", 1)):
        frame = _colours(800 if split == "train" else 300, seed)
        paths[split] = tmp_path / f"{split}{suffix}"
        frame.to_csv(paths[split], index=False) if suffix == ".csv" else frame.to_parquet(
            paths[split]
        )
    one_hot = {"categorical": {"colour": "one_hot"}, "x_columns": ["size", "colour"]}
    experiment = create_experiment(
        _config(tmp_path / "a", str(paths["train"]), str(paths["eval"]), **one_hot)
    )
    assert experiment.train_input_fn.features.shape == (800, 4)  # size + 3 colours
    assert experiment.train_input_fn.categories == {"colour": ["blue", "green", "red"]}
    with_colour = experiment.train_and_evaluate()["streaming_accuracy"]
    without = create_experiment(
        _config(tmp_path / "b", str(paths["train"]), str(paths["eval"]), x_columns=["size"])
    ).train_and_evaluate()["streaming_accuracy"]
    assert with_colour >= 0.95 and without <= 0.8, (with_colour, without)  # fmt: skip


def test_an_embedded_column_feeds_an_embedding(tmp_path: Path) -> None:
    def graph_fn(mode: str, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        colour = plx.layers.Embedding(mode, input_dim=3, output_dim=4)(inputs["colour"])
        both = torch.cat([inputs["x"], colour], dim=1)
        hidden = plx.layers.FullyConnected(mode, num_units=16, activation="relu")(both)
        return plx.layers.FullyConnected(mode, num_units=2)(hidden)

    from petri.data import create_input_fn
    from petri.estimators import Estimator
    from petri.experiments import Experiment

    keys = {"categorical": {"colour": "embed"}, "x_columns": ["size", "colour"]}
    train = create_input_fn(_input(_colours(800, 0), **keys), seed=0)
    evaluation = create_input_fn(_input(_colours(300, 1), eval_=True, **keys))
    assert train.features["x"].shape == (800, 1) and train.features["colour"].dtype == torch.int64
    model = plx.models.Classifier(
        graph_fn=graph_fn,
        n_classes=2,
        optimizer_config={"name": "adam", "learning_rate": 0.01},
        eval_metrics_config=["streaming_accuracy"],
    )
    estimator = Estimator(model, model_dir=tmp_path, config={"seed": 0, "verbose": False})
    experiment = Experiment(estimator, train, evaluation, train_steps=600, eval_steps=None)
    assert experiment.train_and_evaluate()["streaming_accuracy"] >= 0.95


_FRAME = pd.DataFrame({"size": [1.0, 2.0], "colour": ["red", "blue"], "label": [0, 1]})
_BAD = [
    ({"x_columns": ["sise"]}, r"x_columns\[0\].*'sise'.*Did you mean 'size'"),
    ({"y_column": "lable"}, r"y_column.*Did you mean 'label'"),
    ({"x_columns": ["size", "colour"]}, r"'colour' holds text \('red', 'blue'\); declare it"),
    ({"categorical": {"colour": "onehot"}}, r"categorical.colour.*Did you mean 'one_hot'"),
    ({"categorical": {"color": "one_hot"}}, r"categorical.color.*Did you mean 'colour'"),
    ({"categorical": {"colour": {"categories": ["red"]}}}, r"\['blue'\] are not among"),
]  # fmt: skip


@pytest.mark.parametrize(("keys", "message"), _BAD)
def test_bad_columns_are_named(tmp_path: Path, keys: dict[str, Any], message: str) -> None:
    config = _config(tmp_path / "runs", _FRAME, _FRAME, steps=2)
    config["train_input_data_config"].update(keys)
    with pytest.raises(ConfigError, match=message):
        create_experiment(config)
    assert not (tmp_path / "runs").exists()


def test_inputs_must_agree_on_categories_and_keys_need_pandas(tmp_path: Path) -> None:
    other = _FRAME.assign(colour=["red", "green"])
    keys = {"categorical": {"colour": "one_hot"}}
    with pytest.raises(
        ConfigError, match=r"'colour' has categories \['blue', 'red'\].*\['green', 'red'\]"
    ):
        create_experiment(_config(tmp_path, _FRAME, other, steps=2, **keys))
    listed = {
        "categorical": {"colour": {"encoding": "one_hot", "categories": ["blue", "green", "red"]}}
    }
    create_experiment(_config(tmp_path, _FRAME, other, steps=2, **listed)).close()
    numpy_with_columns = copy.deepcopy(_config(tmp_path, _FRAME, _FRAME))
    numpy_with_columns["train_input_data_config"] = {
        "input_type": "numpy",
        "x": [[1.0]],
        "y_column": "label",
    }
    with pytest.raises(
        ConfigError, match=r"y_column select DataFrame columns; they apply to input_type 'pandas'"
    ):
        create_experiment(numpy_with_columns)
    missing = _FRAME.assign(size=[1.0, None])
    with pytest.raises(ConfigError, match=r"column 'size' has 1 missing value"):
        create_experiment(_config(tmp_path, missing, _FRAME, steps=2, x_columns=["size"]))
    with pytest.raises(ConfigError, match=r"expected a .csv or .parquet file"):
        (tmp_path / "data.txt").write_text("size\n1\n")
        create_experiment(_config(tmp_path, str(tmp_path / "data.txt"), _FRAME, steps=2))


def test_without_pandas_the_error_names_the_extra(tmp_path: Path) -> None:
    _FRAME.to_csv(tmp_path / "data.csv", index=False)
    code = (
        "import sys; sys.modules['pandas'] = None\n"  # import pandas now raises ImportError
        "import petri, petri.data, petri.experiments, petri.cli\n"
        "from petri.data import create_input_fn\n"
        "from petri.errors import ConfigError\n"
        "try:\n"
        f"    create_input_fn({{'input_type': 'pandas', 'x': {str(tmp_path / 'data.csv')!r}}},"
        " path='train_input_data_config')\n"
        "except ConfigError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "`train_input_data_config.x` reads its data with pandas" in done.stdout
    assert "pip install 'petri[pandas]'" in done.stdout


def test_an_inline_frame_is_kept_beside_the_config(tmp_path: Path) -> None:
    """config.yaml names a Parquet copy of a DataFrame given in Python: the run rebuilds
    from it, and resuming with other rows is refused."""
    frame = _colours(200, 0)
    config = _config(tmp_path, frame, frame, steps=20, x_columns=["size"])
    config.update(version=0)
    create_experiment(config).train_and_evaluate()
    stored = yaml.safe_load((tmp_path / "pandas" / "version_0" / "config.yaml").read_text())
    kept = Path(stored["train_input_data_config"]["x"])
    assert kept.name == "train_input_data_config.x.parquet"
    pd.testing.assert_frame_equal(pd.read_parquet(kept), frame, check_dtype=False)
    rebuilt = create_experiment(stored | {"output_dir": str(tmp_path / "again")})
    np.testing.assert_array_equal(
        rebuilt.train_input_fn.features.numpy(), frame[["size"]].to_numpy(np.float32)
    )
    create_experiment(copy.deepcopy(config)).close()  # the same rows again: resumes
    other = _input(frame.iloc[1:], x_columns=["size"])
    with pytest.raises(ConfigError, match=r"(?s)-  x: <frame \(200, 4\).*\+  x: <frame \(199"):
        create_experiment(config | {"train_input_data_config": other})


def test_petri_run_regresses_diabetes_from_parquet(tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=True).frame.sample(frac=1.0, random_state=0)
    frame.iloc[:350].to_parquet(tmp_path / "train.parquet")
    frame.iloc[350:].to_parquet(tmp_path / "eval.parquet")
    baseline = float(np.sqrt(((frame.target.iloc[350:] - frame.target.iloc[:350].mean()) ** 2)
                             .mean()))  # fmt: skip
    config = {
        "name": "diabetes",
        "train_steps": 1500,
        "export_strategies": None,
        "run_config": {"seed": 0, "verbose": False, "num_threads": 1},
        "train_input_data_config": {
            "input_type": "pandas",
            "x": "train.parquet",
            "y_column": "target",
            "pipeline_config": {"batch_size": 32, "num_epochs": None, "shuffle": True},
        },
        "eval_input_data_config": {
            "input_type": "pandas",
            "x": "eval.parquet",
            "y_column": "target",
            "pipeline_config": {"batch_size": 128},
        },
        "model_config": {
            "model_type": "regressor",
            "eval_metrics_config": [{"name": "root_mean_squared_error"}],
            "optimizer_config": {"name": "adam", "learning_rate": 0.5},
            "graph_config": {"definition": [["FullyConnected", {"num_units": 1}]]},
        },
    }
    (tmp_path / "diabetes.yaml").write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "petri", "run", "diabetes.yaml", "--output-dir", "run"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if "root_mean_squared_error" in line)
    rmse = float(line.split()[-1])
    assert rmse <= 60 and rmse <= 0.8 * baseline, (
        rmse,
        baseline,
    )  # 51.8 here; the mean guess 81.7
