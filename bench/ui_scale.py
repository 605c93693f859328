#!/usr/bin/env python
"""Dashboard scale: how fast `petri ui` shows 1k, 10k and 50k runs, and, at 1k runs, how long
TensorBoard and the MLflow UI take to show the same runs (issue #13).

Command (from the repository root; Debian's chromium for the browser rows; the MLflow row needs
a venv with mlflow, given as --mlflow-python, e.g. `python3 -m venv /tmp/mlvenv &&
/tmp/mlvenv/bin/pip install mlflow`):

    PYTHONPATH=src .venv/bin/python bench/ui_scale.py \
        --mlflow-python /tmp/mlvenv/bin/python --write-docs

Runs: `bench/_fake_runs.py` writes Petri's run log directly (20 rows of loss and accuracy, 3
tags each). TensorBoard gets the same runs through torch's `SummaryWriter` (one event file
per run, the same scalars) and MLflow through its own client (`mlflow.log_params`,
`log_metrics` per step, a SQLite store: MLflow 3 refuses its file store unless told to). Columns:

    ready s        from starting the server until its API lists every run (Petri: GET
                   /api/runs total; TensorBoard: GET /data/runs; MLflow: runs/search, paged)
    first page ms  a fresh browser tab's Navigation Timing loadEventEnd (Petri: and the runs
                   table filled; the other two draw their lists after load, so for them only
                   loadEventEnd is given)
    filter ms      Petri: typing a filter (`name~exp07`) until the table shows its runs, less
                   the 200 ms typing pause

Each cell is the median of --rounds (3) server starts.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

from _fake_runs import make_runs
from _run_facts import command_line, cpu_model, loadavg, write_section

from _servers import free_port, stop

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- ui_scale:begin -->", "<!-- ui_scale:end -->"
CHROMIUM = "/usr/bin/chromium"


def _get(url: str, body: dict | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def _until(check: Any, deadline_s: float = 600) -> float:
    """Seconds until ``check()`` is true (it may raise while the server starts)."""
    started = time.perf_counter()
    while time.perf_counter() - started < deadline_s:
        try:
            if check():
                return time.perf_counter() - started
        except Exception:
            pass
        time.sleep(0.05)
    raise TimeoutError("the server never listed every run")


# -------------------------------------------------------------------------------- writers
TENSORBOARD_WRITER = textwrap.dedent(
    """
    import sys
    from torch.utils.tensorboard import SummaryWriter
    root, n = sys.argv[1], int(sys.argv[2])
    for index in range(n):
        writer = SummaryWriter(f"{root}/exp{index % 50:02d}/version_{index // 50}")
        for row in range(20):
            writer.add_scalar("loss", 2.3 / (row + 1), (row + 1) * 100)
            writer.add_scalar("eval/streaming_accuracy", row / 20, (row + 1) * 100)
        writer.close()
    """
)

MLFLOW_WRITER = textwrap.dedent(
    """
    import sys, mlflow
    root, n = sys.argv[1], int(sys.argv[2])
    import os
    os.makedirs(root, exist_ok=True)
    mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow.db")
    for index in range(n):
        mlflow.set_experiment(f"exp{index % 50:02d}")
        with mlflow.start_run():
            mlflow.log_params({"learning_rate": 0.001 * (index % 7 + 1), "num_units": 32,
                               "seed": index})
            for row in range(20):
                mlflow.log_metrics({"loss": 2.3 / (row + 1), "accuracy": row / 20},
                                   step=(row + 1) * 100)
    """
)


# --------------------------------------------------------------------------------- petri
def _petri(save_dir: Path, runs: int, args: argparse.Namespace) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    process = subprocess.Popen(
        [args.python, "-m", "petri", "ui", str(save_dir), "--port", str(port)],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        ready = _until(lambda: _get(url + "/api/runs?limit=1")["total"] == runs)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url + "/")
            page.wait_for_selector("#runs tbody tr.run")
            load = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            filled = page.evaluate("performance.now()")
            page.evaluate("window.t0 = performance.now()")
            page.fill("#filter", "name~exp07")
            page.wait_for_function(
                f"document.getElementById('count').textContent.startsWith('{runs // 50} runs')"
            )
            answered = page.evaluate("performance.now() - window.t0") - 200
            browser.close()
    finally:
        stop(process)
    return {"ready": ready, "load": load, "filled": filled, "filter": answered}


def _browser_load(url: str) -> float:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url, wait_until="load", timeout=120_000)
        load = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        browser.close()
    return load


def _tensorboard(logdir: Path, runs: int, args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    process = subprocess.Popen(
        [args.python, "-m", "tensorboard.main", "--logdir", str(logdir), "--port", str(port),
         "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        ready = _until(lambda: len(_get(url + "/data/runs")) >= runs)
        load = _browser_load(url + "/")
    finally:
        stop(process)
    return {"ready": ready, "load": load}


def _mlflow(store: Path, runs: int, args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    process = subprocess.Popen(
        [args.mlflow_python, "-m", "mlflow", "server",
         "--backend-store-uri", f"sqlite:///{store}/mlflow.db",
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def listed() -> bool:
        experiments = _get(url + "/api/2.0/mlflow/experiments/search", {"max_results": 1000})
        ids = [e["experiment_id"] for e in experiments.get("experiments", [])]
        total, token = 0, None
        while True:
            body: dict[str, Any] = {"experiment_ids": ids, "max_results": 1000}
            if token:
                body["page_token"] = token
            found = _get(url + "/api/2.0/mlflow/runs/search", body)
            total += len(found.get("runs", []))
            token = found.get("next_page_token")
            if not token:
                return total >= runs

    try:
        ready = _until(listed)
        load = _browser_load(url + "/")
    finally:
        stop(process)
    return {"ready": ready, "load": load}


# ---------------------------------------------------------------------------------- table
def _median(results: list[dict[str, Any]], row: str, runs: int, key: str) -> float | None:
    values = [r[key] for r in results if r["row"] == row and r["runs"] == runs and key in r]
    return statistics.median(values) if values else None


def _table(results: list[dict[str, Any]], sizes: list[int]) -> str:
    lines = [
        "| row | runs | ready s | first page ms (loadEventEnd) | runs table filled ms | "
        "filter ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in ("petri ui", "TensorBoard", "MLflow UI"):
        for runs in sizes:
            ready = _median(results, row, runs, "ready")
            if ready is None:
                continue
            cells = [
                f"{ready:.2f}",
                f"{_median(results, row, runs, 'load'):.0f}",
                *(
                    f"{value:.0f}" if (value := _median(results, row, runs, key)) is not None
                    else "-"
                    for key in ("filled", "filter")
                ),
            ]  # fmt: skip
            lines.append(f"| {row} | {runs:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--peers-at", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--mlflow-python", default=None)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    meta = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "command": command_line("bench/ui_scale.py", sys.argv[1:]),
        "loadavg_start": loadavg(),
        "cpu": cpu_model(),
    }
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="petri-ui-bench-"))
    try:
        for runs in sizes:
            save_dir = make_runs(folder / f"petri-{runs}", runs)
            for _ in range(args.rounds):
                result = {"row": "petri ui", "runs": runs, **_petri(save_dir, runs, args)}
                print(json.dumps(result), flush=True)
                results.append(result)
            shutil.rmtree(save_dir)
        runs = args.peers_at
        logdir = folder / "tensorboard"
        subprocess.run([args.python, "-c", TENSORBOARD_WRITER, str(logdir), str(runs)], check=True)
        for _ in range(args.rounds):
            result = {"row": "TensorBoard", "runs": runs, **_tensorboard(logdir, runs, args)}
            print(json.dumps(result), flush=True)
            results.append(result)
        if args.mlflow_python:
            store = folder / "mlruns"
            subprocess.run(
                [args.mlflow_python, "-c", MLFLOW_WRITER, str(store), str(runs)], check=True
            )
            for _ in range(args.rounds):
                result = {"row": "MLflow UI", "runs": runs, **_mlflow(store, runs, args)}
                print(json.dumps(result), flush=True)
                results.append(result)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    meta.update(loadavg_end=loadavg(), minutes=(time.perf_counter() - started) / 60)
    table = _table(results, sorted({*sizes, args.peers_at}))
    print("\n" + table)
    if args.write_docs:
        section = "\n\n".join(
            [
                BEGIN,
                "## Dashboard scale (`bench/ui_scale.py`)",
                "Runs written by `bench/_fake_runs.py` in Petri's run-log format (20 rows, 3 "
                "tags each); the same runs for TensorBoard through torch's `SummaryWriter` "
                "and for MLflow through its client (a SQLite store, what MLflow 3 asks for). "
                "*ready*: from starting the server until its API lists every run; *first "
                "page*: a fresh Chromium tab's `loadEventEnd` (TensorBoard and MLflow fill "
                "their lists after that); *runs table filled* and *filter* (typing "
                "`name~exp07`, less the 200 ms typing pause) for Petri. Medians of the "
                "rounds. Written by the script (`--write-docs`).",
                f"**Run of {meta['date']}**: `{meta['command']}`; {args.rounds} rounds, "
                f"{meta['minutes']:.1f} minutes. {os.cpu_count()} CPUs ({meta['cpu']}), load "
                f"average {meta['loadavg_start']} at the start and {meta['loadavg_end']} at the "
                "end.",
                table,
                END,
            ]
        )
        print(f"wrote {write_section(section, BEGIN, END)}")


if __name__ == "__main__":
    main()
