"""``petri ui``: a read-only web dashboard over a save_dir's run log.

Runs (a filterable, sortable, paged table), one run (status, config, tags, metric curves that
grow while it runs, images, checkpoints and exports) and several runs compared (curves overlaid,
what differs). Needs the ``ui`` extra (``pip install 'petri[ui]'``: Starlette, uvicorn,
plotly's bundled JavaScript). See docs/ui.md.
"""

from __future__ import annotations

from typing import Any

from petri.errors import PetriError

__all__ = ["serve_ui"]


def serve_ui(
    save_dir: str, host: str = "127.0.0.1", port: int = 6007, on_ready: Any = None
) -> None:
    """Serve the dashboard of ``save_dir`` until interrupted; ``on_ready(url)`` is called
    once the address is known."""
    try:
        import plotly  # noqa: F401  (its bundled plotly.min.js draws the charts)
        import uvicorn

        from petri.ui._app import create_app
    except ImportError as error:
        raise PetriError(f"petri ui needs {error.name}: pip install 'petri[ui]'.") from error
    app = create_app(save_dir)
    if on_ready is not None:
        on_ready(f"http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
