"""``RunConfig``: how a run executes (seeding, checkpoints, summaries, logging cadence, device,
precision, compilation, distribution)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import AliasChoices, Field, PositiveFloat, PositiveInt, field_validator

from petri.configs._base import BaseConfig

__all__ = ["CompileConfig", "DistributedConfig", "RunConfig"]

_PRECISION_ALIASES = {
    "32": "32",
    "32-true": "32",
    "fp32": "32",
    "bf16": "bf16-mixed",
    "bf16-mixed": "bf16-mixed",
    "16": "16-mixed",
    "16-mixed": "16-mixed",
    "fp16": "16-mixed",
}


class CompileConfig(BaseConfig):
    """``torch.compile`` options (``run_config.compile: {mode: max-autotune}``)."""

    mode: Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"] = (
        "default"
    )
    fullgraph: bool = False
    """Refuse graph breaks (an error, then the eager fallback) instead of splitting the graph."""
    dynamic: bool | None = None
    """Shape-polymorphic kernels: None lets torch decide after a recompile."""
    backend: str = "inductor"
    """Any backend ``torch._dynamo.list_backends()`` names (``eager`` and ``aot_eager`` debug)."""


class DistributedConfig(BaseConfig):
    """How the processes of a ``torchrun`` (or ``petri run --nproc``) launch talk."""

    backend: Literal["auto", "gloo", "nccl"] = "auto"
    """``auto``: nccl when the run's device is CUDA, else gloo."""
    timeout_s: PositiveFloat = 120.0
    """A collective waiting longer than this for a rank (one that died or hangs) fails the run
    instead of hanging it."""


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
    """``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda``, ``cuda:<index>`` or ``mps``.
    Under a distributed launch ``cuda`` means the process's ``LOCAL_RANK`` device."""
    precision: Literal["32", "bf16-mixed", "16-mixed"] = "32"
    """``32``; ``bf16-mixed`` (autocast to bfloat16, CPU and CUDA); ``16-mixed`` (autocast to
    float16 with a gradient scaler, whose state is checkpointed). Also read: ``bf16``, ``16``,
    ``32-true``."""
    accumulate_grad_batches: PositiveInt = 1
    """Batches whose gradients add up to one optimizer update; a global step is one update."""
    compile: CompileConfig | None = None
    """``torch.compile`` the model's training and evaluation calls: ``true`` or the options
    (``{mode: max-autotune}``); ``false``/None is eager. A compilation failure falls back to
    eager with one warning."""
    memory_format: Literal["contiguous", "channels_last"] = "contiguous"
    """``channels_last`` keeps the weights and 4-d inputs NHWC in memory (faster conv nets on
    CPU and on tensor cores); results are the same."""
    host_memory: Literal["auto", "retain", "system"] = "auto"
    """Freed host (CPU) memory during training: ``retain`` keeps it in the process for the next
    step (glibc's mmap and trim thresholds raised, for the rest of the process, when a loop
    starts: no page faults re-mapping each step's tensors, 1.2-1.5x samples/s for conv nets on
    CPU; the free memory goes back to the system when the loop ends), ``system`` leaves malloc
    as it is, ``auto`` retains on Linux/glibc unless ``MALLOC_*_``/``GLIBC_TUNABLES`` or a
    preloaded allocator says otherwise. Results are the same."""
    distributed: DistributedConfig = Field(default_factory=DistributedConfig)
    """How the ranks of a distributed launch (``WORLD_SIZE`` > 1) talk; see
    docs/distributed.md."""
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

    @field_validator("precision", mode="before")
    @classmethod
    def _precision_alias(cls, value: Any) -> Any:
        key = str(value).lower() if isinstance(value, str | int) else value
        if key in _PRECISION_ALIASES:
            return _PRECISION_ALIASES[key]
        raise ValueError(
            f"Unknown precision {value!r}; expected '32', 'bf16-mixed' or '16-mixed'."
        )

    @field_validator("compile", mode="before")
    @classmethod
    def _compile_switch(cls, value: Any) -> Any:
        if value is True:
            return {}
        if value is False:
            return None
        if value is not None and not isinstance(value, dict | CompileConfig):
            raise ValueError(
                "expected true, false or the options {mode, fullgraph, dynamic, backend}."
            )
        return value

    def unsupported_by_agents(self) -> str | None:
        """Why an RL Agent cannot honour this config (None when it can): the Agent acts one
        state at a time, where these settings would be accepted and do nothing."""
        if self.compile is not None:
            return (
                "run_config.compile applies to the Estimator; the Agent acts one state at a "
                "time, where torch.compile's recompiles cost more than they save. Remove it."
            )
        refused = {
            "precision": (self.precision, "32"),
            "accumulate_grad_batches": (self.accumulate_grad_batches, 1),
            "memory_format": (self.memory_format, "contiguous"),
        }
        for key, (value, default) in refused.items():
            if value != default:
                return (
                    f"run_config.{key}={value!r} applies to the Estimator; RL Agents train "
                    f"small networks in full precision one update at a time. Remove it (or "
                    f"set {default!r})."
                )
        return None
