"""Each key of the RL configs changes what the run does (issue #10: a key acts or is rejected).

Runs are built from config dicts with ``create_rl_experiment`` (or ``RLModelConfig`` and the
model's ``from_config``) and kept to a few hundred CartPole steps.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest
import torch

from petri.configs import RLModelConfig
from petri.envs import GymEnvironment
from petri.errors import ConfigError
from petri.experiments import create_rl_experiment, validate_config
from petri.rl import RL_MODELS
from petri.rl.agent import PGAgent
from petri.rl.explorations import LinearExploration
from petri.rl.memories import BatchMemory, PrioritizedMemory, ReplayBatch, RolloutBatch
from petri.training.checkpoints import list_checkpoints

GRAPH = {"definition": [["FullyConnected", {"num_units": 8, "activation": "relu"}]]}


def _config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "kind": "rl",
        "run_config": {"seed": 0},
        "environment_config": {"env_id": "CartPole-v1", "seed": 0},
        "agent_config": {"memory_config": {"size": 500, "batch_size": 16}},
        "model_config": {
            "module": "DQNModel",
            "graph_config": GRAPH,
            "target_update_frequency": 10,
        },
        "train_steps": 120,
        "first_update": 40,
        "update_frequency": 4,
        "eval_episodes": 1,
        "schedule": "train",
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


def _experiment(tmp_path: Path, **overrides: Any) -> Any:
    return create_rl_experiment(_config(**overrides), output_dir=tmp_path)


# --------------------------------------------------------------------------- selection keys
class _MyEnvironment(GymEnvironment):
    """A GymEnvironment subclass, to see that ``environment_config.module`` selects it."""


def test_module_keys_select_environment_agent_memory_model_and_exploration(
    tmp_path: Path,
) -> None:
    experiment = _experiment(
        tmp_path,
        environment_config={"module": _MyEnvironment, "env_id": "Acrobot-v1"},
        agent_config={"module": "PGAgent", "memory_config": {"module": "BatchMemory"}},
        model_config={
            "module": "VPGModel",
            "graph_config": GRAPH,
            "target_update_frequency": None,
        },
        first_update=5000,  # the defaults: PGAgent refuses off-policy update settings
        update_frequency=15,
    )
    assert isinstance(experiment.env, _MyEnvironment)
    assert experiment.env.env_id == "Acrobot-v1" and experiment.env.num_actions == 3
    assert isinstance(experiment.agent, PGAgent)
    assert isinstance(experiment.agent.memory, BatchMemory)
    experiment.agent._build(experiment.env)
    assert type(experiment.agent.model).__name__ == "VPGModel"
    experiment.close()
    explored = _experiment(
        tmp_path / "b",
        model_config={
            "exploration_config": {
                "module": "linear",
                "initial": 1.0,
                "final": 0.2,
                "decay_steps": 100,
            }
        },
    )
    explored.agent._build(explored.env)
    exploration = explored.agent.model.exploration
    assert isinstance(exploration, LinearExploration)
    assert exploration.rate(50) == pytest.approx(0.6) and exploration.rate(500) == 0.2
    explored.close()
    named = _experiment(tmp_path / "c", model_config={"exploration_config": {"name": "random"}})
    named.agent._build(named.env)
    assert named.agent.model.exploration.rate(10**6) == 1.0
    named.close()


# --------------------------------------------------------------------------- environment
class _Recorder(gymnasium.Wrapper):
    """Stands in for gymnasium's RecordVideo (which needs moviepy)."""

    def __init__(self, env: Any, video_folder: str, **kwargs: Any) -> None:
        super().__init__(env)
        self.video_folder = video_folder


def test_environment_config_keys_reach_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _experiment(
        tmp_path / "a",
        environment_config={
            "env_id": "CartPole-v1",
            "seed": 3,
            "num_envs": 3,
            "params": {"max_episode_steps": 7},
        },
    )
    assert first.env.num_envs == 3 and first.eval_env.num_envs == 1
    assert first.env.max_episode_steps == 7
    again = _experiment(tmp_path / "b", environment_config={"seed": 3})
    other = _experiment(tmp_path / "c", environment_config={"seed": 4})
    np.testing.assert_array_equal(first.env.reset()[0], again.env.reset())
    assert not np.array_equal(again.env.reset(), other.env.reset())
    for experiment in (first, again, other):
        experiment.close()

    monkeypatch.setattr(gymnasium.wrappers, "RecordVideo", _Recorder)
    videos = tmp_path / "videos"
    recorded = _experiment(
        tmp_path / "d", environment_config={"video_dir": str(videos), "num_envs": 1}
    )
    assert recorded.env.env.video_folder == str(videos)
    assert recorded.env.env.render_mode == "rgb_array"  # video_dir implies rgb_array
    assert recorded.eval_env.env.render_mode is None  # the evaluation copy records nothing
    recorded.close()
    rendered = _experiment(tmp_path / "e", environment_config={"render_mode": "rgb_array"})
    assert rendered.env.env.render_mode == "rgb_array"
    rendered.close()


def test_eval_environment_config_is_the_evaluation_environment(tmp_path: Path) -> None:
    experiment = _experiment(
        tmp_path,
        eval_environment_config={
            "env_id": "CartPole-v1",
            "seed": 5,
            "params": {"max_episode_steps": 9},
        },
        schedule="train_and_evaluate",
        eval_episodes=2,
    )
    results = experiment.run_schedule()
    assert experiment.eval_env.max_episode_steps == 9 and experiment.env.max_episode_steps == 500
    assert results["length_mean"] <= 9 and results["episodes"] == 2


# --------------------------------------------------------------------------- agent and memory
def test_agent_config_output_dir_holds_the_checkpoints(tmp_path: Path) -> None:
    experiment = _experiment(tmp_path / "run", agent_config={"output_dir": str(tmp_path / "ck")})
    experiment.run_schedule()
    assert list_checkpoints(tmp_path / "ck") and not (tmp_path / "run" / "checkpoints").exists()


def test_memory_config_keys_build_the_replay_memory(tmp_path: Path) -> None:
    experiment = _experiment(
        tmp_path,
        agent_config={"memory_config": {"size": 50, "batch_size": 8}},
        first_update=40,
    )
    experiment.run_schedule()
    memory = experiment.agent.memory
    assert len(memory) == 50  # 120 steps stored in a memory of 50
    assert memory.sample().states.shape == (8, 4)

    prioritized = _experiment(
        tmp_path / "p",
        agent_config={
            "memory_config": {
                "module": "PrioritizedMemory",
                "size": 8,
                "batch_size": 2,
                "alpha": 0.5,
                "beta": 0.2,
                "beta_final": 0.6,
                "beta_steps": 4,
                "epsilon": 1e-9,
            }
        },
    ).agent.memory
    assert isinstance(prioritized, PrioritizedMemory)
    for t in range(4):
        prioritized.add([t, 0, 0, 0], 0, 0.0, [t, 0, 0, 0], False)
    prioritized.update_priorities(np.arange(4), [1.0, 4.0, 9.0, 16.0])
    # p ** alpha = 1, 2, 3, 4 (epsilon is negligible)
    np.testing.assert_allclose(
        prioritized.probabilities(np.arange(4)), [0.1, 0.2, 0.3, 0.4], rtol=1e-6
    )
    assert prioritized.beta == pytest.approx(0.2)
    prioritized.sample(), prioritized.sample()
    assert prioritized.beta == pytest.approx(0.4)  # half way over beta_steps
    prioritized.sample(), prioritized.sample(), prioritized.sample()
    assert prioritized.beta == pytest.approx(0.6)  # beta_final after beta_steps samples
    prioritized.update_priorities(np.array([0]), [0.0])
    assert prioritized.probabilities(np.array([0]))[0] == pytest.approx(1e-9**0.5 / 9, rel=1e-3)


def test_memory_save_contents_decides_whether_checkpoints_hold_transitions(
    tmp_path: Path,
) -> None:
    for save, expected in ((True, 120), (False, 0)):
        memory = {"size": 500, "batch_size": 16, "save_contents": save}
        folder = tmp_path / str(save)
        _experiment(folder, agent_config={"memory_config": memory}).run_schedule()
        resumed = _experiment(folder, agent_config={"memory_config": memory}, train_steps=120)
        resumed.agent._build(resumed.env)
        assert len(resumed.agent.memory) == expected


# --------------------------------------------------------------------------- the schedule
def test_first_update_update_frequency_gradient_steps_and_train_steps(tmp_path: Path) -> None:
    experiment = _experiment(
        tmp_path, train_steps=150, first_update=50, update_frequency=5, gradient_steps=3
    )
    experiment.run_schedule()
    assert experiment.agent.global_step == 150
    assert experiment.agent.model.num_updates == 3 * len(range(50, 151, 5))
    later = _experiment(
        tmp_path / "b", train_steps=150, first_update=100, update_frequency=25, gradient_steps=1
    )
    later.run_schedule()
    assert later.agent.model.num_updates == len(range(100, 151, 25))


def test_train_episodes_ends_training_after_that_many_episodes(tmp_path: Path) -> None:
    experiment = _experiment(tmp_path, train_steps=100_000, train_episodes=3)
    results = experiment.run_schedule()
    assert results["episodes"] == 3 and results["global_step"] < 100_000


def test_schedule_eval_episodes_eval_every_n_steps_and_target_return(tmp_path: Path) -> None:
    trained = _experiment(tmp_path / "a", schedule="train")
    assert set(trained.run_schedule()) == {"global_step", "episodes"}  # no evaluation
    evaluated = _experiment(tmp_path / "a", schedule="evaluate", eval_episodes=3)
    results = evaluated.run_schedule()  # greedy episodes of the checkpoint just written
    assert results["episodes"] == 3 and results["global_step"] == 120
    stopped = _experiment(
        tmp_path / "b",
        schedule="train",
        train_steps=1000,
        eval_every_n_steps=60,
        target_return=1.0,  # any episode reaches it: training stops at the first evaluation
    )
    stopped.run_schedule()
    assert stopped.agent.global_step == 60 and stopped.evaluation_hook.reached == 60
    periodic = _experiment(tmp_path / "c", schedule="train", eval_every_n_steps=60)
    periodic.run_schedule()
    assert periodic.agent.global_step == 120 and periodic.evaluation_hook.reached is None


# --------------------------------------------------------------------------- model keys
def _model(**config: Any) -> Any:
    torch.manual_seed(0)
    model_config = RLModelConfig.from_dict({"graph_config": GRAPH, **config})
    kwargs: dict[str, Any] = {}
    if model_config.module == "NAFModel":
        kwargs["action_bounds"] = (-1.0, 1.0)
    return RL_MODELS.get(model_config.module).from_config(
        model_config, num_states=4, num_actions=2, **kwargs
    )


def _replay_batch(n: int = 16) -> ReplayBatch:
    generator = torch.Generator().manual_seed(1)
    return ReplayBatch(
        states=torch.randn(n, 4, generator=generator),
        actions=torch.randint(0, 2, (n,), generator=generator),
        rewards=torch.randn(n, generator=generator) * 10,
        next_states=torch.randn(n, 4, generator=generator),
        terminals=torch.zeros(n),
        steps=torch.ones(n),
    )


def _rollout(steps: int = 32, envs: int = 2) -> RolloutBatch:
    generator = torch.Generator().manual_seed(2)
    dones = (torch.rand(steps, envs, generator=generator) < 0.1).float()
    return RolloutBatch(
        states=torch.randn(steps, envs, 4, generator=generator),
        actions=torch.randint(0, 2, (steps, envs), generator=generator),
        rewards=torch.rand(steps, envs, generator=generator),
        next_states=torch.randn(steps, envs, 4, generator=generator),
        terminals=dones,
        dones=dones,
    )


def _flat(model: Any) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1).clone() for p in model.parameters()])


def test_rl_model_module_graph_optimizer_loss_and_params(tmp_path: Path) -> None:
    model = _model(
        module="DDQNModel",
        graph_config={"definition": [["FullyConnected", {"num_units": 5}]]},
        optimizer_config={"name": "sgd", "learning_rate": 0.25},
        loss_config={"name": "mean_squared_error"},
    )
    assert type(model).__name__ == "DDQNModel"
    assert model.q_network.graph.body.fully_connected_1.weight.shape == (5, 4)
    assert isinstance(model.optimizer, torch.optim.SGD)
    assert model.optimizer.param_groups[0]["lr"] == 0.25
    batch = _replay_batch()
    q = model.q_network(batch.states).gather(1, batch.actions.view(-1, 1)).view(-1)
    mse = (q - model.td_targets(batch)).pow(2).mean()
    torch.testing.assert_close(model.loss(batch), mse)
    huber = _model(loss_config={"name": "huber_loss"}).loss(batch)
    assert huber < mse  # rewards of ~10: huber grows linearly, not quadratically

    bounded = create_rl_experiment(
        _config(
            environment_config={"env_id": "Pendulum-v1"},
            model_config={
                "module": "NAFModel",
                "graph_config": GRAPH,
                "target_update_frequency": None,
                "params": {"action_bounds": [-0.5, 0.5]},
            },
        ),
        output_dir=tmp_path,
    )
    bounded.agent._build(bounded.env)
    naf = bounded.agent.model
    actions = naf.predictions(torch.randn(64, 3) * 10)["actions"]
    assert actions.abs().max() <= 0.5 + 1e-6  # params reach the model: not the env's +-2


def test_rl_clip_gradients_bounds_each_update() -> None:
    batch = _replay_batch()
    for clip, bound in ((1e-4, 1e-4 * (1 + 1e-4)), (None, math.inf)):
        model = _model(optimizer_config={"name": "sgd", "learning_rate": 1.0}, clip_gradients=clip)
        before = _flat(model.q_network)
        model.update(batch)
        change = (_flat(model.q_network) - before).norm().item()
        assert change <= bound
        if clip is None:
            assert change > 1e-2


def test_discount_scales_the_bootstrapped_value() -> None:
    batch = _replay_batch()
    torch.testing.assert_close(_model(discount=0.0).td_targets(batch), batch.rewards)
    half = _model(discount=0.5)
    expected = batch.rewards + 0.5 * half.target_network(batch.next_states).amax(dim=1)
    torch.testing.assert_close(half.td_targets(batch), expected)


def test_target_update_frequency_and_tau_sync_the_target_network() -> None:
    batch = _replay_batch()
    model = _model(target_update_frequency=3)
    initial = _flat(model.target_network)
    model.update(batch), model.update(batch)
    torch.testing.assert_close(_flat(model.target_network), initial)  # not yet
    model.update(batch)
    torch.testing.assert_close(_flat(model.target_network), _flat(model.q_network))

    soft = _model(target_update_frequency=1, tau=0.25)
    old_target = _flat(soft.target_network)
    soft.update(batch)
    online = _flat(soft.q_network)
    torch.testing.assert_close(
        _flat(soft.target_network), old_target + 0.25 * (online - old_target)
    )


@pytest.mark.parametrize(("method", "reduce"), [("mean", torch.mean), ("max", torch.amax)])
def test_dueling_aggregates_value_and_advantages(method: str, reduce: Any) -> None:
    model = _model(dueling=method)
    states = torch.randn(6, 4)
    head = model.q_network.head
    features = model.q_network.graph(states)
    q_values = model.predictions(states)["q_values"]
    # mean: mean_a Q = V; max: max_a Q = V
    torch.testing.assert_close(reduce(q_values, dim=1, keepdim=True), head.value(features))


def test_n_steps_stores_n_step_transitions(tmp_path: Path) -> None:
    for n_steps in (1, 3):
        experiment = _experiment(
            tmp_path / str(n_steps),
            model_config={"n_steps": n_steps},
            train_steps=60,
            first_update=1000,
        )
        experiment.run_schedule()
        assert float(experiment.agent.memory.sample().steps.max()) == n_steps


def test_policy_loss_keys_change_the_loss() -> None:
    batch = _rollout()
    base = {"module": "VPGModel", "value_coefficient": 0.0, "entropy_coefficient": 0.0}

    def loss(**keys: Any) -> float:
        return float(_model(**{**base, **keys}).loss(batch).detach())

    assert loss(value_coefficient=1.0) > loss()  # + the value loss
    assert loss(entropy_coefficient=1.0) < loss()  # - the entropy bonus
    assert loss(gae_lambda=0.0) != pytest.approx(loss(gae_lambda=1.0))
    assert loss(discount=0.0) != pytest.approx(loss(discount=0.99))
    raw = {"normalize_advantages": False}
    assert loss(**raw) != pytest.approx(loss(normalize_advantages=True))


def _adam_steps(model: Any) -> int:
    return int(next(iter(model.optimizer.state.values()))["step"])


def test_ppo_num_epochs_minibatch_size_and_clip_range() -> None:
    batch = _rollout(steps=32, envs=2)  # 64 samples
    model = _model(module="PPOModel", num_epochs=3, minibatch_size=16)
    model.update(batch)
    assert _adam_steps(model) == 3 * 4
    whole = _model(module="PPOModel", num_epochs=2, minibatch_size=64)
    whole.update(batch)
    assert _adam_steps(whole) == 2

    def clip_fraction(clip_range: float) -> float:
        ppo = _model(
            module="PPOModel",
            num_epochs=20,
            minibatch_size=64,
            clip_range=clip_range,
            optimizer_config={"name": "adam", "learning_rate": 0.05},
        )
        return float(ppo.update(batch).logs["policy/clip_fraction"])

    assert clip_fraction(0.01) > clip_fraction(0.9)


def test_trpo_keys_shape_the_policy_step_and_the_value_fit() -> None:
    batch = _rollout(steps=32, envs=2)

    def step(**keys: Any) -> tuple[Any, torch.Tensor, dict[str, Any]]:
        model = _model(module="TRPOModel", **keys)
        before = _flat(model.policy_network)
        logs = model.update(batch).logs
        return model, _flat(model.policy_network) - before, logs

    model, default_step, logs = step(value_iterations=3, minibatch_size=16)
    assert _adam_steps(model) == 3 * 4  # value passes x minibatches of the value network
    assert float(logs["policy/kl"]) <= 1.5 * model.max_kl
    _, small, _ = step(max_kl=1e-5)
    _, large, _ = step(max_kl=1e-1)
    assert 0 < small.norm() < large.norm()
    _, damped, _ = step(damping=100.0)
    assert not torch.allclose(damped, default_step)
    _, one_iteration, _ = step(cg_iterations=1)
    assert not torch.allclose(one_iteration, default_step)


@pytest.mark.parametrize("module", ["DQNModel", "PPOModel", "TRPOModel", "VPGModel", "NAFModel"])
def test_value_optimizer_config_is_rejected_by_every_model(module: str) -> None:
    config = _config(model_config={"module": module, "value_optimizer_config": {"name": "sgd"}})
    config["model_config"].pop("target_update_frequency")
    with pytest.raises(ConfigError, match="does not take `value_optimizer_config`"):
        validate_config(config)


# --------------------------------------------------------------------------- the run
def test_kind_rl_reads_the_config_as_an_rl_experiment() -> None:
    with pytest.raises(ConfigError, match="environment_config"):  # an RL config needs one
        validate_config({"kind": "rl", "train_steps": 10})
    with pytest.raises(ConfigError, match="kind"):
        validate_config(_config(kind="supervised"))


def test_name_output_dir_version_and_run_config_seed(tmp_path: Path) -> None:
    def run(version: int | None = None, seed: int = 0) -> Any:
        config = _config(name="cart", output_dir=str(tmp_path), run_config={"seed": seed})
        experiment = create_rl_experiment({**config, "version": version})
        experiment.run_schedule()
        return experiment

    first = run()
    assert first.output_dir == tmp_path / "cart" / "version_0"
    weights = _flat(first.agent.model)
    second = run()
    assert second.output_dir == tmp_path / "cart" / "version_1"
    torch.testing.assert_close(_flat(second.agent.model), weights)  # the same seed
    assert not torch.equal(_flat(run(seed=1).agent.model), weights)
    resumed = create_rl_experiment(
        {**_config(name="cart", output_dir=str(tmp_path), train_steps=130), "version": 0}
    )
    assert resumed.output_dir == first.output_dir and resumed.agent.global_step == 120
