"""``Agent`` and ``PGAgent``: train, evaluate and predict with an RL model in an environment."""

from __future__ import annotations

import copy
import logging
import tempfile
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np
import torch

from petri.configs.run import RunConfig
from petri.errors import NotTrainedError
from petri.host_memory import retained_host_memory
from petri.modes import ModeKeys
from petri.registry import Registry
from petri.rl._checks import StateShape, check_fit, check_run_config
from petri.rl._episode import InFlight, capture_episode, resume_episode
from petri.rl._evaluation import evaluate_policy
from petri.rl._loop import (
    AgentLoggingHook,
    EpisodeStats,
    OffPolicyLearner,
    OnPolicyLearner,
    StopCondition,
    run_loop,
)
from petri.rl.memories import BatchMemory, Memory
from petri.rl.memories._base import generator_state, restore_generator
from petri.rl.models import RLModel
from petri.runtime import seed_everything, show_progress, use_threads
from petri.training import checkpoints as ckpt
from petri.training.devices import resolve_device
from petri.training.hooks import CheckpointSaverHook, HookList, LoopState, NanLossHook
from petri.training.model_fn import ModelFnModule
from petri.training.state import (
    capture_training_state,
    restore_training_state,
    save_training_state,
)

__all__ = ["AGENTS", "DEFAULT_TRAIN_STEPS", "Agent", "PGAgent"]

logger = logging.getLogger("petri")


class RunLog(Protocol):
    """Where the Agent's rows go: a ``petri.tracking`` run log has this method."""

    def log(self, metrics: dict[str, Any], global_step: int | None = None) -> None: ...


class _LoggerOnly:
    """No run log: rows go to the ``petri`` logger only (debug level)."""

    def log(self, metrics: dict[str, Any], global_step: int | None = None) -> None:
        logger.debug("step %s: %s", global_step, metrics)


DEFAULT_TRAIN_STEPS = 10_000
"""Environment steps ``train(env)`` takes when given no ``steps``, ``max_steps`` or ``episodes``
(``RLExperimentConfig.train_steps``'s default)."""


class Agent:
    """Trains an off-policy RL model (DQN, DDQN, NAF) from a replay memory.

    Args:
        model_fn: ``model_fn(features, labels, mode[, params[, config[, model_dir]]])`` that
            builds a Petri RL model and returns ``model(features, labels)`` (seed style), or an
            RL model instance. The model is built on first use, from the environment's sizes.
        memory: a replay ``Memory`` or ``PrioritizedMemory`` (default ``Memory()``). Without its
            own generator it gets one derived from ``config.seed``.
        model_dir: checkpoints; an Agent on a directory that holds checkpoints continues from
            the newest (weights, optimizer, replay memory contents, counters, RNG states and
            the episode in flight where the environment can save it; see
            ``docs/reliability.md``). None makes a temporary directory.
        config: a :class:`RunConfig` (seed, checkpoint cadence, log cadence, threads). The
            seed is applied before a ``model_fn`` builds the model; a model instance was built
            already, so seed it yourself first (``petri.runtime.seed_everything``), as
            ``petri run`` does.
        params: passed to ``model_fn`` as ``params``.
        run_log: where per-episode, per-interval and evaluation rows go: any object with
            ``log(metrics, global_step)``, such as a ``petri.tracking.Experiment`` (what
            ``petri run`` gives it: ``metrics.csv`` and TensorBoard events). None: the
            ``petri`` logger only.

    Raises:
        TypeError: ``memory`` is not a replay memory (an on-policy ``BatchMemory`` belongs to
            ``PGAgent``).
    """

    on_policy = False

    def __init__(
        self,
        model_fn: Callable[..., Any] | Any = None,
        memory: Any = None,
        model_dir: str | Path | None = None,
        config: RunConfig | dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        run_log: Any = None,
    ) -> None:
        if model_fn is None:
            raise ValueError(f"{type(self).__name__} needs a model_fn (or an RL model).")
        self.config = (
            config if isinstance(config, RunConfig) else RunConfig.read_configs(config or {})
        )
        check_run_config(type(self).__name__, self.config)
        self._device = resolve_device(self.config.device)
        self.model_dir = str(model_dir) if model_dir else tempfile.mkdtemp(prefix="petri_agent_")
        self.params = dict(params or {})
        self.memory = memory if memory is not None else self.default_memory()
        self._check_memory(self.memory)
        seed = self.config.seed
        self.rng = np.random.default_rng(seed)
        if not getattr(self.memory, "rng_given", True):
            self.memory.rng = np.random.default_rng(None if seed is None else [seed, 1])
        self.run_log: RunLog = run_log if run_log is not None else _LoggerOnly()
        self.recent_returns: deque[float] = deque(maxlen=100)
        self.update_logs: dict[str, Any] = {}  # the last update's scalars (logged with rows)
        self.in_flight: InFlight | None = None
        self._saved_episode: dict[str, Any] | None = None
        self._warned: list[bool] = []
        self.checkpointed_envs: dict[str, Any] = {}
        """Other environments saved with every checkpoint and restored with it (by name), such
        as the evaluation environment, so evaluations after a resume see the episodes an
        uninterrupted run's do. Environments without ``get_state()`` are skipped."""
        self._model_fn = model_fn
        self._container: Any = None
        self.model: Any = None
        self.timestep = 0
        self.iterations = 0
        self.episodes = 0
        self.trained = False

    # ----------------------------------------------------------------- public API
    @property
    def global_step(self) -> int:
        """Environment steps taken (all sub-environments); before building, the checkpoint's."""
        if self.model is None:
            latest = ckpt.latest_checkpoint(self.model_dir)
            if latest is not None:
                return ckpt.checkpoint_step(latest)
        return self.timestep

    def latest_checkpoint(self) -> str | None:
        path = ckpt.latest_checkpoint(self.model_dir)
        return str(path) if path else None

    def train(
        self,
        env: Any,
        steps: int | None = None,
        max_steps: int | None = None,
        episodes: int | None = None,
        first_update: int = 5000,
        update_frequency: int = 15,
        gradient_steps: int = 1,
        hooks: list[Any] | None = None,
        max_episodes: int | None = None,
    ) -> Agent:
        """Act in ``env``, store transitions, and learn.

        ``steps`` is incremental and ``max_steps`` absolute (environment steps, counting every
        sub-environment); ``episodes`` ends the call after that many more episodes and
        ``max_episodes`` once :attr:`episodes` reaches it (absolute: what a resumed run needs).
        With none of them, training runs :data:`DEFAULT_TRAIN_STEPS` more steps.

        Each call starts new episodes, except the first after restoring a checkpoint: that one
        continues the checkpoint's episode in flight where the environment can save its state
        (``env.get_state()``), so a killed and resumed run takes the steps of an
        uninterrupted one.

        Args:
            env: a ``GymEnvironment`` (or an object with its interface).
            first_update: environment steps before the first update (seed default 5000).
            update_frequency: loop iterations between updates (seed default 15).
            gradient_steps: ``model.update`` calls per update (Stable-Baselines3's
                ``gradient_steps``).
            hooks: extra hooks (``Hook`` objects; ``EvaluateAgentHook`` stops on a target).

        Raises:
            ValueError: inconsistent stop arguments, non-positive cadences, a model that does
                not fit ``env``, or (``PGAgent``) a batch that does not split evenly across
                ``env.num_envs`` (checked before any step is taken).
        """
        if episodes is not None and max_episodes is not None:
            raise ValueError("Can not provide both episodes and max_episodes.")
        if max_episodes is not None and (isinstance(max_episodes, bool) or max_episodes <= 0):
            raise ValueError(f"Must specify max_episodes > 0, given: {max_episodes}")
        last_step, last_episode = self._stop_arguments(steps, max_steps, episodes)
        for name, value in (
            ("update_frequency", update_frequency),
            ("gradient_steps", gradient_steps),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"train() expected {name} >= 1. Received: {name}={value!r}.")
        if first_update < 0:
            raise ValueError(f"train() expected first_update >= 0. Received: {first_update!r}.")
        self._build(env)
        if last_step is None and last_episode is None:
            last_step = self.timestep + DEFAULT_TRAIN_STEPS
        elif steps is not None:
            last_step = self.timestep + steps
        if last_episode is not None:
            last_episode += self.episodes
        elif max_episodes is not None:
            last_episode = max_episodes
        self._rewind_record()
        if last_step is not None and self.timestep >= last_step:
            logger.info(
                "Skipping training: global step %d >= max_steps %d.", self.timestep, last_step
            )
            return self
        if last_episode is not None and self.episodes >= last_episode:
            logger.info(
                "Skipping training: %d episodes >= max_episodes %d.", self.episodes, last_episode
            )
            return self
        learner = self._learner(env, first_update, update_frequency, gradient_steps)
        hook_list = self._hooks(list(hooks or []))
        try:
            try:
                stop = StopCondition(last_step, last_episode)
                with retained_host_memory(self.config.host_memory):
                    state = run_loop(self, env, learner, hook_list, stop)
            except KeyboardInterrupt:
                path = self.save_checkpoint()
                logger.warning(
                    "Interrupted at step %d; saved %s. Train again on model_dir %s to resume.",
                    self.timestep,
                    path,
                    self.model_dir,
                )
                raise
            self.trained = True
            if state.step:
                self.save_checkpoint()
        finally:
            self.in_flight = None
        return self

    def evaluate(self, env: Any, episodes: int = 10) -> dict[str, Any]:
        """Run ``episodes`` episodes with the greedy policy (no exploration, no learning).

        Returns:
            ``return_mean``, ``return_min``, ``return_max``, ``return_std``, ``length_mean``,
            ``episodes`` and ``global_step``.

        Raises:
            ValueError: nothing trained and no checkpoint in ``model_dir``.
        """
        if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
            raise ValueError(f"evaluate() expected episodes >= 1. Received: {episodes!r}.")
        self._build(env)
        self._require_trained()
        results = evaluate_policy(self.model, env, episodes)
        results["global_step"] = self.timestep
        self.run_log.log(
            {
                "split": "eval",
                **{f"eval/{k}": v for k, v in results.items() if k != "global_step"},
            },
            self.timestep,
        )
        if self.config.verbose:
            show_progress()
            logger.info(
                "Evaluation at step %d: return %.4g (min %.4g, max %.4g) over %d episodes",
                self.timestep,
                results["return_mean"],
                results["return_min"],
                results["return_max"],
                episodes,
            )
        return results

    def predict(self, states: Any) -> dict[str, np.ndarray]:
        """Greedy ``actions`` (and the model's values: ``q_values``, ...) for a batch of states.

        A single state (without batch dimension) is accepted too.

        Raises:
            ValueError: nothing trained and no checkpoint in ``model_dir``.
        """
        array = np.asarray(states, dtype=np.float32)
        if self.model is None:
            shape = array.shape if array.ndim == 1 else array.shape[1:]
            self._build(StateShape(shape))
        self._require_trained()
        single = array.ndim == len(self.model.state_shape)
        batch = self.model.as_input(array[None] if single else array)
        with torch.no_grad():
            outputs = self.model.predictions(batch)
        result = {key: value.cpu().numpy() for key, value in outputs.items()}
        return {key: value[0] for key, value in result.items()} if single else result

    @property
    def device(self) -> torch.device:
        """Where the model acts and learns (``run_config.device``; ``auto`` is CUDA when there
        is one): states and the memory's batches are moved there, actions come back as numpy."""
        return self._device

    def serving_module(
        self, features: Any, checkpoint_path: str | None
    ) -> tuple[torch.nn.Module, int, str | None]:
        """The greedy policy for ``features`` (a batch of states), the weights of
        ``checkpoint_path`` (else the newest): ``(module, global step, checkpoint)``, what
        ``petri.export.export_savedmodel`` exports."""
        states = features["state"] if isinstance(features, dict) else features
        if self.model is None:
            self._build(StateShape(tuple(states.shape[1:])))
        if checkpoint_path is None:
            self._require_trained()
            latest = ckpt.latest_checkpoint(self.model_dir)
            model, step = self.model, self.global_step
            used = None if latest is None else str(latest)
        else:
            model = copy.deepcopy(self.model)
            path, state = restore_training_state(Path(checkpoint_path), model, rng=False)
            step, used = int(state["global_step"]), str(path)
        return _GreedyPolicy(model).train(False), step, used

    def export_savedmodel(
        self,
        export_dir_base: str | Path,
        serving_input_receiver_fn: Callable[[], Any] | None = None,
        assets_extra: dict[str, Any] | None = None,
        as_text: bool = False,
        checkpoint_path: str | Path | None = None,
    ) -> str:
        """Export the greedy policy (state -> ``actions`` and the model's values:
        ``q_values``, ``probabilities``, ``values``, ``mean``) in the folder format of
        ``Estimator.export_savedmodel`` (``model.pt2``, ``model.onnx``,
        ``saved_model.json``); returns the new folder. Clients send states, one row each, as the
        input ``state``; by default its shape is the environment's.

        Raises:
            NotTrainedError: nothing trained and no checkpoint in ``model_dir``.
        """
        from petri.export import ServingInputReceiver, export_savedmodel

        if serving_input_receiver_fn is None:
            built = self.model if self.model is not None else self._model_fn
            if not isinstance(built, RLModel):  # a model_fn builds it from an environment
                self._require_trained_checkpoint()
            shape = tuple(built.state_shape)

            def serving_input_receiver_fn() -> Any:
                example = torch.zeros((2, *shape), dtype=torch.float32)
                return ServingInputReceiver(lambda t: t["state"], {"state": example})

        return export_savedmodel(
            self,
            export_dir_base,
            serving_input_receiver_fn,
            assets_extra=assets_extra,
            as_text=as_text,
            checkpoint_path=checkpoint_path,
        )

    def resume_episode(self, env: Any, learner: Any) -> Any:
        """The restored checkpoint's episode in flight, continued in ``env`` (once; None: the
        loop starts new episodes). Called by the loop."""
        saved, self._saved_episode = self._saved_episode, None
        return resume_episode(saved, env, learner, self.model, self._warned)

    def save_checkpoint(self) -> str:
        """Write model, optimizer, memory, counters, RNG states and, during ``train``, the
        episode in flight now; returns the path.

        Rows logged so far are flushed to the run log first, so a checkpoint never records a
        step whose rows are not on disk.
        """
        if self.model is None:
            raise ValueError("Nothing to save: the model is built by train() or evaluate().")
        flush = getattr(self.run_log, "flush", None)
        if flush is not None:
            flush()
        episode = capture_episode(self.in_flight, self.model) if self.in_flight else None
        state = capture_training_state(
            self.timestep,
            self.model,
            self.model.optimizer,
            self.model.scheduler,
            training={"num_updates": self.model.num_updates},
            memory=self.memory.state_dict(),
            agent={
                "iterations": self.iterations,
                "episodes": self.episodes,
                "generator": generator_state(self.rng),
                "recent_returns": list(self.recent_returns),
                "update_logs": {key: float(value) for key, value in self.update_logs.items()},
            },
            envs={name: _env_state(env) for name, env in self.checkpointed_envs.items()},
            **({"episode": episode} if episode is not None else {}),
        )
        return str(save_training_state(self.model_dir, self.config, state))

    # ----------------------------------------------------------------- loop callbacks
    def on_episode_end(self, stats: EpisodeStats, state: LoopState) -> None:
        """Log the finished episode to the run log (called by the loop)."""
        episodes_per_sec, steps_per_sec = stats.rates(self.timestep)
        row = {
            "split": "episode",
            "episode": self.episodes,
            "episode/return": stats.last_return,
            "episode/length": stats.last_length,
            "exploration/rate": self.model.last_exploration_rate,
            "time/episodes_per_sec": episodes_per_sec,
            "time/steps_per_sec": steps_per_sec,
        }
        for key, value in state.update_logs.items():
            row[key] = float(value)
        self.run_log.log(row, self.timestep)

    # ----------------------------------------------------------------- building
    @classmethod
    def default_memory(cls) -> Any:
        """The memory an Agent built without one gets: ``Memory()``."""
        return Memory()

    def _check_memory(self, memory: Any) -> None:
        if isinstance(memory, BatchMemory) or not hasattr(memory, "sample"):
            raise TypeError(
                f"Agent expected a replay memory (Memory or PrioritizedMemory). Received: "
                f"{memory!r}. On-policy models with a BatchMemory train with PGAgent."
            )

    def _learner(
        self, env: Any, first_update: int, update_frequency: int, gradient_steps: int
    ) -> Any:
        first = max(first_update, self.memory.batch_size)
        return OffPolicyLearner(
            self.model,
            self.memory,
            getattr(env, "num_envs", 1),
            first,
            update_frequency,
            gradient_steps,
        )

    def _hooks(self, extra: list[Any]) -> HookList:
        """Logging first, the caller's hooks (evaluations) next, the checkpoint last: a
        checkpoint at step N follows every row logged at N, so a resume neither repeats nor
        skips any of them."""
        config = self.config
        if config.verbose:
            show_progress()
        logging_hooks = [
            NanLossHook(),
            AgentLoggingHook(
                config.log_step_count_steps, sink=self.run_log.log, log=config.verbose
            ),
        ]
        saver = CheckpointSaverHook(
            self.save_checkpoint, config.save_checkpoints_steps, config.save_checkpoints_secs
        )
        return HookList([*logging_hooks, *extra, saver])

    def _rewind_record(self) -> None:
        """Drop the run log's rows after the restored step: a run killed after its last
        checkpoint logged them, and the resumed run logs those steps again."""
        rewind = getattr(self.run_log, "rewind", None)
        if rewind is not None:
            dropped = rewind(self.timestep)
            if dropped:
                logger.info(
                    "Resuming at step %d: %d rows logged after it dropped.", self.timestep, dropped
                )

    def _stop_arguments(
        self, steps: int | None, max_steps: int | None, episodes: int | None
    ) -> tuple[int | None, int | None]:
        if steps is not None and max_steps is not None:
            raise ValueError("Can not provide both steps and max_steps.")
        for name, value in (("steps", steps), ("max_steps", max_steps), ("episodes", episodes)):
            if value is not None and (isinstance(value, bool) or value <= 0):
                raise ValueError(f"Must specify {name} > 0, given: {value}")
        return (max_steps if max_steps is not None else steps), episodes

    def _build(self, env: Any) -> None:
        """Build the model for ``env`` (once), check that they fit, restore the checkpoint."""
        use_threads(self.config.num_threads)
        if self.model is None:
            self.model = self._build_model(tuple(env.state_shape)).to(self._device)
            self._check_model()
            latest = ckpt.latest_checkpoint(self.model_dir)
            if latest is not None:
                self._restore(latest)
        if not isinstance(env, StateShape):
            check_fit(self.model, env)

    def _build_model(self, state_shape: tuple[int, ...]) -> Any:
        if isinstance(self._model_fn, RLModel):
            if self.params:
                raise ValueError(
                    f"{type(self).__name__} was given params={sorted(self.params)!r} but an RL "
                    "model instance takes no params; configure the model directly."
                )
            return self._model_fn
        seed_everything(self.config.seed)  # the model_fn builds the model: seed before it does
        self._container = ModelFnModule(self._model_fn, self.params, self.config, self.model_dir)
        states = torch.zeros((1, *state_shape))
        self._container({"state": states}, None, ModeKeys.TRAIN)
        found = [m for m in self._container.modules() if isinstance(m, RLModel)]
        if not found:
            raise TypeError(
                "model_fn built no Petri RL model. It should build one (e.g. "
                "petri.models.DQNModel(mode, graph_fn=..., num_states=env.num_states, "
                "num_actions=env.num_actions)) and return model(features, labels)."
            )
        return found[0]

    def _check_model(self) -> None:
        model_on_policy = getattr(self.model, "on_policy", False)
        if model_on_policy != self.on_policy:
            wanted = "PGAgent with a BatchMemory" if model_on_policy else "Agent with a Memory"
            raise TypeError(
                f"{type(self.model).__name__} is {'on' if model_on_policy else 'off'}-policy and "
                f"cannot train in a {type(self).__name__}; use {wanted}."
            )

    def _restore(self, path: Path) -> None:
        model = self.model
        path, state = restore_training_state(
            path, model, model.optimizer, model.scheduler, fallback=True
        )
        model.load_training_state(state.get("training", {}))  # older checkpoints: optimizer too
        if "memory" in state:
            self.memory.load_state_dict(state["memory"])
        agent = state.get("agent", {})
        self.timestep = int(state["global_step"])
        self.iterations = int(agent.get("iterations", 0))
        self.episodes = int(agent.get("episodes", 0))
        if "generator" in agent:
            restore_generator(self.rng, agent["generator"])
        self.recent_returns.clear()
        self.recent_returns.extend(float(value) for value in agent.get("recent_returns", ()))
        self.update_logs = dict(agent.get("update_logs", {}))
        self._saved_episode = state.get("episode")
        for name, saved in state.get("envs", {}).items():
            env = self.checkpointed_envs.get(name)
            if saved is not None and hasattr(env, "set_state"):
                try:
                    env.set_state(saved)
                except ValueError as error:  # built differently than the saved one
                    logger.warning("Not restoring %s's state from %s: %s", name, path, error)
        self.trained = True
        logger.info("Restored %s (global step %d).", path, self.timestep)

    def _require_trained_checkpoint(self) -> None:
        """Before the model is built, its state's shape comes from an environment: without
        one, an export needs the caller's receiver."""
        if ckpt.latest_checkpoint(self.model_dir) is None:
            self._require_trained()
        raise ValueError(
            f"{type(self).__name__}.export_savedmodel needs the state's shape: call it after "
            "train(env) or evaluate(env), or pass a serving_input_receiver_fn."
        )

    def _require_trained(self) -> None:
        if not self.trained:
            raise NotTrainedError(
                f"Could not find trained model in model_dir: {self.model_dir}. Train first "
                "(agent.train(env)) or point model_dir at a directory with checkpoints."
            )


class _GreedyPolicy(torch.nn.Module):
    """states -> the model's greedy predictions, as the spec an exporter reads."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, features: Any, labels: Any = None, mode: Any = None) -> Any:
        states = features["state"] if isinstance(features, dict) else features
        return SimpleNamespace(export_outputs=None, predictions=self.model.predictions(states))


class PGAgent(Agent):
    """Trains an on-policy model (VPG, PPO, TRPO) from a ``BatchMemory``.

    Same arguments as :class:`Agent`; ``memory`` defaults to ``BatchMemory()`` and one update
    runs whenever it is full (``first_update``, ``update_frequency`` and ``gradient_steps``
    do not apply). In an environment of ``num_envs`` copies, each batch holds
    ``batch_size / num_envs`` time steps of every copy (``batch_size`` must be a multiple of
    ``num_envs``: ``train`` raises ``ValueError`` before the first step otherwise). Checkpoints
    hold the partial batch, so a resumed run completes the batch an uninterrupted one would.
    """

    on_policy = True

    @classmethod
    def default_memory(cls) -> Any:
        """The memory a PGAgent built without one gets: ``BatchMemory()`` (5000 steps)."""
        return BatchMemory()

    def _check_memory(self, memory: Any) -> None:
        if not isinstance(memory, BatchMemory):
            raise TypeError(
                f"PGAgent expected a BatchMemory (on-policy). Received: {memory!r}. Replay "
                "memories train off-policy models with Agent."
            )

    def _learner(
        self, env: Any, first_update: int, update_frequency: int, gradient_steps: int
    ) -> Any:
        return OnPolicyLearner(self.model, self.memory, getattr(env, "num_envs", 1))


def _env_state(env: Any) -> dict[str, Any] | None:
    get_state = getattr(env, "get_state", None)
    return get_state() if get_state is not None else None


AGENTS: Registry = Registry(
    "agent", {"Agent": Agent, "PGAgent": PGAgent}, home="petri.rl.agent.AGENTS"
)
"""Agents selectable by ``agent_config.module``."""
