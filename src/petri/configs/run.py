"""``RunConfig``: how a run executes (seeding, checkpoints, summaries, logging cadence)."""

from __future__ import annotations

import re

from pydantic import AliasChoices, Field, PositiveInt, field_validator

from petri.configs._base import BaseConfig

__all__ = ["RunConfig"]


class RunConfig(BaseConfig):
    """Execution settings shared by the Estimator and the Agent."""

    seed: int | None = Field(default=None, validation_alias=AliasChoices("seed", "tf_random_seed"))
    """Seeds torch, numpy and Python's ``random`` (``tf_random_seed`` in the seed library)."""
    save_summary_steps: PositiveInt = 100
    """Write TensorBoard summaries every this many steps."""
    save_checkpoints_steps: PositiveInt | None = None
    """Checkpoint every this many steps (takes precedence over ``save_checkpoints_secs``)."""
    save_checkpoints_secs: float | None = Field(default=600.0, gt=0)
    """Checkpoint every this many seconds when ``save_checkpoints_steps`` is unset."""
    keep_checkpoint_max: PositiveInt = 5
    """Most recent checkpoints kept on disk."""
    keep_checkpoint_every_n_hours: float = Field(default=10000.0, gt=0)
    """Also keep one checkpoint per this many hours of training."""
    log_step_count_steps: PositiveInt = 100
    """Log loss and steps/s every this many steps."""
    device: str = "auto"
    """``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda``, ``cuda:<index>`` or ``mps``."""
    compile: bool = False
    """Opt into ``torch.compile`` for the model."""
    num_threads: PositiveInt | None = None
    """``torch.set_num_threads`` for the run; None leaves torch's default."""
    verbose: bool = True
    """Show progress: a bar (steps, loss, steps/s, ETA) on a terminal, else a line every
    ``log_step_count_steps``, and evaluation results. False (``petri -q``) shows warnings only.
    It does not change the run, so a resume may change it."""

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", value):
            raise ValueError(
                f"Unknown device {value!r}; expected 'auto', 'cpu', 'cuda', 'cuda:<index>' or "
                "'mps'."
            )
        return value
