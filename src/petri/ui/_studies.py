"""The summaries ``petri tune`` writes (``<save_dir>/<name>/study-<study>.json``), read as JSON
so the dashboard needs neither optuna nor ``petri.tune``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["read_studies"]


def read_studies(root: Path) -> list[dict[str, Any]]:
    """Every study summary under ``root``, each with its ``folder``; an unreadable one is
    listed with an ``error`` instead of hiding the others."""
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
