"""``run_config.precision``, ``accumulate_grad_batches``, ``compile`` and ``memory_format``
(issue #15): each changes how the digits models train, and none changes what they learn."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from petri.errors import ConfigError
from petri.experiments import create_experiment
from petri.training.checkpoints import latest_checkpoint, load_checkpoint

ROOT = Path(__file__).resolve().parents[2]
MLP = yaml.safe_load((ROOT / "examples/tune/mlp_digits.yaml").read_text())
LENET = yaml.safe_load((ROOT / "examples/configs/lenet_digits.yaml").read_text())


def _config(base: dict[str, Any], tmp_path: Path, name: str, **run: Any) -> dict[str, Any]:
    config = copy.deepcopy(base)
    config["name"] = name
    config["output_dir"] = str(tmp_path)
    config["export_strategies"] = None
    config["run_config"] = {**config["run_config"], "verbose": False, **run}
    return config


def _train(config: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    experiment = create_experiment(config)
    return experiment, experiment.train_and_evaluate()


def _accuracy(tmp_path: Path, name: str, **run: Any) -> float:
    config = _config(MLP, tmp_path, name, **run)
    config["train_steps"] = config["eval_every_n_steps"] = 1500  # past the plateau's start
    _, result = _train(config)
    return result["streaming_accuracy"]


@pytest.mark.slow
def test_bf16_and_accumulation_reach_the_fp32_accuracy(tmp_path: Path) -> None:
    fp32 = _accuracy(tmp_path, "fp32")
    bf16 = _accuracy(tmp_path, "bf16", precision="bf16-mixed")
    accumulated = _accuracy(tmp_path, "acc4", accumulate_grad_batches=4)
    assert fp32 > 0.93, fp32
    assert abs(bf16 - fp32) <= 0.01, (bf16, fp32)
    assert abs(accumulated - fp32) <= 0.01, (accumulated, fp32)


def test_bf16_runs_the_forward_pass_in_bfloat16(tmp_path: Path) -> None:
    seen: list[torch.dtype] = []
    experiment = create_experiment(
        _config(MLP, tmp_path, "dtype", precision="bf16", save_checkpoints_steps=5)
    )

    def record(module: Any, inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor) and output.is_floating_point():
            seen.append(output.dtype)

    experiment.estimator.train(experiment.train_input_fn, steps=1)  # builds the model
    handle = torch.nn.modules.module.register_module_forward_hook(record)
    try:
        experiment.estimator.train(experiment.train_input_fn, steps=2)
    finally:
        handle.remove()
    assert seen and torch.bfloat16 in seen and torch.float16 not in seen
    assert experiment.estimator.config.precision == "bf16-mixed"  # 'bf16' is read as that
    # the weights and the checkpoint stay float32
    state = load_checkpoint(latest_checkpoint(experiment.estimator.model_dir))
    assert {v.dtype for v in state["model"].values()} == {torch.float32}


def test_accumulation_counts_one_step_per_update_of_k_batches(tmp_path: Path) -> None:
    experiment = create_experiment(
        _config(MLP, tmp_path, "count", accumulate_grad_batches=4, save_checkpoints_steps=5)
    )
    estimator = experiment.estimator
    batches = []
    estimator.train(_counting(experiment.train_input_fn, batches), steps=5)
    assert estimator.global_step == 5
    assert len(batches) == 1 + 20  # the first builds the model; then 4 batches per update
    optimizer_steps = estimator._optimizer.state_dict()["state"][0]["step"]  # Adam's own count
    assert int(optimizer_steps) == 5


def test_accumulated_update_equals_the_update_of_the_mean_loss(tmp_path: Path) -> None:
    """Four batches of 8 accumulated move the weights as one batch of 32 does (same data)."""
    import numpy as np

    from petri.data import numpy_input_fn
    from petri.estimators import Estimator, EstimatorSpec
    from petri.layers import FullyConnected

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5)).astype(np.float32)
    y = rng.normal(size=(32, 1)).astype(np.float32)

    def model_fn(features: Any, labels: Any, mode: str) -> EstimatorSpec:
        out = FullyConnected(mode, num_units=1, name="dense")(features)
        loss = torch.nn.functional.mse_loss(out, labels)
        return EstimatorSpec(mode, predictions=out, loss=loss, optimizer="sgd")

    def weights(batch: int, accumulate: int) -> np.ndarray:
        estimator = Estimator(
            model_fn,
            model_dir=tmp_path / f"{batch}x{accumulate}",
            config={"seed": 3, "accumulate_grad_batches": accumulate, "verbose": False},
        )
        estimator.train(numpy_input_fn(x, y, batch_size=batch, shuffle=False), steps=1)
        return estimator.get_variable_value("dense/weight")

    np.testing.assert_allclose(weights(8, 4), weights(32, 1), rtol=1e-5, atol=1e-6)


def test_ctrl_c_mid_accumulation_replays_those_batches_on_resume(tmp_path: Path) -> None:
    """Ctrl-C after 2 of 4 accumulated batches: their gradients are dropped and the checkpoint
    holds the input position before them, so the resumed run equals an uninterrupted one."""
    import numpy as np

    from petri.data import numpy_input_fn
    from petri.estimators import Estimator, EstimatorSpec
    from petri.layers import FullyConnected

    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 5)).astype(np.float32)
    y = rng.normal(size=(96, 1)).astype(np.float32)
    input_fn = numpy_input_fn(x, y, batch_size=8, shuffle=True, num_epochs=None)

    def model_fn(features: Any, labels: Any, mode: str) -> EstimatorSpec:
        out = FullyConnected(mode, num_units=1, name="dense")(features)
        loss = torch.nn.functional.mse_loss(out, labels)
        return EstimatorSpec(mode, predictions=out, loss=loss, optimizer="adam")

    def estimator(name: str) -> Estimator:
        config = {"seed": 3, "accumulate_grad_batches": 4, "verbose": False}
        return Estimator(model_fn, model_dir=tmp_path / name, config=config)

    whole = estimator("whole")
    whole.train(input_fn, steps=6)

    interrupted = estimator("cut")
    calls = 0
    step = interrupted.train_step

    def stop_in_the_middle(features: Any, labels: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 4 * 3 + 3:  # the 3rd batch of the 4th update
            raise KeyboardInterrupt
        return step(features, labels)

    interrupted.train_step = stop_in_the_middle  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        interrupted.train(input_fn, steps=6)
    assert interrupted.global_step == 3
    resumed = estimator("cut")  # a new process would build a new Estimator on model_dir
    resumed.train(input_fn, max_steps=6)
    np.testing.assert_array_equal(
        resumed.get_variable_value("dense/weight"), whole.get_variable_value("dense/weight")
    )


def _counting(input_fn: Any, seen: list[int]) -> Any:
    def counted() -> Any:
        for batch in input_fn():
            seen.append(1)
            yield batch

    return counted


@pytest.mark.slow
def test_fp16_grad_scaler_state_survives_a_resume(tmp_path: Path) -> None:
    config = _config(MLP, tmp_path, "fp16", precision="16-mixed", save_checkpoints_steps=50)
    config["train_steps"] = 100
    first, _ = _train(config)
    scaler = first.estimator._precision.scaler
    state = load_checkpoint(latest_checkpoint(first.estimator.model_dir))
    assert state["grad_scaler"]["scale"] == scaler.get_scale()
    assert state["grad_scaler"]["_growth_tracker"] == scaler.state_dict()["_growth_tracker"]
    # a fresh process would start at 65536 with tracker 0; the resumed one continues
    changed = {"scale": 1024.0, "_growth_tracker": 7}
    scaler.load_state_dict({**scaler.state_dict(), **changed})
    first.estimator.save_checkpoint()
    config["version"] = 0
    resumed = create_experiment(config)
    resumed.estimator.train(resumed.train_input_fn, max_steps=101)
    restored = resumed.estimator._precision.scaler.state_dict()
    # one more step from the saved state: the tracker went 7 -> 8 (or the scale backed off)
    assert restored["_growth_tracker"] == 8 or restored["scale"] == 512.0, restored


@pytest.mark.slow
def test_compile_gives_the_eager_metrics(tmp_path: Path) -> None:
    run = {"save_checkpoints_steps": 300}
    eager = _config(MLP, tmp_path, "eager", **run)
    compiled = _config(MLP, tmp_path, "compiled", compile=True, **run)
    for config in (eager, compiled):
        config["train_steps"] = 200
        config["eval_every_n_steps"] = 200
    _, eager_result = _train(eager)
    experiment, compiled_result = _train(compiled)
    assert experiment.estimator._call.failure is None  # it really ran compiled
    for key in ("streaming_accuracy", "loss"):
        assert abs(eager_result[key] - compiled_result[key]) <= 1e-4, key
    state = load_checkpoint(latest_checkpoint(experiment.estimator.model_dir))
    assert not any("_orig_mod" in key for key in state["model"])  # loadable without compile


def test_a_failing_compile_falls_back_to_eager_with_one_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from torch._dynamo import register_backend

    @register_backend
    def petri_test_broken_backend(graph: Any, inputs: Any) -> Any:
        raise RuntimeError("this backend always fails")

    config = _config(MLP, tmp_path, "fallback", compile={"backend": "petri_test_broken_backend"})
    config["train_steps"] = 20
    config["eval_every_n_steps"] = 10
    with caplog.at_level(logging.WARNING, logger="petri"):
        _, result = _train(config)
    failed = [r.getMessage() for r in caplog.records if "torch.compile failed" in r.getMessage()]
    assert len(failed) == 1, failed
    assert "petri_test_broken_backend" in failed[0] and "eagerly" in failed[0]
    assert result["global_step"] == 20 and result["streaming_accuracy"] > 0.2
    cpu_notes = [r for r in caplog.records if "slower than eager" in r.getMessage()]
    assert len(cpu_notes) == 1  # the CPU note, said once


def test_compile_options_reach_torch_compile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []
    real = torch.compile

    def spy(module: Any, **options: Any) -> Any:
        seen.append(options)
        return real(module, **{**options, "backend": "eager"})

    monkeypatch.setattr(torch, "compile", spy)
    options = {"mode": "max-autotune", "fullgraph": True, "dynamic": False, "backend": "aot_eager"}
    config = _config(MLP, tmp_path, "options", compile=options)
    config["train_steps"] = 2
    config["eval_every_n_steps"] = 2
    create_experiment(config).train()
    assert seen == [options]


def test_an_unknown_compile_backend_is_a_config_error(tmp_path: Path) -> None:
    config = _config(MLP, tmp_path, "badbackend", compile={"backend": "inductr"})
    config["train_steps"] = 2
    with pytest.raises(ConfigError, match=r"inductr.*Did you mean 'inductor'"):
        create_experiment(config).train()


def test_fullgraph_refuses_a_graph_break_and_falls_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from petri.estimators import Estimator, EstimatorSpec
    from petri.layers import FullyConnected

    def breaking_model_fn(features: Any, labels: Any, mode: str) -> EstimatorSpec:
        out = FullyConnected(mode, num_units=1, name="dense")(features)
        torch._dynamo.graph_break()
        loss = torch.nn.functional.mse_loss(out, labels)
        return EstimatorSpec(mode, predictions=out, loss=loss, optimizer="sgd")

    x, y = torch.randn(16, 3), torch.randn(16, 1)
    with caplog.at_level(logging.WARNING, logger="petri"):
        for fullgraph in (False, True):
            torch._dynamo.reset()  # dynamo's cache would reuse the first, broken-up graph
            Estimator(
                breaking_model_fn,
                model_dir=tmp_path / str(fullgraph),
                config={"compile": {"backend": "eager", "fullgraph": fullgraph}},
            ).train(lambda: (x, y), steps=2)
    failed = [r.getMessage() for r in caplog.records if "torch.compile failed" in r.getMessage()]
    assert len(failed) == 1 and "Unsupported" in failed[0], failed  # only under fullgraph


def test_channels_last_keeps_conv_weights_nhwc_and_the_results(tmp_path: Path) -> None:
    results = {}
    for memory_format in ("contiguous", "channels_last"):
        config = _config(LENET, tmp_path, memory_format, memory_format=memory_format)
        config["train_steps"] = 30
        config["eval_every_n_steps"] = 30
        config["train_steps_per_iteration"] = 30
        experiment, results[memory_format] = _train(config)
        conv = next(  # the second conv: with one input channel both layouts coincide
            p for p in experiment.estimator.model.parameters() if p.dim() == 4 and p.shape[1] > 1
        )
        nhwc = conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
        assert nhwc == (memory_format == "channels_last")
    for key in ("streaming_accuracy", "loss"):
        assert results["channels_last"][key] == pytest.approx(results["contiguous"][key], abs=1e-4)


def test_unknown_precision_and_memory_format_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"precision.*'bf8'.*'bf16-mixed'"):
        create_experiment(_config(MLP, tmp_path, "p", precision="bf8"))
    with pytest.raises(ConfigError, match="memory_format"):
        create_experiment(_config(MLP, tmp_path, "m", memory_format="nhwc"))
    assert not (tmp_path / "p").exists() and not (tmp_path / "m").exists()
