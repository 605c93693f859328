"""The Agent's environment loop and the two ways of learning from it (off- and on-policy).

The loop (``run_loop``) steps the environment with the model's actions, hands each step to a
*learner*, counts episodes and calls the hooks. A learner decides what to store and when to
update: ``OffPolicyLearner`` (replay memory, updates every ``update_frequency`` steps after
``first_update``) and ``OnPolicyLearner`` (batch memory, one update whenever it is full).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from petri.modes import ModeKeys
from petri.rl._checks import rollout_problem
from petri.rl._episode import InFlight
from petri.rl._nstep import NStepBuffer
from petri.rl.models import RLModel, UpdateResult
from petri.training.devices import move_to_device
from petri.training.hooks import Hook, HookList, LoopState, eta, logger, step_of

__all__ = [
    "AgentLoggingHook",
    "EpisodeStats",
    "OffPolicyLearner",
    "OnPolicyLearner",
    "StopCondition",
    "run_loop",
]


@dataclass
class EpisodeStats:
    """Finished episodes and throughput of one ``train`` call (``LoopState.episodes``)."""

    started: float = field(default_factory=time.perf_counter)
    start_step: int = 0
    count: int = 0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=100))
    last_return: float = float("nan")
    last_length: int = 0

    def rates(self, global_step: int) -> tuple[float, float]:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        return self.count / elapsed, (global_step - self.start_step) / elapsed

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.recent)) if self.recent else float("nan")


@dataclass
class StopCondition:
    """Training ends at ``last_step`` (global env steps) or after ``last_episode`` episodes."""

    last_step: int | None
    last_episode: int | None

    def reached(self, timestep: int, episodes: int) -> bool:
        return (self.last_step is not None and timestep >= self.last_step) or (
            self.last_episode is not None and episodes >= self.last_episode
        )


class OffPolicyLearner:
    """Stores (n-step) transitions in a replay memory and updates on sampled batches.

    Updates run when at least ``first_update`` environment steps were taken, the memory can
    sample a batch, and the loop iteration count is a multiple of ``update_frequency``; each
    update is ``gradient_steps`` calls of ``model.update``. Prioritized memories get the new
    TD errors after every call.
    """

    def __init__(
        self,
        model: RLModel,
        memory: Any,
        num_envs: int,
        first_update: int,
        update_frequency: int,
        gradient_steps: int,
    ) -> None:
        self.model, self.memory, self.num_envs = model, memory, num_envs
        self.first_update, self.update_frequency = first_update, update_frequency
        self.gradient_steps = gradient_steps
        n_steps = getattr(model, "n_steps", 1)
        self.nstep = NStepBuffer(n_steps, model.discount, num_envs) if n_steps > 1 else None
        self.prioritized = hasattr(memory, "update_priorities")

    def observe(
        self,
        states: np.ndarray,
        actions: np.ndarray,
        rewards: Any,
        next_states: np.ndarray,
        terminated: Any,
        dones: Any,
    ) -> None:
        if self.nstep is not None:
            for transition in self.nstep.add(
                states, actions, rewards, next_states, terminated, dones
            ):
                self.memory.add(*transition)
        elif self.num_envs == 1:
            self.memory.add(states[0], actions[0], rewards[0], next_states[0], terminated[0])
        else:
            self.memory.add_batch(states, actions, rewards, next_states, terminated)

    def maybe_update(self, iteration: int, timestep: int) -> UpdateResult | None:
        if (
            timestep < self.first_update
            or iteration % self.update_frequency
            or not self.memory.can_sample
        ):
            return None
        result = None
        for _ in range(self.gradient_steps):
            batch = self.memory.sample()
            result = self.model.update(move_to_device(batch, self.model.device))
            if self.prioritized:
                self.memory.update_priorities(batch.indices, result.td_errors)
        return result


class OnPolicyLearner:
    """Collects on-policy steps in a ``BatchMemory``; one ``model.update`` whenever it is full.

    With ``num_envs`` environments a batch is ``batch_size / num_envs`` time steps of each.

    Raises:
        ValueError: ``batch_size`` is not a multiple of ``num_envs``.
    """

    def __init__(self, model: RLModel, memory: Any, num_envs: int = 1) -> None:
        problem = rollout_problem(memory.batch_size, num_envs)
        if problem:
            raise ValueError(f"{memory!r}: {problem}")
        self.model, self.memory = model, memory

    def observe(
        self,
        states: np.ndarray,
        actions: np.ndarray,
        rewards: Any,
        next_states: np.ndarray,
        terminated: Any,
        dones: Any,
    ) -> None:
        self.memory.add(states, actions, rewards, next_states, terminated, dones)

    def abandon_episode(self) -> None:
        """The episode in flight is given up: its steps would run into the next episode's."""
        self.memory.clear()

    def maybe_update(self, iteration: int, timestep: int) -> UpdateResult | None:
        if not self.memory.is_full:
            return None
        return self.model.update(move_to_device(self.memory.sample(), self.model.device))


def run_loop(
    agent: Any,
    env: Any,
    learner: OffPolicyLearner | OnPolicyLearner,
    hooks: HookList,
    stop: StopCondition,
) -> LoopState:
    """Step ``env`` until ``stop`` (or a hook sets ``state.stop``); returns the final state.

    ``agent`` provides ``model``, ``timestep``, ``iterations``, ``episodes``, ``rng``,
    ``recent_returns``, ``update_logs`` (the last update's, carried across calls),
    ``resume_episode(env, learner)`` (the checkpoint's episode in flight, or None: start new
    episodes) and ``on_episode_end(stats, state)``; the loop sets ``agent.in_flight`` (what a
    checkpoint saves of the running episodes). All arrays carry a
    leading ``num_envs`` dimension inside the loop.
    """
    model, rng = agent.model, agent.rng
    num_envs = getattr(env, "num_envs", 1)
    vector = num_envs > 1
    resumed = agent.resume_episode(env, learner)
    if resumed is None:
        states = _batched(env.reset(), vector)
        model.reset_exploration()
        returns = np.zeros(num_envs)
        lengths = np.zeros(num_envs, dtype=np.int64)
    else:
        states, returns, lengths = resumed
    flight = agent.in_flight = InFlight(env, learner, returns, lengths)
    stats = EpisodeStats(start_step=agent.timestep, recent=agent.recent_returns)
    state = LoopState(
        ModeKeys.TRAIN,
        global_step=agent.timestep,
        last_step=stop.last_step,
        model=model,
        optimizer=model.optimizer,
        steps_per_iteration=num_envs,  # hook cadences count every sub-environment's steps
    )
    state.episodes = stats
    state.update_logs = agent.update_logs  # the last update's, across a resume too
    hooks.begin(state)
    try:
        while not stop.reached(agent.timestep, agent.episodes):
            if hooks.has_before:
                state.features = states
                hooks.before_step(state)
            flight.between_steps = False
            actions = model.act(states, agent.timestep, rng)
            spec = env.step(actions if vector else actions[0])
            if vector:
                rewards, terminated, dones = spec.reward, spec.terminated, spec.done
                next_states = spec.next_state
            else:
                rewards, terminated, dones = (spec.reward,), (spec.terminated,), (spec.done,)
                next_states = spec.next_state[None]
            learner.observe(states, actions, rewards, next_states, terminated, dones)
            states = _batched(env.state, vector)
            agent.timestep += num_envs
            agent.iterations += 1
            returns += rewards
            lengths += 1
            if np.any(dones) if vector else dones[0]:
                for index in np.flatnonzero(dones):
                    agent.episodes += 1
                    stats.count += 1
                    stats.last_return, stats.last_length = (
                        float(returns[index]),
                        int(lengths[index]),
                    )
                    stats.recent.append(stats.last_return)
                    returns[index], lengths[index] = 0.0, 0
                    model.reset_exploration(int(index) if vector else None)
                    agent.on_episode_end(stats, state)
            result = learner.maybe_update(agent.iterations, agent.timestep)
            flight.between_steps = True
            state.global_step = agent.timestep
            state.step += 1
            state.loss = None
            if result is not None:
                state.update_logs = agent.update_logs = result.logs
                state.loss = next(iter(result.logs.values()), None)
                if model.optimizer is not None:
                    state.learning_rate = model.optimizer.param_groups[0]["lr"]
            hooks.after_step(state)
            if state.stop:
                break
    except BaseException:
        state.interrupted = True
        raise
    finally:
        hooks.end(state)  # on every exit: hooks close bars and files, and see why it ended
    return state


def _batched(states: Any, vector: bool) -> np.ndarray:
    states = np.asarray(states, dtype=np.float32)
    return states if vector else states[None]


class AgentLoggingHook(Hook):
    """Every N steps: mean return of the last 100 episodes, loss, exploration rate, steps/s.

    Logs a line to the ``petri`` logger and a ``split=train`` row to ``sink`` (the run log).
    """

    def __init__(self, every_n_steps: int = 1000, sink: Any = None, log: bool = True) -> None:
        super().__init__(every_n_steps)
        self.sink = sink
        self.log = log
        self._last_time = 0.0
        self._last_step = 0

    def begin(self, state: LoopState) -> None:
        self._last_time, self._last_step = time.perf_counter(), state.global_step

    def after_step(self, state: LoopState) -> None:
        now = time.perf_counter()
        rate = (state.global_step - self._last_step) / max(now - self._last_time, 1e-9)
        self._last_time, self._last_step = now, state.global_step
        stats: EpisodeStats = state.episodes
        model = state.model
        row: dict[str, Any] = {
            "split": "train",
            "episode/return_mean_100": stats.mean_return,
            "exploration/rate": model.last_exploration_rate,
            "time/steps_per_sec": rate,
            **_floats(state.update_logs),
        }
        state.steps_per_sec = rate
        loss = next((v for k, v in row.items() if k.startswith("losses/")), float("nan"))
        if self.log:
            logger.info(
                "step %s: episodes = %d, return (last 100) = %.4g, loss = %.4g, "
                "exploration = %.3g, %.0f steps/s%s",
                step_of(state),
                stats.count,
                stats.mean_return,
                loss,
                model.last_exploration_rate,
                rate,
                eta(state, rate),
            )
        if self.sink is not None:
            self.sink(row, state.global_step)


def _floats(logs: dict[str, Any]) -> dict[str, float]:
    return {key: float(value) for key, value in logs.items()}
