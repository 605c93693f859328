"""``RLModel``: what every RL model shares (graph, optimizer, exploration, spec) but the algorithm.

An RL model is a ``GraphModule``: built inside a ``model_fn`` it is created on the first call and
returned again on later calls. The Agent talks to it through three methods:

* ``act(states, timestep, rng, greedy=False) -> actions`` (numpy in, numpy out, no gradients),
* ``update(batch) -> UpdateResult`` (one learning step on a memory's batch),
* ``predictions(states) -> dict`` (what ``predict`` and the ``EstimatorSpec`` report).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from torch import nn

from petri.configs import LossConfig, OptimizerConfig, as_config
from petri.layers import GraphModule
from petri.losses import build_loss
from petri.modes import ModeKeys
from petri.optimizers import GradientStep, build_optimizer
from petri.rl.explorations import create_exploration
from petri.spec import EstimatorSpec

__all__ = ["RLModel", "TDModel", "UpdateResult", "sync_parameters"]


class UpdateResult(NamedTuple):
    """What one ``update`` returns.

    Attributes:
        logs: namespaced scalars (``losses/td_loss``, ``q_values/mean``), tensors or floats.
        td_errors: per-sample TD errors for prioritized replay, else None.
    """

    logs: dict[str, Any]
    td_errors: torch.Tensor | None = None


def _positive(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(
            f"{owner} expected {name} to be a positive integer (take it from the environment: "
            f"env.{name}). Received: {name}={value!r}."
        )
    return int(value)


def _not_built(loss: torch.Tensor) -> None:
    raise RuntimeError("The RL model has no optimizer yet: its subclass must call _finish().")


@torch.no_grad()
def sync_parameters(target: list[torch.Tensor], online: list[torch.Tensor], tau: float) -> None:
    """Copy ``online`` into ``target`` (``tau >= 1``) or move it there by Polyak averaging,
    ``target += tau * (online - target)``."""
    if tau >= 1.0:
        torch._foreach_copy_(target, online)
    else:
        torch._foreach_lerp_(target, online, tau)


class RLModel(GraphModule):
    """Base of the RL models: validates sizes, builds the exploration and the optimizer.

    Args:
        mode: ``ModeKeys`` value (seed style).
        graph_fn: the network body (see :class:`~petri.rl.models._network.GraphNetwork`).
        loss_config: ``LossConfig`` or loss name (models that use one).
        num_states: size of a (flattened) state, or the state shape.
        num_actions: number of discrete actions, or the action dimension.
        optimizer_config: ``OptimizerConfig`` or optimizer name (default adam, lr 1e-3).
        exploration_config: ``ExplorationConfig``, name, or ``Exploration`` instance.
        discount: the reward discount ``gamma``.
        summaries: TensorBoard summaries (``all`` or a list, as ``ModelConfig.summaries``)
            written every ``RunConfig.save_summary_steps`` steps when the agent trains
            under a run log (``petri run``, ``create_experiment``).
        clip_gradients: clip the global gradient norm (None disables).
        name: scope name.

    Subclasses set ``discrete_actions`` (True, False, or None for both), build their networks,
    then call ``self._finish(trainable_modules)``.
    """

    discrete_actions: ClassVar[bool | None] = True
    default_loss: ClassVar[str] = "mean_squared_error"

    def __init__(
        self,
        mode: str | None = None,
        graph_fn: Any = None,
        loss_config: Any = None,
        num_states: int | tuple[int, ...] | None = None,
        num_actions: int | None = None,
        optimizer_config: Any = None,
        exploration_config: Any = None,
        discount: float = 0.99,
        summaries: str | list[str] | None = None,
        clip_gradients: float | None = 10.0,
        name: str | None = None,
    ) -> None:
        super().__init__(mode=mode, name=name)
        owner = type(self).__name__
        if graph_fn is None:
            raise ValueError(
                f"{owner} needs a graph_fn: a function graph_fn(mode, inputs) returning features "
                "of inputs['state'], an nn.Module, or a graph_config."
            )
        if isinstance(num_states, list | tuple):
            self.state_shape = tuple(_positive(owner, "num_states", n) for n in num_states)
        else:
            self.state_shape = (_positive(owner, "num_states", num_states),)
        self.num_states = math.prod(self.state_shape)
        self.num_actions = _positive(owner, "num_actions", num_actions)
        if not 0.0 <= discount <= 1.0:
            raise ValueError(f"{owner} expected discount in [0, 1]. Received: {discount!r}.")
        self.discount = float(discount)
        self.summaries = summaries
        self.clip_gradients = clip_gradients
        self.loss_config = as_config(loss_config or self.default_loss, LossConfig)
        self._loss = build_loss(self.loss_config)
        self.optimizer_config = as_config(optimizer_config or "adam", OptimizerConfig)
        self.exploration = create_exploration(
            exploration_config, is_continuous=self.discrete_actions is False
        )
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler: Any = None
        self._optimize: Callable[[torch.Tensor], None] = _not_built  # one step on a loss
        self.num_updates = 0
        self.last_exploration_rate = 0.0
        self.device = torch.device("cpu")
        """Where the weights are; follows ``.to()`` (the Agent moves the model to
        ``run_config.device``), so acting and updates put their tensors there."""

    # ------------------------------------------------------------------ devices
    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        module = super()._apply(fn, recurse)
        for parameter in self.parameters():
            self.device = parameter.device
            break
        return module

    def as_input(self, states: np.ndarray) -> torch.Tensor:
        """A numpy batch of states as a tensor on the model's device (no copy on the CPU)."""
        tensor = torch.from_numpy(states)
        return tensor if self.device.type == "cpu" else tensor.to(self.device)

    # ------------------------------------------------------------------ building
    def _finish(self, trainable: Iterable[nn.Module | nn.Parameter]) -> None:
        """Create lazily-shaped weights on a dummy state, then the optimizer over ``trainable``
        (modules or parameters)."""
        self._materialize()
        parameters = [
            p
            for item in trainable
            for p in (item.parameters() if isinstance(item, nn.Module) else [item])
        ]
        self.optimizer, self.scheduler = build_optimizer(self.optimizer_config, parameters)
        self._optimize = GradientStep(
            self.optimizer,
            self.scheduler,
            clip_parameters=[p for p in parameters if p.requires_grad],
            clip_norm=self.clip_gradients,
        )

    def _materialize(self) -> None:
        was_training = self.training
        self.train(False)
        with torch.no_grad():
            self.predictions(torch.zeros((1, *self.state_shape), device=self.device))
        self.train(was_training)

    # ------------------------------------------------------------------ contract
    def act(
        self,
        states: np.ndarray,
        timestep: int,
        rng: np.random.Generator,
        greedy: bool = False,
    ) -> np.ndarray:
        """Actions for a batch of states ``[N, *state_shape]`` (float32 numpy)."""
        raise NotImplementedError

    def update(self, batch: Any) -> UpdateResult:
        """One learning step on a batch from the memory."""
        raise NotImplementedError

    def predictions(self, states: torch.Tensor) -> dict[str, torch.Tensor]:
        """What the model predicts for ``states`` (``actions`` and model-specific values)."""
        raise NotImplementedError

    def reset_exploration(self, index: int | None = None) -> None:
        """An episode starts (in sub-environment ``index``)."""
        self.exploration.reset(index)

    def load_training_state(self, state: dict[str, Any]) -> None:
        """The update counter (and, from checkpoints of earlier Petri versions, the optimizer and
        schedule, which now sit at the checkpoint's top level as the Estimator's do)."""
        self.num_updates = int(state.get("num_updates", 0))
        if self.optimizer is not None and "optimizer" in state:
            self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])

    # ------------------------------------------------------------------ spec (seed surface)
    def forward(self, features: Any, labels: Any = None, mode: str | None = None) -> EstimatorSpec:
        """Seed-style call from a ``model_fn``: predictions, and the loss when a batch is given."""
        mode = mode or self.mode or ModeKeys.TRAIN
        states = features["state"] if isinstance(features, dict) else features
        with torch.no_grad():
            predictions = self.predictions(
                torch.as_tensor(states, dtype=torch.float32, device=self.device)
            )
        loss = None
        if labels is not None and mode != ModeKeys.PREDICT:
            loss = self.loss(labels)
        return EstimatorSpec(
            mode=mode,
            predictions=predictions,
            loss=loss,
            optimizer=self.optimizer_config,
            export_outputs=predictions,
            clip_gradients=self.clip_gradients,
        )

    def loss(self, batch: Any) -> torch.Tensor:
        """The training loss on ``batch`` without a gradient step (for specs and evaluation)."""
        raise NotImplementedError

    @classmethod
    def from_config(
        cls,
        config: Any,
        mode: str | None = None,
        num_states: int | tuple[int, ...] | None = None,
        num_actions: int | None = None,
        **kwargs: Any,
    ) -> RLModel:
        """Build from an ``RLModelConfig`` and the environment's sizes (``kwargs``: settings
        taken from the environment, e.g. ``is_continuous``, ``action_bounds``)."""
        arguments = {**config.model_kwargs(), **kwargs}
        return cls(mode, num_states=num_states, num_actions=num_actions, **arguments)


class TDModel(RLModel):
    """Base of the temporal-difference models (DQN, DDQN, NAF): their settings, the target
    network and its syncs. Each algorithm's ``update`` lives in its own module.

    A subclass calls ``RLModel.__init__``, then :meth:`_check_td_settings`, builds its online
    network and hands it to :meth:`_finish_td` (which builds the optimizer and the target
    network).
    """

    target_update_frequency: int
    tau: float
    n_steps: int

    def _check_td_settings(
        self, target_update_frequency: Any, tau: float | None, n_steps: Any
    ) -> None:
        owner = type(self).__name__
        if isinstance(target_update_frequency, bool) or not (
            isinstance(target_update_frequency, int) and target_update_frequency >= 1
        ):
            raise ValueError(
                f"{owner} expected target_update_frequency to be a positive integer (updates "
                f"between target syncs). Received: {target_update_frequency!r}."
            )
        if tau is not None and not 0.0 < tau <= 1.0:
            raise ValueError(f"{owner} expected tau in (0, 1] or None. Received: tau={tau!r}.")
        if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
            raise ValueError(f"{owner} expected n_steps >= 1. Received: n_steps={n_steps!r}.")
        self.target_update_frequency = target_update_frequency
        self.tau = 1.0 if tau is None else float(tau)
        self.n_steps = n_steps

    def _finish_td(self, online: nn.Module) -> None:
        """Optimizer over ``online``, then ``target_network``: a frozen copy of it."""
        self._finish([online])
        self.target_network = copy.deepcopy(online).requires_grad_(False)
        self._online = list(online.parameters())
        self._target = list(self.target_network.parameters())

    def sync_target(self) -> None:
        """Copy (``tau = 1``) or move (``tau < 1``) the target weights to the online ones."""
        sync_parameters(self._target, self._online, self.tau)
