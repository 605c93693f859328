#!/usr/bin/env python
"""Search overhead: milliseconds per trial of ``petri.tune.run`` against a bare optuna loop on the
same storage and a ``multiprocessing.Pool`` map (test_tube's ``optimize_parallel_cpu``), for a
trivial objective (issue #12).

Command (from the repository root; PostgreSQL rows need the server binaries in
``/usr/lib/postgresql/*/bin`` and root, to run ``initdb`` as the ``postgres`` user):

    PYTHONPATH=src .venv/bin/python bench/tune_overhead.py --write-docs

Workload (identical in every row): 200 trials of ``(x - 2) ** 2`` with ``x`` a float in
[-10, 10], drawn by optuna's ``RandomSampler`` (``--sampler tpe`` for TPE) so the sampler costs
next to nothing and what is measured is the search machinery. Rows:

    petri-w1 / petri-w2     petri.tune.run(objective, {"x": ...}, n_trials=200, n_workers=1|2,
                            sampler="random", pruner="none", storage=...), the default live
                            table on stderr and the study summary file: reused forkserver worker
                            processes claiming WAITING placeholder trials from the storage
    optuna-w1               optuna.create_study(storage, sampler=RandomSampler(0))
                            .optimize(objective, n_trials=200) in one process (n_jobs=1)
    optuna-w2               the study created, then 2 processes (multiprocessing's default fork
                            on Linux, started after optuna is imported) each calling
                            optuna.load_study(...).optimize(objective, n_trials=100)
    optuna-hb-w1 / -w2      (PostgreSQL only) the same with optuna's recovery of a dead worker's
                            trials, as Petri's database storage has it: RDBStorage with
                            heartbeat_interval=10, grace_period=30 and RetryFailedTrialCallback
    pool-floor-w2           test_tube's optimize_parallel_cpu pattern: multiprocessing.Pool(2)
                            .map(objective, 200 parameter dicts drawn up front); no study, no
                            storage: the floor of process-parallel trial dispatch

Storages: ``journal`` (a fresh ``.journal`` file in a fresh temporary folder per run, optuna's
``JournalFileBackend``, which fsyncs each append) and ``postgres`` (a throwaway PostgreSQL server
started by this script on a free 127.0.0.1 port, default settings, a fresh database per run,
``postgresql+psycopg://``; Petri opens it with heartbeats (``heartbeat_interval=10``), the bare
optuna rows with optuna's plain ``RDBStorage`` defaults).

Timing: each run is its own subprocess (``--worker ROW``) that imports optuna (and Petri) first,
then times the search call from its start to its return: study creation, worker start-up and the
200 trials, i.e. what a user waits for. Per-trial overhead = wall time / 200. Every row runs
``--rounds`` times (default 5), rounds interleaved; the table shows medians and the ratio of the
Petri row's median to the bare optuna row's median with the same storage and worker count.

Options: --trials N (200), --rounds N (5), --rows a,b (default all), --storages journal,postgres,
--sampler random|tpe, --json PATH, --write-docs, --python PATH.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from _run_facts import command_line, cpu_model, loadavg, write_section

ROOT = Path(__file__).resolve().parent.parent
ROWS = ("petri-w1", "petri-w2", "optuna-w1", "optuna-w2", "optuna-hb-w1", "optuna-hb-w2",
        "pool-floor-w2")  # fmt: skip
HEARTBEAT_ROWS = ("optuna-hb-w1", "optuna-hb-w2")  # databases only
STORAGES = ("journal", "postgres")
SPACE = {"x": {"type": "float", "low": -10.0, "high": 10.0}}
TARGET = 1.5
BEGIN, END = "<!-- tune_overhead:begin -->", "<!-- tune_overhead:end -->"


# ----------------------------------------------------------------------------- objectives
def objective(params: dict[str, Any]) -> float:
    """Petri's and the pool's trial: a function of the sampled parameters."""
    return (params["x"] - 2) ** 2


def optuna_objective(trial: Any) -> float:
    """The same objective for optuna's own loop."""
    return (trial.suggest_float("x", -10.0, 10.0) - 2) ** 2


def _optuna_sampler(name: str, seed: int) -> Any:
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


def _optuna_storage(url: str, heartbeats: bool = False) -> Any:
    """The storage a careful optuna user opens: a journal file, or the database URL; with
    ``heartbeats``, the database with optuna's own recovery of a dead worker's trials (what
    Petri's database storage has): heartbeats every 10 s, 30 s grace, failed trials retried."""
    if "://" in url and heartbeats:
        import optuna

        return optuna.storages.RDBStorage(
            url,
            heartbeat_interval=10,
            grace_period=30,
            failed_trial_callback=optuna.storages.RetryFailedTrialCallback(max_retry=3),
        )
    if "://" in url:
        return url
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    return JournalStorage(JournalFileBackend(url))


def _optuna_process(
    storage_url: str, study_name: str, trials: int, sampler: str, seed: int, heartbeats: bool
):
    """One of optuna-w2's processes: load the study, optimise its share of the trials."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    study = optuna.load_study(
        study_name=study_name,
        storage=_optuna_storage(storage_url, heartbeats),
        sampler=_optuna_sampler(sampler, seed),
    )
    study.optimize(optuna_objective, n_trials=trials)


# ---------------------------------------------------------------------------------- worker
def _worker(row: str, storage: str, trials: int, sampler: str) -> dict[str, Any]:
    """Run one row once; returns its wall seconds (imports done before the clock starts)."""
    import multiprocessing
    import random
    import warnings

    import optuna

    import petri.tune

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    heartbeats = row in HEARTBEAT_ROWS
    folder = tempfile.mkdtemp(prefix="petri-tune-bench-")
    url = storage if "://" in storage else os.path.join(folder, "study.journal")
    study_name = "bench"
    try:
        started = time.perf_counter()
        if row.startswith("petri"):
            study = petri.tune.run(
                objective,
                SPACE,
                n_trials=trials,
                n_workers=int(row[-1]),
                sampler=sampler,
                pruner="none",
                storage=url,
                study_name=study_name,
                save_dir=folder,
            )
        elif row in ("optuna-w1", "optuna-hb-w1"):
            study = optuna.create_study(
                storage=_optuna_storage(url, heartbeats),
                study_name=study_name,
                sampler=_optuna_sampler(sampler, 0),
            )
            study.optimize(optuna_objective, n_trials=trials)
        elif row in ("optuna-w2", "optuna-hb-w2"):
            study = optuna.create_study(
                storage=_optuna_storage(url, heartbeats),
                study_name=study_name,
                sampler=_optuna_sampler(sampler, 0),
            )
            processes = [
                multiprocessing.Process(
                    target=_optuna_process,
                    args=(url, study_name, trials // 2, sampler, seed, heartbeats),
                )
                for seed in (1, 2)
            ]
            for process in processes:
                process.start()
            for process in processes:
                process.join()
        elif row == "pool-floor-w2":
            draw = random.Random(0)
            params = [{"x": draw.uniform(-10.0, 10.0)} for _ in range(trials)]
            with multiprocessing.Pool(2) as pool:
                values = pool.map(objective, params)
            study = None
        else:
            raise ValueError(row)
        seconds = time.perf_counter() - started
        if study is None:
            done = len(values)
        else:  # only finished trials count: a row whose trials failed is not a result
            done = len(
                study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "row": row,
        "seconds": seconds,
        "trials": done,
        "versions": {"optuna": optuna.__version__},
    }


# -------------------------------------------------------------------------------- postgres
class Postgres:
    """A throwaway PostgreSQL server: initdb as ``postgres`` in a temporary folder, trust
    authentication on 127.0.0.1, stopped and removed by ``stop()``."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError("PostgreSQL is not installed (/usr/lib/postgresql/*/bin)")
        self.bin = Path(found[-1]).parent
        self.version = self.bin.parent.name
        self.folder = tempfile.mkdtemp(prefix="petri-bench-pg-")
        os.chmod(self.folder, 0o777)
        self.data = os.path.join(self.folder, "data")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._as_postgres(
            str(self.bin / "initdb"), "-D", self.data, "-A", "trust", "-U", "postgres"
        )
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            self.data,
            "-l",
            os.path.join(self.folder, "server.log"),
            "-w",
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}",
            "start",
        )
        self.count = 0

    def _as_postgres(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True)

    def new_database(self) -> str:
        """A fresh, empty database's SQLAlchemy URL."""
        import psycopg

        self.count += 1
        name = f"bench{self.count}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._as_postgres(str(self.bin / "pg_ctl"), "-D", self.data, "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


# ---------------------------------------------------------------------------------- driver
def _run(
    row: str, storage: str, url: str, args: argparse.Namespace, trials: int | None = None
) -> dict[str, Any]:
    trials = trials or args.trials
    command = [
        args.python,
        __file__,
        "--worker",
        row,
        "--storage-url",
        url,
        "--trials",
        str(trials),
        "--sampler",
        args.sampler,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-1:] or ["?"]
        return {"row": row, "storage": storage, "error": tail[0]}
    result = json.loads(lines[-1])
    result["storage"] = storage
    result["asked"] = trials
    if result["trials"] != trials:
        return {"row": row, "storage": storage, "error": f"{result['trials']} trials complete"}
    return result


def _cells(
    results: list[dict[str, Any]], row: str, storage: str, asked: int | None = None
) -> list[float]:
    """Wall seconds of ``row`` on ``storage`` (runs of ``asked`` trials; default the most)."""
    mine = [r for r in results if r["row"] == row and r["storage"] == storage and "seconds" in r]
    if asked is None:
        asked = max((r.get("asked", 0) for r in mine), default=0)
    return [r["seconds"] for r in mine if r.get("asked", asked) == asked]


def _start_trials(row: str) -> int:
    """Trials of the start-up run: one per worker (each optuna process needs one)."""
    return int(row[-1]) if row[-1].isdigit() else 1


def _after_start(results: list[dict[str, Any]], row: str, storage: str, trials: int) -> float:
    """Median ms per trial once the workers run: (median wall of ``trials`` trials - median
    wall of one trial per worker) / the difference in trials. The short run holds the one-time
    start-up."""
    few = _start_trials(row)
    full, short = _cells(results, row, storage, trials), _cells(results, row, storage, few)
    if not full or not short or trials <= few:
        return float("nan")
    return 1000 * (statistics.median(full) - statistics.median(short)) / (trials - few)


def _table(results: list[dict[str, Any]], trials: int, skipped: dict[str, str]) -> str:
    lines = [
        "| storage | row | workers | wall s (median) | ms / trial (median) | range ms / trial "
        "| runs | Petri / optuna | start-up s (1 trial per worker) | ms / trial after start-up | "
        "Petri / optuna after start-up |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for storage in (*STORAGES, "none"):
        if storage in skipped:
            lines.append(f"| {storage} | (skipped: {skipped[storage]}) | | | | | | |")
            continue
        for row in ROWS:
            if (row == "pool-floor-w2") != (storage == "none"):
                continue
            if row in HEARTBEAT_ROWS and storage != "postgres":
                continue
            seconds = _cells(results, row, storage)
            errors = [
                r["error"]
                for r in results
                if r["row"] == row and r.get("storage") == storage and "error" in r
            ]
            if not seconds:
                if errors:
                    lines.append(f"| {storage} | {row} | {row[-1]} | failed: {errors[0]} ||||||||")
                continue
            ms = [1000 * s / trials for s in seconds]
            ratio = marginal_ratio = ""
            one = _cells(results, row, storage, _start_trials(row))
            start = f"{statistics.median(one):.2f}" if one else ""
            marginal = _after_start(results, row, storage, trials)
            if row.startswith("petri"):
                bare_row = "optuna-" + row.split("-")[1]
                bare = _cells(results, bare_row, storage, trials)
                if bare:
                    ratio = f"{statistics.median(seconds) / statistics.median(bare):.2f}x"
                bare_marginal = _after_start(results, bare_row, storage, trials)
                if bare_marginal == bare_marginal and marginal == marginal:  # not NaN
                    marginal_ratio = f"{marginal / bare_marginal:.2f}x"
            lines.append(
                f"| {storage} | {row} | {row[-1]} | {statistics.median(seconds):.2f} | "
                f"{statistics.median(ms):.2f} | {min(ms):.2f}-{max(ms):.2f} | {len(ms)} | "
                f"{ratio} | {start} | {'' if marginal != marginal else f'{marginal:.2f}'} | "
                f"{marginal_ratio} |"
            )
    return "\n".join(lines)


def _verdicts(results: list[dict[str, Any]], trials: int) -> list[str]:
    """The target is per-trial overhead with the worker processes reused: judged after
    start-up; the whole-wall ratio (start-up included) is given beside it."""
    verdicts = []
    for storage in STORAGES:
        for workers in ("w1", "w2"):
            petri = _cells(results, f"petri-{workers}", storage, trials)
            bare = _cells(results, f"optuna-{workers}", storage, trials)
            if not petri or not bare:
                continue
            whole = statistics.median(petri) / statistics.median(bare)
            ratio = _after_start(results, f"petri-{workers}", storage, trials) / _after_start(
                results, f"optuna-{workers}", storage, trials
            )
            if ratio != ratio:  # no 1-trial runs: judge the whole wall time
                ratio = whole
            verdict = "holds" if ratio <= TARGET else "does NOT hold"
            verdicts.append(
                f"{storage}, {workers[1]} worker(s): per trial after start-up Petri / optuna = "
                f"{ratio:.2f}x: target <= {TARGET}x {verdict} (whole wall time, start-up "
                f"included: {whole:.2f}x)"
            )
            like = _cells(results, f"optuna-hb-{workers}", storage, trials)
            if like:
                like_ratio = _after_start(
                    results, f"petri-{workers}", storage, trials
                ) / _after_start(results, f"optuna-hb-{workers}", storage, trials)
                verdicts.append(
                    f"{storage}, {workers[1]} worker(s), like for like (optuna with heartbeats "
                    f"and retries, the recovery Petri's database storage has): {like_ratio:.2f}x "
                    f"after start-up (whole wall: "
                    f"{statistics.median(petri) / statistics.median(like):.2f}x)"
                )
    return verdicts


def _wrap(paragraph: str) -> str:
    return textwrap.fill(paragraph, width=99, break_long_words=False, break_on_hyphens=False)


def _write_docs(table: str, meta: dict[str, Any], results: list[dict[str, Any]]) -> Path:
    versions = meta.get("versions", {})
    verdicts = "\n".join(f"- {v}" for v in _verdicts(results, meta["trials"]))
    notes = meta.get("notes", "")
    section = (
        f"{BEGIN}\n## Search overhead (`bench/tune_overhead.py`)\n\n"
        f"Milliseconds per trial (wall time / {meta['trials']}, and after start-up: the wall "
        f"time of {meta['trials']} trials minus that of one trial per worker, over the "
        "difference in trials) "
        "of a search over a trivial "
        "objective, `(x - 2) ** 2` with a float `x` drawn by optuna's "
        f"{'TPE' if meta['sampler'] == 'tpe' else 'random'} sampler, so what is measured is the "
        "search machinery: `petri.tune.run` (reused forkserver worker processes claiming "
        "WAITING placeholder trials, its live table and study summary file) against a bare "
        "optuna loop on the same storage (`study.optimize(objective, n_trials=200)` in one "
        "process; for 2 workers, 2 forked processes each calling "
        "`optuna.load_study(...).optimize(objective, n_trials=100)`), and test_tube's "
        "`optimize_parallel_cpu` pattern (`multiprocessing.Pool(2).map` over 200 parameter "
        "sets drawn up front, no study and no storage) as the floor of process-parallel "
        "dispatch. Each run is its own process; the clock covers the search call only (study "
        "creation, worker start-up and every trial, imports of optuna and Petri excluded). "
        "Journal rows use a fresh `.journal` file per run (optuna's `JournalFileBackend`, an "
        "fsync per append); PostgreSQL rows a fresh database on a throwaway local server "
        f"(PostgreSQL {meta.get('postgres', '?')}, default settings, `postgresql+psycopg`; "
        "Petri's storage has heartbeats every 10 s, the bare optuna rows optuna's plain "
        "`RDBStorage`). The ratio is the Petri row's median over the bare optuna row's median "
        "with the same storage and worker count. Written by the script (`--write-docs`).\n\n"
        f"**Run of {meta['date']}**: `{meta['command']}`; {meta['rounds']} interleaved rounds, "
        f"medians; {meta['total_seconds'] / 60:.1f} minutes in all. {os.cpu_count()} CPUs "
        f"({meta['cpu']}), load average {meta['loadavg_start']} at the start and "
        f"{meta['loadavg_end']} at the end (/proc/loadavg: 1, 5, 15 minutes); the machine was "
        "shared with other agents running test suites, so single runs vary (see the range). "
        f"Python {platform.python_version()}"
        + "".join(f", {k} {v}" for k, v in sorted(versions.items()))
        + ".\n\n"
        f"{table}\n\n"
        f"### Target (issue #12: Petri <= {TARGET}x optuna's per-trial overhead, worker "
        f"processes reused)\n\n{verdicts}\n\n"
        f"{notes}"
        f"{END}"
    )
    section = "\n\n".join(
        part if part.startswith(("|", "#", "<!--", "-", "```")) else _wrap(part)
        for part in section.split("\n\n")
    )
    return write_section(section, BEGIN, END)


NOTES = """### Where Petri's time goes, and what was changed

Measured on the same shared machine (cProfile of the coordinator, and `run_trial` called
200 times in one process), journal storage unless said. Before the changes below
`petri-w1` took 51 ms/trial on the journal (median of 3, load 3-5), and on PostgreSQL every
trial of a function's search failed (see the last item), so its time meant nothing.

- `open_study` (once per trial in the worker) listed the studies with
  `optuna.get_all_study_summaries`, which deep-copies every trial of every study: 12.9 of
  14.8 ms per trial under cProfile at 200 trials, growing with the study. Now
  `optuna.get_all_study_names`: 0.55 ms.
- `_settings` imported `petri.experiments` (torch) even for a function's search: about 1.5 s
  of coordinator start-up (7-8 ms/trial over 200 trials). Now imported only for a config.
- `_init_worker` imported torch in every worker before its first trial (`use_threads`):
  1.7 s the coordinator waited for. A function's worker now sets `OMP_NUM_THREADS` (torch
  reads it on import, same thread count) unless torch is already loaded.
- `write_summary` re-encoded every trial (`json.dump` with indent) and fsynced after each
  trial: 4.4 of 11.1 s of the coordinator's profile at 200 trials, quadratic in trials. Now
  at most once a second, and always at the end.
- `requeue_abandoned` (a `fail_stale_trials` and a scan of RUNNING trials; database round
  trips on PostgreSQL) ran before every claim. Now every 5 s, and always before a search
  decides no trial is left.
- Bug found by this benchmark: on PostgreSQL a worker's cached storage (optuna's
  `_CachedStorage`) did not know trials made by another process, so the first
  `suggest_*` of every trial raised `KeyError(trial_id)` and every trial FAILED. The worker
  now reads the study's RUNNING trials before it starts one.

Together: the coordinator's profile went from 11.1 s to 5.1 s for 200 trials on the journal.

- Trial ownership (which process runs a trial, to queue it again when that process dies)
  was 3 storage writes per trial (`petri:host`, `petri:pid`, `petri:pid_start`), each an
  fsynced journal append. It is now a host-local lock file per running trial (an `flock` the
  kernel drops when the process dies, in the system's temp folder), written by no one else:
  no storage write at all (journal, 1 worker: 3.1 -> 1.7 ms per trial after start-up, measured
  as the slope between 200 and 400 trials).

Then (second round of changes, same machine; ratios after start-up before -> after, one
interleaved run of 2-3 rounds each, so read them as +-0.2):

- The worker's cache refresh on PostgreSQL (optuna's `_CachedStorage` reads every unfinished
  trial, all the WAITING placeholders, to learn the one it must run): 14.5 ms of a 34 ms
  trial, measured step by step. It now runs only when the claimed trial is unknown to the
  worker's cache: once per worker. PostgreSQL, 1 worker: 2.86x -> 1.52x.
- The pool hands the next task to a free worker before it gives the caller the finished
  one, so printing and summarising overlap with the trials.
- Workers claim trials themselves (compare-and-set in the storage) instead of the
  coordinator claiming and sending: the coordinator's journal reads (each waiting on a
  worker's fsync) are off the critical path, and a worker that claims never waits for
  another process. A worker's ownership is one slot file per process (an `flock` held for
  its life, naming the trial it runs) instead of a lock file made and removed per trial.
  Once another process has taken a trial first, a worker draws among the first 4 waiting
  trials, so claimers rarely collide (a lone worker keeps number order: a seeded search
  stays reproducible). Journal, 1 worker: 1.76x -> 1.48x; 2 workers 1.54x -> 0.98x.
- Journal placeholders are one append (one lock, one fsync) instead of 200.
- Database placeholders: the first 2 per worker are made before the workers start, the
  rest by a thread while they run; placeholders and heartbeats go through connections with
  `synchronous_commit=off` (a database crash may lose them without harm: placeholders are
  made again on resume, the next beat rewrites a heartbeat). PostgreSQL, 1 worker:
  1.51x -> 1.10x; 2 workers: 2.19x -> 1.55x.
- With 2 workers on PostgreSQL each worker was busy only 40% of the time (cProfile of a
  worker): it waited for its next task while the coordinator's placeholder thread held the
  GIL, and two workers claiming from the same list of waiting trials collided (about one
  failed compare-and-set, a database round trip, per trial). Now the pool sends each worker
  its next task ahead (`WorkerPool(prefetch=2)`: a task is "claim a trial", so nothing is
  claimed before the worker starts it), each task carries a different waiting trial to try
  first (the coordinator knows the ids of the placeholders it makes), and the summary file
  is rewritten at most once a second and at most a tenth of the coordinator's time.
  PostgreSQL, 2 workers: 1.55x -> 1.39x (1.11x like for like).

What is left. Journal: the placeholder write is one append for the whole study, so a Petri
trial makes the same 3 fsynced appends as optuna's (claim, parameter, result); what remains is
the process hop (a pipe message each way per trial) and optuna's sampler made per trial (seeded
by trial number, so a trial's draws do not depend on which worker runs it). PostgreSQL: each
trial is 3 durable commits as in optuna (claim, parameter, result) plus the placeholder and the
heartbeat, which no longer wait for the disk but are still statements the server runs; with 2
workers and the server on the same 2 cores, that is what the 2-worker row pays. Bare optuna has
no heartbeat: set up with the recovery Petri's storage has (the `optuna-hb` rows), optuna pays
for it too. Start-up (the forkserver, a worker importing optuna, the first placeholders) is a
one-time cost of a few tenths of a second that process isolation costs any search; it is why
the whole-wall ratio of a 200-trial search stays above the after-start-up one.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", choices=ROWS)
    parser.add_argument("--storage-url", default="journal")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--storages", default=",".join(STORAGES))
    parser.add_argument("--sampler", choices=("random", "tpe"), default="random")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.storage_url, args.trials, args.sampler)))
        return
    rows = [r for r in args.rows.split(",") if r]
    storages = [s for s in args.storages.split(",") if s]
    meta: dict[str, Any] = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "command": command_line("bench/tune_overhead.py", sys.argv[1:]),
        "loadavg_start": loadavg(),
        "cpu": cpu_model(),
        "trials": args.trials,
        "rounds": args.rounds,
        "sampler": args.sampler,
    }
    print(f"tune_overhead: load average {meta['loadavg_start']}", flush=True)
    skipped: dict[str, str] = {}
    server = None
    if "postgres" in storages:
        try:
            server = Postgres()
            meta["postgres"] = server.version
        except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
            skipped["postgres"] = f"PostgreSQL not available: {error}"
            storages.remove("postgres")
    plan = [(row, "none") for row in rows if row == "pool-floor-w2"]
    plan += [
        (row, s)
        for s in storages
        for row in rows
        if row != "pool-floor-w2" and (s == "postgres" or row not in HEARTBEAT_ROWS)
    ]
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        for turn in range(args.rounds):
            order = plan[turn % len(plan) :] + plan[: turn % len(plan)]
            for row, storage in order:
                # one trial per worker: the one-time start-up, to tell apart from per-trial cost
                for trials in (args.trials, _start_trials(row)):
                    url = server.new_database() if storage == "postgres" else storage
                    result = _run(row, storage, url, args, trials)
                    print(json.dumps(result), flush=True)
                    results.append(result)
    finally:
        if server is not None:
            server.stop()
    versions: dict[str, str] = {}
    for result in results:
        versions.update(result.pop("versions", {}))
    meta.update(
        loadavg_end=loadavg(), total_seconds=time.perf_counter() - started, versions=versions
    )
    table = _table(results, args.trials, skipped)
    print("\n" + table)
    for verdict in _verdicts(results, meta["trials"]):
        print(verdict)
    print(f"load average {meta['loadavg_start']} at start, {meta['loadavg_end']} at end")
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    if args.write_docs:
        meta["notes"] = NOTES + "\n"
        print(f"wrote {_write_docs(table, meta, results)}")


if __name__ == "__main__":
    main()
