"""A config as run tags: every key flattened (``model_config/optimizer_config/learning_rate``),
and which of them hold the config's default, so ``petri show`` and TensorBoard's HParams tab can
show what a user chose instead of ~100 keys nobody set."""

from __future__ import annotations

from typing import Any

from petri.configs import BaseConfig
from petri.experiments.experiment import flatten_tags

__all__ = ["UNTAGGED_KEYS", "config_tags"]

UNTAGGED_KEYS = ("version", "output_dir")
"""Config keys that say where a run is, not what it is: its folder says that already, and a
resume may change them (``--set version=0`` would otherwise add a ``version`` tag)."""


def config_tags(config: BaseConfig) -> tuple[dict[str, Any], set[str]]:
    """The tags of ``config`` and the keys among them whose value is the field's default.

    A field at its default marks every key flattened from it; a nested config that differs is
    looked into, so ``learning_rate: 0.01`` shows while the optimizer's other defaults do not.
    Dicts and lists are one value each: when they differ, all their keys show.
    """
    tags = flatten_tags(config)
    for key in UNTAGGED_KEYS:
        tags.pop(key, None)
    return tags, _default_keys(config, tags, "")


def _default_keys(config: BaseConfig, tags: dict[str, Any], prefix: str) -> set[str]:
    changed = config.changed_fields()
    defaults: set[str] = set()
    for name, field in type(config).model_fields.items():
        key = f"{prefix}{field.alias or name}"
        value = getattr(config, name)
        if name not in changed:
            defaults.update(k for k in tags if k == key or k.startswith(f"{key}/"))
        elif isinstance(value, BaseConfig):
            defaults |= _default_keys(value, tags, f"{key}/")
    return defaults
