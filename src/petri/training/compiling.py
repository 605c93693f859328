"""``torch.compile`` of a model's calls, falling back to eager once, with the reason, when
compilation fails (no C compiler, an unsupported op): training goes on either way."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from petri.configs.run import CompileConfig
from petri.errors import ConfigError, did_you_mean

__all__ = ["CompiledCall", "compile_failures"]

logger = logging.getLogger("petri")

CPU_NOTE = (
    "torch.compile on the CPU is often slower than eager for small models (measured on "
    "torch 2.13, one thread: 0.63x on the digits MLP step, 0.66x on a 3x32x32 CNN step); "
    "bf16-mixed precision and memory_format: channels_last usually help more there."
)


def compile_failures() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "this could not be compiled", not "the model is wrong"."""
    from torch._dynamo import exc as dynamo_errors

    failures: list[type[BaseException]] = [dynamo_errors.TorchDynamoException]
    try:
        from torch._inductor import exc as inductor_errors

        failures.append(inductor_errors.CppCompileError)
        failures.append(inductor_errors.InvalidCxxCompiler)
    except (ImportError, AttributeError):  # pragma: no cover - other torch versions
        pass
    return tuple(failures)


class CompiledCall:
    """Calls ``torch.compile(module, **options)``; on a compilation failure, warns once and
    calls ``module`` eagerly from then on (the weights are the module's either way, so
    checkpoints never carry ``_orig_mod`` keys)."""

    def __init__(
        self, module: nn.Module, options: CompileConfig, device: torch.device, note: bool = True
    ) -> None:
        self.module = module
        self.options = options
        if device.type == "cpu" and note:
            logger.warning("run_config.compile: %s", CPU_NOTE)
        self._compiled: Callable[..., Any] | None = _compile(module, options)
        self._failures = compile_failures()
        self.failure: str | None = None
        """Why compilation was given up, or None while it works."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        compiled = self._compiled
        if compiled is None:
            return self.module(*args, **kwargs)
        try:
            return compiled(*args, **kwargs)
        except self._failures as error:
            self._compiled = None
            self.failure = _first_line(error)
            logger.warning(
                "run_config.compile: torch.compile failed (%s); training goes on eagerly.",
                self.failure,
            )
            return self.module(*args, **kwargs)


def _compile(module: nn.Module, options: CompileConfig) -> Callable[..., Any]:
    from torch._dynamo import list_backends

    known = list_backends(exclude_tags=())
    if options.backend not in known:
        raise ConfigError(
            f"Unknown torch.compile backend {options.backend!r}."
            f"{did_you_mean(options.backend, known)} Known: {', '.join(sorted(known))}.",
            "run_config.compile.backend",
            options.backend,
        )
    return torch.compile(
        module,
        mode=None if options.mode == "default" else options.mode,
        fullgraph=options.fullgraph,
        dynamic=options.dynamic,
        backend=options.backend,
    )


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {' '.join(lines[:2])}"[:300]
