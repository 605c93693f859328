"""One training job in several processes (``torchrun``, ``petri run --nproc``): what Petri
needs of ``torch.distributed``, in one place.

A launch is recognised from the variables torch's launcher sets (``WORLD_SIZE``, ``RANK``,
``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``). Every helper here is a no-op returning the
single-process answer when no process group is active, so callers need no branches. Every
collective helper must be called by all ranks in the same order.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import weakref
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from petri.errors import PetriError

__all__ = [
    "all_reduce_sum",
    "any_rank",
    "average_gradients",
    "backend",
    "broadcast",
    "data_shard",
    "gather_to_main",
    "init_from_environment",
    "is_active",
    "is_main",
    "launched",
    "local_rank",
    "main_decides",
    "release_at_exit",
    "mean_over_ranks",
    "rank",
    "world_size",
]

_T = TypeVar("_T")


def launched() -> bool:
    """Whether this process was started by a distributed launcher with more than one rank."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1


def local_rank() -> int:
    """This process's index on its machine (its GPU under CUDA)."""
    return int(os.environ.get("LOCAL_RANK", "0") or 0)


def init_from_environment(
    backend: str = "auto", timeout_s: float = 120.0, device: Any = None
) -> bool:
    """Join the launch's process group (once per process); False when not launched.

    ``backend`` ``auto`` is nccl for a CUDA device, else gloo. A collective that waits longer
    than ``timeout_s`` for a rank fails instead of hanging.
    """
    if not launched():
        return False
    if is_active():
        return True
    if backend == "auto":
        on_gpu = device == "auto" and torch.cuda.is_available()
        on_gpu = on_gpu or (device not in (None, "auto") and torch.device(device).type == "cuda")
        backend = "nccl" if on_gpu else "gloo"
    if backend == "nccl":
        if not torch.cuda.is_available():
            raise PetriError(
                "run_config.distributed.backend 'nccl' needs CUDA, which this machine lacks; "
                "use 'gloo' (or 'auto')."
            )
        torch.cuda.set_device(local_rank())  # object collectives use the current device
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    atexit.register(_destroy)
    return True


_RELEASES: list[weakref.WeakMethod[Callable[[], None]]] = []


def release_at_exit(release: Callable[[], None]) -> None:
    """Call the bound method ``release`` before the process group goes at exit (while its
    owner lives): a ``DistributedDataParallel`` left for the interpreter's teardown, after its
    group is gone, aborts the process ("terminate called without an active exception")."""
    _RELEASES.append(weakref.WeakMethod(release))  # type: ignore[arg-type]


def _destroy() -> None:
    """Release what uses the group, then leave it together."""
    for reference in _RELEASES:
        release = reference()
        if release is not None:
            release()
    _RELEASES.clear()
    gc.collect()
    if dist.is_available() and dist.is_initialized():
        with contextlib.suppress(Exception):
            dist.barrier()
        dist.destroy_process_group()


def is_active() -> bool:
    """Whether a process group of more than one rank is active."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def backend() -> str | None:
    """The active group's backend (``gloo``, ``nccl``), or None."""
    return str(dist.get_backend()) if is_active() else None


def rank() -> int:
    return dist.get_rank() if is_active() else 0


def world_size() -> int:
    return dist.get_world_size() if is_active() else 1


def is_main() -> bool:
    """Rank 0: the one process that writes the run log, checkpoints and exports."""
    return rank() == 0


def data_shard() -> tuple[int, int]:
    """``(index, count)`` of the share of every input this process reads."""
    return rank(), world_size()


def broadcast(value: _T) -> _T:
    """Rank 0's ``value`` on every rank (any picklable object)."""
    if not is_active():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def main_decides(decide: Callable[[], _T]) -> _T:
    """``decide()`` run on rank 0 only, its answer (or its exception) on every rank: for
    decisions read from files only rank 0 may see, or that must not differ between ranks."""
    if not is_active():
        return decide()
    answer: Any = None
    if is_main():
        try:
            answer = ("value", decide())
        except Exception as error:
            answer = ("error", error)
    kind, value = broadcast(answer)
    if kind == "error":
        raise value
    return value


def gather_to_main(value: _T) -> list[_T] | None:
    """Every rank's ``value``, in rank order, on rank 0 (None on the others)."""
    if not is_active():
        return [value]
    gathered: list[Any] | None = [None] * world_size() if is_main() else None
    dist.gather_object(value, gathered, dst=0)
    return gathered


def all_reduce_sum(values: Sequence[float]) -> list[float]:
    """Element-wise sums of ``values`` over all ranks (float64)."""
    if not is_active():
        return [float(v) for v in values]
    on_gpu = dist.get_backend() == "nccl"
    tensor = torch.tensor([float(v) for v in values], dtype=torch.float64)
    tensor = tensor.cuda() if on_gpu else tensor
    dist.all_reduce(tensor)
    return tensor.cpu().tolist()


def mean_over_ranks(value: float) -> float:
    """The mean of ``value`` over all ranks."""
    return all_reduce_sum([value])[0] / world_size()


def average_gradients(parameters: Iterable[torch.Tensor]) -> None:
    """Average the gradients of ``parameters`` over all ranks, in place (what DDP does at
    an update, for gradients accumulated without it)."""
    if not is_active():
        return
    count = world_size()
    for parameter in parameters:
        if parameter.grad is not None:
            dist.all_reduce(parameter.grad)
            parameter.grad.div_(count)


def any_rank(flag: bool) -> bool:
    """Whether ``flag`` holds on at least one rank."""
    return all_reduce_sum([1.0 if flag else 0.0])[0] > 0 if is_active() else flag
