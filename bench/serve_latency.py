#!/usr/bin/env python
"""Serving latency and throughput: `petri serve` (batched and not) against the minimal
endpoint a user would write around the same `model.pt2`, and in-process calls (issue #14).

Command (from the repository root):

    PYTHONPATH=src .venv/bin/python bench/serve_latency.py --write-docs

Model: the digits LeNet of `examples/configs/lenet_digits.yaml` (two conv layers, a 1024-unit
dense layer), trained 250 steps by `petri run` and exported by it. Every request is one row
(one 8x8 image) in TensorFlow Serving's columnar JSON (`{"inputs": [...]}`), the common case
of an online model. Rows:

    petri-batched     petri serve EXPORT (defaults: --max-batch-size 64, --batch-timeout-ms 2)
    petri-unbatched   petri serve EXPORT --max-batch-size 1 (one model call per request)
    minimal           a Starlette app on uvicorn, what a careful user writes: the program
                      loaded once (`torch.export.load(...).module()`), each request's
                      `json`, `torch.no_grad()` call run in Starlette's thread pool so the
                      event loop keeps accepting, the outputs as lists; torch threads and
                      uvicorn's access log set as `petri serve` sets them (half the cores, off)
    in-process        `load_exported(folder)(x)` called in a loop in one process (the floor:
                      no HTTP, no JSON)

Clients: `--clients` (1, 8, 50) threads in `--client-processes` (2) processes of their own,
each thread with a keep-alive connection, sending requests for `--seconds` (5) after a
1-second warm-up. Latency percentiles are over all requests of a run; requests/s is requests
over the timed seconds. Each cell is the median of `--rounds` (3) runs, rows interleaved.
Server and clients share this machine's 2 cores, the same for every row.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from _run_facts import command_line, cpu_model, loadavg, write_section

from _servers import free_port, stop

ROOT = Path(__file__).resolve().parent.parent
ROWS = ("petri-batched", "petri-unbatched", "minimal", "in-process")
BEGIN, END = "<!-- serve_latency:begin -->", "<!-- serve_latency:end -->"
TARGET = 2.0

MINIMAL_APP = textwrap.dedent(
    """
    import json, sys
    import numpy as np, torch, uvicorn
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    torch.set_num_threads(int(sys.argv[3]))  # as petri serve's default: half the cores
    program = torch.export.load(sys.argv[1]).module()

    def call(x):
        with torch.no_grad():
            out = program(torch.as_tensor(np.asarray(x, dtype=np.float32)))
        return {key.split("/", 1)[1]: value.tolist() for key, value in out.items()}

    async def predict(request):
        body = await request.json()
        return JSONResponse({"outputs": await run_in_threadpool(call, body["inputs"])})

    app = Starlette(routes=[Route("/v1/models/m:predict", predict, methods=["POST"])])
    uvicorn.run(
        app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False
    )
    """
)


# ------------------------------------------------------------------------------- clients
def _client_process(port: int, path: str, threads: int, seconds: float, body: bytes) -> None:
    """One client process: ``threads`` clients, each on a keep-alive connection sending the
    same prepared request bytes and reading just the status line, headers and body (a small
    HTTP/1.1 client: ``http.client`` cost more CPU than the servers measured); prints its
    latencies (ms)."""
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.perf_counter() + 1.0  # warm-up before
    stop = start + seconds

    def exchange(connection: socket.socket) -> bool:
        connection.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            rest += chunk
        return head.split(b" ", 2)[1] == b"200"

    def connect() -> socket.socket:
        connection = socket.create_connection(("127.0.0.1", port), timeout=60)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def client() -> None:
        connection = connect()
        mine: list[float] = []
        failed = 0
        while True:
            began = time.perf_counter()
            if began >= stop:
                break
            try:
                ok = exchange(connection)
            except OSError:
                connection.close()
                connection = connect()
                ok = False
            ended = time.perf_counter()
            if began >= start:
                if ok:
                    mine.append((ended - began) * 1000)
                else:
                    failed += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(json.dumps({"latencies": latencies, "errors": errors[0]}))


def _load(port: int, path: str, clients: int, args: argparse.Namespace, body: bytes) -> dict:
    processes = min(args.client_processes, clients)
    shares = [
        clients // processes + (1 if i < clients % processes else 0) for i in range(processes)
    ]
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import serve_latency as s; "
        "s._client_process(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), "
        "sys.stdin.buffer.read())"
    )
    running = [
        subprocess.Popen(
            [
                args.python,
                "-c",
                code,
                str(ROOT / "bench"),
                str(port),
                path,
                str(share),
                str(args.seconds),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=False,
        )
        for share in shares
    ]
    latencies: list[float] = []
    errors = 0
    for process in running:
        out, _ = process.communicate(body, timeout=args.seconds + 120)
        result = json.loads(out.decode().strip().splitlines()[-1])
        latencies += result["latencies"]
        errors += result["errors"]
    return _summary(latencies, errors, args.seconds)


def _summary(latencies: list[float], errors: int, seconds: float) -> dict[str, Any]:
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    return {
        "rps": len(ordered) / seconds,
        "p50": pct(0.50),
        "p99": pct(0.99),
        "errors": errors,
        "requests": len(ordered),
    }


def _in_process(export: str, seconds: float) -> dict[str, Any]:
    import numpy as np

    from petri.export import load_exported

    model = load_exported(export)
    x = np.zeros((1, 1, 8, 8), np.float32)
    for _ in range(50):
        model(x)
    latencies = []
    stop = time.perf_counter() + seconds
    while (began := time.perf_counter()) < stop:
        model(x)
        latencies.append((time.perf_counter() - began) * 1000)
    return _summary(latencies, 0, seconds)


# -------------------------------------------------------------------------------- servers
def _start(row: str, export: str, port: int, args: argparse.Namespace) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    if row == "minimal":
        threads = str(max(1, (os.cpu_count() or 1) // 2))
        command = [
            args.python,
            "-c",
            MINIMAL_APP,
            str(Path(export) / "model.pt2"),
            str(port),
            threads,
        ]
    else:
        command = [args.python, "-m", "petri", "serve", export, "--name", "m", "--port", str(port)]
        if row == "petri-unbatched":
            command += ["--max-batch-size", "1"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    body = json.dumps({"inputs": [[[[0.0] * 8] * 8]]}).encode()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{row} exited: {process.stderr.read().decode()[-1000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("POST", "/v1/models/m:predict", body)
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{row} did not answer in 90 s")


def _export(folder: Path, python: str) -> str:
    """Train the LeNet example briefly with `petri run`; its export folder."""
    run = folder / "run"
    done = subprocess.run(
        [python, "-m", "petri", "-q", "run", str(ROOT / "examples/configs/lenet_digits.yaml"),
         "--set", "train_steps=250", "--output-dir", str(run)],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    del done
    return str(max((run / "exports" / "latest").iterdir()))


# ---------------------------------------------------------------------------------- table
def _table(results: list[dict[str, Any]], clients: list[int]) -> str:
    header = "| row | " + " | ".join(
        f"{c} client{'s' if c > 1 else ''}: req/s, p50 ms, p99 ms" for c in clients
    )
    lines = [header + " |", "|---|" + "---:|" * len(clients)]
    for row in ROWS:
        cells = []
        for count in clients if row != "in-process" else clients[:1]:
            mine = [r for r in results if r["row"] == row and r["clients"] == count]
            if not mine:
                cells.append("")
                continue
            rps = statistics.median(r["rps"] for r in mine)
            p50 = statistics.median(r["p50"] for r in mine)
            p99 = statistics.median(r["p99"] for r in mine)
            errors = sum(r["errors"] for r in mine)
            cells.append(
                f"{rps:,.0f}, {p50:.2f}, {p99:.2f}" + (f" ({errors} errors)" if errors else "")
            )
        if row == "in-process":
            cells += ["(one caller)"] * (len(clients) - 1)
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _verdict(results: list[dict[str, Any]], clients: int) -> str:
    def rps(row: str) -> float:
        values = [r["rps"] for r in results if r["row"] == row and r["clients"] == clients]
        return statistics.median(values) if values else float("nan")

    ratio = rps("petri-batched") / rps("minimal")
    holds = "holds" if ratio >= TARGET else "does NOT hold"
    return (
        f"At {clients} clients `petri serve` answers {ratio:.2f}x the requests/s of the minimal "
        f"endpoint (batching off: {rps('petri-unbatched') / rps('minimal'):.2f}x): target >= "
        f"{TARGET}x {holds}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", default="1,8,50")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    rows = [r for r in args.rows.split(",") if r]
    meta = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "command": command_line("bench/serve_latency.py", sys.argv[1:]),
        "loadavg_start": loadavg(),
        "cpu": cpu_model(),
    }
    body = json.dumps({"inputs": [[[[0.5] * 8] * 8]]}).encode()
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="petri-serve-bench-") as folder:
        export = _export(Path(folder), args.python)
        for turn in range(args.rounds):
            for row in rows[turn % len(rows) :] + rows[: turn % len(rows)]:
                if row == "in-process":
                    result = {
                        "row": row,
                        "clients": clients[0],
                        **_in_process(export, args.seconds),
                    }
                    print(json.dumps(result), flush=True)
                    results.append(result)
                    continue
                port = free_port()
                process = _start(row, export, port, args)
                try:
                    for count in clients:
                        result = {
                            "row": row,
                            "clients": count,
                            **_load(port, "/v1/models/m:predict", count, args, body),
                        }
                        print(json.dumps(result), flush=True)
                        results.append(result)
                finally:
                    stop(process)
    meta.update(loadavg_end=loadavg(), minutes=(time.perf_counter() - started) / 60)
    table = _table(results, clients)
    verdict = _verdict(results, max(clients))
    print("\n" + table + "\n\n" + verdict)
    if args.write_docs:
        section = "\n\n".join(
            [
                BEGIN,
                "## Serving latency (`bench/serve_latency.py`)",
                "One-row predict requests (an 8x8 digit, columnar JSON) to the digits "
                "LeNet export from clients with keep-alive connections in 2 processes of their "
                "own, for 5 s after a 1 s warm-up; medians of the rounds. `petri-batched` is "
                "`petri serve` with its defaults (batches of up to 64 rows, 2 ms), "
                "`petri-unbatched` the same with `--max-batch-size 1`, `minimal` a Starlette "
                "app on uvicorn around the same `model.pt2` (the program loaded once, each "
                "request's call run in the thread pool; torch threads and access log as "
                "`petri serve` sets them: half the cores, off), `in-process` "
                "`load_exported(folder)(x)` in a loop (no HTTP). Server and clients share the "
                "machine's 2 cores. Written by the script (`--write-docs`).",
                f"**Run of {meta['date']}**: `{meta['command']}`; {args.rounds} rounds, "
                f"{meta['minutes']:.1f} minutes. {os.cpu_count()} CPUs ({meta['cpu']}), load "
                f"average {meta['loadavg_start']} at the start and {meta['loadavg_end']} at "
                "the end.",
                table,
                f"**Target (issue #14: at 50 clients `petri serve` >= {TARGET}x the minimal "
                f"endpoint's requests/s).** {verdict}",
                END,
            ]
        )
        print(f"wrote {write_section(section, BEGIN, END)}")


if __name__ == "__main__":
    main()
