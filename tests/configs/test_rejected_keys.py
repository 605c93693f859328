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


def test_bucket_boundaries_is_rejected_until_sequence_pipelines_exist() -> None:
    with pytest.raises(ConfigError, match=r"bucket_boundaries.*no sequence pipelines"):
        PipelineConfig.from_dict({"bucket_boundaries": [10, 20]})
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
    ],
)
def test_rl_model_config_rejects_supervised_keys(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"`model_config`.*{key} belong to supervised models"):
        RLExperimentConfig.from_dict({**RL, "model_config": {key: value}})


def test_rl_config_and_agent_reject_compile_and_other_devices(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"`run_config`.*compile applies to the Estimator"):
        RLExperimentConfig.from_dict({**RL, "run_config": {"compile": True}})
    with pytest.raises(ValueError, match="does not compile its model"):
        Agent(q_model(), model_dir=str(tmp_path), config={"compile": True})
    with pytest.raises(ValueError, match=r"runs on the CPU \(RunConfig.device='cuda'\)"):
        Agent(q_model(), model_dir=str(tmp_path), config={"device": "cuda"})
    Agent(q_model(), model_dir=str(tmp_path), config={"device": "cpu"})


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
