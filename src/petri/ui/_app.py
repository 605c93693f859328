"""The ``petri ui`` ASGI app: the four pages, their static files, a run's media files, and the
JSON API (``_api.py``).

Read-only: no endpoint writes. The one route that serves a run's file
(``/files/NAME/VERSION/media/FILE``) resolves it through ``_paths.inside``, which refuses
anything outside that run's ``media/`` folder. Pages render user text with ``textContent``
(see ``static/app.js``), never as HTML.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from petri.ui._api import api_routes, not_found
from petri.ui._index import RunIndex
from petri.ui._paths import inside

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"
PAGES = {"runs": "runs.html", "run": "run.html", "compare": "compare.html", "study": "study.html"}
ASSETS = {"app.js": "text/javascript", "app.css": "text/css"}


def _plotly_js() -> Path:
    """plotly.js as the ``plotly`` package installs it (no CDN)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(save_dir: str) -> Starlette:
    """The dashboard of ``save_dir``; its run index is built before the first request."""
    index = RunIndex(save_dir)
    plotly_js = _plotly_js()

    def page(name: str) -> Any:
        async def handler(request: Request) -> Response:
            return FileResponse(STATIC / PAGES[name], media_type="text/html")

        return handler

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "plotly.min.js":
            return FileResponse(plotly_js, media_type="text/javascript")
        if name not in ASSETS:
            return not_found()
        return FileResponse(STATIC / name, media_type=ASSETS[name])

    def media_file(request: Request) -> Response:
        indexed = index.find(request.path_params["name"], request.path_params["version"])
        if indexed is None:
            return not_found()
        target = inside(Path(indexed.run.path) / "media", request.path_params["file"])
        if target is None or not target.is_file():
            return not_found()
        return FileResponse(target)

    return Starlette(
        routes=[
            Route("/", page("runs")),
            Route("/run/{name}/{version:int}", page("run")),
            Route("/compare", page("compare")),
            Route("/study/{folder}/{study}", page("study")),
            Route("/static/{name}", static),
            Route("/files/{name}/{version:int}/media/{file:path}", media_file),
            *api_routes(index),
        ],
        exception_handlers={404: lambda request, exc: not_found()},
        lifespan=_indexed_first(index),
    )


def _indexed_first(index: RunIndex) -> Any:
    """Read every run, and order them as the runs page first asks, before the first request,
    so the first page answers from memory."""

    def warm() -> None:
        index.refresh(force=True)
        index.view("", "created", True)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(warm)
        yield

    return lifespan
