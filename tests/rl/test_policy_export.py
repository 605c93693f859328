"""Issue #14 item 5: a trained agent's greedy policy exported in the Estimator's export format
(model.pt2, model.onnx, saved_model.json), from Python and with `petri export RUN`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import petri as plx
from petri.envs import GymEnvironment
from petri.estimators import Agent, PGAgent
from petri.export import load_exported
from petri.rl.memories import BatchMemory, Memory

from ._helpers import q_model, small_graph


@pytest.fixture(scope="module")
def dqn(tmp_path_factory) -> Agent:
    agent = Agent(
        q_model(),
        Memory(500, 16),
        model_dir=tmp_path_factory.mktemp("dqn"),
        config={"seed": 0, "save_checkpoints_steps": 100},
    )
    agent.train(GymEnvironment("CartPole-v1", seed=0), steps=300, first_update=50)
    return agent


def _states(n: int, seed: int = 0) -> np.ndarray:
    """Random CartPole states, spread over where the cart and pole go."""
    scale = np.array([2.4, 3.0, 0.21, 3.0], np.float32)
    return np.random.default_rng(seed).uniform(-1, 1, (n, 4)).astype(np.float32) * scale


def test_a_dqn_policy_exports_its_greedy_actions_and_q_values(dqn, tmp_path: Path) -> None:
    path = Path(dqn.export_savedmodel(tmp_path / "exports"))
    meta = json.loads((path / "saved_model.json").read_text())
    assert meta["inputs"] == {"state": {"dtype": "float32", "shape": [-1, 4]}}
    assert set(meta["signatures"]["serving_default"]["outputs"]) == {"actions", "q_values"}
    assert meta["global_step"] == dqn.global_step
    assert (path / "model.onnx").is_file()
    states = _states(100)
    expected = dqn.predict(states)
    assert len(set(expected["actions"].tolist())) == 2  # the states ask for both actions
    for runtime in ("torch", "onnxruntime"):
        served = load_exported(path, runtime=runtime)(states)
        np.testing.assert_array_equal(served["actions"], expected["actions"])
        np.testing.assert_allclose(served["q_values"], expected["q_values"], atol=1e-5)


def test_an_older_checkpoint_exports_its_own_weights(dqn, tmp_path: Path) -> None:
    from petri.training.checkpoints import list_checkpoints

    oldest = list_checkpoints(dqn.model_dir)[0]
    path = dqn.export_savedmodel(tmp_path, checkpoint_path=oldest)
    meta = json.loads((Path(path) / "saved_model.json").read_text())
    assert meta["checkpoint"] == str(oldest) and meta["global_step"] < dqn.global_step
    again = Agent(q_model(), Memory(500, 16), model_dir=dqn.model_dir, config={"seed": 0})
    assert again.export_savedmodel(tmp_path / "newest")  # builds from its checkpoint's shape


def test_a_policy_gradient_export_gives_action_probabilities(tmp_path: Path) -> None:
    model = plx.models.PPOModel(graph_fn=small_graph(), num_states=4, num_actions=2)
    agent = PGAgent(model, BatchMemory(64), model_dir=tmp_path / "m", config={"seed": 0})
    agent.train(GymEnvironment("CartPole-v1", seed=0), steps=128)
    served = load_exported(agent.export_savedmodel(tmp_path / "e"))
    states = _states(20)
    out, expected = served(states), agent.predict(states)
    np.testing.assert_array_equal(out["actions"], expected["actions"])
    np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(out["values"], expected["values"], atol=1e-5)


def test_an_untrained_agent_does_not_export(tmp_path: Path) -> None:
    agent = Agent(q_model(), Memory(500, 16), model_dir=tmp_path / "m")
    with pytest.raises(plx.errors.NotTrainedError, match="Could not find trained model"):
        agent.export_savedmodel(tmp_path / "e")
    assert not (tmp_path / "e").exists()
