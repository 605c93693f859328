"""Generators (issue #16, item 1): autoencoders and a VAE on the digits, their predict modes
(``encode``, ``generate``, ``infer``) in Python and through ``petri predict``, and the errors a
user meets."""

from __future__ import annotations

import copy
import itertools
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from petri.configs import ModelConfig
from petri.data import numpy_input_fn
from petri.datasets.digits import load_split
from petri.errors import CheckpointMismatchError, ConfigError
from petri.estimators import Estimator
from petri.experiments import create_experiment, predict_run
from petri.models import MODELS, Generator

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "generators"


def _config(example: str, tmp_path: Path, **changes: Any) -> dict[str, Any]:
    config = yaml.safe_load((EXAMPLES / f"{example}.yaml").read_text())
    config["output_dir"] = str(tmp_path)
    config["run_config"] = {**config["run_config"], "verbose": False}
    config.update(changes)
    return config


def _rows(experiment: Any, key: str) -> list[dict[str, Any]]:
    return [row for row in experiment.run.metrics if key in row]


def _petri(*args: Any) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "petri", *(str(a) for a in args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_dense_autoencoder_reconstructs_the_digits(tmp_path: Path) -> None:
    experiment = create_experiment(_config("dense_autoencoder_digits", tmp_path))
    results = experiment.train_and_evaluate()
    assert results["global_step"] == 1500
    assert results["reconstruction_mse"] < 0.025, results  # PCA with 16 components: 0.011
    estimator = experiment.estimator
    images, _ = load_split("eval")
    rows = list(estimator.predict(numpy_input_fn(images[:20], shuffle=False), mode="encode"))
    assert np.stack([row["codes"] for row in rows]).shape == (20, 16)
    reconstructed = np.stack(
        [row["results"] for row in estimator.predict(numpy_input_fn(images[:20], shuffle=False))]
    )
    assert reconstructed.shape == (20, 1, 8, 8)
    assert np.mean((reconstructed - images[:20]) ** 2) < 0.025
    assert reconstructed.min() >= 0.0 and reconstructed.max() <= 1.0  # sigmoid of the logits
    training = _rows(experiment, "losses/reconstruction")
    assert training and "losses/kl" not in training[0]  # a plain autoencoder has no KL term
    evaluation = _rows(experiment, "images/reconstructions")
    assert [row["global_step"] for row in evaluation] == [500, 1000, 1500]
    assert (Path(experiment.run.log_dir) / evaluation[-1]["images/reconstructions"]).is_file()
    with pytest.raises(ValueError, match="no prior to draw codes from"):
        estimator.generate(3)


def test_a_vae_improves_its_elbo_at_every_evaluation_and_samples(tmp_path: Path) -> None:
    experiment = create_experiment(_config("vae_digits", tmp_path))
    results = experiment.train_and_evaluate()
    elbos = [result["elbo"] for result in experiment.eval_results]
    assert len(elbos) == 6 and all(b > a for a, b in itertools.pairwise(elbos))
    assert results["kl"] > 0.5  # the codes carry information
    assert results["elbo"] == pytest.approx(-(results["reconstruction_loss"] * 64 + results["kl"]))
    training = _rows(experiment, "losses/kl")
    assert training and all(row["losses/kl"] > 0 for row in training)
    logged = _rows(experiment, "images/latent_space")[-1]
    for key in ("images/latent_space", "images/samples", "images/reconstructions"):
        assert (Path(experiment.run.log_dir) / logged[key]).is_file()

    estimator = experiment.estimator
    images, _ = load_split("eval")
    codes = np.stack(
        [row["codes"] for row in estimator.predict(numpy_input_fn(images[:7]), mode="encode")]
    )
    assert codes.shape == (7, 2)
    samples = estimator.generate(5, seed=0)
    assert samples.shape == (5, 1, 8, 8)
    np.testing.assert_array_equal(samples, estimator.generate(5, seed=0))
    decoded = np.stack(
        [row["results"] for row in estimator.predict(numpy_input_fn(codes), mode="generate")]
    )
    assert decoded.shape == (7, 1, 8, 8)

    run = experiment.run.log_dir
    np.save(tmp_path / "digits.npy", images[:7])
    done = _petri("predict", run, "--mode", "encode", "--input", tmp_path / "digits.npy",
                  "--output", tmp_path / "codes.npy")  # fmt: skip
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.load(tmp_path / "codes.npy"), codes, atol=1e-5)
    done = _petri("predict", run, "--mode", "generate", "--count", 6, "--seed", 0,
                  "--output", tmp_path / "samples.npy")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert np.load(tmp_path / "samples.npy").shape == (6, 1, 8, 8)
    done = _petri(
        "predict", run, "--input", tmp_path / "digits.npy", "--output", tmp_path / "all.npz"
    )
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "all.npz") as saved:
        assert saved["results"].shape == (7, 1, 8, 8) and saved["codes"].shape == (7, 2)

    # Codes or features of another shape: both shapes named (not "a different model", which
    # is what a model built on them first would say of the run's own checkpoint).
    with pytest.raises(ValueError, match=r"takes codes of shape \(2,\) per example; the input's "
                       r"codes have shape \(3,\)"):  # fmt: skip
        predict_run(run, np.zeros((4, 3), dtype=np.float32), "generate")
    with pytest.raises(ValueError, match=r"takes features of shape \(1, 8, 8\) per example; "
                       r"the input's features have shape \(5,\)"):  # fmt: skip
        predict_run(run, images[:4, 0, :5, 0], "infer")


def test_input_noise_is_added_while_training_only() -> None:
    torch.manual_seed(0)
    dense = [["FullyConnected", {"num_units": 8}]]
    model = Generator(encoder_fn=dense, decoder_fn=[["FullyConnected", {"num_units": 6}]])
    noisy = Generator(encoder_fn=dense, decoder_fn=[["FullyConnected", {"num_units": 6}]],
                      input_noise=0.5)  # fmt: skip
    x = torch.rand(32, 6)
    model(x, None, "train")
    noisy(x, None, "train")
    noisy.load_state_dict(model.state_dict())
    assert noisy(x, None, "eval").loss == model(x, None, "eval").loss
    assert noisy(x, None, "train").loss != model(x, None, "train").loss
    with pytest.raises(ValueError, match="input_noise >= 0"):
        Generator(encoder_fn=dense, decoder_fn=dense, input_noise=-1)


def test_modes_a_model_lacks_are_named(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "examples/tune/mlp_digits.yaml").read_text())
    config.update(output_dir=str(tmp_path), train_steps=20, export_strategies=None)
    config["run_config"] = {**config["run_config"], "verbose": False}
    experiment = create_experiment(config)
    experiment.train()
    images, _ = load_split("eval")
    flat = images[:4].reshape(4, -1)
    estimator = experiment.estimator
    with pytest.raises(ValueError, match=r"Mode 'encode' needs a generator"):
        list(estimator.predict(numpy_input_fn(flat), mode="encode"))
    with pytest.raises(
        ValueError, match=r"Unknown prediction mode 'encod'. Did you mean 'encode'"
    ):
        list(estimator.predict(numpy_input_fn(flat), mode="encod"))
    with pytest.raises(ValueError, match="needs a generator"):
        estimator.generate(2)
    # A fresh process's model built on features of another shape cannot take the checkpoint;
    # the error says the input may be why, not only "a different model".
    fresh = Estimator(
        MODELS.get("classifier").from_config(ModelConfig.model_validate(config["model_config"])),
        estimator.model_dir,
    )
    with pytest.raises(CheckpointMismatchError, match="another shape than the training input"):
        list(fresh.predict(numpy_input_fn(flat[:, :5], shuffle=False)))
    np.save(tmp_path / "flat.npy", flat)
    done = _petri("predict", Path(experiment.run.log_dir), "--input", tmp_path / "flat.npy",
                  "--output", tmp_path / "classes.npy")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert np.load(tmp_path / "classes.npy").shape == (4,)
    done = _petri("predict", Path(experiment.run.log_dir), "--mode", "encode", "--input",
                  tmp_path / "flat.npy", "--output", tmp_path / "codes.npy")  # fmt: skip
    assert done.returncode == 2 and "needs a generator" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "codes.npy").exists()


_CLASSIFIER = {
    "model_type": "classifier",
    "graph_config": {"definition": [["FullyConnected", {}]]},
}
_BAD = [
    ({"bridge_config": {"module": "latent_brige"}}, r"module.*Did you mean 'latent_bridge'"),
    ({"bridge_config": {"module": "latent_bridge", "latent_dim": 0}}, r"latent_dim >= 1"),
    (
        {"bridge_config": {"module": "latent_bridge", "latent_dims": 2}},
        r"bridge_config.latent_dims.*Did you mean 'latent_dim'",
    ),
    (
        {"decoder_config": {"definition": [["FullyConnected", {"num_units": 60}]]}},
        r"decoder_config.*as many elements as a feature",
    ),
    (
        {"encoder_config": {"definition": [["FullyConected", {}]]}},
        r"encoder_config.definition\[0\].*Did you mean 'FullyConnected'",
    ),
    ({"n_classes": 10}, r"n_classes applies to classifiers"),
    (_CLASSIFIER, r"encoder_config, decoder_config belong to generators"),
]


@pytest.mark.parametrize(("change", "message"), _BAD)
def test_bad_generator_configs_are_named_and_leave_no_run(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    config = _config("dense_autoencoder_digits", tmp_path / "runs")
    config["model_config"] = {**copy.deepcopy(config["model_config"]), **change}
    with pytest.raises(ConfigError, match=message):
        create_experiment(config)
    assert not (tmp_path / "runs").exists()


def test_bridge_config_name_selects_the_bridge_too() -> None:
    from petri.configs import BridgeConfig
    from petri.models.bridges import LatentBridge, NoOpBridge, create_bridge

    bridge = create_bridge(BridgeConfig(name="latent_bridge", latent_dim=3, kl_weight=0.5))
    assert isinstance(bridge, LatentBridge) and (bridge.latent_dim, bridge.kl_weight) == (3, 0.5)
    assert isinstance(create_bridge(BridgeConfig(name="no_op_bridge")), NoOpBridge)
    assert isinstance(create_bridge(None), NoOpBridge)


@pytest.mark.parametrize("matplotlib", ["installed", "missing"])
def test_the_latent_plot_colours_each_digit(
    matplotlib: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from petri.models._images import _COLOURS, latent_scatter

    if matplotlib == "missing":  # as if not installed: numpy draws the points alone
        for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
            monkeypatch.setitem(sys.modules, name, None)
    else:
        pytest.importorskip("matplotlib")
    labels = torch.arange(200) % 10
    angle = labels.float() * (2 * torch.pi / 10)
    noise = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    codes = torch.stack([angle.cos(), angle.sin()], 1) * 3 + noise * 0.3
    image = latent_scatter(codes, labels)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    pixels = image.reshape(-1, 3)
    has_axes = (pixels.max(axis=1) < 60).any()  # dark: axes, ticks, legend (no class colour)
    assert has_axes == (matplotlib == "installed")

    def area(image: np.ndarray, colour: np.ndarray) -> int:
        return int((image.reshape(-1, 3) == colour).all(axis=1).sum())

    # every digit is drawn in its own colour (20 points, at least one pixel each)
    assert all(area(image, colour) > 15 for colour in _COLOURS)
    one_colour = latent_scatter(codes, labels.float() + 0.5)  # real-valued labels: no classes
    assert area(one_colour, _COLOURS[0]) > 150
    assert sum(area(one_colour, colour) for colour in _COLOURS[1:]) < 10  # stray anti-aliasing


def test_image_grids_of_grey_flat_and_colour_images() -> None:
    from petri.models._images import image_grid

    digits = torch.from_numpy(load_split("eval")[0][:16])  # [16, 1, 8, 8] in [0, 1]
    grey = image_grid(digits, (1, 8, 8), 8)
    assert grey is not None and grey.shape == ((2 * 9 + 1) * 4, (8 * 9 + 1) * 4)
    # the second row's third digit (index 10), 4x enlarged, after the 1-pixel borders
    top, left = (1 + 9) * 4, (1 + 2 * 9) * 4
    np.testing.assert_array_equal(grey[top : top + 32 : 4, left : left + 32 : 4], digits[10, 0])
    np.testing.assert_array_equal(image_grid(digits.reshape(16, 64), (64,), 8), grey)
    colour = torch.rand(3, 3, 4, 5)
    tiled = image_grid(colour, (3, 4, 5), 8)
    assert tiled is not None and tiled.shape == (6 * 4, (8 * 6 + 1) * 4, 3)
    np.testing.assert_allclose(
        tiled[4:20:4, 4 + 6 * 4 : 24 + 6 * 4 : 4], colour[1].permute(1, 2, 0)
    )
    assert image_grid(torch.rand(4, 5), (5,), 8) is None  # 5 values: not an image
    assert image_grid(torch.rand(4, 2, 3, 3), (2, 3, 3), 8) is None
