"""RL experiments from YAML (create_rl_experiment) and the Python examples, in short runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from petri.configs import RLExperimentConfig, is_rl_config
from petri.configs._base import load_config_source
from petri.errors import ConfigError
from petri.experiments import create_rl_experiment, validate_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rl"
NAMES = [
    "dqn_cartpole",
    "dueling_ddqn_cartpole",
    "vpg_cartpole",
    "ppo_cartpole",
    "trpo_cartpole",
    "naf_pendulum",
]
SHORT = {"train_steps": 256, "eval_episodes": 1, "eval_every_n_steps": None, "target_return": None}
OFF_POLICY_SHORT = {"first_update": 192, "gradient_steps": 2}  # PGAgent refuses these keys


@pytest.mark.parametrize("name", NAMES)
def test_yaml_example_runs(tmp_path: Path, name: str) -> None:
    raw = load_config_source(EXAMPLES / f"{name}.yaml")
    assert is_rl_config(raw)
    memory = raw.get("agent_config", {}).get("memory_config", {})
    short = dict(SHORT)
    if memory.get("module") == "BatchMemory":
        memory["batch_size"] = 128
    else:
        short.update(OFF_POLICY_SHORT)
    experiment = create_rl_experiment([raw, short], output_dir=tmp_path)
    results = experiment.run_schedule()
    assert results["episodes"] == 1 and experiment.agent.global_step == 256
    assert (tmp_path / "config.yaml").is_file() and (tmp_path / "metrics.csv").is_file()
    assert experiment.agent.latest_checkpoint() is not None


@pytest.mark.parametrize("name", NAMES)
def test_python_example_runs(tmp_path: Path, name: str) -> None:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    results = module.main(200, str(tmp_path))
    assert results["episodes"] >= 1


def _config(**overrides: object) -> dict:
    base: dict = {"kind": "rl", "environment_config": {"env_id": "CartPole-v1"}}
    base.update(overrides)
    return base


def test_unknown_env_id_fails_in_the_config() -> None:
    with pytest.raises(
        ConfigError, match=r"environment_config.env_id.*Did you mean 'CartPole-v1'"
    ):
        validate_config(_config(environment_config={"env_id": "CartPol-v1"}))


def test_memory_smaller_than_batch_fails_in_the_config() -> None:
    with pytest.raises(ConfigError, match="size >= batch_size"):
        RLExperimentConfig.from_dict(
            _config(agent_config={"memory_config": {"size": 10, "batch_size": 32}})
        )


def test_discrete_model_on_continuous_env_fails_before_training(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"needs a discrete action space.*Pendulum-v1"):
        create_rl_experiment(
            _config(environment_config={"env_id": "Pendulum-v1"}), output_dir=tmp_path
        )
    assert not (tmp_path / "metrics.csv").exists()


def test_on_policy_model_needs_pg_agent(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"agent_config.module: PGAgent"):
        create_rl_experiment(_config(model_config={"module": "PPOModel"}), output_dir=tmp_path)


def test_setting_a_model_does_not_take_is_an_error() -> None:
    with pytest.raises(ConfigError, match="does not take `gae_lambda`"):
        validate_config(_config(model_config={"gae_lambda": 0.9}))


def test_round_trip_and_kind() -> None:
    config = RLExperimentConfig.from_dict(_config())
    assert RLExperimentConfig.read_configs(config.to_dict()) == config
    assert not is_rl_config({"model_config": {}})
