"""The ``petri serve`` ASGI app: TensorFlow Serving's REST endpoints over an export.

``POST /v1/models/<name>:predict`` (rows or columns, see ``_requests``), ``GET
/v1/models/<name>`` (version status), ``GET /v1/models/<name>/metadata`` (signatures),
``GET /healthz`` and ``GET /metrics``. Nothing a request names is read from disk; a bad request
gets a 4xx with ``{"error": ...}`` and the server goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from petri.export import load_exported
from petri.runtime import use_threads
from petri.serving._batching import Batcher
from petri.serving._metrics import Metrics
from petri.serving._requests import BadRequest, answer, read_request
from petri.serving._source import ModelSource, Served, resolve_source

__all__ = ["ServeSettings", "create_app", "default_threads"]

logger = logging.getLogger("petri")
RELOAD_POLL_SECS = 0.5
SETTINGS_ENV = "PETRI_SERVE_SETTINGS"


@dataclass
class ServeSettings:
    """What ``petri serve`` was asked (travels to every worker process as JSON)."""

    export: str
    save_dir: str = "petri_logs"
    name: str | None = None
    runtime: str = "torch"
    max_batch_size: int = 64
    batch_timeout_ms: float = 2.0
    max_body_mb: float = 16.0
    max_rows: int = 4096
    threads: int | None = None
    """torch threads of a model call (None: :func:`default_threads`)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self))


class _State:
    """The served export (swapped whole on a reload), the batcher and the numbers."""

    def __init__(self, settings: ServeSettings, source: ModelSource) -> None:
        self.settings, self.source = settings, source
        self.metrics = Metrics(source.name)
        self.batcher = Batcher(
            settings.max_batch_size, settings.batch_timeout_ms / 1000, self.metrics.batch
        )
        self.served: Served | None = None

    def load(self, path: Path) -> Served:
        model = load_exported(path, runtime=self.settings.runtime)
        return Served(int(path.name) if path.name.isdigit() else 0, path, model)


def default_threads(workers: int) -> int:
    """Half the cores per server process go to model calls, the rest to HTTP and JSON: torch's
    default (every core) makes its threads spin against the event loop and the clients, which
    on 2 cores cut the requests served at 50 clients threefold."""
    return max(1, (os.cpu_count() or 1) // (2 * workers))


def create_app(settings: ServeSettings) -> Starlette:
    """The app for ``settings`` (the export is loaded when the app starts)."""
    source = resolve_source(settings.export, settings.save_dir, settings.name)
    state = _State(settings, source)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        use_threads(settings.threads or default_threads(1))
        first = source.newest()
        assert first is not None  # resolve_source checked
        state.served = await asyncio.to_thread(state.load, first)
        await state.batcher.start()
        watcher = asyncio.create_task(_watch(state)) if source.watches else None
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            await state.batcher.stop()

    async def model_route(request: Request) -> Response:
        started = time.perf_counter()
        spec = request.path_params["spec"]
        name, _, verb = spec.partition(":")
        endpoint = "predict" if verb else "status"
        try:
            if name != source.name:
                raise BadRequest(
                    f"No model {name!r}; this server serves {source.name!r}.", status=404
                )
            if request.method == "POST":
                if verb != "predict":
                    raise BadRequest(
                        f"Unknown method {verb!r}: POST /v1/models/{source.name}:predict.",
                        status=404,
                    )
                with state.batcher.request():
                    response = await _predict(request, state)
            else:
                if verb:
                    raise BadRequest(f"GET /v1/models/{source.name}: no ':{verb}'.", status=404)
                response = JSONResponse(_status(state))
        except BadRequest as error:
            response = JSONResponse({"error": str(error)}, status_code=error.status)
        except Exception as error:  # the model failed: the request hears it, the server goes on
            logger.exception("predict failed")
            response = JSONResponse(
                {"error": f"The model failed: {type(error).__name__}: {error}"}, status_code=500
            )
        state.metrics.request(endpoint, response.status_code, time.perf_counter() - started)
        return response

    async def metadata(request: Request) -> Response:
        name = request.path_params["name"]
        if name != source.name:
            response = JSONResponse(
                {"error": f"No model {name!r}; this server serves {source.name!r}."},
                status_code=404,
            )
        else:
            response = JSONResponse(_metadata(state))
        state.metrics.request("metadata", response.status_code, 0.0)
        return response

    async def healthz(request: Request) -> Response:
        served = state.served
        return JSONResponse(
            {"status": "ok", "model": source.name, "version": served.version if served else None}
        )

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(state.metrics.text(), media_type="text/plain; version=0.0.4")

    async def http_error(request: Request, error: Exception) -> Response:
        # Starlette's own 404 (unknown path) and 405 (wrong method) answer plain text; every
        # error of this server is JSON {"error": ...} so that clients read one shape
        assert isinstance(error, HTTPException)
        known = (
            f"POST /v1/models/{source.name}:predict, GET /v1/models/{source.name}, "
            f"GET /v1/models/{source.name}/metadata, GET /healthz, GET /metrics"
        )
        message = (
            f"{error.detail}: {request.method} {request.url.path}; this server answers {known}."
        )
        response = JSONResponse({"error": message}, status_code=error.status_code)
        state.metrics.request("other", response.status_code, 0.0)
        return response

    return Starlette(
        exception_handlers={HTTPException: http_error},
        routes=[
            Route("/healthz", healthz),
            Route("/metrics", metrics),
            Route("/v1/models/{name}/metadata", metadata),
            Route("/v1/models/{spec}", model_route, methods=["GET", "POST"]),
        ],
        lifespan=lifespan,
    )


async def _predict(request: Request, state: _State) -> Response:
    served = state.served
    assert served is not None
    body = await _body(request, state.settings.max_body_mb)
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"The body is not valid JSON: {error}.") from None
    except RecursionError:  # json gives up on deep nesting this way, not with a ValueError
        raise BadRequest(
            "The body's JSON is nested too deeply; an input has at most "
            f"{max(len(spec['shape']) for spec in served.model.inputs.values())} levels."
        ) from None
    model = served.model
    checked = read_request(
        parsed,
        model.inputs,
        model.signatures,
        model.default_signature,
        state.settings.max_rows,
    )
    flat = await state.batcher.run(model, checked.arrays, checked.rows)
    prefix = f"{checked.signature}/"
    outputs = {key[len(prefix) :]: value for key, value in flat.items() if key.startswith(prefix)}
    return JSONResponse(answer(checked, outputs))


async def _body(request: Request, max_mb: float) -> bytes:
    """The body, refused (413) past ``max_mb`` whether or not the client said its length."""
    limit = int(max_mb * 1024 * 1024)
    declared = request.headers.get("content-length")
    too_big = declared is not None and declared.isdigit() and int(declared) > limit
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit * DRAIN_FACTOR:
            break  # not worth reading: the connection is closed under the client
        if not too_big and size <= limit:
            chunks.append(chunk)
    # a body over the limit is read to its end (up to a point) so that the client, still
    # sending, gets this answer rather than a reset connection
    if too_big or size > limit:
        shown = int(declared) if too_big and declared else size
        raise BadRequest(
            f"The body is {shown / 2**20:.1f} MB; this server takes at most {max_mb:g} MB "
            "(--max-body-mb).",
            status=413,
        )
    return b"".join(chunks)


DRAIN_FACTOR = 8


def _status(state: _State) -> dict[str, Any]:
    served = state.served
    return {
        "model_version_status": [
            {
                "version": str(served.version if served else 0),
                "state": "AVAILABLE" if served else "LOADING",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }


def _metadata(state: _State) -> dict[str, Any]:
    served = state.served
    assert served is not None
    model = served.model
    meta = model.metadata
    inputs = {
        name: {"dtype": spec["dtype"], "shape": spec["shape"]}
        for name, spec in model.inputs.items()
    }
    return {
        "model_spec": {
            "name": state.source.name,
            "version": str(served.version),
            "signature_name": model.default_signature,
        },
        "metadata": {
            "signature_def": {
                name: {"inputs": inputs, "outputs": spec["outputs"]}
                for name, spec in meta["signatures"].items()
            },
            "default_signature": model.default_signature,
            "global_step": meta.get("global_step"),
            "runtime": model.runtime,
        },
    }


async def _watch(state: _State) -> None:
    """Switch to a newer export when one appears: loaded whole first, then swapped, so a
    request is answered by the old export or the new one, never by none."""
    failed: set[Path] = set()
    while True:
        await asyncio.sleep(RELOAD_POLL_SECS)
        newest = state.source.newest()
        current = state.served
        if newest is None or current is None or newest == current.path or newest in failed:
            continue
        try:
            state.served = await asyncio.to_thread(state.load, newest)
        except Exception as error:  # a broken export: keep serving the one that works
            failed.add(newest)
            logger.warning("Not switching to %s: %s", newest, error)
            continue
        state.metrics.reloads += 1
        logger.warning("Serving %s (version %d).", newest, state.served.version)


def app_from_environment() -> Starlette:
    """The app of a uvicorn worker process (``--workers N``): settings from the environment."""
    return create_app(ServeSettings(**json.loads(os.environ[SETTINGS_ENV])))
