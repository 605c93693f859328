"""Serving exports over HTTP (``petri serve``), in TensorFlow Serving's REST shape.

``serve(export, ...)`` runs the server; ``Client(url, name)(x)`` calls it. The server needs the
``serve`` extra (``pip install 'petri[serve]'``: Starlette, uvicorn, ONNX Runtime); the client
needs nothing but numpy.
"""

from __future__ import annotations

from typing import Any

from petri.serving.client import Client, ServingError

__all__ = ["Client", "ServingError", "serve"]


def serve(
    export: str,
    name: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8501,
    workers: int = 1,
    runtime: str = "torch",
    max_batch_size: int = 64,
    batch_timeout_ms: float = 2.0,
    max_body_mb: float = 16.0,
    max_rows: int = 4096,
    save_dir: str = "petri_logs",
    on_ready: Any = None,
    threads: int | None = None,
) -> None:
    """Serve ``export`` (an export folder, a folder of exports, or a run) until interrupted.

    See ``petri serve --help`` and docs/serve.md. ``on_ready(url, name)`` is called once the
    address is known (before the first request can arrive). ``threads``: torch threads of a
    model call (default half the cores per server process).
    """
    from petri.serving._run import run_server

    run_server(
        export=export,
        name=name,
        host=host,
        port=port,
        workers=workers,
        runtime=runtime,
        max_batch_size=max_batch_size,
        batch_timeout_ms=batch_timeout_ms,
        max_body_mb=max_body_mb,
        max_rows=max_rows,
        save_dir=save_dir,
        on_ready=on_ready,
        threads=threads,
    )
