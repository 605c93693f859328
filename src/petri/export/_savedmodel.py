"""``export_savedmodel``: a trained Estimator's inference program in a timestamped folder.

The folder (``<export_dir_base>/<unix seconds>/``) holds:

* ``model.pt2``: a ``torch.export`` program of serving: received tensors -> (optional
  preprocessing) -> ``model_fn`` in PREDICT mode -> the export outputs, with the weights of the
  checkpoint, and the batch dimension dynamic. Loading it needs torch, not Petri or the model
  code (``torch.export.load(path).module()``).
* ``saved_model.json``: the signatures (inputs and outputs with dtype and shape, ``-1`` for the
  batch), the default signature, the global step and checkpoint exported. ``as_text=True`` also
  writes ``saved_model.txt``, the program's graph as readable text.
* ``assets.extra/``: the files of ``assets_extra``.

The folder is written under a temporary name and renamed into place, so a reader never sees a
half-written export and a crash leaves only a hidden ``.tmp-*`` folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from petri._fsync import as_created, fsync_directory, fsync_tree, reporting_disk_full
from petri.export._receiver import ServingInputReceiver
from petri.modes import ModeKeys

__all__ = ["DEFAULT_SERVING_SIGNATURE_DEF_KEY", "Servable", "export_savedmodel"]

DEFAULT_SERVING_SIGNATURE_DEF_KEY = "serving_default"
FORMAT = 1


class Servable(Protocol):
    """What an exporter needs of a trained model's owner (the Estimator is one)."""

    device: torch.device

    def serving_module(
        self, features: Any, checkpoint_path: str | None
    ) -> tuple[nn.Module, int, str | None]:
        """``(module in inference mode, global step, checkpoint restored)``; the module is
        called ``module(features, None, ModeKeys.PREDICT)`` and returns an ``EstimatorSpec``."""
        ...


def export_savedmodel(
    estimator: Servable,
    export_dir_base: str | os.PathLike[str],
    serving_input_receiver_fn: Callable[[], ServingInputReceiver],
    assets_extra: Mapping[str, str | os.PathLike[str]] | None = None,
    as_text: bool = False,
    checkpoint_path: str | os.PathLike[str] | None = None,
) -> str:
    """Export ``estimator``'s model (see the module docstring); returns the new folder's path.

    Raises:
        ValueError: no ``serving_input_receiver_fn``; the model gives neither
            ``export_outputs`` nor ``predictions``; no checkpoint to export; a bad
            ``assets_extra`` entry.
    """
    if serving_input_receiver_fn is None:
        raise ValueError(
            "export_savedmodel needs a serving_input_receiver_fn (for features clients send "
            "as they are: petri.export.build_raw_serving_input_receiver_fn(example_batch))."
        )
    receiver = serving_input_receiver_fn()
    if not isinstance(receiver, ServingInputReceiver):
        raise TypeError(
            "serving_input_receiver_fn must return a petri.export.ServingInputReceiver; it "
            f"returned {type(receiver).__name__}."
        )
    copies = _checked_assets(assets_extra)
    examples = {
        name: _two_rows(tensor).to(estimator.device)
        for name, tensor in receiver.receiver_tensors.items()  # type: ignore[union-attr]
    }
    module, global_step, checkpoint = estimator.serving_module(
        receiver.features_of(examples), None if checkpoint_path is None else str(checkpoint_path)
    )
    serving = _Serving(module, receiver, list(examples))
    with torch.no_grad():
        flat = serving(*examples.values())
    signatures = _signatures(flat)
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(
        serving,
        tuple(examples.values()),
        dynamic_shapes=(tuple({0: batch} for _ in examples),),
    )
    onnx_program, onnx_info = _to_onnx(program, examples, flat)
    metadata = {
        "format": FORMAT,
        "onnx": onnx_info,
        "global_step": global_step,
        "checkpoint": checkpoint,
        "inputs": {name: _describe(tensor) for name, tensor in examples.items()},
        "signatures": {
            name: {"outputs": {key: _describe(flat[f"{name}/{key}"]) for key in keys}}
            for name, keys in signatures.items()
        },
        "default_signature": _default_signature(signatures),
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    base = Path(export_dir_base)
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=base))
    as_created(staging)
    try:
        with reporting_disk_full(staging / "model.pt2"):
            torch.export.save(program, staging / "model.pt2")
        if onnx_program is not None:
            with reporting_disk_full(staging / ONNX_FILE):
                onnx_program.save(str(staging / ONNX_FILE))
        text = json.dumps(metadata, indent=2 if as_text else None, sort_keys=True)
        with reporting_disk_full(staging / "saved_model.json"):
            (staging / "saved_model.json").write_text(text + "\n")
        if as_text:
            (staging / "saved_model.txt").write_text(str(program.graph_module.code))
        for destination, source in copies.items():
            target = staging / "assets.extra" / destination
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        with reporting_disk_full(staging):
            fsync_tree(staging)
        return str(_rename_to_timestamp(staging, base))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _to_onnx(
    program: Any, examples: Mapping[str, torch.Tensor], flat: Mapping[str, torch.Tensor]
) -> tuple[Any, dict[str, Any]]:
    """The program in ONNX (torch's exporter), checked against the program on the example
    batch when ONNX Runtime is installed; or None and why not, so the export still succeeds
    with ``model.pt2`` and says what is missing."""
    try:
        onnx_program = _quietly(
            lambda: torch.onnx.export(
                program,
                tuple(examples.values()),
                dynamo=True,
                input_names=list(examples),
                output_names=list(flat),
                verbose=False,
                report=False,
            )
        )
    except ImportError as error:
        return None, {
            "missing": f"the ONNX exporter needs {error.name or error}: "
            "pip install onnx onnxscript"
        }
    except Exception as error:  # an op ONNX cannot express, an exporter limit
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return None, {
            "missing": f"torch's ONNX exporter failed: {type(error).__name__}: {first}"[:500]
        }
    names = [value.name for value in onnx_program.model.graph.outputs]
    if names != list(flat):
        return None, {
            "missing": f"the ONNX graph's outputs {names} are not the export's {list(flat)}"
        }
    opset = onnx_program.model.opset_imports.get("", None)
    info: dict[str, Any] = {"file": ONNX_FILE, "opset": opset, "checked": False}
    worst = _onnx_difference(onnx_program, examples, flat)
    if worst is not None:
        if worst > ONNX_TOLERANCE:
            return None, {
                "missing": f"ONNX Runtime's outputs differ from the program's by {worst:.3g} "
                f"(more than {ONNX_TOLERANCE})"
            }
        info.update(checked=True, max_difference=worst)
    return onnx_program, info


ONNX_FILE = "model.onnx"
ONNX_TOLERANCE = 1e-4


def _onnx_difference(
    onnx_program: Any, examples: Mapping[str, torch.Tensor], flat: Mapping[str, torch.Tensor]
) -> float | None:
    """Largest difference between ONNX Runtime's outputs and the program's on the examples
    (None without ONNX Runtime)."""
    try:
        import onnxruntime  # noqa: F401  (the optional runtime: petri[serve])
    except ImportError:
        return None
    outputs = onnx_program(*[tensor.cpu() for tensor in examples.values()])
    worst = 0.0
    for expected, got in zip(flat.values(), outputs):
        got = torch.as_tensor(got)
        if got.shape != expected.shape:
            return float("inf")
        if expected.numel():
            worst = max(
                worst, float((got.double() - expected.detach().cpu().double()).abs().max())
            )
    return worst


def _quietly(make: Callable[[], Any]) -> Any:
    """torch's ONNX exporter prints its progress; an export says what it did in its files."""
    import contextlib
    import io
    import logging
    import warnings

    chatty = logging.getLogger("torch.onnx")  # "torchvision is not installed. Skipping ..."
    level = chatty.level
    chatty.setLevel(logging.ERROR)
    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")  # the exporter's own deprecations, not the user's
            return make()
    finally:
        chatty.setLevel(level)


class _Serving(nn.Module):
    """received tensors -> features -> model_fn(PREDICT) -> flat ``{signature/output: tensor}``."""

    def __init__(self, module: nn.Module, receiver: ServingInputReceiver, names: list[str]):
        super().__init__()
        self.module = module
        self.receiver = receiver
        self.names = names

    def forward(self, *tensors: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.receiver.features_of(dict(zip(self.names, tensors, strict=True)))
        outputs = _signature_outputs(self.module(features, None, ModeKeys.PREDICT))
        return {
            f"{name}/{key}": value
            for name, values in outputs.items()
            for key, value in values.items()
        }


def _signatures(flat: Mapping[str, torch.Tensor]) -> dict[str, list[str]]:
    """Signature name -> output names, from the flat ``signature/output`` keys."""
    signatures: dict[str, list[str]] = {}
    for key in flat:
        name, output = key.split("/", 1)
        signatures.setdefault(name, []).append(output)
    return signatures


def _signature_outputs(spec: Any) -> dict[str, dict[str, torch.Tensor]]:
    """Signature name -> outputs, from the spec's ``export_outputs`` (else its predictions).

    ``export_outputs`` of tensors is one signature, ``serving_default``, with those outputs; a
    dict of dicts names one signature per entry.
    """
    source = spec.export_outputs if spec.export_outputs is not None else spec.predictions
    if source is None:
        raise ValueError(
            "The model_fn gave neither export_outputs nor predictions in PREDICT mode: there "
            "is nothing to export."
        )
    if isinstance(source, torch.Tensor):
        return {DEFAULT_SERVING_SIGNATURE_DEF_KEY: {"output": source}}
    if all(isinstance(value, torch.Tensor) for value in source.values()):
        return {DEFAULT_SERVING_SIGNATURE_DEF_KEY: dict(source)}
    signatures: dict[str, dict[str, torch.Tensor]] = {}
    for name, value in source.items():
        if "/" in str(name):
            raise ValueError(f"export_outputs signature names cannot hold '/': {name!r}.")
        if isinstance(value, torch.Tensor):
            value = {"output": value}
        if not isinstance(value, Mapping) or not all(
            isinstance(v, torch.Tensor) for v in value.values()
        ):
            raise ValueError(
                f"export_outputs[{name!r}] must be a tensor or a dict of tensors. Received: "
                f"{type(value).__name__}."
            )
        signatures[str(name)] = dict(value)
    return signatures


def _default_signature(signatures: Mapping[str, Any]) -> str:
    if DEFAULT_SERVING_SIGNATURE_DEF_KEY in signatures or len(signatures) != 1:
        if DEFAULT_SERVING_SIGNATURE_DEF_KEY not in signatures:
            raise ValueError(
                f"export_outputs has several signatures ({sorted(signatures)}) and none is "
                f"named {DEFAULT_SERVING_SIGNATURE_DEF_KEY!r}; name the one to serve by default "
                "so."
            )
        return DEFAULT_SERVING_SIGNATURE_DEF_KEY
    return next(iter(signatures))


def _two_rows(example: torch.Tensor) -> torch.Tensor:
    """At least two rows: ``torch.export`` fixes a dimension whose example size is 1."""
    return example if len(example) >= 2 else example[:1].repeat(2, *[1] * (example.dim() - 1))


def _describe(tensor: torch.Tensor) -> dict[str, Any]:
    return {"dtype": str(tensor.dtype).removeprefix("torch."), "shape": [-1, *tensor.shape[1:]]}


def _checked_assets(assets: Mapping[str, Any] | None) -> dict[str, Path]:
    """``assets_extra`` as destination -> existing source file, refusing paths that leave
    ``assets.extra/``."""
    checked: dict[str, Path] = {}
    for destination, source in (assets or {}).items():
        relative = Path(destination)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ValueError(
                f"assets_extra key {destination!r} must be a relative path inside "
                "assets.extra/ (e.g. 'vocab.txt' or 'text/vocab.txt')."
            )
        if not Path(source).is_file():
            raise ValueError(f"assets_extra[{destination!r}]: {str(source)!r} is not a file.")
        checked[str(relative)] = Path(source)
    return checked


def _rename_to_timestamp(staging: Path, base: Path) -> Path:
    """Move ``staging`` to ``base/<unix seconds>``, or to one past the newest export there
    (exports in the same second, several processes): names always grow with export order."""
    taken = [int(p.name) for p in base.iterdir() if p.name.isdigit()]
    stamp = max([int(time.time()), *(n + 1 for n in taken)])
    while True:
        target = base / str(stamp)
        try:
            os.rename(staging, target)  # fails if target exists and is not empty
        except OSError:
            if not target.exists():
                raise
            stamp += 1
            continue
        fsync_directory(base)
        return target
