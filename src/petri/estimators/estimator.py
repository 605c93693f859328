"""``Estimator``: trains, evaluates and predicts with a model, keeping its state in model_dir."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from petri import distributed
from petri.configs.run import RunConfig
from petri.data.iteration import iterate_input, to_channels_last
from petri.errors import NotTrainedError, did_you_mean
from petri.estimators._evaluation import run_evaluation
from petri.estimators._outputs import split_predictions
from petri.estimators._ranks import newest_checkpoint_name, own_input_position
from petri.export import export_savedmodel
from petri.host_memory import retained_host_memory
from petri.layers.embedding import embedding_tables
from petri.modes import ModeKeys
from petri.optimizers import GradientStep, build_optimizer
from petri.runtime import seed_everything, show_progress, use_threads
from petri.spec import EstimatorSpec
from petri.training import checkpoints as ckpt
from petri.training.compiling import CompiledCall
from petri.training.devices import move_to_device, resolve_device
from petri.training.hooks import (
    CheckpointSaverHook,
    HookList,
    LoopState,
    NanLossHook,
    ProgressBarHook,
    StepLoggingHook,
    StopAfterNEvalsHook,
)
from petri.training.model_fn import ModelFnModule
from petri.training.precision import MixedPrecision, as_full_precision
from petri.training.state import (
    capture_training_state,
    restore_training_state,
    save_training_state,
)

__all__ = ["Estimator"]

logger = logging.getLogger("petri")


class Estimator:
    """Trains, evaluates and predicts with a model, with the seed library's semantics.

    Args:
        model_fn: ``model_fn(features, labels, mode[, params[, config[, model_dir]]])`` returning
            an :class:`EstimatorSpec`, or a ``petri.models.Model`` instance (the fast path).
        model_dir: where checkpoints go; a new Estimator on the same directory continues from
            its latest checkpoint. None makes a temporary directory.
        config: a :class:`RunConfig` (or its dict).
        params: hyperparameters passed to ``model_fn`` as ``params``.

    Raises:
        ValueError: ``model_fn``'s parameters don't match ``params``.
    """

    def __init__(
        self,
        model_fn: Callable[..., EstimatorSpec] | nn.Module | None = None,
        model_dir: str | Path | None = None,
        config: RunConfig | dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        if model_fn is None:
            raise ValueError("Estimator needs a model_fn (or a petri.models.Model).")
        self.config = (
            config if isinstance(config, RunConfig) else RunConfig.read_configs(config or {})
        )
        self.params = dict(params or {})
        self.model_dir = str(model_dir) if model_dir else tempfile.mkdtemp(prefix="petri_model_")
        if isinstance(model_fn, nn.Module):
            if self.params:
                raise ValueError(
                    f"Estimator was given params={sorted(self.params)!r} but a Model instance "
                    "takes no params; configure the Model directly."
                )
            self._module: nn.Module = model_fn
        else:
            self._module = ModelFnModule(model_fn, self.params, self.config, self.model_dir)
        self.device = resolve_device(self.config.device)
        self._distributed = distributed.init_from_environment(
            self.config.distributed.backend, self.config.distributed.timeout_s, self.device
        )
        self._ddp: nn.Module | None = None  # the model wrapped for training across ranks
        self._precision = MixedPrecision(self.config.precision, self.device)
        self._channels_last = self.config.memory_format == "channels_last"
        self._needs_batch_prep = self.device.type != "cpu" or self._channels_last
        self._call: Callable[..., EstimatorSpec] = self._module  # training
        self._eval_call: Callable[..., EstimatorSpec] = self._module  # evaluate, predict
        self._own_step: Callable[..., EstimatorSpec] | None = getattr(
            self._module, "train_step", None
        )  # looked up once: the loop calls train_step on every batch
        self._built = False
        self._optimizer: torch.optim.Optimizer | None = None
        self._scheduler: Any = None
        self._gradient_step: GradientStep | None = None
        self._global_step = 0
        self._state_step: int | None = None  # step of the weights in memory; None = untrained
        self._train_input_fn: Any = None
        self._train_iterator: Iterator[Any] | None = None
        self._pending_input_state: dict[str, Any] | None = None
        self._spec_hooks: list[Any] = []
        self.checkpoint_barriers: list[Callable[[], None]] = []
        """Called before every checkpoint is written: a run log flushes the rows logged up to
        its step here, so a checkpoint on disk is never ahead of the record."""

    # ----------------------------------------------------------------- public API
    @property
    def global_step(self) -> int:
        """Training steps taken; before the first call, the newest intact checkpoint's step."""
        if self._state_step is None and not self._built:
            latest = ckpt.newest_intact_checkpoint(self.model_dir)
            if latest is not None:
                return ckpt.checkpoint_step(latest)
        return self._global_step

    @property
    def model(self) -> nn.Module:
        """The module that holds every variable."""
        return self._module

    def latest_checkpoint(self) -> str | None:
        """Path of the newest checkpoint in ``model_dir``, or None."""
        path = ckpt.latest_checkpoint(self.model_dir)
        return str(path) if path else None

    def train(
        self,
        input_fn: Callable[[], Any] | None = None,
        steps: int | None = None,
        hooks: list[Any] | None = None,
        max_steps: int | None = None,
    ) -> Estimator:
        """Train on batches from ``input_fn``.

        ``steps`` is incremental (two calls with ``steps=100`` train 200 steps); ``max_steps`` is
        absolute (a second call with the same ``max_steps`` does nothing). With neither, training
        runs until the input ends.

        Returns:
            ``self``, for chaining.

        Raises:
            ValueError: both ``steps`` and ``max_steps`` are given, or either is not positive.
        """
        if steps is not None and max_steps is not None:
            raise ValueError("Can not provide both steps and max_steps.")
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        if max_steps is not None and max_steps <= 0:
            raise ValueError(f"Must specify max_steps > 0, given: {max_steps}")
        if input_fn is None:
            raise ValueError("train() needs an input_fn.")
        use_threads(self.config.num_threads)
        self._prepare(input_fn, ModeKeys.TRAIN)
        if max_steps is not None and self._global_step >= max_steps:
            logger.info(
                "Skipping training: global step %d >= max_steps %d.", self._global_step, max_steps
            )
            return self
        last_step = self._global_step + steps if steps is not None else max_steps
        iterator = self._training_iterator(input_fn)
        # the saver comes last: every hook (the run log's row of the step among them) has
        # finished a step before its checkpoint is written, so no checkpoint is ahead of them
        hook_list = HookList(
            self._default_train_hooks(last_step)
            + self._spec_hooks
            + list(hooks or [])
            + [self._checkpoint_saver()]
        )
        with retained_host_memory(self.config.host_memory):
            self._run_training(iterator, hook_list, last_step)
        return self

    def evaluate(
        self,
        input_fn: Callable[[], Any] | None = None,
        steps: int | None = None,
        hooks: list[Any] | None = None,
        checkpoint_path: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Evaluate until the input ends or after ``steps`` batches.

        Returns:
            The metrics (Python floats), the mean ``loss``, and ``global_step``.

        Raises:
            ValueError: no trained model in ``model_dir`` (and none given by checkpoint_path).
        """
        if input_fn is None:
            raise ValueError("evaluate() needs an input_fn.")
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        self._prepare(input_fn, ModeKeys.EVAL, checkpoint_path)
        extra = [StopAfterNEvalsHook(steps)] if steps is not None else []
        hook_list = HookList(extra + list(hooks or []))
        with retained_host_memory(self.config.host_memory):
            results = run_evaluation(
                self._eval_call,
                self._module,
                input_fn,
                hook_list,
                self._batch_on_device,
                self._global_step,
                self._precision.autocast,
            )
        if self.config.verbose and distributed.is_main():
            show_progress()
            logger.info(
                "Evaluation%s at step %d: %s",
                f" [{name}]" if name else "",
                self._global_step,
                ", ".join(f"{k} = {v:.4g}" for k, v in results.items() if isinstance(v, float)),
            )
        return results

    def predict(
        self,
        input_fn: Callable[[], Any] | None = None,
        predict_keys: list[str] | str | None = None,
        hooks: list[Any] | None = None,
        checkpoint_path: str | None = None,
        mode: str = ModeKeys.PREDICT,
    ) -> Iterator[Any]:
        """Yield predictions one example at a time (dicts when the model predicts a dict).

        ``mode``: ``'infer'`` (default), or for a generator ``'encode'`` (features to codes)
        and ``'generate'`` (the input's features are codes, decoded to new features).

        Raises:
            ValueError: no trained model in ``model_dir``; ``predict_keys`` given but the
                predictions are not a dict, or name keys the predictions lack; a ``mode`` the
                model does not have.
        """
        if input_fn is None:
            raise ValueError("predict() needs an input_fn.")
        mode = self._prediction_mode(mode)
        keys = [predict_keys] if isinstance(predict_keys, str) else predict_keys
        self._prepare(input_fn, mode, checkpoint_path)
        hook_list = HookList(hooks or [])
        state = LoopState(ModeKeys.PREDICT, global_step=self._global_step)
        self._module.train(False)
        hook_list.begin(state)
        with torch.no_grad():
            for features, _ in iterate_input(input_fn, repeat_single=False):
                with self._precision.autocast():
                    spec = self._eval_call(self._batch_on_device(features), None, mode)
                yield from split_predictions(as_full_precision(spec.predictions), keys)
                state.step += 1
                hook_list.after_step(state)
                if state.stop:
                    break
        hook_list.end(state)

    def generate(
        self,
        count: int,
        seed: int | None = None,
        input_fn: Callable[[], Any] | None = None,
        checkpoint_path: str | None = None,
    ) -> np.ndarray:
        """``count`` new examples: codes drawn from a variational generator's prior (seeded by
        ``seed``), decoded. ``input_fn`` (any input of the model's features, such as the
        evaluation input) builds a model this process has not built yet.

        Raises:
            ValueError: the model is not a generator, or its bridge has no prior
                (``no_op_bridge``: decode your own codes with ``predict(mode='generate')``).
        """
        self._prediction_mode(ModeKeys.GENERATE)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"generate() expected a positive count; received {count!r}.")
        if input_fn is not None:
            self._prepare(input_fn, ModeKeys.PREDICT, checkpoint_path)
        codes = self._module.prior_codes(count, seed).numpy()  # type: ignore[operator]
        from petri.data.numpy_input import numpy_input_fn

        batches = numpy_input_fn(codes, batch_size=256, shuffle=False, num_epochs=1)
        results = self.predict(
            batches, "results", checkpoint_path=checkpoint_path, mode=ModeKeys.GENERATE
        )
        return np.stack([row["results"] for row in results])

    def _prediction_mode(self, mode: str) -> str:
        """``mode`` if this model predicts in it, else a ValueError naming the modes it has."""
        known = (ModeKeys.PREDICT, ModeKeys.ENCODE, ModeKeys.GENERATE)
        if mode not in known:
            raise ValueError(
                f"Unknown prediction mode {mode!r}.{did_you_mean(str(mode), known)} Expected "
                f"one of {list(known)}."
            )
        modes = getattr(self._module, "modes", (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT))
        if mode not in modes:
            raise ValueError(
                f"Mode {mode!r} needs a generator (model_type: generator); "
                f"{type(self._module).__name__} predicts in mode 'infer' only."
            )
        return mode

    def evaluation_images(self, input_fn: Callable[[], Any]) -> dict[str, np.ndarray]:
        """The model's images of the first batch of ``input_fn`` (a generator's
        reconstructions, samples and latent space) for the run log; empty for models without
        ``evaluation_images``."""
        make = getattr(self._module, "evaluation_images", None)
        if make is None or not self._built:
            return {}
        features, labels = next(iterate_input(input_fn, repeat_single=False))
        was_training = self._module.training
        self._module.train(False)
        try:
            return make(self._batch_on_device(features), labels)
        finally:
            self._module.train(was_training)

    def export_savedmodel(
        self,
        export_dir_base: str | os.PathLike[str],
        serving_input_receiver_fn: Callable[[], Any],
        assets_extra: dict[str, Any] | None = None,
        as_text: bool = False,
        checkpoint_path: str | os.PathLike[str] | None = None,
    ) -> str:
        """Export the model for serving into a new timestamped folder below
        ``export_dir_base``; returns its path. See :mod:`petri.export`.

        Raises:
            ValueError: no ``serving_input_receiver_fn``, no ``export_outputs`` or
                ``predictions``, or no checkpoint to export.
        """
        return export_savedmodel(
            self,
            export_dir_base,
            serving_input_receiver_fn,
            assets_extra,
            as_text,
            checkpoint_path,
        )

    def serving_module(
        self, features: Any, checkpoint_path: str | None
    ) -> tuple[nn.Module, int, str | None]:
        """The model in inference mode with ``checkpoint_path`` (else the newest) restored:
        ``(module, global_step, checkpoint)``; what ``petri.export`` exports."""
        restored = self._prepare(lambda: features, ModeKeys.PREDICT, checkpoint_path)
        self._module.train(False)
        return self._module, self._global_step, None if restored is None else str(restored)

    def get_variable_names(self) -> list[str]:
        """Names of all variables (``lenet/conv2d_1/weight``, ..., ``global_step``)."""
        return sorted(self._variables())

    def get_variable_value(self, name: str) -> np.ndarray:
        """Value of the variable ``name`` as a numpy array (from the latest checkpoint)."""
        variables = self._variables()
        if name not in variables:
            hint = did_you_mean(name, variables)
            raise ValueError(f"No variable named {name!r}.{hint} See get_variable_names().")
        return variables[name]

    def save_checkpoint(self, wait: bool = True) -> str:
        """Write the current state as a checkpoint; returns its path.

        With ``wait=False`` the state is copied and written on a background thread (what the
        training loop does, so steps never wait for the disk); readers of ``model_dir`` in this
        process wait for it, and so does the interpreter at exit.
        """
        for barrier in self.checkpoint_barriers:
            barrier()
        iterator = self._train_iterator
        extra: dict[str, Any] = {}
        position = iterator.state_dict() if hasattr(iterator, "state_dict") else None
        if self._distributed:  # every rank's input position, in the one checkpoint rank 0 writes
            positions = distributed.gather_to_main(position)
            if not distributed.is_main():
                self._state_step = self._global_step
                return str(ckpt.checkpoint_path(self.model_dir, self._global_step))
            if position is not None:
                extra["input"] = {"ranks": positions}
        elif position is not None:
            extra["input"] = position
        scaler = self._precision.state_dict()
        if scaler is not None:
            extra["grad_scaler"] = scaler
        state = capture_training_state(
            self._global_step, self._module, self._optimizer, self._scheduler, **extra
        )
        path = save_training_state(self.model_dir, self.config, state, wait=wait)
        self._state_step = self._global_step
        return str(path)

    # ------------------------------------------------------------- training loop
    def _run_training(
        self, iterator: Iterator[Any], hooks: HookList, last_step: int | None
    ) -> None:
        state = LoopState(
            ModeKeys.TRAIN,
            global_step=self._global_step,
            last_step=last_step,
            model=self._module,
            optimizer=self._optimizer,
        )
        state.learning_rate = self._learning_rate()
        module = self._module
        module.train(True)
        hooks.begin(state)
        exhausted = False
        accumulate = self.config.accumulate_grad_batches
        gradient_step = self._gradient_step
        # a finite input may end on one rank a batch before another: all ranks ask each step,
        # unless the input knows that every rank's share has as many batches
        agree_on_end = (
            self._distributed
            and getattr(iterator, "finite", True)
            and not getattr(iterator, "ends_together", False)
        )
        # the loss the run log records is the mean over ranks (on the steps it records)
        log_every, summary_every = self.config.log_step_count_steps, self.config.save_summary_steps
        on_device = self._needs_batch_prep  # CPU without channels-last: batches stay as they are
        # an interrupted accumulation is replayed from its first batch on resume
        rewindable = accumulate > 1 and hasattr(iterator, "load_state_dict")
        cycle_start: Any = None
        try:
            while last_step is None or self._global_step < last_step:
                losses = []
                if rewindable:
                    cycle_start = iterator.state_dict()  # type: ignore[attr-defined]
                for micro_batch in range(accumulate):
                    try:
                        features, labels = next(iterator)
                    except StopIteration:
                        exhausted = True
                    if agree_on_end and distributed.any_rank(exhausted):
                        exhausted = True  # the ranks stop together; a batch left is dropped
                    if exhausted:
                        break
                    if on_device:
                        features = self._batch_on_device(features)
                        labels = self._batch_on_device(labels)
                    if not micro_batch:
                        state.features, state.labels = features, labels
                        if hooks.has_before:
                            hooks.before_step(state)
                    spec = self.train_step(features, labels)
                    losses.append(spec.loss)
                if not losses:
                    break
                if exhausted and gradient_step.pending:  # type: ignore[union-attr]
                    if self._distributed:  # those batches ran without the gradient all-reduce
                        distributed.average_gradients(self._module.parameters())
                    gradient_step.flush()  # type: ignore[union-attr]  # a partial accumulation
                self._global_step += 1
                state.global_step = self._global_step
                state.step += 1
                state.loss = spec.loss if accumulate == 1 else torch.stack(losses).mean()
                step = self._global_step
                if self._distributed and (not step % log_every or not step % summary_every):
                    state.loss = torch.tensor(distributed.mean_over_ranks(float(state.loss)))
                state.spec = spec
                state.learning_rate = self._optimizer.param_groups[0]["lr"]  # type: ignore[union-attr]
                hooks.after_step(state)
                if state.stop or exhausted:
                    break
        except KeyboardInterrupt:
            state.interrupted = True
            if gradient_step is not None and gradient_step.discard() and cycle_start is not None:
                iterator.load_state_dict(cycle_start)  # type: ignore[attr-defined]
            path = self.save_checkpoint(wait=True)  # the steps taken so far are not lost
            logger.warning(
                "Interrupted at step %d; saved %s. Train again on model_dir %s to resume.",
                self._global_step,
                path,
                self.model_dir,
            )
            raise
        except BaseException:
            state.interrupted = True
            raise
        finally:
            hooks.end(state)  # on every exit, as Keras's on_train_end / Ignite's handlers
        if state.step or distributed.main_decides(lambda: self.latest_checkpoint() is None):
            self.save_checkpoint(wait=False)
        if exhausted:
            self._train_input_fn = self._train_iterator = None

    def train_step(self, features: Any, labels: Any) -> EstimatorSpec:
        """One batch's forward and backward pass, and the update when it completes one (see
        ``accumulate_grad_batches``); across ranks, gradients are averaged at the update."""
        ddp = self._ddp
        if ddp is not None and not self._gradient_step.updates_next:  # type: ignore[union-attr]
            with ddp.no_sync():  # type: ignore[operator]
                return self._train_step(features, labels)
        return self._train_step(features, labels)

    def _train_step(self, features: Any, labels: Any) -> EstimatorSpec:
        """One update: forward, backward, clip, optimizer and schedule step.

        A model that defines ``train_step(features, labels, gradient_step) -> EstimatorSpec``
        (a ``petri.models.Model`` subclass, as Keras's ``train_step``) takes over the update;
        ``gradient_step(loss)`` does the backward pass, clipping and optimizer step.
        """
        with self._precision.autocast():
            if self._own_step is not None:
                spec = self._own_step(features, labels, self._gradient_step)
            else:
                spec = self._call(features, labels, ModeKeys.TRAIN)
        if self._own_step is None:
            self._gradient_step(spec.loss)  # type: ignore[misc]
        spec.loss = spec.loss.detach().float()  # type: ignore[union-attr]
        return spec

    def _batch_on_device(self, value: Any) -> Any:
        """A batch's tensors on the run's device, 4-d ones channels-last when asked."""
        value = move_to_device(value, self.device)
        return to_channels_last(value) if self._channels_last else value

    def _default_train_hooks(self, last_step: int | None) -> list[Any]:
        config = self.config
        verbose = config.verbose and distributed.is_main()  # one progress line per job
        if verbose:
            show_progress()
        progress = verbose and ProgressBarHook.wanted()
        hooks: list[Any] = [
            NanLossHook(),
            StepLoggingHook(config.log_step_count_steps, log=verbose and not progress),
        ]
        if progress:
            hooks.append(ProgressBarHook())
        return hooks

    def _checkpoint_saver(self) -> CheckpointSaverHook:
        config = self.config
        return CheckpointSaverHook(
            lambda: self.save_checkpoint(wait=False),
            config.save_checkpoints_steps,
            config.save_checkpoints_secs,
            agree=distributed.any_rank if self._distributed else None,
        )

    def _training_iterator(self, input_fn: Callable[[], Any]) -> Iterator[Any]:
        """Continue the same input across ``train`` calls and across restarts."""
        if input_fn is self._train_input_fn and self._train_iterator is not None:
            return self._train_iterator
        iterator = iterate_input(input_fn, repeat_single=True)
        pending = self._pending_input_state
        if pending is not None and hasattr(iterator, "load_state_dict"):
            try:
                iterator.load_state_dict(pending)
            except (KeyError, ValueError) as error:
                logger.warning(
                    "Input position not restored (%s); starting the input afresh.", error
                )
        self._pending_input_state = None
        self._train_input_fn, self._train_iterator = input_fn, iterator
        return iterator

    # ------------------------------------------------------- building / restoring
    def _prepare(
        self, input_fn: Callable[[], Any], mode: str, checkpoint_path: str | None = None
    ) -> Path | None:
        """Build the model if needed and bring it to the checkpoint this call should use;
        returns that checkpoint (None: the model in memory, not yet saved)."""
        fallback = not checkpoint_path  # resuming: a damaged newest gives way to the previous
        if checkpoint_path:
            target: Path | None = Path(checkpoint_path)
        elif self._distributed:
            target, fallback = self._shared_checkpoint(), False
        else:  # our own write still on its way is the newest: no need to wait for the disk
            target = ckpt.pending_checkpoint(self.model_dir) or ckpt.latest_checkpoint(
                self.model_dir
            )
        if checkpoint_path and not target.is_file():  # type: ignore[union-attr]
            raise ValueError(f"checkpoint_path {checkpoint_path!r} does not exist.")
        if mode != ModeKeys.TRAIN and target is None and self._state_step is None:
            raise NotTrainedError(
                f"Could not find trained model in model_dir: {self.model_dir}. Train first, or "
                "pass checkpoint_path."
            )
        spec = self._build(input_fn, mode) if not self._built else None
        if mode == ModeKeys.TRAIN and self._optimizer is None:
            if spec is None:
                spec = self._probe(input_fn, ModeKeys.TRAIN)
            self._optimizer, self._scheduler = build_optimizer(
                spec.optimizer_source, self._module.parameters()
            )
            embed_clip = spec.clip_embed_gradients
            self._gradient_step = GradientStep(
                self._optimizer,
                self._scheduler,
                clip_parameters=[p for p in self._module.parameters() if p.requires_grad],
                clip_norm=spec.clip_gradients,
                separately_clipped=embedding_tables(self._module) if embed_clip else [],
                separate_norm=embed_clip,
                accumulate=self.config.accumulate_grad_batches,
                scaler=self._precision.scaler,
            )
            self._spec_hooks = list(spec.training_hooks or [])
        if target is not None and ckpt.checkpoint_step(target) != self._state_step:
            target = self._restore(target, full=mode == ModeKeys.TRAIN, fallback=fallback)
        elif target is not None and mode == ModeKeys.TRAIN and self._pending_restore_optimizer:
            target = self._restore(target, full=True, fallback=fallback)
        return target

    _pending_restore_optimizer = False

    def _release_ddp(self) -> None:
        """Drop the DDP wrapper (the process group is going; see ``release_at_exit``)."""
        self._ddp = None
        self._call = self._eval_call

    def _shared_checkpoint(self) -> Path | None:
        """Across ranks: the weights in memory once there are any (they are the same on every
        rank), else the checkpoint rank 0 finds newest and intact, which every rank loads."""
        if self._state_step is not None:
            return ckpt.checkpoint_path(self.model_dir, self._state_step)
        name = distributed.main_decides(lambda: newest_checkpoint_name(self.model_dir))
        if name is None:
            return None
        path = Path(self.model_dir) / name
        if not path.is_file():
            raise FileNotFoundError(
                f"Rank {distributed.rank()} cannot read the checkpoint {str(path)!r} that rank 0 "
                "resumes from: every rank must see the run folder (on several machines, put the "
                "save_dir on a shared filesystem)."
            )
        return path

    def _build(self, input_fn: Callable[[], Any], mode: str) -> EstimatorSpec:
        """Run the model once on a first batch so lazily-shaped layers create their weights."""
        if isinstance(self._module, ModelFnModule) or _has_lazy_weights(self._module):
            seed_everything(self.config.seed)  # right before the weights come into existence
        self._module.to(self.device)
        spec = self._probe(input_fn, mode)
        for module in self._module.modules():  # the probe must not count as a training batch
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
        self._module.to(self.device)
        if self._channels_last:
            self._module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        trained: nn.Module = self._module
        if self._distributed:
            cuda = self.device.type == "cuda"
            trained = self._ddp = nn.parallel.DistributedDataParallel(
                self._module, device_ids=[self.device] if cuda else None
            )
            distributed.release_at_exit(self._release_ddp)
        self._call, self._eval_call = trained, self._module
        options = self.config.compile
        if options is not None:
            self._call = CompiledCall(trained, options, self.device)
            self._eval_call = (
                CompiledCall(self._module, options, self.device, note=False)
                if self._distributed
                else self._call
            )
        self._built = True
        return spec

    def _probe(self, input_fn: Callable[[], Any], mode: str) -> EstimatorSpec:
        try:
            features, labels = next(iterate_input(input_fn, repeat_single=False))
        except StopIteration:
            raise ValueError(f"input_fn {input_fn!r} produced no batches.") from None
        self._module.train(mode == ModeKeys.TRAIN)
        with torch.no_grad():
            spec = self._module(
                self._batch_on_device(features),
                self._batch_on_device(labels) if mode in _LABELLED_MODES else None,
                mode,
            )
        if not isinstance(spec, EstimatorSpec):
            raise TypeError(
                f"model_fn must return an EstimatorSpec; it returned {type(spec).__name__}."
            )
        if mode in (ModeKeys.TRAIN, ModeKeys.EVAL) and spec.loss is None:
            raise ValueError(
                f"model_fn returned no loss in mode {mode!r}; training and evaluation need one."
            )
        return spec

    def _restore(self, path: Path, full: bool, fallback: bool = False) -> Path:
        """Weights only (evaluate, predict), or everything training continues from; returns
        the checkpoint used."""
        if full:
            path, state = restore_training_state(
                path, self._module, self._optimizer, self._scheduler, fallback=fallback
            )
        else:
            path, state = restore_training_state(path, self._module, rng=False, fallback=fallback)
        self._global_step = int(state["global_step"])
        self._state_step = self._global_step
        self._pending_restore_optimizer = not full
        if full:
            self._precision.load_state_dict(state.get("grad_scaler"))
            self._pending_input_state = own_input_position(state.get("input"))
            self._train_input_fn = self._train_iterator = None
        logger.info("Restored %s (global step %d).", path, self._global_step)
        return path

    def _learning_rate(self) -> float | None:
        return self._optimizer.param_groups[0]["lr"] if self._optimizer is not None else None

    def _variables(self) -> dict[str, np.ndarray]:
        found = ckpt.load_newest_intact(self.model_dir)
        if found is not None:
            state = found[1]
            weights, step = state["model"], int(state["global_step"])
        elif self._built:
            weights, step = self._module.state_dict(), self._global_step
        else:
            raise NotTrainedError(f"Could not find trained model in model_dir: {self.model_dir}.")
        variables = {
            key.replace(".", "/"): value.detach().cpu().numpy() for key, value in weights.items()
        }
        variables["global_step"] = np.asarray(step, dtype=np.int64)
        return variables


_LABELLED_MODES = (ModeKeys.TRAIN, ModeKeys.EVAL)


def _has_lazy_weights(module: nn.Module) -> bool:
    """Whether some weights of ``module`` do not exist yet (lazily-shaped layers create them on
    the first batch), so seeding now decides them whatever ran since the model was built."""
    return any(nn.parameter.is_lazy(p) for p in module.parameters())
