"""``Processor``: one transformation of one feature of one example, and building them by name."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from petri.errors import ConfigError, UnknownNameError
from petri.registry import Registry

__all__ = ["Processor", "apply_processors", "build_processors", "split_deterministic"]


class Processor:
    """Base class of the per-feature processors (the seed library's image ops).

    Contract: ``__call__(value, rng)`` receives one example's value (an image is a float
    ``[channels, height, width]`` tensor) and returns the new value. It must draw randomness only
    from ``rng``, a ``numpy.random.Generator`` owned by the pipeline: the generator's state is
    saved in checkpoints, so a resumed run repeats the same augmentations. It must return a new
    tensor (or a view) rather than modify ``value`` in place: decoded examples may be cached and
    reused. Processors run in the reader processes; keep them picklable (plain attributes).
    """

    deterministic: bool = False
    """True when the output depends on the input alone (never on ``rng``): a pipeline with
    ``cache`` then keeps this processor's output instead of recomputing it every epoch. False by
    default, so a custom processor that draws from ``rng`` is never frozen by a cache."""

    def __call__(self, value: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (what a ``definition`` entry holds)."""
        parameters = inspect.signature(type(self).__init__).parameters.values()
        plain = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        return {
            p.name: getattr(self, p.name)
            for p in parameters
            if p.name != "self" and p.kind in plain
        }

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


def _entry(item: Any, registry: Registry[Any], path: str) -> Processor:
    """One ``definition`` entry: ``[name, kwargs]``, ``name``, ``{name: kwargs}`` or an object."""
    if isinstance(item, Processor):
        return item
    kwargs: dict[str, Any] = {}
    if isinstance(item, Sequence) and not isinstance(item, str):
        if not 1 <= len(item) <= 2:
            raise ConfigError(
                f"`{path}` must be [name, {{arguments}}]; received {item!r}.", path, item
            )
        identifier = item[0]
        kwargs = dict(item[1]) if len(item) == 2 and item[1] else {}
    elif isinstance(item, Mapping):
        if "name" in item or "module" in item:
            kwargs = dict(item)
            identifier = kwargs.pop("name", None) or kwargs.pop("module")
            kwargs.pop("module", None)
        elif len(item) == 1:
            identifier, arguments = next(iter(item.items()))
            kwargs = dict(arguments or {})
        else:
            raise ConfigError(
                f"`{path}` must name one processor ({{'Resize': {{...}}}} or "
                f"{{'name': 'Resize', ...}}); received {item!r}.",
                path,
                item,
            )
    else:
        identifier = item
    try:
        cls = registry.get(identifier)
    except UnknownNameError as error:
        raise ConfigError(f"`{path}`: {error}", path, identifier) from None
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise ConfigError(
            f"`{path}`: {getattr(cls, '__name__', cls)} does not accept {kwargs!r}: {error}",
            path,
            kwargs,
        ) from None


def build_processors(
    definition: Any,
    registry: Registry[Any],
    default_feature: str | None = None,
    path: str = "pipeline_config.definition",
) -> dict[str, list[Processor]]:
    """Per-feature processor lists from a ``definition``.

    ``definition`` maps a feature to its list of entries (``{"image": [["Resize", {...}]]}``),
    also in the seed library's form ``{"image": {"definition": [...]}}``; a bare list applies to
    ``default_feature`` (``image`` for image pipelines).

    Raises:
        ConfigError: an entry is malformed, names an unknown processor or has wrong arguments.
    """
    if definition is None:
        return {}
    if isinstance(definition, Sequence) and not isinstance(definition, str):
        if default_feature is None:
            raise ConfigError(
                f"`{path}` is a list but this pipeline has no default feature; map feature "
                "names to lists instead: {'x': [[...], ...]}.",
                path,
                definition,
            )
        definition = {default_feature: definition}
    if not isinstance(definition, Mapping):
        raise ConfigError(
            f"`{path}` must map feature names to processor lists; received "
            f"{type(definition).__name__}.",
            path,
            definition,
        )
    built: dict[str, list[Processor]] = {}
    for feature, entries in definition.items():
        if isinstance(entries, Mapping) and "definition" in entries:
            entries = entries["definition"]
        if isinstance(entries, str) or not isinstance(entries, Sequence):
            entries = [entries]
        built[str(feature)] = [
            _entry(item, registry, f"{path}.{feature}[{index}]")
            for index, item in enumerate(entries)
        ]
    return built


def apply_processors(
    example: dict[str, Any], processors: Mapping[str, list[Processor]], rng: np.random.Generator
) -> dict[str, Any]:
    """Run each feature's processors in order on one decoded example (in place).

    Raises:
        KeyError: a processed feature is not in the example.
    """
    for feature, chain in processors.items():
        if feature not in example:
            raise KeyError(
                f"pipeline_config.definition processes feature {feature!r}, but the examples "
                f"have {sorted(example)}."
            )
        value = example[feature]
        if not isinstance(value, torch.Tensor):
            value = torch.from_numpy(np.asarray(value))
        for processor in chain:
            value = processor(value, rng)
        example[feature] = value
    return example


def split_deterministic(
    processors: Mapping[str, list[Processor]],
) -> tuple[dict[str, list[Processor]], dict[str, list[Processor]]]:
    """Each feature's chain cut after its leading deterministic processors.

    Returns ``(fixed, rest)``: running ``fixed`` then ``rest`` equals running the whole chains,
    and ``fixed``'s output may be cached since it draws nothing from the generator.
    """
    fixed: dict[str, list[Processor]] = {}
    rest: dict[str, list[Processor]] = {}
    for feature, chain in processors.items():
        cut = 0
        while cut < len(chain) and chain[cut].deterministic:
            cut += 1
        if cut:
            fixed[feature] = list(chain[:cut])
        if cut < len(chain):
            rest[feature] = list(chain[cut:])
    return fixed, rest
