"""``load_exported``: run an exported model's signatures."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from petri.errors import PetriError

__all__ = ["ExportedModel", "load_exported"]


class ExportedModel:
    """An export folder loaded for inference.

    Attributes:
        path: the export folder.
        metadata: ``saved_model.json`` (inputs, signatures, default signature, global step).
        signatures: signature name -> output names.
        inputs: input name -> ``{"dtype", "shape"}`` (``-1`` is the batch dimension).
    """

    def __init__(self, path: str | os.PathLike[str], runtime: str = "torch") -> None:
        self.path = Path(path)
        meta_file, program_file = self.path / "saved_model.json", self.path / "model.pt2"
        if not meta_file.is_file() or not program_file.is_file():
            raise ValueError(
                f"{str(self.path)!r} is not a Petri export: it lacks saved_model.json or "
                "model.pt2 (the folder Estimator.export_savedmodel returned holds both)."
            )
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}; got {runtime!r}.")
        self.metadata: dict[str, Any] = json.loads(meta_file.read_text())
        self.inputs: dict[str, dict[str, Any]] = self.metadata["inputs"]
        self.signatures = {
            name: list(spec["outputs"]) for name, spec in self.metadata["signatures"].items()
        }
        self.runtime = runtime
        if runtime == "torch":
            self._run = _torch_runner(program_file)
        else:
            self._run = _onnxruntime_runner(self.path, self.metadata)

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
        flat = self.run_flat([self._array(key, inputs[key]) for key in self.inputs])
        prefix = f"{name}/"
        return {key[len(prefix) :]: value for key, value in flat.items() if key.startswith(prefix)}

    def run_flat(self, arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Every signature's outputs, keyed ``signature/output``, for arrays already of the
        inputs' dtypes and shapes, in the order of ``inputs`` (what a server batching
        requests of several signatures calls once)."""
        return self._run(arrays)

    def _array(self, name: str, value: Any) -> np.ndarray:
        spec = self.inputs[name]
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        array = np.asarray(value).astype(spec["dtype"], copy=False)
        if list(array.shape[1:]) != spec["shape"][1:]:
            raise ValueError(
                f"Input {name!r} expected shape {spec['shape']} (-1: any batch size). "
                f"Received {list(array.shape)}."
            )
        return array


RUNTIMES = ("torch", "onnxruntime")

Runner = Callable[[list[np.ndarray]], dict[str, np.ndarray]]


def _torch_runner(program_file: Path) -> Runner:
    program = torch.export.load(program_file).module()

    def run(arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
        with torch.no_grad():
            flat = program(*(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays))
        return {key: value.numpy() for key, value in flat.items()}

    return run


def _onnxruntime_runner(folder: Path, metadata: Mapping[str, Any]) -> Runner:
    """``model.onnx`` in ONNX Runtime (the optional extra ``petri[serve]``)."""
    onnx = metadata.get("onnx") or {"missing": "it was exported before Petri wrote ONNX"}
    if "file" not in onnx or not (folder / onnx["file"]).is_file():
        raise ValueError(
            f"{str(folder)!r} has no ONNX model: {onnx.get('missing', 'model.onnx is gone')}. "
            "Serve it with runtime='torch'."
        )
    try:
        import onnxruntime
    except ImportError as error:
        raise PetriError(
            "runtime='onnxruntime' needs ONNX Runtime: pip install 'petri[serve]'."
        ) from error
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    session = onnxruntime.InferenceSession(
        str(folder / onnx["file"]), options, providers=["CPUExecutionProvider"]
    )
    input_names = [value.name for value in session.get_inputs()]
    output_names = [value.name for value in session.get_outputs()]

    def run(arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
        outputs = session.run(output_names, dict(zip(input_names, arrays, strict=True)))
        return dict(zip(output_names, outputs, strict=True))

    return run


def load_exported(path: str | os.PathLike[str], runtime: str = "torch") -> ExportedModel:
    """Load the export folder ``path`` (what ``export_savedmodel`` returned) to run in
    ``runtime``: ``torch`` (``model.pt2``) or ``onnxruntime`` (``model.onnx``, no torch on
    the call path)."""
    return ExportedModel(path, runtime)
