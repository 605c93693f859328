"""The ``petri ui`` ASGI app: pages, a JSON API under ``/api/``, and static files.

Read-only: no endpoint writes. Runs are found by name and version in the index, never by a path
from the URL; the one route that serves a run's file (``/files/NAME/VERSION/media/...``)
resolves it and refuses anything outside that run's folder. Pages render user text with
``textContent`` (see ``static/app.js``), never as HTML.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from petri.errors import PetriError
from petri.tracking._csv_log import read_csv
from petri.tracking.query import parse_filter, ranked_metrics, sort_runs, varying_tags
from petri.ui._index import RunIndex

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"
PAGES = {"runs": "runs.html", "run": "run.html", "compare": "compare.html", "study": "study.html"}
MAX_PAGE = 500
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")


def _plotly_js() -> Path:
    """plotly.js as the ``plotly`` package installs it (no CDN)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(save_dir: str) -> Starlette:
    index = RunIndex(save_dir)
    root = Path(index.root)
    plotly_js = _plotly_js()

    def page(name: str) -> Any:
        async def handler(request: Request) -> Response:
            return FileResponse(STATIC / PAGES[name], media_type="text/html")

        return handler

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "plotly.min.js":
            return FileResponse(plotly_js, media_type="text/javascript")
        if name not in ("app.js", "app.css"):
            return _not_found()
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        return FileResponse(STATIC / name, media_type=kind)

    async def api_runs(request: Request) -> Response:
        query = request.query_params
        indexed = index.runs()
        runs = [i.run for i in indexed]
        expression = query.get("filter", "").strip()
        try:
            if expression:
                keep = parse_filter(expression)
                runs = [run for run in runs if _safely(keep, run)]
            sort = query.get("sort") or "created"
            runs = sort_runs(runs, sort, query.get("desc", "1") == "1")
            offset = max(0, int(query.get("offset", "0")))
            limit = min(MAX_PAGE, max(1, int(query.get("limit", "50"))))
        except (PetriError, ValueError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        by_path = {i.run.path: i for i in indexed}
        chosen = runs[offset : offset + limit]
        wanted = [m for m in query.get("metrics", "").split(",") if m]
        metrics = wanted or ranked_metrics([_readable(r) for r in chosen])[:3]
        return JSONResponse(
            _clean(
                {
                    "total": len(runs),
                    "offset": offset,
                    "metrics": metrics,
                    "varying_tags": varying_tags(chosen, by_name=True),
                    "runs": [by_path[run.path].summary(metrics) for run in chosen],
                }
            )
        )

    async def api_run(request: Request) -> Response:
        indexed = _find(index, request)
        if indexed is None:
            return _not_found()
        run = indexed.run
        config = Path(run.path) / "config.yaml"
        summary = indexed.summary(ranked_metrics([_readable(run)]))
        summary.update(
            meta=run.meta,
            config=_text(config),
            default_tags=sorted(run.default_tags),
            files=[
                {"path": path, "bytes": size, "files": count} for path, size, count in run.files()
            ],
            checkpoints=_listing(Path(run.path), "*.pt"),
            exports=_exports(Path(run.path)),
        )
        return JSONResponse(_clean(summary))

    async def api_metrics(request: Request) -> Response:
        indexed = _find(index, request)
        if indexed is None:
            return _not_found()
        try:
            since = max(0, int(request.query_params.get("since", "0")))
        except ValueError:
            return JSONResponse({"error": "since must be a row number."}, status_code=400)
        try:
            columns, rows = read_csv(indexed.run.metrics_path)
        except (PetriError, OSError, ValueError) as error:
            return JSONResponse(
                _clean({"columns": [], "rows": [], "next": since, "error": str(error)})
            )
        return JSONResponse(_clean({"columns": columns, "rows": rows[since:], "next": len(rows)}))

    async def api_media(request: Request) -> Response:
        indexed = _find(index, request)
        if indexed is None:
            return _not_found()
        media = Path(indexed.run.path) / "media"
        items = []
        if media.is_dir():
            for path in sorted(media.iterdir()):
                if path.suffix.lower() in IMAGE_SUFFIXES:
                    key, _, step = path.stem.rpartition("_")
                    items.append(
                        {
                            "file": path.name,
                            "key": key,
                            "step": int(step) if step.isdigit() else None,
                        }
                    )
        return JSONResponse(items)

    async def api_histograms(request: Request) -> Response:
        indexed = _find(index, request)
        if indexed is None:
            return _not_found()
        return JSONResponse(_clean(await asyncio.to_thread(_histograms, Path(indexed.run.path))))

    async def media_file(request: Request) -> Response:
        indexed = _find(index, request)
        if indexed is None:
            return _not_found()
        folder = (Path(indexed.run.path) / "media").resolve()
        target = (folder / request.path_params["file"]).resolve()
        if not target.is_relative_to(folder) or not target.is_file():
            return _not_found()
        return FileResponse(target)

    async def api_studies(request: Request) -> Response:
        """Every study summary ``petri tune`` wrote, without its trials."""
        return JSONResponse(
            _clean([{k: v for k, v in s.items() if k != "trials"} for s in _studies(root)])
        )

    async def api_study(request: Request) -> Response:
        folder, name = request.path_params["folder"], request.path_params["study"]
        for study in _studies(root):
            if study["folder"] == folder and study.get("study") == name:
                return JSONResponse(_clean(study))
        return _not_found()

    return Starlette(
        routes=[
            Route("/", page("runs")),
            Route("/run/{name}/{version:int}", page("run")),
            Route("/compare", page("compare")),
            Route("/static/{name}", static),
            Route("/api/runs", api_runs),
            Route("/api/runs/{name}/{version:int}", api_run),
            Route("/api/runs/{name}/{version:int}/metrics", api_metrics),
            Route("/api/runs/{name}/{version:int}/media", api_media),
            Route("/api/runs/{name}/{version:int}/histograms", api_histograms),
            Route("/files/{name}/{version:int}/media/{file}", media_file),
            Route("/api/studies", api_studies),
            Route("/api/studies/{folder}/{study}", api_study),
            Route("/study/{folder}/{study}", page("study")),
        ],
        exception_handlers={404: lambda request, exc: _not_found()},
        lifespan=_indexed_first(index),
    )


def _indexed_first(index: RunIndex) -> Any:
    """Read every run before the first request, so the first page answers from memory."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(index.refresh, True)
        yield

    return lifespan


HISTOGRAM_STEPS = 10


def _histograms(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The histograms the run's summaries wrote to its TensorBoard events (read by
    TensorBoard's own reader): per tag, up to 10 steps spread over the run, each with its
    bucket edges and counts."""
    folder = run_dir / "tf"
    if not folder.is_dir():
        return {}
    from tensorboard.backend.event_processing import event_accumulator

    events = event_accumulator.EventAccumulator(
        str(folder), size_guidance={event_accumulator.HISTOGRAMS: 0}
    )
    try:
        events.Reload()
        tags = events.Tags().get(event_accumulator.HISTOGRAMS, [])
    except Exception:  # a torn event file: no histograms rather than no page
        return {}
    found: dict[str, list[dict[str, Any]]] = {}
    for tag in tags:
        series = events.Histograms(tag)
        stride = max(1, math.ceil(len(series) / HISTOGRAM_STEPS))
        chosen = series[::stride][-HISTOGRAM_STEPS:]
        found[tag] = [
            {
                "step": item.step,
                "limits": list(item.histogram_value.bucket_limit),
                "counts": list(item.histogram_value.bucket),
                "min": item.histogram_value.min,
                "max": item.histogram_value.max,
            }
            for item in chosen
        ]
    return found


def _studies(root: Path) -> list[dict[str, Any]]:
    """The study summaries under ``root`` (``<name>/study-<study>.json``), each with its
    ``folder``; an unreadable one is listed with an error."""
    studies = []
    for path in sorted(root.glob("*/study-*.json")):
        try:
            study = json.loads(path.read_text())
            if not isinstance(study, dict):
                raise ValueError("not an object")
        except (OSError, ValueError) as error:
            study = {"study": path.stem[len("study-") :], "error": f"unreadable: {error}"}
        study["folder"] = path.parent.name
        studies.append(study)
    return studies


def _find(index: RunIndex, request: Request) -> Any:
    return index.find(request.path_params["name"], request.path_params["version"])


def _not_found() -> Response:
    return JSONResponse({"error": "Not found."}, status_code=404)


def _safely(keep: Any, run: Any) -> bool:
    try:
        return bool(keep(run))
    except (PetriError, OSError, ValueError, TypeError):
        return False


def _readable(run: Any) -> Any:
    """``run`` when its final metrics can be read, else a stand-in without metrics."""
    try:
        run.final  # noqa: B018
    except (PetriError, OSError, ValueError):
        return _NoMetrics(run)
    return run


class _NoMetrics:
    def __init__(self, run: Any) -> None:
        self.run = run
        self.final: dict[str, Any] = {}
        self.tags = run.tags


def _text(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def _listing(folder: Path, pattern: str) -> list[dict[str, Any]]:
    items = []
    for path in sorted(folder.rglob(pattern)):
        if path.is_file() and not path.name.endswith(".tmp"):
            items.append({"path": str(path.relative_to(folder)), "bytes": path.stat().st_size})
    return items


def _exports(folder: Path) -> list[dict[str, Any]]:
    exports = []
    base = folder / "exports"
    if base.is_dir():
        for path in sorted(base.glob("*/*/saved_model.json")):
            export = path.parent
            size = sum(f.stat().st_size for f in export.rglob("*") if f.is_file())
            exports.append({"path": str(export.relative_to(folder)), "bytes": size})
    return exports


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinity (which JSON lacks) as None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_clean(v) for v in value]
    return value
