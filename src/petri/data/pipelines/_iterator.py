"""``PipelineBatches``: the resumable iterator a pipeline's input function returns.

With ``num_threads: 1`` the batches are made in this process: no start-up cost, no copies,
which is fastest for small records. With ``num_threads: N > 1``, N reader processes each read
every N-th shard (shard ``k`` goes to reader ``k % N``), decode, process and batch it, and this
process takes one batch from each reader in turn. Each batch arrives with its reader's state
after that batch, so :meth:`PipelineBatches.state_dict` describes exactly the batches handed
out, however far the readers have read ahead.

What resuming guarantees: loading a state into an iterator of the same pipeline (same files,
seed, batch size and ``num_threads``) continues with exactly the batches, in the same order, that
the uninterrupted iterator would have produced. With a different ``num_threads`` the state is
refused (``ValueError``; the Estimator then warns and restarts the input).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import queue
import traceback
import weakref
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import torch

__all__ = ["PipelineBatches"]

logger = logging.getLogger("petri")


class Pipeline(Protocol):
    """What the iterator needs of a ``petri.data.Pipeline`` (which builds it)."""

    num_workers: int
    start_method: str | None
    prefetch: int
    label: str | None

    finite: bool

    def make_batcher(self, worker: int, num_workers: int, shard: tuple[int, int]) -> Any: ...

    def to_batch(self, batch: Any) -> Any: ...


_POLL_SECONDS = 0.5


def _checkpointable(value: Any) -> Any:
    """numpy arrays as tensors, so the state loads with ``torch.load(weights_only=True)``."""
    if isinstance(value, np.ndarray | np.generic):
        return torch.from_numpy(np.asarray(value))
    if isinstance(value, dict):
        return {k: _checkpointable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_checkpointable(v) for v in value]
    return value


def _put(out: Any, stop: Any, item: Any, parent: int | None = None) -> bool:
    """Send ``item``; False when the reading side is gone: ``stop`` was set, or the process
    that started this reader died (SIGKILL skips its cleanup; the reader must not outlive it)."""
    while not stop.is_set():
        if parent is not None and os.getppid() != parent:
            return False
        try:
            out.put(item, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


def _portable(error: BaseException) -> BaseException:
    """``error`` if it survives pickling, else a RuntimeError carrying its traceback."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        text = "".join(traceback.format_exception(error))
        return RuntimeError(f"A pipeline reader process failed:\n{text}")


def _reader_main(
    pipeline: Pipeline,
    worker: int,
    num_workers: int,
    shard: tuple[int, int],
    state: Mapping[str, Any] | None,
    out: Any,
    stop: Any,
    parent: int | None = None,
) -> None:
    """A reader process: batches of its shards, each sent with the state after it; it ends
    when the reading process stops it or dies."""
    torch.set_num_threads(1)
    try:
        batcher = pipeline.make_batcher(worker, num_workers, shard)
        if state:
            batcher.load_state_dict(state)
        while not stop.is_set():
            try:
                batch = batcher.next_batch()
            except StopIteration:
                _put(out, stop, ("end", None, None), parent)
                return
            if not _put(out, stop, ("batch", batch, batcher.state_dict()), parent):
                return
    except BaseException as error:
        _put(out, stop, ("error", _portable(error), None), parent)
    finally:
        if stop.is_set() or (parent is not None and os.getppid() != parent):
            out.cancel_join_thread()  # nobody reads any more: exit without flushing the queue


def _shutdown(processes: list[Any], stop: Any) -> None:
    stop.set()
    for process in processes:
        process.join(timeout=2.0)
        if process.is_alive():
            process.terminate()
            process.join(timeout=1.0)


class _Readers:
    """The reader processes of one iterator and their queues."""

    def __init__(
        self,
        pipeline: Pipeline,
        num_workers: int,
        shard: tuple[int, int],
        states: list[Any],
        done: list[bool],
        start_method: str | None,
        prefetch: int,
    ) -> None:
        context = multiprocessing.get_context(start_method)
        self.stop = context.Event()
        self.queues = [context.Queue(maxsize=prefetch) for _ in range(num_workers)]
        self.processes = {
            w: context.Process(
                target=_reader_main,
                args=(
                    pipeline,
                    w,
                    num_workers,
                    shard,
                    states[w],
                    self.queues[w],
                    self.stop,
                    os.getpid(),
                ),
                name=f"petri-reader-{pipeline.label}-{w}"
                if pipeline.label
                else f"petri-reader-{w}",
                daemon=True,
            )
            for w in range(num_workers)
            if not done[w]  # a reader that finished before a checkpoint stays finished
        }
        for process in self.processes.values():
            process.start()
        self._finalizer = weakref.finalize(
            self, _shutdown, list(self.processes.values()), self.stop
        )

    def get(self, worker: int) -> tuple[str, Any, Any]:
        source, process = self.queues[worker], self.processes[worker]
        while True:
            try:
                return source.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if not process.is_alive():
                    try:  # it may have sent its last message just before exiting
                        return source.get(timeout=_POLL_SECONDS)
                    except queue.Empty:
                        raise RuntimeError(
                            f"Pipeline reader process {worker} exited unexpectedly "
                            f"(exit code {process.exitcode})."
                        ) from None

    def close(self) -> None:
        self._finalizer()


class PipelineBatches:
    """Iterator of ``(features, labels)`` batches of a :class:`Pipeline`, with exact resume.

    ``features`` is a dict of tensors (byte-string features are lists); ``labels`` is the label
    feature's tensor, or None when the pipeline has no label feature.
    """

    def __init__(self, pipeline: Pipeline, shard: tuple[int, int] = (0, 1)) -> None:
        self._pipeline = pipeline
        self.shard = shard
        self.finite = pipeline.finite
        self.num_workers = pipeline.num_workers
        self._batcher = pipeline.make_batcher(0, 1, shard) if not self.num_workers else None
        self._readers: _Readers | None = None
        self._states: list[Any] = [None] * self.num_workers
        self._done = [False] * self.num_workers
        self._next = 0
        self._exhausted = False

    def __iter__(self) -> PipelineBatches:
        return self

    def __next__(self) -> tuple[Any, Any]:
        if self._exhausted:
            raise StopIteration
        try:
            batch = self._next_batch()
        except StopIteration:
            self._exhausted = True
            self.close()
            raise
        return self._pipeline.to_batch(batch)

    def _next_batch(self) -> dict[str, Any]:
        if self._batcher is not None:
            return self._batcher.next_batch()
        if self._readers is None:
            pipeline = self._pipeline
            self._readers = _Readers(
                pipeline,
                self.num_workers,
                self.shard,
                self._states,
                self._done,
                pipeline.start_method,
                pipeline.prefetch,
            )
        while not all(self._done):
            worker = self._next
            self._next = (worker + 1) % self.num_workers
            if self._done[worker]:
                continue
            kind, payload, state = self._readers.get(worker)
            if kind == "batch":
                self._states[worker] = state
                return payload
            if kind == "error":
                self.close()
                raise payload
            self._done[worker] = True
        raise StopIteration

    def close(self) -> None:
        """Stop the reader processes (also done when the input ends or the iterator is freed)."""
        readers = getattr(self, "_readers", None)  # None also if __init__ failed
        if readers is not None:
            readers.close()
            self._readers = None

    def __del__(self) -> None:
        self.close()

    # -------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """The position after the last batch handed out (plain data and tensors)."""
        state: dict[str, Any] = {
            "pipeline": type(self._pipeline).__name__,
            "num_workers": self.num_workers,
            "exhausted": self._exhausted,
        }
        if self.shard[1] > 1:
            state["shard"] = list(self.shard)
        if self._batcher is not None:
            state["batcher"] = self._batcher.state_dict()
        else:
            state["next"] = self._next
            state["workers"] = [
                {"done": True} if done else (s if s is not None else {})
                for s, done in zip(self._states, self._done)
            ]
        return _checkpointable(state)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a :meth:`state_dict` of an iterator of the same pipeline.

        Raises:
            KeyError: the state lacks a key.
            ValueError: the state was saved with a different ``num_threads`` or other shards.
        """
        kind = type(self._pipeline).__name__
        if state.get("pipeline", kind) != kind:
            raise ValueError(
                f"The input position was saved by a {state['pipeline']}, not a {kind}; the "
                "input starts from its beginning."
            )
        share = tuple(int(v) for v in state.get("shard", (0, 1)))
        if share != tuple(self.shard):
            raise ValueError(
                f"The input position was saved by share {share[0]} of {share[1]} of the input, "
                f"but this process reads share {self.shard[0]} of {self.shard[1]}."
            )
        saved = int(state["num_workers"])
        if saved != self.num_workers:
            raise ValueError(
                f"The input position was saved with {max(saved, 1)} reader(s) "
                f"(num_threads), but this pipeline uses {max(self.num_workers, 1)}. Set "
                "num_threads back to resume exactly where the run stopped."
            )
        self.close()
        self._exhausted = bool(state.get("exhausted", False))
        if self._batcher is not None:
            self._batcher.load_state_dict(state["batcher"])
            return
        self._next = int(state["next"])
        workers = list(state["workers"])
        self._done = [bool(w.get("done", False)) for w in workers]
        self._states = [None if (not w or w.get("done")) else w for w in workers]
