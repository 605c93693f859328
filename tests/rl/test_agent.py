"""Agent and PGAgent: seed-style use, smoke runs of every algorithm, checkpoints, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import petri as plx
from petri.envs import GymEnvironment
from petri.estimators import Agent, EvaluateAgentHook, PGAgent
from petri.rl.memories import BatchMemory, Memory, PrioritizedMemory

from ._helpers import q_model, small_graph


def test_seed_002_snippet_runs_with_only_the_import_changed(tmp_path: Path) -> None:
    with pytest.warns(DeprecationWarning, match="CartPole-v0"):  # gymnasium: v0 is old
        env = plx.envs.GymEnvironment("CartPole-v0", seed=0)

    def graph_fn(mode, inputs):
        return plx.layers.FullyConnected(mode, num_units=512)(inputs["state"])

    def model_fn(features, labels, mode):
        model = plx.models.DDQNModel(
            mode,
            graph_fn=graph_fn,
            loss_config=plx.configs.LossConfig(module="huber_loss"),
            num_states=env.num_states,
            num_actions=env.num_actions,
            optimizer_config=plx.configs.OptimizerConfig(module="sgd", learning_rate=0.01),
            exploration_config=plx.configs.ExplorationConfig(module="decay"),
            target_update_frequency=10,
            summaries="all",
        )
        return model(features, labels)

    memory = plx.rl.memories.Memory()
    estimator = plx.estimators.Agent(model_fn=model_fn, memory=memory, model_dir=str(tmp_path))
    # train(env) alone runs DEFAULT_TRAIN_STEPS; a shorter call keeps the test quick
    estimator.train(env, steps=400, first_update=100, update_frequency=15)
    assert estimator.global_step == 400 and estimator.model.num_updates == 20
    names = [name for name, _ in estimator.model.named_parameters()]
    assert any("fully_connected_1" in name for name in names)  # built once, reused
    assert estimator.latest_checkpoint() is not None


def test_a_run_log_receives_episode_and_training_rows(tmp_path: Path) -> None:
    run = plx.tracking.Experiment(name="agent", log_dir=tmp_path / "run", autosave=True)
    env = plx.envs.GymEnvironment("CartPole-v1", seed=0)
    agent = plx.estimators.Agent(
        q_model(),
        model_dir=str(tmp_path / "ckpt"),
        config={"log_step_count_steps": 50},
        run_log=run,
    )
    agent.train(env, steps=300, first_update=50, update_frequency=5)
    run.close()
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert "episode/return" in rows[0] and len(rows) > 5


def test_default_end_of_train_is_documented() -> None:
    assert plx.rl.DEFAULT_TRAIN_STEPS == 10_000


@pytest.mark.parametrize(
    ("cls", "kwargs", "memory"),
    [
        ("DQNModel", {}, Memory(500, 16)),
        ("DDQNModel", {"dueling": "mean"}, Memory(500, 16)),
        ("DDQNModel", {"dueling": "max", "n_steps": 3, "tau": 0.5}, Memory(500, 16)),
        ("DQNModel", {"dueling": "naive"}, PrioritizedMemory(500, 16)),
    ],
)
def test_q_models_smoke(tmp_path: Path, cls: str, kwargs: dict, memory: Memory) -> None:
    agent = Agent(q_model(cls, **kwargs), memory, model_dir=tmp_path, config={"seed": 0})
    agent.train(
        GymEnvironment("CartPole-v1", seed=0),
        steps=300,
        first_update=50,
        update_frequency=2,
        gradient_steps=2,
    )
    assert agent.model.num_updates == 2 * 126  # iterations 50, 52, ..., 300
    results = agent.evaluate(GymEnvironment("CartPole-v1", seed=1), episodes=2)
    assert results["episodes"] == 2 and results["return_min"] <= results["return_mean"]
    assert {"return_max", "length_mean", "global_step"} <= set(results)


def test_vectorised_off_policy_training(tmp_path: Path) -> None:
    agent = Agent(q_model(), Memory(500, 16), model_dir=tmp_path, config={"seed": 0})
    agent.train(
        GymEnvironment("CartPole-v1", seed=0, num_envs=4),
        steps=200,
        first_update=40,
        update_frequency=1,
    )
    assert agent.global_step == 200 and len(agent.memory) == 200


@pytest.mark.parametrize("cls", ["VPGModel", "PPOModel"])
def test_policy_gradient_smoke(tmp_path: Path, cls: str) -> None:
    model = getattr(plx.models, cls)(graph_fn=small_graph(), num_states=4, num_actions=2)
    agent = PGAgent(model, BatchMemory(64), model_dir=tmp_path, config={"seed": 0})
    agent.train(GymEnvironment("CartPole-v1", seed=0, num_envs=2), steps=256)
    assert agent.model.num_updates == 4
    assert agent.evaluate(GymEnvironment("CartPole-v1", seed=1), episodes=1)["episodes"] == 1


def test_policy_gradient_continuous_smoke(tmp_path: Path) -> None:
    model = plx.models.PPOModel(
        graph_fn=small_graph(), num_states=3, num_actions=1, is_continuous=True, num_epochs=2
    )
    agent = PGAgent(model, BatchMemory(100), model_dir=tmp_path, config={"seed": 0})
    agent.train(GymEnvironment("Pendulum-v1", seed=0), steps=200)
    assert agent.model.num_updates == 2
    assert agent.predict(np.zeros(3, np.float32))["actions"].shape == (1,)


def test_checkpoint_and_resume(tmp_path: Path) -> None:
    env = GymEnvironment("CartPole-v1", seed=0)
    agent = Agent(q_model(), Memory(500, 16), model_dir=tmp_path, config={"seed": 0})
    agent.train(env, steps=200, first_update=50, update_frequency=1)
    weights = {k: v.clone() for k, v in agent.model.state_dict().items()}
    episodes, updates = agent.episodes, agent.model.num_updates

    resumed = Agent(q_model(), Memory(500, 16), model_dir=tmp_path, config={"seed": 0})
    assert resumed.global_step == 200  # read from the checkpoint before building
    resumed._build(env)
    for key, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, weights[key])
    assert len(resumed.memory) == 200 and resumed.episodes == episodes
    assert resumed.model.num_updates == updates
    assert resumed.model.optimizer.state_dict()["state"]  # Adam moments restored
    torch.testing.assert_close(resumed.memory.sample(), agent.memory.sample())
    resumed.train(env, steps=100, first_update=50, update_frequency=1)
    assert resumed.global_step == 300 and resumed.model.num_updates == updates + 100
    resumed.train(env, max_steps=300)  # absolute: nothing to do
    assert resumed.global_step == 300


def test_a_model_dir_of_another_model_gives_a_clear_error(tmp_path: Path) -> None:
    env = GymEnvironment("CartPole-v1", seed=0)
    Agent(q_model(), Memory(500, 16), model_dir=tmp_path).train(env, steps=60, first_update=50)
    wider = Agent(q_model(graph_fn=small_graph(32)), Memory(500, 16), model_dir=tmp_path)
    with pytest.raises(plx.CheckpointMismatchError, match="different model"):
        wider.train(env, steps=10)


def test_memory_contents_can_stay_out_of_checkpoints(tmp_path: Path) -> None:
    env = GymEnvironment("CartPole-v1", seed=0)
    agent = Agent(q_model(), Memory(500, 16, save_contents=False), model_dir=tmp_path)
    agent.train(env, steps=100, first_update=50)
    resumed = Agent(q_model(), Memory(500, 16), model_dir=tmp_path)
    resumed._build(env)
    assert len(resumed.memory) == 0 and resumed.global_step == 100


def test_target_network_is_synced(tmp_path: Path) -> None:
    model = q_model(target_update_frequency=5)
    agent = Agent(model, Memory(500, 16), model_dir=tmp_path, config={"seed": 0})
    agent.train(
        GymEnvironment("CartPole-v1", seed=0), steps=70, first_update=50, update_frequency=1
    )
    assert model.num_updates == 21
    online = dict(model.q_network.named_parameters())
    for name, value in model.target_network.named_parameters():
        assert not torch.equal(value, online[name])  # last sync at update 20, one update since
    model.sync_target()
    for name, value in model.target_network.named_parameters():
        assert torch.equal(value, online[name]) and not value.requires_grad


def test_predict_and_evaluate_need_a_trained_model(tmp_path: Path) -> None:
    agent = Agent(q_model(), Memory(500, 16), model_dir=tmp_path)
    with pytest.raises(ValueError, match="Could not find trained model"):
        agent.evaluate(GymEnvironment("CartPole-v1"), episodes=1)
    agent.train(GymEnvironment("CartPole-v1", seed=0), steps=60, first_update=20)
    out = agent.predict(np.zeros((3, 4), np.float32))
    assert out["actions"].shape == (3,) and out["q_values"].shape == (3, 2)


def test_discrete_model_on_continuous_env_fails_before_training(tmp_path: Path) -> None:
    agent = Agent(q_model(num_states=3, num_actions=1), Memory(500, 16), model_dir=tmp_path)
    with pytest.raises(ValueError, match=r"needs a discrete action space.*Pendulum-v1"):
        agent.train(GymEnvironment("Pendulum-v1"), steps=10)
    assert agent.global_step == 0


def test_size_mismatch_fails_before_training(tmp_path: Path) -> None:
    agent = Agent(q_model(num_actions=3), Memory(500, 16), model_dir=tmp_path)
    with pytest.raises(ValueError, match="num_actions=3"):
        agent.train(GymEnvironment("CartPole-v1"), steps=10)


def test_wrong_memory_kind_and_wrong_agent(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="PGAgent"):
        Agent(q_model(), BatchMemory(10), model_dir=tmp_path)
    with pytest.raises(TypeError, match="Agent"):
        PGAgent(q_model(), Memory(100, 10), model_dir=tmp_path)
    agent = PGAgent(q_model(), BatchMemory(10), model_dir=tmp_path)
    with pytest.raises(TypeError, match="off-policy"):
        agent.train(GymEnvironment("CartPole-v1"), steps=10)


def test_bad_train_arguments() -> None:
    agent = Agent(q_model(), Memory(100, 10))
    env = GymEnvironment("CartPole-v1")
    with pytest.raises(ValueError, match="both steps and max_steps"):
        agent.train(env, steps=1, max_steps=2)
    with pytest.raises(ValueError, match="update_frequency >= 1"):
        agent.train(env, steps=1, update_frequency=0)


def test_episodes_stop_condition_and_evaluation_hook(tmp_path: Path) -> None:
    agent = Agent(q_model(), Memory(500, 16), model_dir=tmp_path, config={"seed": 0})
    hook = EvaluateAgentHook(
        agent,
        GymEnvironment("CartPole-v1", seed=3),
        every_n_steps=50,
        episodes=2,
        target_return=1.0,
        screen_episodes=1,
    )
    agent.train(GymEnvironment("CartPole-v1", seed=0), episodes=50, first_update=20, hooks=[hook])
    assert hook.reached == 50 and agent.global_step == 50  # any return >= 1: stops at once
    agent2 = Agent(q_model(), Memory(500, 16), model_dir=tmp_path / "b", config={"seed": 0})
    agent2.train(GymEnvironment("CartPole-v1", seed=0), episodes=3, first_update=20)
    assert agent2.episodes == 3


def test_trpo_smoke(tmp_path: Path) -> None:
    model = plx.models.TRPOModel(graph_fn=small_graph(), num_states=4, num_actions=2)
    agent = PGAgent(model, BatchMemory(128), model_dir=tmp_path, config={"seed": 0})
    before = [p.clone() for p in model.policy_network.parameters()]
    agent.train(GymEnvironment("CartPole-v1", seed=0), steps=256)
    assert model.num_updates == 2
    changed = any(not torch.equal(a, b) for a, b in zip(before, model.policy_network.parameters()))
    assert changed


def test_naf_smoke(tmp_path: Path) -> None:
    model = plx.models.NAFModel(
        graph_fn=small_graph(),
        num_states=3,
        num_actions=1,
        action_bounds=(-2.0, 2.0),
        exploration_config="ornstein_uhlenbeck",
    )
    agent = Agent(model, Memory(500, 16), model_dir=tmp_path, config={"seed": 0})
    agent.train(
        GymEnvironment("Pendulum-v1", seed=0), steps=200, first_update=50, update_frequency=1
    )
    assert model.num_updates == 151
    action = agent.predict(np.zeros(3, np.float32))["actions"]
    assert action.shape == (1,) and -2.0 <= action[0] <= 2.0
    with pytest.raises(ValueError, match="continuous"):
        agent.train(GymEnvironment("CartPole-v1"), steps=10)


def test_agent_loop_ends_hooks_and_keeps_steps_on_ctrl_c(tmp_path: Path) -> None:
    from petri.estimators import Hook

    class Interrupt(Hook):
        ended = None

        def after_step(self, state) -> None:
            if state.global_step == 120:
                raise KeyboardInterrupt

        def end(self, state) -> None:
            Interrupt.ended = state

    env = GymEnvironment("CartPole-v1", seed=0)
    agent = Agent(q_model(), model_dir=str(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        agent.train(env, steps=500, first_update=50, update_frequency=5, hooks=[Interrupt()])
    assert Interrupt.ended is not None and Interrupt.ended.interrupted
    assert Agent(q_model(), model_dir=str(tmp_path)).global_step == 120
