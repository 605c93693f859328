"""The dashboard's JSON API under ``/api/`` (documented in docs/ui.md).

Read-only. Runs are looked up by name and version in the index, never by a path from the URL.
Handlers are plain functions, so Starlette runs them in its thread pool and a slow disk never
stalls the event loop (or the live page's polling).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from petri.errors import PetriError
from petri.tracking._csv_log import read_csv
from petri.tracking.query import ranked_metrics, varying_tags
from petri.ui._histograms import read_histograms
from petri.ui._index import IndexedRun, RunIndex
from petri.ui._studies import read_studies

__all__ = ["api_routes", "not_found"]

MAX_PAGE = 500
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")


def api_routes(index: RunIndex) -> list[Route]:
    """The ``/api/`` routes over ``index``."""
    root = Path(index.root)

    def runs(request: Request) -> Response:
        query = request.query_params
        try:
            chosen_all = index.view(
                query.get("filter", "").strip(),
                query.get("sort") or "created",
                query.get("desc", "1") == "1",
            )
            offset = max(0, int(query.get("offset", "0")))
            limit = min(MAX_PAGE, max(1, int(query.get("limit", "50"))))
        except (PetriError, ValueError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        chosen = chosen_all[offset : offset + limit]
        wanted = [m for m in query.get("metrics", "").split(",") if m]
        metrics = wanted or ranked_metrics([_readable(i.run) for i in chosen])[:3]
        return JSONResponse(
            _clean(
                {
                    "total": len(chosen_all),
                    "offset": offset,
                    "metrics": metrics,
                    "varying_tags": varying_tags([i.run for i in chosen], by_name=True),
                    "runs": [i.summary(metrics) for i in chosen],
                }
            )
        )

    def run(request: Request) -> Response:
        indexed = _find(index, request)
        if indexed is None:
            return not_found()
        found = indexed.run
        folder = Path(found.path)
        summary = indexed.summary(ranked_metrics([_readable(found)]))
        summary.update(
            meta=found.meta,
            config=_text(folder / "config.yaml"),
            default_tags=sorted(found.default_tags),
            files=[
                {"path": path, "bytes": size, "files": count}
                for path, size, count in found.files()
            ],
            checkpoints=_listing(folder, "*.pt"),
            exports=_exports(folder),
        )
        return JSONResponse(_clean(summary))

    def metrics(request: Request) -> Response:
        indexed = _find(index, request)
        if indexed is None:
            return not_found()
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

    def media(request: Request) -> Response:
        indexed = _find(index, request)
        if indexed is None:
            return not_found()
        folder = Path(indexed.run.path) / "media"
        items = []
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
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

    def histograms(request: Request) -> Response:
        indexed = _find(index, request)
        if indexed is None:
            return not_found()
        return JSONResponse(_clean(read_histograms(Path(indexed.run.path))))

    def studies(request: Request) -> Response:
        """Every study summary ``petri tune`` wrote, without its trials."""
        return JSONResponse(
            _clean([{k: v for k, v in s.items() if k != "trials"} for s in read_studies(root)])
        )

    def study(request: Request) -> Response:
        folder, name = request.path_params["folder"], request.path_params["study"]
        for found in read_studies(root):
            if found["folder"] == folder and found.get("study") == name:
                return JSONResponse(_clean(found))
        return not_found()

    return [
        Route("/api/runs", runs),
        Route("/api/runs/{name}/{version:int}", run),
        Route("/api/runs/{name}/{version:int}/metrics", metrics),
        Route("/api/runs/{name}/{version:int}/media", media),
        Route("/api/runs/{name}/{version:int}/histograms", histograms),
        Route("/api/studies", studies),
        Route("/api/studies/{folder}/{study}", study),
    ]


def not_found() -> Response:
    """The one answer to anything missing or out of bounds."""
    return JSONResponse({"error": "Not found."}, status_code=404)


def _find(index: RunIndex, request: Request) -> IndexedRun | None:
    return index.find(request.path_params["name"], request.path_params["version"])


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
