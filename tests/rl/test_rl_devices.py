"""RL agents follow ``run_config.device`` (issue #15): the model lives there, acting sends the
states there and brings actions back as numpy, and the memory's batches go there for updates.

This machine has no GPU: the device paths are exercised with torch's ``meta`` device (tensors
with shapes and no data), and the CUDA test runs where CUDA exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from petri.envs import GymEnvironment
from petri.errors import ConfigError
from petri.estimators import Agent, PGAgent
from petri.rl._loop import OffPolicyLearner, OnPolicyLearner
from petri.rl.memories import BatchMemory, Memory, PrioritizedMemory
from petri.training.devices import move_to_device

from ._helpers import q_model, small_graph

META = torch.device("meta")


def test_the_agent_places_its_model_on_the_configured_device(tmp_path: Path) -> None:
    agent = Agent(q_model(), model_dir=str(tmp_path / "cpu"), config={"device": "cpu", "seed": 0})
    agent.train(GymEnvironment("CartPole-v1", seed=0), steps=300, first_update=100)
    assert agent.device == torch.device("cpu")
    assert agent.model.device == torch.device("cpu")
    assert {p.device.type for p in agent.model.parameters()} == {"cpu"}
    if not torch.cuda.is_available():  # the key is honoured, so a missing device is named
        with pytest.raises(ConfigError, match=r"run_config.device is 'cuda'.*no CUDA device"):
            Agent(q_model(), model_dir=str(tmp_path / "cuda"), config={"device": "cuda"})


def test_an_rl_model_tracks_its_device_and_acting_inputs_follow() -> None:
    model = q_model()
    states = np.zeros((3, 4), dtype=np.float32)
    assert model.as_input(states).device.type == "cpu"
    assert np.shares_memory(model.as_input(states).numpy(), states)  # no copy on the CPU
    model.to(META)
    assert model.device == META
    assert {p.device for p in model.parameters()} == {META}
    moved = model.as_input(states)
    assert moved.device == META and moved.shape == (3, 4)


class _Recorder:
    """Stands in for a model on another device: records where update batches arrive."""

    device = META
    discount = 0.99

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def update(self, batch: Any) -> Any:
        self.seen.append(batch)
        return type("Result", (), {"td_errors": torch.ones(len(batch.rewards)), "logs": {}})()


@pytest.mark.parametrize("memory_class", [Memory, PrioritizedMemory])
def test_replay_batches_go_to_the_model_device(memory_class: type) -> None:
    memory = memory_class(size=64, batch_size=8, rng=0)
    model = _Recorder()
    learner = OffPolicyLearner(
        model, memory, 1, first_update=0, update_frequency=1, gradient_steps=2
    )  # type: ignore[arg-type]
    for step in range(16):
        state = np.full((1, 4), step, dtype=np.float32)
        learner.observe(
            state, np.array([1]), np.array([1.0]), state + 1, np.array([False]), np.array([False])
        )
    if memory_class is PrioritizedMemory:  # the TD errors come back from the device
        memory.update_priorities = lambda indices, errors: None  # type: ignore[method-assign]
    learner.maybe_update(iteration=16, timestep=16)
    assert len(model.seen) == 2
    for batch in model.seen:
        tensors = [value for value in batch if isinstance(value, torch.Tensor)]
        assert tensors and {t.device for t in tensors} == {META}, batch
        assert type(batch).__name__ == "ReplayBatch"
        if batch.indices is not None:  # positions in the host memory stay numpy
            assert isinstance(batch.indices, np.ndarray)


def test_rollout_batches_go_to_the_model_device() -> None:
    memory = BatchMemory(batch_size=4)
    model = _Recorder()
    learner = OnPolicyLearner(model, memory, num_envs=2)  # type: ignore[arg-type]
    for step in range(2):
        states = np.full((2, 4), step, dtype=np.float32)
        learner.observe(
            states, np.array([0, 1]), np.ones(2), states + 1, np.zeros(2, bool), np.zeros(2, bool)
        )
    learner.maybe_update(iteration=2, timestep=4)
    (batch,) = model.seen
    assert {value.device for value in batch} == {META}
    assert batch.states.shape == (2, 2, 4)


def test_move_to_device_keeps_the_structure() -> None:
    value = {"a": torch.zeros(2), "b": [torch.ones(1), np.arange(3)], "c": (torch.ones(2), 5)}
    moved = move_to_device(value, META)
    assert moved["a"].device == META and moved["b"][0].device == META
    assert isinstance(moved["b"][1], np.ndarray) and moved["c"][1] == 5
    assert isinstance(moved["c"], tuple) and moved["c"][0].device == META
    assert move_to_device(value, torch.device("cpu")) is value


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_agents_train_on_cuda_and_their_checkpoints_load_on_the_cpu(tmp_path: Path) -> None:
    from petri.models import PPOModel

    agent = Agent(q_model(), model_dir=str(tmp_path / "dqn"), config={"device": "cuda", "seed": 0})
    agent.train(GymEnvironment("CartPole-v1", seed=0), steps=400, first_update=100)
    assert {p.device.type for p in agent.model.parameters()} == {"cuda"}
    states = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    on_cpu = Agent(q_model(), model_dir=str(tmp_path / "dqn"), config={"device": "cpu"})
    np.testing.assert_allclose(
        on_cpu.predict(states)["q_values"], agent.predict(states)["q_values"], atol=1e-5
    )
    ppo = PGAgent(
        PPOModel(graph_fn=small_graph(), num_states=4, num_actions=2),
        memory=BatchMemory(batch_size=64),
        model_dir=str(tmp_path / "ppo"),
        config={"device": "cuda", "seed": 0},
    )
    ppo.train(GymEnvironment("CartPole-v1", seed=0, num_envs=2), steps=256)
    assert {p.device.type for p in ppo.model.parameters()} == {"cuda"}
