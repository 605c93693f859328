"""Evaluating an agent's greedy policy: ``evaluate_policy`` and the ``EvaluateAgentHook``."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from petri.training.hooks import Hook, LoopState

__all__ = ["EvaluateAgentHook", "evaluate_policy"]


class Agent(Protocol):
    """What the hook needs of the agent it evaluates (``petri.rl.Agent``)."""

    model: Any
    trained: bool

    def evaluate(self, env: Any, episodes: int = 10) -> dict[str, Any]: ...


class EvaluateAgentHook(Hook):
    """Evaluate the greedy policy every N steps; optionally stop once it reaches a return.

    To keep evaluations cheap, ``screen_episodes`` episodes run first and the full
    ``episodes`` only when their mean already reaches ``target_return``.

    Args:
        agent: the agent being trained.
        env: a separate evaluation environment.
        every_n_steps: cadence in environment steps (all sub-environments counted; with
            several, the loop iteration that reaches or passes each multiple).
        episodes: episodes of a full evaluation.
        target_return: stop training once a full evaluation's mean return is >= this.
        screen_episodes: episodes of the quick check (0 disables screening).

    Attributes:
        history: ``(global_step, results)`` of every full evaluation.
        reached: the first global step at which ``target_return`` was reached, else None.
    """

    def __init__(
        self,
        agent: Agent,
        env: Any,
        every_n_steps: int = 5000,
        episodes: int = 20,
        target_return: float | None = None,
        screen_episodes: int = 3,
    ) -> None:
        super().__init__(every_n_steps)
        self.agent, self.env, self.episodes = agent, env, episodes
        self.target_return, self.screen_episodes = target_return, screen_episodes
        self.history: list[tuple[int, dict[str, Any]]] = []
        self.reached: int | None = None

    def after_step(self, state: LoopState) -> None:
        model = self.agent.model
        if self.target_return is not None and self.screen_episodes:
            screen = evaluate_policy(model, self.env, self.screen_episodes)
            if screen["return_mean"] < self.target_return:
                return
        self.agent.trained = True
        results = self.agent.evaluate(self.env, self.episodes)
        self.history.append((state.global_step, results))
        if self.target_return is not None and results["return_mean"] >= self.target_return:
            self.reached = state.global_step
            state.stop = True


def evaluate_policy(model: Any, env: Any, episodes: int) -> dict[str, Any]:
    """Greedy episodes of ``model`` in ``env``: return and length statistics.

    In a vector environment each sub-environment plays its share of ``episodes`` (the first
    ``episodes % num_envs`` one more) and later episodes are not counted: counting whichever
    episodes end first would favour short ones (Stable-Baselines3's ``evaluate_policy`` does the
    same).
    """
    num_envs = getattr(env, "num_envs", 1)
    vector = num_envs > 1
    rng = np.random.default_rng(0)  # greedy acting draws nothing; keeps training RNG untouched
    was_training = model.training
    model.train(False)
    returns: list[float] = []
    lengths: list[int] = []
    wanted = np.array([(episodes + index) // num_envs for index in range(num_envs)][::-1])
    counted = np.zeros(num_envs, dtype=np.int64)
    episode_return = np.zeros(num_envs)
    episode_length = np.zeros(num_envs, dtype=np.int64)
    states = np.asarray(env.reset(), dtype=np.float32)
    try:
        while (counted < wanted).any():
            batch = states if vector else states[None]
            actions = model.act(batch, 0, rng, greedy=True)
            spec = env.step(actions if vector else actions[0])
            episode_return += spec.reward
            episode_length += 1
            for index in np.flatnonzero(spec.done):
                if counted[index] < wanted[index]:
                    counted[index] += 1
                    returns.append(float(episode_return[index]))
                    lengths.append(int(episode_length[index]))
                episode_return[index], episode_length[index] = 0.0, 0
            states = np.asarray(env.state, dtype=np.float32)
    finally:
        model.train(was_training)
    return {
        "return_mean": float(np.mean(returns)),
        "return_min": float(np.min(returns)),
        "return_max": float(np.max(returns)),
        "return_std": float(np.std(returns)),
        "length_mean": float(np.mean(lengths)),
        "episodes": len(returns),
    }
