"""A pool of reused worker processes in which a task that crashes its process fails alone.

``multiprocessing.Pool`` and ``ProcessPoolExecutor`` break as a whole when one worker dies (a
segfault, the OOM killer, ``os._exit``), and ``fork`` after torch has started its threads is
unsafe. Searches run many independent trials, so this pool starts its workers from a
``forkserver`` (or ``spawn``), reuses them from task to task, and when one dies reports its
task as failed and starts a replacement.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from petri.errors import PetriError

__all__ = ["TaskResult", "WorkerPool", "WorkerStartError"]


class WorkerStartError(PetriError, RuntimeError):
    """A worker process died before it could take any work."""


@dataclass
class TaskResult:
    """What became of one task: ``ok`` with its ``value``, or the ``error`` text."""

    index: int
    ok: bool
    value: Any = None
    error: str | None = None
    pid: int | None = None
    """The worker process that ran it."""


def _serve(
    connection: Connection, initializer: Callable[..., Any] | None, initargs: tuple
) -> None:
    """A worker's life: run each task sent, send back its result or its traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if initializer is not None:
        initializer(*initargs)
    connection.send("ready")
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        index, function, args = message
        try:
            reply = (index, True, function(*args), None)
        except BaseException as error:
            text = "".join(traceback.format_exception(error)).rstrip()
            reply = (index, False, None, text)
        try:
            connection.send(reply)
        except Exception as error:  # an unpicklable result fails its task, not the worker
            connection.send((index, False, None, f"the result could not be sent back: {error}"))


class _Worker:
    def __init__(self, context: Any, initializer: Any, initargs: tuple) -> None:
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, initializer, initargs), daemon=True
        )
        self.process.start()
        child.close()
        self.tasks: deque[int] = deque()
        """Task indices sent and not answered, oldest first: the first is the one running."""
        self.ready = False

    def wait_ready(self) -> None:
        """The first message of a worker says it started; dying before it is the pool's
        problem (the script cannot be imported again), not a task's."""
        if self.ready:
            return
        try:
            message = self.connection.recv()
        except (EOFError, OSError):
            message = None
        if message != "ready":
            self.process.join()
            raise WorkerStartError(
                f"A worker process exited with status {self.process.exitcode} before it could "
                "take work. Worker processes import the main script again: a script that "
                "starts a search must do so under `if __name__ == '__main__':`, and the "
                "function it searches must be defined at module level."
            )
        self.ready = True


class WorkerPool:
    """``size`` reused worker processes.

    Args:
        size: number of processes.
        initializer: called once in each new worker with ``initargs`` (thread counts, seeds).
        start_method: ``forkserver`` (default) or ``spawn``; never ``fork``.
        preload: modules the forkserver imports once, so a new worker starts in milliseconds.
        prefetch: tasks sent to a worker ahead of its answers (at least 1). With 2, a worker
            finds its next task waiting in its pipe when it finishes one, instead of waiting
            for this process to read the answer and send more; tasks whose outcome may depend
            on when they are chosen want 1.
    """

    def __init__(
        self,
        size: int,
        initializer: Callable[..., Any] | None = None,
        initargs: tuple = (),
        start_method: str = "forkserver",
        preload: Iterable[str] = (),
        prefetch: int = 1,
    ) -> None:
        if size < 1:
            raise ValueError(f"A pool needs at least one worker; got {size!r}.")
        if prefetch < 1:
            raise ValueError(f"prefetch must be at least 1; got {prefetch!r}.")
        if start_method not in ("forkserver", "spawn"):
            raise ValueError(
                f"start_method must be 'forkserver' or 'spawn'; got {start_method!r}."
            )
        self._context = multiprocessing.get_context(start_method)
        if start_method == "forkserver" and preload:
            self._context.set_forkserver_preload(list(preload))
        self._initializer, self._initargs = initializer, initargs
        self._prefetch = prefetch
        self._workers = [self._start() for _ in range(size)]

    def _start(self) -> _Worker:
        return _Worker(self._context, self._initializer, self._initargs)

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    def imap_unordered(
        self, function: Callable[..., Any], argument_lists: Iterable[tuple]
    ) -> Iterator[TaskResult]:
        """Run ``function(*args)`` for each ``args``; yield results as they finish.

        ``argument_lists`` is read one item at a time, when a worker has room for a task. A
        task whose worker dies yields ``ok=False`` with the exit code in ``error`` (the
        oldest task it had not answered is taken as the one it was running); the worker is
        replaced, its later tasks go to the replacement, and the other tasks go on.
        """
        pending = enumerate(argument_lists)  # read lazily: a task may be chosen when it starts
        arguments: dict[int, tuple] = {}  # of tasks sent and not answered
        resend: deque[int] = deque()  # tasks a dead worker had not started
        more = True
        finished: list[TaskResult] = []
        while True:
            for worker in self._workers:
                while len(worker.tasks) < self._prefetch and (resend or more):
                    if resend:
                        index = resend.popleft()
                    else:
                        task = next(pending, None)
                        if task is None:
                            more = False
                            break
                        index, args = task
                        arguments[index] = tuple(args)
                    worker.wait_ready()
                    worker.tasks.append(index)
                    worker.connection.send((index, function, arguments[index]))
            # Results are handed on only once the workers have their next tasks, so whatever
            # the caller does with a result overlaps with the work.
            yield from finished
            finished = []
            busy = [w for w in self._workers if w.tasks]
            if not busy:
                break
            ready = wait([w.connection for w in busy] + [w.process.sentinel for w in busy])
            for position, worker in enumerate(self._workers):
                if not worker.tasks:
                    continue
                answered = False
                while worker.connection in ready and worker.tasks and worker.connection.poll():
                    try:
                        index, ok, value, error = worker.connection.recv()
                    except (EOFError, OSError):
                        break  # died while sending: handled below as a death
                    worker.tasks.remove(index)
                    arguments.pop(index, None)
                    finished.append(TaskResult(index, ok, value, error, worker.process.pid))
                    answered = True
                if answered and worker.process.is_alive():
                    continue
                if worker.process.sentinel in ready or not worker.process.is_alive():
                    worker.process.join()
                    self._workers[position] = self._start()
                    if not worker.tasks:
                        continue
                    index = worker.tasks.popleft()  # the one it was running
                    arguments.pop(index, None)
                    resend.extend(worker.tasks)
                    finished.append(
                        TaskResult(
                            index,
                            False,
                            error=_death(worker.process.exitcode),
                            pid=worker.process.pid,
                        )
                    )

    def map(
        self, function: Callable[..., Any], argument_lists: Iterable[tuple]
    ) -> list[TaskResult]:
        """Like :meth:`imap_unordered`, in the order of ``argument_lists``."""
        return sorted(self.imap_unordered(function, argument_lists), key=lambda r: r.index)

    def close(self) -> None:
        """Ask every worker to finish, then make sure it has."""
        for worker in self._workers:
            with contextlib.suppress(BrokenPipeError, OSError):
                worker.connection.send(None)
        for worker in self._workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.connection.close()
        self._workers = []

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else ""
        return f"the worker process was killed by signal {-exitcode} {name}".rstrip()
    return f"the worker process exited with status {exitcode}"
