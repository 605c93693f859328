"""The reused worker processes searches run on (`petri._workers.WorkerPool`): a task that takes
its process down fails alone, and with tasks sent ahead (``prefetch``) the ones a dead worker
had not started are run by its replacement, each exactly once."""

from __future__ import annotations

import os

import pytest

from petri._workers import WorkerPool


def square_or_die(value: int) -> int:
    if value == 3:
        os._exit(7)  # takes the worker down with tasks still queued behind it
    return value * value


def whose(value: int) -> tuple[int, int]:
    return value, os.getpid()


@pytest.mark.parametrize("prefetch", [1, 2, 3])
def test_a_dying_task_fails_alone_and_queued_tasks_still_run(prefetch: int) -> None:
    with WorkerPool(2, prefetch=prefetch) as pool:
        results = pool.map(square_or_die, [(n,) for n in range(12)])
    assert [r.index for r in results] == list(range(12))  # every task answered once
    failed = [r for r in results if not r.ok]
    assert [r.index for r in failed] == [3]
    assert "exited with status 7" in failed[0].error
    assert [r.value for r in results if r.ok] == [n * n for n in range(12) if n != 3]


def test_prefetch_keeps_every_worker_busy() -> None:
    with WorkerPool(2, prefetch=2) as pool:
        results = pool.map(whose, [(n,) for n in range(40)])
        pids = set(pool.pids)
    assert [r.value[0] for r in results] == list(range(40))
    assert {r.value[1] for r in results} == pids  # both workers ran tasks


def test_prefetch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="prefetch must be at least 1"):
        WorkerPool(1, prefetch=0)
