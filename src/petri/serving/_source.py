"""What ``petri serve`` serves: one export folder, the newest export of a base folder (and the
newer ones as they appear), or the newest export of a run.

Export folders are named by their Unix timestamp (``export_savedmodel`` renames a finished one
into place, so a folder that has a name is complete); the version a client sees is that number.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petri.errors import PetriError

__all__ = ["ModelSource", "Served", "resolve_source"]


@dataclass(frozen=True)
class Served:
    """A loaded export: its version (the folder's timestamp), folder and model."""

    version: int
    path: Path
    model: Any


@dataclass
class ModelSource:
    """Where exports come from: ``fixed`` (one folder) or the newest under ``bases``."""

    name: str
    fixed: Path | None = None
    bases: tuple[Path, ...] = ()

    @property
    def watches(self) -> bool:
        """Whether newer exports may appear (a base folder or a run)."""
        return self.fixed is None

    def newest(self) -> Path | None:
        """The export to serve now (None: no complete export yet)."""
        if self.fixed is not None:
            return self.fixed
        found = [
            child
            for base in self.bases
            if base.is_dir()
            for child in base.iterdir()
            if child.name.isdigit() and (child / "saved_model.json").is_file()
        ]
        return max(found, key=lambda path: (int(path.name), str(path)), default=None)


def _is_export(path: Path) -> bool:
    return (path / "saved_model.json").is_file() and (path / "model.pt2").is_file()


def resolve_source(spec: str, save_dir: str, name: str | None = None) -> ModelSource:
    """``spec`` as an export folder, a base folder of exports, or a run (a run folder,
    ``NAME:VERSION``, ``NAME/version_N`` or ``NAME`` under ``save_dir``: its exports).

    Raises:
        PetriError: nothing servable there, with what was looked for.
    """
    path = Path(spec)
    if path.is_dir() and _is_export(path):
        return ModelSource(name or _name_near(path) or path.parent.name, fixed=path.resolve())
    if path.is_dir() and any(
        child.name.isdigit() and _is_export(child) for child in path.iterdir()
    ):
        return ModelSource(name or _name_near(path) or path.name, bases=(path.resolve(),))
    from petri.tracking.query import resolve_run

    try:
        run = resolve_run(spec, save_dir)
    except FileNotFoundError:
        raise PetriError(
            f"Nothing to serve at {spec!r}: not an export folder (saved_model.json and "
            "model.pt2), not a folder of exports (<timestamp>/ folders), and no run of that "
            f"name under {os.path.abspath(save_dir)}. Export a run with `petri export RUN`."
        ) from None
    exports = Path(run.path) / "exports"
    bases = (
        tuple(sorted(p.resolve() for p in exports.iterdir() if p.is_dir()))
        if exports.is_dir()
        else ()
    )
    source = ModelSource(name or run.name, bases=bases)
    if source.newest() is None:
        raise PetriError(
            f"Run {run.name}/version_{run.version} has no export yet: run `petri export "
            f"{run.path}` (or set export_strategies in its config)."
        )
    return source


def _name_near(path: Path) -> str | None:
    """The experiment name of the run an export sits in (``<run>/exports/<strategy>/...``)."""
    from petri.tracking.reader import load

    for parent in path.resolve().parents:
        if (parent / "meta.experiment").is_file():
            try:
                return load(parent).name
            except Exception:  # a damaged run log: fall back to the folder's name
                return None
    return None
