"""Dynamic batching: requests that arrive together run as one call of the model.

The first waiting request opens a batch; others join it until it holds ``max_batch_size`` rows
or ``timeout_s`` has passed since it opened (it waits only while other requests are on their
way: a lone request runs at once), and the batch runs in the one model thread (torch
spreads a call over the cores itself; two calls at once would only fight for them). While a
batch runs, the next one gathers, so under load batches fill without waiting. Results are cut
back into each request's rows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Batcher"]


@dataclass
class _Waiting:
    model: Any
    arrays: list[np.ndarray]
    rows: int
    done: asyncio.Future = field(repr=False)


class Batcher:
    """Runs ``model.run_flat(arrays)`` for requests, batched (``max_batch_size`` > 1) or one
    by one.

    Args:
        max_batch_size: rows a batch gathers at most (a larger request runs alone); 1 or
            less turns batching off.
        timeout_s: how long a batch waits for more requests after its first.
        on_batch: told the rows of every model call (the server's metrics).
    """

    def __init__(
        self,
        max_batch_size: int,
        timeout_s: float,
        on_batch: Callable[[int], None] = lambda rows: None,
    ) -> None:
        self.max_batch_size = max_batch_size
        self.timeout_s = timeout_s
        self._on_batch = on_batch
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="petri-model")
        self._queue: asyncio.Queue[_Waiting] | None = None
        self._carry: _Waiting | None = None
        self._task: asyncio.Task | None = None
        self._active = 0

    @property
    def batching(self) -> bool:
        return self.max_batch_size > 1

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        """Around a request from its arrival (before its body is read) to its answer: a
        batch waits for more only while other requests are on their way."""
        self._active += 1
        try:
            yield
        finally:
            self._active -= 1

    async def start(self) -> None:
        if self.batching:
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._gather_and_run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=True)

    async def run(self, model: Any, arrays: list[np.ndarray], rows: int) -> dict[str, np.ndarray]:
        """``model``'s flat outputs (``signature/output``) for these rows."""
        loop = asyncio.get_running_loop()
        if not self.batching or self._queue is None:
            self._on_batch(rows)
            return await loop.run_in_executor(self._executor, model.run_flat, arrays)
        waiting = _Waiting(model, arrays, rows, loop.create_future())
        await self._queue.put(waiting)
        return await waiting.done

    async def _gather_and_run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            first = self._carry or await self._queue.get()
            self._carry = None
            batch, rows = [first], first.rows
            deadline = loop.time() + self.timeout_s
            while rows < self.max_batch_size:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    on_their_way = self._active - len(batch)
                    left = deadline - loop.time()
                    if on_their_way <= 0 or left <= 0:
                        break  # a lone request does not wait for company that is not coming
                    try:
                        item = await asyncio.wait_for(self._queue.get(), left)
                    except TimeoutError:
                        break
                if item.model is not first.model or rows + item.rows > self.max_batch_size:
                    self._carry = item  # another export (a reload) or too big: next batch
                    break
                batch.append(item)
                rows += item.rows
            await self._run_batch(batch, rows)

    async def _run_batch(self, batch: list[_Waiting], rows: int) -> None:
        loop = asyncio.get_running_loop()
        model = batch[0].model
        arrays = (
            batch[0].arrays
            if len(batch) == 1
            else [np.concatenate(parts) for parts in zip(*(item.arrays for item in batch))]
        )
        self._on_batch(rows)
        try:
            flat = await loop.run_in_executor(self._executor, model.run_flat, arrays)
        except Exception as error:  # the model failed: every request of the batch hears it
            for item in batch:
                if not item.done.done():
                    item.done.set_exception(error)
            return
        start = 0
        for item in batch:
            end = start + item.rows
            if not item.done.done():  # (a client that went away)
                item.done.set_result({key: value[start:end] for key, value in flat.items()})
            start = end
