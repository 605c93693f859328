"""Keys that Petri cannot honour are refused with a message that says why and what to do."""

from __future__ import annotations

import pytest

from petri.configs import ExperimentConfig, PipelineConfig, RLExperimentConfig, RunConfig
from petri.data.processors import PROCESSORS, build_processors
from petri.errors import ConfigError
from petri.estimators import Agent
from petri.experiments import validate_config
from petri.models import DQNModel

RL = {"kind": "rl", "environment_config": {"env_id": "CartPole-v1"}}


def q_model() -> DQNModel:
    return DQNModel(graph_fn=[["FullyConnected", {"num_units": 8}]], num_states=4, num_actions=2)


def test_bucket_boundaries_must_increase_and_need_a_sequence_pipeline() -> None:
    for bad in ([], [0, 5], [10, 10], [20, 10]):
        with pytest.raises(ConfigError, match=r"bucket_boundaries.*strictly increasing"):
            PipelineConfig.from_dict({"bucket_boundaries": bad})
    from petri.data import NumpyPipeline

    with pytest.raises(ConfigError, match=r"bucket_boundaries.*NumpyPipeline has no lengths"):
        NumpyPipeline({"bucket_boundaries": [4]})
    assert PipelineConfig.from_dict({"bucket_boundaries": None}).bucket_boundaries is None


def test_delay_workers_true_is_rejected_false_accepted() -> None:
    with pytest.raises(ConfigError, match=r"delay_workers_by_global_step.*one process"):
        ExperimentConfig.from_dict({"delay_workers_by_global_step": True})
    assert not ExperimentConfig.from_dict(
        {"delay_workers_by_global_step": False}
    ).delay_workers_by_global_step


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("eval_metrics_config", [{"name": "streaming_accuracy"}]),
        ("clip_embed_gradients", 0.1),
        ("one_hot_encode", True),
        ("n_classes", 2),
        ("encoder_config", {"definition": []}),
        ("decoder_config", {"definition": []}),
        ("bridge_config", {"module": "latent_bridge"}),
    ],
)
def test_rl_model_config_rejects_supervised_keys(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"`model_config`.*{key} belong to supervised models"):
        RLExperimentConfig.from_dict({**RL, "model_config": {key: value}})


def test_rl_config_and_agent_reject_compile_and_estimator_only_keys(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"`run_config`.*compile applies to the Estimator"):
        RLExperimentConfig.from_dict({**RL, "run_config": {"compile": True}})
    with pytest.raises(ValueError, match="compile applies to the Estimator"):
        Agent(q_model(), model_dir=str(tmp_path), config={"compile": True})
    Agent(q_model(), model_dir=str(tmp_path), config={"device": "cpu"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORLD_SIZE", "2")
        with pytest.raises(ValueError, match="trains in one process; run it without torchrun"):
            Agent(q_model(), model_dir=str(tmp_path), config={"device": "cpu"})
    estimator_only = {
        "precision": "bf16-mixed",
        "accumulate_grad_batches": 4,
        "memory_format": "channels_last",
    }
    for key, value in estimator_only.items():
        with pytest.raises(ConfigError, match=rf"run_config.{key}=.*applies to the Estimator"):
            RLExperimentConfig.from_dict({**RL, "run_config": {key: value}})
        with pytest.raises(ValueError, match=rf"run_config.{key}=.*applies to the Estimator"):
            Agent(q_model(), model_dir=str(tmp_path), config={key: value})


def test_device_must_name_a_device() -> None:
    for good in ("auto", "cpu", "cuda", "cuda:1", "mps"):
        assert RunConfig.from_dict({"device": good}).device == good
    for bad in ("tpu", "cuda:x", "gpu"):
        with pytest.raises(ConfigError, match=rf"`device`.*Unknown device '{bad}'"):
            RunConfig.from_dict({"device": bad})


def test_image_processor_seed_is_rejected() -> None:
    with pytest.raises((ConfigError, ValueError), match="does not take its own seed"):
        build_processors({"image": [["Flip", {"is_random": True, "seed": 3}]]}, PROCESSORS)
    build_processors({"image": [["Flip", {"is_random": True}]]}, PROCESSORS)


def test_the_builder_names_every_bad_key_at_once() -> None:
    config = {
        "model_config": {
            "model_type": "clasifier",
            "optimizer_config": {"name": "adamm"},
            "graph_config": {"definition": [["FullyConected", {}]]},
        }
    }
    with pytest.raises(ConfigError) as caught:
        validate_config(config)
    message = str(caught.value)
    assert message.startswith("3 problems in the config")
    for fragment in ("Did you mean 'Classifier'", "Did you mean 'adam'", "FullyConnected"):
        assert fragment in message


def test_pipeline_name_names_the_reader_processes(tmp_path) -> None:
    import multiprocessing

    import numpy as np

    from petri.data import create_input_fn

    x = np.arange(400, dtype=np.float32).reshape(200, 2)
    config = {
        "pipeline_config": {
            "module": "NumpyPipeline",
            "name": "train",
            "num_threads": 2,
            "batch_size": 8,
            "num_epochs": None,
        },
        "x": x,
        "y": np.zeros(200, dtype=np.int64),
    }
    batches = create_input_fn(config)()
    next(iter(batches))
    names = {process.name for process in multiprocessing.active_children()}
    assert {"petri-reader-train-0", "petri-reader-train-1"} <= names
    batches.close()


@pytest.mark.parametrize(
    ("pipeline", "fragment"),
    [
        ({"dynamic_pad": True}, r"pipeline_config.dynamic_pad` applies to record pipelines"),
        ({"num_threads": 2}, r"pipeline_config.num_threads` applies to record pipelines"),
        ({"definition": {"x": [["Flip", {}]]}}, r"pipeline_config.definition` applies"),
        ({"params": {"data_files": "a"}}, r"pipeline_config.params.data_files` applies"),
    ],
)
def test_array_input_refuses_record_pipeline_keys(pipeline: dict, fragment: str) -> None:
    import numpy as np

    from petri.data import create_input_fn

    config = {"input_type": "numpy", "x": np.zeros((4, 2)), "pipeline_config": pipeline}
    with pytest.raises(ConfigError, match=fragment):
        create_input_fn(config, path="train_input_data_config")


def test_file_pipelines_refuse_arrays_and_a_second_reader() -> None:
    import numpy as np

    from petri.data import create_input_fn

    files = {"module": "TFRecordPipeline", "params": {"data_files": "x-*"}}
    with pytest.raises(ConfigError, match=r"`x` is read by NumpyPipeline"):
        create_input_fn({"x": np.zeros((4, 2)), "pipeline_config": files})
    with pytest.raises(ConfigError, match=r"`input_type` and `pipeline_config.module` both"):
        create_input_fn({"input_type": "numpy", "x": np.zeros(2), "pipeline_config": files})


def test_capacity_must_hold_min_after_dequeue() -> None:
    with pytest.raises(ConfigError, match=r"capacity \(10\) must be >= min_after_dequeue \(50\)"):
        PipelineConfig.from_dict({"min_after_dequeue": 50, "capacity": 10})
    assert PipelineConfig.from_dict({"min_after_dequeue": 50, "capacity": 80}).capacity == 80


def test_batch_memory_refuses_replay_keys() -> None:
    memory = {"module": "BatchMemory", "size": 5000}
    with pytest.raises(ConfigError, match=r"\['size'\] apply to replay memories"):
        RLExperimentConfig.from_dict({**RL, "agent_config": {"memory_config": memory}})


def test_decay_settings_need_a_decay_that_uses_them() -> None:
    optimizer = {"name": "adam", "decay_rate": 0.5}
    with pytest.raises(ConfigError, match=r"decay_rate`.*without a decay_type"):
        validate_config({"model_config": {"optimizer_config": optimizer}})
    optimizer = {"name": "adam", "decay_type": "cosine_decay", "staircase": True}
    with pytest.raises(ConfigError, match=r"'cosine_decay' does not use `staircase`"):
        validate_config({"model_config": {"optimizer_config": optimizer}})
    optimizer = {"name": "adam", "decay_type": "exponential_decay", "staircase": True}
    validate_config({"model_config": {"optimizer_config": optimizer}})


def test_rl_settings_that_would_do_nothing_are_refused() -> None:
    graph = {"features": ["image"], "definition": [["FullyConnected", {"num_units": 4}]]}
    with pytest.raises(ConfigError, match=r"graph_config.features`.*environment's state"):
        validate_config({**RL, "model_config": {"graph_config": graph}})
    with pytest.raises(ConfigError, match="target_return stops training when a periodic"):
        RLExperimentConfig.from_dict({**RL, "target_return": 400})
    pg = {
        **RL,
        "agent_config": {"module": "PGAgent", "memory_config": {"module": "BatchMemory"}},
        "model_config": {"module": "PPOModel"},
        "gradient_steps": 4,
    }
    with pytest.raises(ConfigError, match=r"`gradient_steps`.*PGAgent updates once per full"):
        validate_config(pg)


def test_policy_models_refuse_a_loss_by_key_path() -> None:
    config = {
        **RL,
        "agent_config": {"module": "PGAgent", "memory_config": {"module": "BatchMemory"}},
        "model_config": {"module": "PPOModel", "loss_config": {"name": "huber_loss"}},
    }
    with pytest.raises(ConfigError, match=r"`model_config.loss_config`.*PPOModel does not take"):
        validate_config(config)
