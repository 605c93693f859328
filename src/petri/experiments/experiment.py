"""``Experiment``: the train / evaluate schedules over an Estimator and two input functions."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from petri import distributed
from petri._plain import to_plain
from petri.data import iterate_input
from petri.errors import RunStopped
from petri.estimators.estimator import Estimator
from petri.export import as_export_strategies
from petri.tracking import Experiment as RunLog
from petri.tracking.summaries import SummaryHook
from petri.training.checkpoints import wait_for_checkpoints
from petri.training.hooks import StepLoggingHook

__all__ = ["Experiment"]

logger = logging.getLogger("petri")
_T = TypeVar("_T")
_CHECKPOINT_POLL_SECS = 0.5  # continuous_eval's look for a new checkpoint while none is there


class Experiment:
    """Runs an Estimator's training and evaluation on a schedule.

    Args:
        estimator: the Estimator to train.
        train_input_fn: training input function.
        eval_input_fn: evaluation input function.
        train_steps: the global step at which training ends (None: until the input ends).
        eval_steps: batches per evaluation (None: the whole eval input).
        train_hooks: extra hooks for every training call.
        eval_hooks: extra hooks for every evaluation.
        eval_delay_secs: wait before ``evaluate()`` and before ``continuous_eval()``'s first
            look (not inside train-and-evaluate schedules, as in TensorFlow).
        continuous_eval_throttle_secs: ``continuous_eval()``'s least time between evaluations.
        eval_every_n_steps: evaluate when at least this many steps passed since the last one.
        train_steps_per_iteration: steps per training call in continuous train-and-evaluate.
        export_strategies: ``petri.export.ExportStrategy`` objects (or dicts of their
            arguments): after every evaluation each exports the evaluated model into
            ``<output_dir>/exports/<name>/<timestamp>/`` and keeps its newest few
            (``self.exports`` lists the folders written).
        delay_workers_by_global_step: accepted for seed configs; Petri trains in one process.
        output_dir: the run's folder when ``run`` is None (defaults to the estimator's
            model_dir).
        run: the run log (a ``petri.tracking.Experiment``) that receives training rows (loss,
            learning_rate, steps_per_sec every ``log_step_count_steps``), every evaluation's
            metrics (prefixed ``eval/``, or ``eval_<name>/`` for a named evaluation), the
            model's TensorBoard summaries and the run status. None opens one at ``output_dir``
            (resuming a run already there); False logs nothing.

    Each schedule method marks the run ``finished`` when it returns and ``crashed`` (with the
    error) when it raises; calling another schedule reopens it.
    """

    def __init__(
        self,
        estimator: Estimator,
        train_input_fn: Callable[[], Any] | None,
        eval_input_fn: Callable[[], Any] | None,
        train_steps: int | None = None,
        eval_steps: int | None = 10,
        train_hooks: list[Any] | None = None,
        eval_hooks: list[Any] | None = None,
        eval_delay_secs: float = 0,
        continuous_eval_throttle_secs: float = 60,
        eval_every_n_steps: int = 1000,
        train_steps_per_iteration: int | None = None,
        export_strategies: Any = None,
        delay_workers_by_global_step: bool = False,
        output_dir: str | Path | None = None,
        run: RunLog | bool | None = None,
    ) -> None:
        if not isinstance(estimator, Estimator):
            raise TypeError(
                f"Experiment expected an Estimator; received {type(estimator).__name__}."
            )
        if eval_every_n_steps < 1:
            raise ValueError(f"eval_every_n_steps must be >= 1. Received: {eval_every_n_steps}.")
        self.estimator = estimator
        self.train_input_fn = train_input_fn
        self.eval_input_fn = eval_input_fn
        self.train_steps = train_steps
        self.eval_steps = eval_steps
        self.train_hooks = list(train_hooks or [])
        self.eval_hooks = list(eval_hooks or [])
        self.eval_delay_secs = eval_delay_secs
        self.continuous_eval_throttle_secs = continuous_eval_throttle_secs
        self.eval_every_n_steps = eval_every_n_steps
        self.train_steps_per_iteration = train_steps_per_iteration or eval_every_n_steps
        self.export_strategies = as_export_strategies(export_strategies)
        self._example_features: Any = None
        self.delay_workers_by_global_step = delay_workers_by_global_step
        if run is None or run is True:
            directory = Path(output_dir or estimator.model_dir)
            run = RunLog(name=directory.name or "experiment", log_dir=directory, autosave=True)
            run.tag(flatten_tags({"params": estimator.params, "run_config": estimator.config}))
        self.run: RunLog | None = run or None
        if self.run is not None:  # rows up to a checkpoint's step reach disk before it does
            estimator.checkpoint_barriers.append(self.run.flush)
        self.output_dir = (
            Path(self.run.log_dir) if self.run else Path(output_dir or estimator.model_dir)
        )
        self.eval_results: list[dict[str, Any]] = []
        self.exports: list[str] = []

    # --------------------------------------------------------------- schedules
    def train(self, delay_secs: float | None = None) -> Estimator:
        """Train until ``train_steps`` (absolute) or the end of the training input."""
        self._need(self.train_input_fn, "train_input_fn")
        if delay_secs:
            time.sleep(delay_secs)

        def train() -> Estimator:
            self._resume_record()
            return self.estimator.train(
                self.train_input_fn, max_steps=self.train_steps, hooks=self._train_hooks()
            )

        return self._tracked(train)

    def evaluate(self, delay_secs: float | None = None, name: str | None = None) -> dict[str, Any]:
        """Evaluate the latest checkpoint on ``eval_steps`` batches; logs a row to the run."""
        return self._tracked(lambda: self._evaluate(delay_secs, name))

    def _evaluate(
        self, delay_secs: float | None, name: str | None, checkpoint_path: str | None = None
    ) -> dict[str, Any]:
        self._need(self.eval_input_fn, "eval_input_fn")
        delay = self.eval_delay_secs if delay_secs is None else delay_secs
        if delay:
            time.sleep(delay)
        results = self.estimator.evaluate(
            self.eval_input_fn,
            steps=self.eval_steps,
            hooks=self.eval_hooks,
            checkpoint_path=checkpoint_path,
            name=name,
        )
        self.eval_results.append(results)
        if self.run is not None:
            prefix = f"eval_{name}/" if name else "eval/"
            row = {f"{prefix}{k}": v for k, v in results.items() if k != "global_step"}
            if distributed.is_main():  # a generator's reconstructions, samples, latent space
                row.update(self.estimator.evaluation_images(self.eval_input_fn))  # type: ignore[arg-type]
            self.run.log(row, global_step=results["global_step"])
        self.exports.extend(self._export(checkpoint_path))
        return results

    def _export(self, checkpoint_path: str | None) -> list[str]:
        """Each export strategy's export of the model just evaluated, into
        ``<output_dir>/exports/<strategy name>/``; rank 0 alone exports across ranks."""
        folders: list[str] = []
        if not distributed.is_main():
            return folders
        for strategy in self.export_strategies:
            if strategy.serving_input_receiver_fn is None and self._example_features is None:
                batch = next(iterate_input(self.eval_input_fn, repeat_single=False))  # type: ignore[arg-type]
                self._example_features = batch[0]
            folders.append(
                strategy.export(
                    self.estimator,
                    self.output_dir / "exports" / strategy.name,
                    self._example_features,
                    checkpoint_path,
                )
            )
        return folders

    def continuous_eval(
        self,
        delay_secs: float | None = None,
        throttle_delay_secs: float | None = None,
        evaluate_checkpoint_only_once: bool = True,
        name: str | None = None,
        continuous_eval_predicate_fn: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """Evaluate each new checkpoint that a trainer (usually another process) writes.

        Watches the estimator's ``model_dir``: evaluates the newest checkpoint, then waits until
        ``throttle_delay_secs`` (default ``continuous_eval_throttle_secs``) have passed since
        that evaluation began and a newer checkpoint exists. Stops when an evaluated checkpoint
        reaches ``train_steps`` or ``continuous_eval_predicate_fn(results)`` returns False;
        with neither it runs until interrupted, as the seed library's did. Give the evaluator
        its own ``output_dir`` (or ``run=False``): a run log has one writer.

        Args:
            delay_secs: wait before the first look (default ``eval_delay_secs``).
            evaluate_checkpoint_only_once: False re-evaluates the same checkpoint each time.
            name: evaluation name (metrics logged as ``eval_<name>/...``).

        Returns:
            The last evaluation's metrics plus ``global_step``.

        Raises:
            ValueError: under a distributed launch (an evaluator watches another process's
                checkpoints; run it as a single process).
        """
        if distributed.launched():
            raise ValueError(
                "continuous_eval watches the checkpoints another process writes; run the "
                "evaluator as a single process, not under torchrun or --nproc."
            )
        throttle = (
            self.continuous_eval_throttle_secs
            if throttle_delay_secs is None
            else throttle_delay_secs
        )
        delay = self.eval_delay_secs if delay_secs is None else delay_secs
        return self._tracked(
            lambda: self._watch_checkpoints(
                delay, throttle, evaluate_checkpoint_only_once, name, continuous_eval_predicate_fn
            )
        )

    def train_and_evaluate(
        self, continuous_eval_predicate_fn: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any]:
        """Train to ``train_steps``, evaluating every ``eval_every_n_steps`` and at the end.
        ``continuous_eval_predicate_fn(results)`` returning False after an evaluation stops
        early; raising ``petri.errors.RunStopped`` also ends the run with its status."""
        return self._tracked(
            lambda: self._train_evaluating(self.eval_every_n_steps, continuous_eval_predicate_fn)
        )

    def continuous_train_and_evaluate(
        self, continuous_eval_predicate_fn: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any]:
        """Train ``train_steps_per_iteration`` steps at a time until ``train_steps``; evaluate
        after
        an iteration once ``eval_every_n_steps`` steps passed since the last evaluation, and at
        the end. ``continuous_eval_predicate_fn(results)`` returning False stops early."""
        return self._tracked(
            lambda: self._train_evaluating(
                self.train_steps_per_iteration, continuous_eval_predicate_fn
            )
        )

    def close(self) -> None:
        """Close the run log (status ``finished``); schedules reopen it if called again."""
        if self.run is not None:
            self.run.close()

    # ----------------------------------------------------------------- helpers
    def _train_evaluating(
        self,
        chunk: int,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        self._need(self.train_input_fn, "train_input_fn")
        self._need(self.eval_input_fn, "eval_input_fn")
        estimator = self.estimator
        results: dict[str, Any] | None = None
        step = self._resume_record()
        last_eval = self._last_evaluation(step)
        finished = self.train_steps is not None and step >= self.train_steps
        if (
            step
            and last_eval != step
            and (finished or step - last_eval >= self.eval_every_n_steps)
        ):
            results = self._evaluate(0, None)  # due before the interruption, never logged
            last_eval = step
        while self.train_steps is None or step < self.train_steps:
            # chunks end at multiples of `chunk`, so a resumed run stops where an
            # uninterrupted one does, and evaluates at the same steps
            target = (step // chunk + 1) * chunk
            if self.train_steps is not None:
                target = min(target, self.train_steps)
            estimator.train(self.train_input_fn, max_steps=target, hooks=self._train_hooks())
            step = estimator.global_step
            exhausted = step < target
            finished = self.train_steps is not None and step >= self.train_steps
            if exhausted or finished or step - last_eval >= self.eval_every_n_steps:
                results = self._evaluate(0, None)  # eval_delay_secs is for evaluate() alone
                last_eval = step
                if predicate is not None and not predicate(results):
                    break
            if exhausted:
                logger.info("Training input ended at global step %d.", step)
                break
        if results is None:
            results = self._logged_evaluation(step) or self._evaluate(0, None)
        return results

    def _resume_record(self) -> int:
        """The step training (re)starts from; the run log forgets what it logged after it
        (a preempted run resumes from its last checkpoint and logs those steps again)."""
        step = self.estimator.global_step
        if self.run is not None:
            dropped = self.run.rewind(step)
            if dropped:
                logger.info("Resuming at step %d: %d rows logged after it dropped.", step, dropped)
        return step

    def _last_evaluation(self, step: int) -> int:
        """The step of the last evaluation at or before ``step`` this run logged (0: none);
        across ranks, rank 0's answer (it holds the run log)."""
        return distributed.main_decides(lambda: self._last_logged_evaluation(step))

    def _last_logged_evaluation(self, step: int) -> int:
        if self.run is None:
            return step
        steps = [
            row["global_step"]
            for row in self.run.metrics
            if isinstance(row.get("global_step"), int)
            and row["global_step"] <= step
            and any(key.startswith("eval/") for key in row)
        ]
        return max(steps, default=0)

    def _logged_evaluation(self, step: int) -> dict[str, Any] | None:
        """The results of an evaluation at ``step`` already in the run log (a finished run run
        again evaluates nothing new), or None; across ranks, rank 0's answer."""
        return distributed.main_decides(lambda: self._find_logged_evaluation(step))

    def _find_logged_evaluation(self, step: int) -> dict[str, Any] | None:
        if self.run is None:
            return None
        for row in reversed(self.run.metrics):
            if row.get("global_step") == step and any(key.startswith("eval/") for key in row):
                results = {k[len("eval/") :]: v for k, v in row.items() if k.startswith("eval/")}
                return {**results, "global_step": step}
        return None

    def _watch_checkpoints(
        self,
        delay: float,
        throttle: float,
        only_once: bool,
        name: str | None,
        predicate: Callable[[dict[str, Any]], bool] | None,
    ) -> dict[str, Any]:
        self._need(self.eval_input_fn, "eval_input_fn")
        if delay:
            time.sleep(delay)
        evaluated: str | None = None
        results: dict[str, Any] = {}
        while True:
            started = time.monotonic()
            path = self.estimator.latest_checkpoint()
            if path is None or (only_once and path == evaluated):
                time.sleep(_CHECKPOINT_POLL_SECS)
                continue
            try:
                results = self._evaluate(0, name, checkpoint_path=path)
            except ValueError:
                if Path(path).exists():
                    raise
                continue  # the trainer pruned it meanwhile (keep_checkpoint_max): take the next
            evaluated = path
            if predicate is not None and not predicate(results):
                return results
            if self.train_steps is not None and results["global_step"] >= self.train_steps:
                return results
            time.sleep(max(0.0, throttle - (time.monotonic() - started)))

    def _train_hooks(self) -> list[Any]:
        run = self.run
        if run is None:
            return list(self.train_hooks)
        hooks: list[Any] = [
            StepLoggingHook(
                self.estimator.config.log_step_count_steps,
                sink=lambda row: run.log(
                    {k: v for k, v in row.items() if k != "global_step" and v is not None},
                    global_step=row["global_step"],
                ),
                log=False,
            )
        ]
        summaries = getattr(self.estimator.model, "summaries", None)
        if summaries:
            hooks.append(
                SummaryHook(run, summaries, every_n_steps=self.estimator.config.save_summary_steps)
            )
        return [*hooks, *self.train_hooks]

    def _tracked(self, action: Callable[[], _T]) -> _T:
        """Run a schedule; the run log ends ``finished``, or ``crashed`` if it raises."""
        try:
            result = action()
            wait_for_checkpoints(self.estimator.model_dir)  # "finished" means on disk
        except RunStopped as stop:
            wait_for_checkpoints(self.estimator.model_dir)
            self._close_run(stop.status, str(stop))
            raise
        except BaseException as error:
            self._close_run("crashed", f"{type(error).__name__}: {error}")
            raise
        if self.run is not None:
            self.run.close("finished")
        return result

    def _close_run(self, status: str, error: str) -> None:
        """Record how the run ended; when even that cannot be written (a full disk), say so
        and let the error that ended the run be the one raised."""
        if self.run is None:
            return
        try:
            self.run.close(status, error=error)
        except Exception as failure:
            logger.warning(
                "Could not mark the run %s (%s); readers see it as crashed once this process "
                "ends.",
                status,
                failure,
            )

    @staticmethod
    def _need(value: Any, name: str) -> None:
        if value is None:
            raise ValueError(f"This Experiment has no {name}; pass one to Experiment(...).")


def flatten_tags(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts and configs as ``a/b/c`` keys (tags); arrays summarised by shape."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        value = value.to_dict()
    plain = to_plain(value, arrays=_array_summary)
    return _flat(plain, prefix)


def _flat(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flat(item, f"{prefix}{key}/"))
        return flat
    return {prefix.rstrip("/"): value} if prefix else {}


def _array_summary(path: str, array: Any) -> str:
    if not hasattr(array, "dtype"):  # a pandas DataFrame
        return f"<frame shape={tuple(array.shape)} columns={len(array.columns)}>"
    return f"<array shape={tuple(array.shape)} dtype={array.dtype}>"
