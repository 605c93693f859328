"""Export strategies: an Experiment exports after each evaluation and keeps the newest few."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from petri.export._receiver import ServingInputReceiver, build_raw_serving_input_receiver_fn
from petri.export._savedmodel import _checked_assets

__all__ = ["ExportStrategy", "make_export_strategy"]

logger = logging.getLogger("petri")


class Exportable(Protocol):
    """What a strategy exports: anything with the Estimator's ``export_savedmodel``."""

    def export_savedmodel(
        self,
        export_dir_base: str | os.PathLike[str],
        serving_input_receiver_fn: Callable[[], ServingInputReceiver],
        assets_extra: Mapping[str, str | os.PathLike[str]] | None = None,
        as_text: bool = False,
        checkpoint_path: str | os.PathLike[str] | None = None,
    ) -> str: ...


@dataclass
class ExportStrategy:
    """What an ``Experiment`` exports after each evaluation (the seed's ``export_strategies``).

    Args:
        name: the strategy's folder: exports go to ``<run>/exports/<name>/<timestamp>/``.
        serving_input_receiver_fn: what clients send; None serves the features as the
            evaluation input gives them (a raw receiver built from its first batch).
        exports_to_keep: keep this many newest exports of this strategy (None: all).
        assets_extra: files copied into each export's ``assets.extra/``.
        as_text: also write the program as text.
    """

    name: str = "default"
    serving_input_receiver_fn: Callable[[], ServingInputReceiver] | None = None
    exports_to_keep: int | None = 5
    assets_extra: Mapping[str, str | os.PathLike[str]] | None = None
    as_text: bool = False

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or self.name in (".", ".."):
            raise ValueError(
                f"ExportStrategy name must be a folder name. Received: {self.name!r}."
            )
        keep = self.exports_to_keep
        if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 1):
            raise ValueError(
                f"ExportStrategy expected exports_to_keep >= 1 or None. Received: {keep!r}."
            )
        _checked_assets(self.assets_extra)  # a missing file is found now, not at the export

    def export(
        self,
        estimator: Exportable,
        export_dir_base: str | os.PathLike[str],
        example_features: Any = None,
        checkpoint_path: str | None = None,
    ) -> str:
        """Export into ``export_dir_base``, then delete this strategy's oldest exports beyond
        ``exports_to_keep``; returns the new export's folder."""
        receiver_fn = self.serving_input_receiver_fn
        if receiver_fn is None:
            if example_features is None:
                raise ValueError(
                    f"ExportStrategy {self.name!r} has no serving_input_receiver_fn and no "
                    "example features to build one from (give the Experiment an eval_input_fn)."
                )
            receiver_fn = build_raw_serving_input_receiver_fn(example_features)
        path = estimator.export_savedmodel(
            export_dir_base, receiver_fn, self.assets_extra, self.as_text, checkpoint_path
        )
        logger.info("Exported %s", path)
        self._collect(Path(export_dir_base))
        return path

    def _collect(self, base: Path) -> None:
        if self.exports_to_keep is None:
            return
        exports = sorted(
            (p for p in base.iterdir() if p.is_dir() and p.name.isdigit()),
            key=lambda p: int(p.name),
        )
        for old in exports[: -self.exports_to_keep]:
            shutil.rmtree(old, ignore_errors=True)


def make_export_strategy(
    serving_input_fn: Callable[[], ServingInputReceiver] | None = None,
    assets_extra: Mapping[str, str | os.PathLike[str]] | None = None,
    as_text: bool = False,
    exports_to_keep: int | None = 5,
    name: str = "default",
) -> ExportStrategy:
    """The seed's ``make_export_strategy``: an :class:`ExportStrategy` from its arguments."""
    return ExportStrategy(name, serving_input_fn, exports_to_keep, assets_extra, as_text)


def as_export_strategies(value: Any) -> list[ExportStrategy]:
    """An Experiment's ``export_strategies`` argument as a list: None, a strategy, a dict of its
    arguments, or a list of these."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    strategies: list[ExportStrategy] = []
    for item in items:
        if isinstance(item, ExportStrategy):
            strategies.append(item)
        elif isinstance(item, Mapping):
            strategies.append(ExportStrategy(**dict(item)))
        elif hasattr(item, "model_dump"):  # an ExportStrategyConfig
            strategies.append(ExportStrategy(**item.model_dump()))
        else:
            raise TypeError(
                "export_strategies expected ExportStrategy objects (petri.export."
                f"make_export_strategy) or dicts of their arguments. Received: {item!r}."
            )
    names = [s.name for s in strategies]
    if len(set(names)) != len(names):
        raise ValueError(f"export_strategies need distinct names. Received: {names}.")
    return strategies
