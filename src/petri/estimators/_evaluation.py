"""The evaluation loop: every batch through the model in EVAL mode, streaming metrics updated,
the mean loss weighted by batch size; hooks end on every exit."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch

from petri import distributed
from petri.data.iteration import batch_size_of, iterate_input
from petri.estimators._outputs import as_python, update_metrics
from petri.modes import ModeKeys
from petri.training.hooks import HookList, LoopState
from petri.training.precision import as_full_precision

__all__ = ["run_evaluation"]


def run_evaluation(
    call: Callable[..., Any],
    module: torch.nn.Module,
    input_fn: Callable[[], Any],
    hooks: HookList,
    on_device: Callable[[Any], Any],
    global_step: int,
    autocast: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
) -> dict[str, Any]:
    """Metrics (Python numbers), the mean ``loss`` and ``global_step`` of one evaluation.

    ``on_device`` puts a batch where the model is; the model runs in ``autocast()`` and its
    low-precision outputs reach the metrics as float32.

    Raises:
        ValueError: ``input_fn`` produced no batches.
    """
    state = LoopState(ModeKeys.EVAL, global_step=global_step, model=module)
    metric_objects: dict[str, Any] = {}
    averages: dict[str, list[float]] = {}
    loss_sum, examples = 0.0, 0
    module.train(False)
    hooks.begin(state)
    try:
        with torch.no_grad():
            for features, labels in iterate_input(input_fn, repeat_single=False):
                features, labels = on_device(features), on_device(labels)
                state.features, state.labels = features, labels
                with autocast():
                    spec = call(features, labels, ModeKeys.EVAL)
                size = batch_size_of(features)
                if spec.loss is not None:
                    loss_sum += float(spec.loss) * size
                examples += size
                update_metrics(
                    as_full_precision(spec.eval_metric_ops), metric_objects, averages, size
                )
                state.step += 1
                state.loss, state.spec = spec.loss, spec
                hooks.after_step(state)
                if state.stop:
                    break
        if distributed.is_active():  # every rank read its share: the sums are over all
            keys = sorted(averages)
            sums = distributed.all_reduce_sum(
                [loss_sum, examples, float(examples == 0)]
                + [v for key in keys for v in averages[key]]
            )
            loss_sum, examples, empty_ranks = sums[0], int(sums[1]), int(sums[2])
            averages = {key: sums[3 + 2 * i : 5 + 2 * i] for i, key in enumerate(keys)}
            if empty_ranks:
                raise ValueError(
                    f"evaluate(): the evaluation input gave {empty_ranks} of "
                    f"{distributed.world_size()} processes no batch; give it at least one "
                    "batch per process."
                )
        if examples == 0:
            raise ValueError(f"evaluate(): input_fn {input_fn!r} produced no batches.")
        results: dict[str, Any] = {  # torchmetrics (and Petri's own metrics) sync the ranks
            key: as_python(metric.compute()) for key, metric in metric_objects.items()
        }
        for key, (total, count) in averages.items():
            results[key] = total / count
        results["loss"] = loss_sum / examples
        results["global_step"] = global_step
        state.metrics = results
    except BaseException:
        state.interrupted = True
        raise
    finally:
        hooks.end(state)
    return results
