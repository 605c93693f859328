"""A dry run of a config's model on torch's ``meta`` device, before any weight exists.

Tensors on ``meta`` have shapes and dtypes but no storage, so building the model there and
passing it one batch shaped like the input allocates nothing, whatever the layer sizes. What the
dry run finds becomes a ``ConfigError`` naming the key path, before the real model is built or a
run folder exists:

- a layer that cannot be built, or cannot take what the layer before it gives
  (``model_config.graph_config.definition[i]``);
- a graph output that does not fit the labels or the loss (``model_config.graph_config``);
- ``model_config.n_classes`` that disagrees with the labels or the graph's outputs;
- a model too big for this machine: the estimate is the weights and their gradients (twice the
  parameter bytes) plus every layer's output for one batch, refused when it exceeds the
  machine's physical memory (``SC_PHYS_PAGES * SC_PAGE_SIZE``; optimizer state comes on top).

Ops torch cannot run on ``meta`` (data-dependent ones) end the dry run without a verdict: the
real run then reports what it finds, as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.parameter import is_lazy

from petri.configs import ExperimentConfig
from petri.errors import ConfigError, PetriError
from petri.layers import SubGraph
from petri.models import Classifier
from petri.modes import ModeKeys

__all__ = ["dry_run_model", "physical_memory"]

GRAPH = "model_config.graph_config"


def physical_memory() -> int | None:
    """Bytes of RAM of this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def dry_run_model(config: ExperimentConfig, model_class: type, inputs: list[Any]) -> None:
    """Build ``config``'s model on ``meta``, run one input-shaped batch through it and check
    sizes, shapes and classes (see the module docstring).

    Raises:
        ConfigError: the model does not fit the data, or not in this machine's memory.
    """
    check_labels(config, inputs)
    _check_layers(config)
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        model = _meta("model_config", config.model.module, lambda: _build(config, model_class))
        if model is None:
            return
        sizes = _Sizes()
        for key, mode, sample in _meta_samples(inputs):
            outputs = _forward(model, sample, config, sizes, _Pass(key, mode))
            if outputs is None:
                break
            _check_outputs(config, model, outputs, inputs)
        _check_memory(model, config, sizes)


# ------------------------------------------------------------------------- labels
def check_labels(config: ExperimentConfig, inputs: list[Any]) -> None:
    """``model_config.n_classes`` against the classes the inputs say they have: their label
    arrays (in-memory and bundled datasets) or a record dataset's ``meta_data`` num_classes."""
    n_classes = config.model.n_classes
    if n_classes is None:
        return
    keys = ("train_input_data_config", "eval_input_data_config")
    for key, input_fn in zip(keys, inputs):
        seen = _classes_in(input_fn)
        if seen is None:
            continue
        count, how = seen
        if count > n_classes:
            raise ConfigError(
                f"Invalid value for `model_config.n_classes`: received {n_classes}. The labels "
                f"of {key} {how}, so n_classes must be at least {count}.",
                "model_config.n_classes",
                n_classes,
            )


def _classes_in(input_fn: Any) -> tuple[int, str] | None:
    """``(classes needed, how the data says so)`` or None when the input does not tell."""
    labels = getattr(input_fn, "labels", None)
    if isinstance(labels, torch.Tensor) and labels.numel():
        if labels.is_floating_point():
            if labels.dim() == 2 and labels.shape[1] > 1:  # one-hot rows
                return int(labels.shape[1]), f"are one-hot rows of {labels.shape[1]} classes"
            return None
        if labels.dtype == torch.bool:
            return None
        low, high = int(labels.min()), int(labels.max())
        if low < 0:
            return high + 1, f"include {low}, and class indices start at 0"
        return high + 1, f"go from {low} to {high}"
    meta = getattr(input_fn, "meta_data", None)
    num_classes = meta.get("num_classes") if isinstance(meta, dict) else None
    if isinstance(num_classes, int) and not isinstance(num_classes, bool):
        return num_classes, f"have {num_classes} classes (num_classes in its meta_data.json)"
    return None


# --------------------------------------------------------------------------- build
def _meta(path: str, value: Any, run: Callable[[], Any]) -> Any:
    """``run()``; what it raises becomes a ConfigError naming ``path`` (None when torch
    cannot tell on ``meta``)."""
    try:
        return run()
    except PetriError:
        raise
    except Exception as error:
        if _unknowable(error):
            return None
        raise ConfigError(
            f"Invalid value for `{path}`: received {_short(value)}. {_reason(error)}",
            path,
            value,
        ) from error


def _unknowable(error: Exception) -> bool:
    """An op torch cannot run without data (not a fault of the config)."""
    return isinstance(error, NotImplementedError) or "meta" in str(error).lower()


def _reason(error: Exception) -> str:
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return text.splitlines()[0][:400] if text else type(error).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_layers(config: ExperimentConfig) -> None:
    """Build each layer of the definition on its own, so a failure names its index."""
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        for key, graph_config in config.model.graphs():
            for index, (layer, kwargs) in enumerate(graph_config.definition):
                path = f"model_config.{key}.definition[{index}]"
                _meta(path, [layer, kwargs], lambda e=(layer, dict(kwargs)): SubGraph([e]))


def _build(config: ExperimentConfig, model_class: type) -> nn.Module:
    return model_class.from_config(config.model)


# ------------------------------------------------------------------------- forward
@dataclass
class _Sizes:
    """Bytes of each graph layer's output for one batch (the larger of the training and the
    evaluation batch), by (network, definition index)."""

    activations: dict[tuple[int, int], int] = field(default_factory=dict)


def _meta_samples(inputs: list[Any]) -> list[tuple[str, str, tuple[Any, Any]]]:
    """``(input key, mode, (features, labels))``: meta tensors shaped like one batch of each
    in-memory input (training, then evaluation); record pipelines read files and give none."""
    keys = (
        ("train_input_data_config", ModeKeys.TRAIN),
        ("eval_input_data_config", ModeKeys.EVAL),
    )
    samples = []
    for (key, mode), input_fn in zip(keys, inputs):
        features = getattr(input_fn, "features", None)
        batch_size = getattr(input_fn, "batch_size", None)
        if features is None or not isinstance(batch_size, int):
            continue
        labels = getattr(input_fn, "labels", None)
        size = min(batch_size, int(getattr(input_fn, "num_examples", batch_size)))
        if isinstance(features, dict):
            meta_features: Any = {k: _like(v, size) for k, v in features.items()}
        else:
            meta_features = _like(features, size)
        samples.append(
            (key, mode, (meta_features, None if labels is None else _like(labels, size)))
        )
    return samples


def _like(tensor: torch.Tensor, size: int) -> torch.Tensor:
    return torch.empty((size, *tensor.shape[1:]), dtype=tensor.dtype, device="meta")


@dataclass
class _Part:
    """One network of the model: its key path, its layers and their definition."""

    path: str
    graph: SubGraph
    definition: list[Any]


def _parts_of(model: nn.Module, config: ExperimentConfig) -> list[_Part]:
    """The model's networks as built from the config (a generator has two)."""
    parts = []
    for key, graph_config in config.model.graphs():
        graph = getattr(model, graph_config.name, None)
        if key == "encoder_config" and graph_config.name == "graph":
            graph = getattr(model, "encoder", None)
        elif key == "decoder_config" and graph_config.name == "graph":
            graph = getattr(model, "decoder", None)
        if isinstance(graph, SubGraph):
            parts.append(_Part(f"model_config.{key}", graph, list(graph_config.definition)))
    return parts


@dataclass
class _Pass:
    """Which input a dry pass feeds, in which mode."""

    key: str
    mode: str


def _forward(
    model: nn.Module, sample: tuple[Any, Any], config: ExperimentConfig, sizes: _Sizes, at: _Pass
) -> Any:
    """The graph's outputs for ``sample`` (None when torch cannot tell on meta); the layer
    running when something fails is named in the error, and in evaluation every metric takes
    the outputs once."""
    parts = _parts_of(model, config)
    running: list[tuple[int, int]] = []
    outputs: list[Any] = []
    handles = []
    for number, part in enumerate(parts):
        for index, layer in enumerate(part.graph):
            at_layer = (number, index)
            handles.append(
                layer.register_forward_pre_hook(_starts(running, at_layer), prepend=True)
            )
            handles.append(layer.register_forward_hook(_ends(running, at_layer, sizes)))
    if parts:  # the last network gives the model's outputs
        handles.append(
            parts[-1].graph.register_forward_hook(lambda m, a, out: outputs.append(out))
        )
    features, labels = sample
    try:
        spec = model(features, labels, mode=at.mode)
    except PetriError:
        raise
    except Exception as error:
        if _unknowable(error):
            return None
        _raise_for(error, parts, running, outputs, sample, at)
    finally:
        for handle in handles:
            handle.remove()
    if not _metrics_take(spec, model, config, at):
        return None
    return outputs[-1] if outputs else None


def _raise_for(
    error: Exception,
    parts: list[_Part],
    running: list[tuple[int, int]],
    outputs: list[Any],
    sample: tuple[Any, Any],
    at: _Pass,
) -> None:
    """The ConfigError for a failed dry pass: the layer that was running, else the graph's
    fit to the labels and the loss."""
    features, labels = sample
    if running:
        number, index = running[-1]
        part = parts[number]
        path = f"{part.path}.definition[{index}]"
        raise ConfigError(
            f"Invalid value for `{path}`: received {_short(list(part.definition[index]))}. The "
            f"layer cannot take its input of shape {_shape_in(part.graph, index, features)} (a "
            f"batch of {at.key}): {_reason(error)}",
            path,
            part.definition[index],
        ) from error
    given = f" of shape {_shape(outputs[-1])}" if outputs else ""
    path = parts[-1].path if parts else GRAPH
    raise ConfigError(
        f"Invalid value for `{path}`: the graph's output{given} does not fit the labels of "
        f"shape {_shape(labels)} ({at.key}) or the loss: {_reason(error)}",
        path,
        parts[-1].definition if parts else None,
    ) from error


def _metrics_take(spec: Any, model: nn.Module, config: ExperimentConfig, at: _Pass) -> bool:
    """Each evaluation metric updated once with the pass's outputs and labels (False when
    torch cannot tell on meta)."""
    ops = getattr(spec, "eval_metric_ops", None) or {}
    names = list(getattr(model, "metrics", None) or ops)
    for name, op in ops.items():
        if not isinstance(op, tuple):
            continue
        metric, args = op
        index = names.index(name) if name in names else 0
        path = f"model_config.eval_metrics_config[{index}]"
        try:
            metric.reset()
            metric.update(*args)
        except PetriError:
            raise
        except Exception as error:
            if _unknowable(error):
                return False
            raise ConfigError(
                f"Invalid value for `{path}`: received {name!r}. The metric cannot take the "
                f"model's outputs and the labels of {at.key}: {_reason(error)}",
                path,
                name,
            ) from error
        finally:
            metric.reset()
    return True


def _starts(running: list[tuple[int, int]], index: tuple[int, int]) -> Callable[..., None]:
    def hook(module: nn.Module, args: Any) -> None:
        running.append(index)
        module._dry_run_input_shape = _shape(args[0] if args else None)  # type: ignore[attr-defined]

    return hook


def _ends(
    running: list[tuple[int, int]], index: tuple[int, int], sizes: _Sizes
) -> Callable[..., None]:
    def hook(module: nn.Module, args: Any, output: Any) -> None:
        running.pop()
        sizes.activations[index] = max(sizes.activations.get(index, 0), _bytes(output))

    return hook


def _shape_in(graph: SubGraph | None, index: int, features: Any) -> str:
    if graph is None:
        return _shape(features)
    return str(getattr(graph[index], "_dry_run_input_shape", "?"))


def _shape(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return str(tuple(value.shape))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_shape(v)}" for k, v in value.items()) + "}"
    return type(value).__name__


def _bytes(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_bytes(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(_bytes(v) for v in value)
    return 0


# ---------------------------------------------------------------------- verdicts
def _check_outputs(
    config: ExperimentConfig, model: nn.Module, outputs: Any, inputs: list[Any]
) -> None:
    """A classifier's outputs per example against ``n_classes`` and the labels' classes (one
    output is a binary classifier's)."""
    if not isinstance(model, Classifier) or not isinstance(outputs, torch.Tensor):
        return
    if outputs.dim() < 2:
        return
    width = int(outputs.shape[-1])
    n_classes = config.model.n_classes
    if n_classes is not None and width != n_classes and not (width == 1 and n_classes <= 2):
        raise ConfigError(
            f"Invalid value for `model_config.n_classes`: received {n_classes}. The graph's last "
            f"layer gives {width} outputs per example (one per class); make them agree.",
            "model_config.n_classes",
            n_classes,
        )
    for key, input_fn in zip(("train_input_data_config", "eval_input_data_config"), inputs):
        seen = _classes_in(input_fn)
        if seen is not None and seen[0] > max(width, 2):
            definition = config.model.graph_config.definition
            path = f"{GRAPH}.definition[{len(definition) - 1}]" if definition else GRAPH
            raise ConfigError(
                f"Invalid value for `{path}`: the graph's last layer gives {width} output(s) "
                f"per example, but the labels of {key} {seen[1]}: a classifier needs one "
                f"output per class ({seen[0]}).",
                path,
                definition[-1] if definition else None,
            )


def _parameter_bytes(module: nn.Module) -> int:
    tensors = [*module.parameters(), *module.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors if not is_lazy(t))


def _check_memory(model: nn.Module, config: ExperimentConfig, sizes: _Sizes) -> None:
    """Refuse a model whose weights, gradients and activations exceed the machine's RAM."""
    memory = physical_memory()
    if memory is None:
        return
    total = 2 * _parameter_bytes(model) + sum(sizes.activations.values())
    if total <= memory:
        return
    path, layer_bytes, value = GRAPH, total, None
    shares = {
        (number, index): (2 * _parameter_bytes(layer) + sizes.activations.get((number, index), 0))
        for number, part in enumerate(_parts_of(model, config))
        for index, layer in enumerate(part.graph)
    }
    if shares:
        number, index = max(shares, key=shares.__getitem__)
        part = _parts_of(model, config)[number]
        path, layer_bytes = f"{part.path}.definition[{index}]", shares[(number, index)]
        value = list(part.definition[index])
    raise ConfigError(
        f"Invalid value for `{path}`: received {_short(value)}. The model needs about "
        f"{_size(total)} to train (weights, gradients and one batch of layer outputs; "
        f"{_size(layer_bytes)} of it for this layer), more than this machine's "
        f"{_size(memory)} of memory. Make the layer smaller.",
        path,
        value,
    )


def _size(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if count < 1024 or unit == "PB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} PB"  # pragma: no cover
