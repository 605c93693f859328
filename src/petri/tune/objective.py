"""Report from your own training loop: intermediate values, and pruning.

A function searched by ``petri.tune.run(function, space, ...)`` is called with the sampled
parameters in a worker process; it may report as it trains::

    from petri.tune import objective

    def train(params):
        for epoch in range(20):
            accuracy = fit_one_epoch(params["lr"])
            objective.report(accuracy, step=epoch)   # raises TrialPruned when pruned
        return accuracy
"""

from __future__ import annotations

from typing import Any

from petri.errors import PetriError
from petri.tune._trial import current_trial

__all__ = ["report", "should_prune", "trial"]


def trial() -> Any:
    """The optuna ``Trial`` being run in this process."""
    current = current_trial()
    if current is None:
        raise PetriError(
            "petri.tune.objective is for a function run by petri.tune.run; no trial is running "
            "in this process."
        )
    return current


def should_prune() -> bool:
    """Whether the study's pruner would stop this trial at its last reported step."""
    return bool(trial().should_prune())


def report(value: float, step: int) -> None:
    """Report ``value`` at ``step``; raises ``optuna.TrialPruned`` when the pruner says stop
    (let it propagate: the trial is then recorded as pruned)."""
    import optuna

    current = trial()
    current.report(float(value), int(step))
    if current.should_prune():
        raise optuna.TrialPruned(f"pruned at step {step} (value {value:.4g})")
