"""``load_exported``: run an exported model's signatures."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["ExportedModel", "load_exported"]


class ExportedModel:
    """An export folder loaded for inference.

    Attributes:
        path: the export folder.
        metadata: ``saved_model.json`` (inputs, signatures, default signature, global step).
        signatures: signature name -> output names.
        inputs: input name -> ``{"dtype", "shape"}`` (``-1`` is the batch dimension).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        meta_file, program_file = self.path / "saved_model.json", self.path / "model.pt2"
        if not meta_file.is_file() or not program_file.is_file():
            raise ValueError(
                f"{str(self.path)!r} is not a Petri export: it lacks saved_model.json or "
                "model.pt2 (the folder Estimator.export_savedmodel returned holds both)."
            )
        self.metadata: dict[str, Any] = json.loads(meta_file.read_text())
        self.inputs: dict[str, dict[str, Any]] = self.metadata["inputs"]
        self.signatures = {
            name: list(spec["outputs"]) for name, spec in self.metadata["signatures"].items()
        }
        self._program = torch.export.load(program_file).module()

    @property
    def default_signature(self) -> str:
        return str(self.metadata["default_signature"])

    def __call__(
        self, inputs: Mapping[str, Any] | Any, signature: str | None = None
    ) -> dict[str, np.ndarray]:
        """Outputs of ``signature`` (default: the default one) for a batch of ``inputs``
        (arrays or tensors; a bare one when the export has a single input)."""
        name = signature or self.default_signature
        if name not in self.signatures:
            raise KeyError(f"No signature {name!r}; this export has {sorted(self.signatures)}.")
        if not isinstance(inputs, Mapping):
            if len(self.inputs) != 1:
                raise ValueError(f"This export takes several named inputs: {sorted(self.inputs)}.")
            inputs = {next(iter(self.inputs)): inputs}
        missing = sorted(set(self.inputs) - set(inputs))
        if missing:
            raise ValueError(f"Missing inputs {missing}; this export takes {sorted(self.inputs)}.")
        tensors = [self._tensor(key, inputs[key]) for key in self.inputs]
        with torch.no_grad():
            flat = self._program(*tensors)
        prefix = f"{name}/"
        return {
            key[len(prefix) :]: value.numpy()
            for key, value in flat.items()
            if key.startswith(prefix)
        }

    def _tensor(self, name: str, value: Any) -> torch.Tensor:
        spec = self.inputs[name]
        tensor = torch.as_tensor(value)
        tensor = tensor.to(getattr(torch, spec["dtype"]))
        if list(tensor.shape[1:]) != spec["shape"][1:]:
            raise ValueError(
                f"Input {name!r} expected shape {spec['shape']} (-1: any batch size). "
                f"Received {list(tensor.shape)}."
            )
        return tensor


def load_exported(path: str | os.PathLike[str]) -> ExportedModel:
    """Load the export folder ``path`` (what ``export_savedmodel`` returned)."""
    return ExportedModel(path)
