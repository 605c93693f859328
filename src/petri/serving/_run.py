"""Starting the server: checks first (a bad export or setting is a ``petri`` error before any
port is taken), then uvicorn in this process, or ``workers`` uvicorn processes."""

from __future__ import annotations

import os
from typing import Any

from petri.errors import ConfigError, PetriError

__all__ = ["run_server"]


def run_server(
    export: str,
    name: str | None,
    host: str,
    port: int,
    workers: int,
    runtime: str,
    max_batch_size: int,
    batch_timeout_ms: float,
    max_body_mb: float,
    max_rows: int,
    save_dir: str,
    on_ready: Any = None,
    threads: int | None = None,
) -> None:
    try:
        import uvicorn

        from petri.serving._app import SETTINGS_ENV, ServeSettings, create_app, default_threads
    except ImportError as error:
        raise PetriError(f"petri serve needs {error.name}: pip install 'petri[serve]'.") from error
    from petri.export._loaded import RUNTIMES
    from petri.serving._source import resolve_source

    for key, value, least in (
        ("workers", workers, 1),
        ("threads", threads or 1, 1),
        ("max_rows", max_rows, 1),
        ("max_batch_size", max_batch_size, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(
                f"--{key.replace('_', '-')} must be an integer >= {least}; got {value!r}.",
                key,
                value,
            )
    for key, value in (("batch_timeout_ms", batch_timeout_ms), ("max_body_mb", max_body_mb)):
        if not isinstance(value, int | float) or value < 0 or value != value:
            raise ConfigError(
                f"--{key.replace('_', '-')} must be a number >= 0; got {value!r}.", key, value
            )
    if runtime not in RUNTIMES:
        raise ConfigError(
            f"--runtime must be one of {', '.join(RUNTIMES)}; got {runtime!r}.", "runtime", runtime
        )
    source = resolve_source(export, save_dir, name)
    settings = ServeSettings(
        export=export,
        save_dir=save_dir,
        name=source.name,
        runtime=runtime,
        max_batch_size=max_batch_size,
        batch_timeout_ms=batch_timeout_ms,
        max_body_mb=max_body_mb,
        max_rows=max_rows,
        threads=threads or default_threads(workers),
    )
    if runtime == "onnxruntime":  # fail now, not in the server's start-up
        from petri.export import load_exported

        first = source.newest()
        assert first is not None
        load_exported(first, runtime=runtime)
    if on_ready is not None:
        on_ready(f"http://{host}:{port}", source.name)
    if workers == 1:
        uvicorn.run(
            create_app(settings), host=host, port=port, log_level="warning", access_log=False
        )
        return
    os.environ[SETTINGS_ENV] = settings.to_json()
    uvicorn.run(
        "petri.serving._app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
