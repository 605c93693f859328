"""A run's ``config.yaml``: written so that it rebuilds the run (arrays given inline beside it as
``.npy`` files, DataFrames as Parquet, classes as ``module:qualname``), and compared when the
run is resumed, so a resumed run keeps the config it began with."""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from petri._fsync import replace_atomically
from petri._plain import to_plain
from petri.data.pandas_input import (
    FRAME_SUFFIXES,
    frame_fingerprint,
    is_frame,
    read_frame,
    save_frame,
)
from petri.errors import ConfigError, PetriError
from petri.experiments._validate import AnyExperimentConfig

__all__ = ["ARRAYS_FOLDER", "CONFIG_FILE", "check_unchanged", "write_config"]

CONFIG_FILE = "config.yaml"
ARRAYS_FOLDER = "config_arrays"


def write_config(directory: Path, config: AnyExperimentConfig) -> Path:
    """``config.yaml`` in ``directory``, written atomically; arrays given inline go to
    ``config_arrays/<key path>.npy`` beside it and the file names them, so reading it back
    (``petri.experiments.validate_config(path)``) rebuilds the same experiment. Classes become
    ``module:qualname``."""
    directory.mkdir(parents=True, exist_ok=True)

    def array_file(path: str, array: Any) -> str:
        target = directory / ARRAYS_FOLDER / f"{path}.npy"
        target.parent.mkdir(parents=True, exist_ok=True)
        if is_frame(array):  # input_type pandas: the table as a file pandas input reads
            return str(save_frame(array, target.with_suffix("")).resolve())
        values = array.detach().cpu().numpy() if hasattr(array, "detach") else np.asarray(array)
        replace_atomically(
            target, lambda file: np.save(file, values, allow_pickle=False), binary=True
        )
        return str(target.resolve())

    text = yaml.safe_dump(to_plain(config.to_dict(), arrays=array_file), sort_keys=False)
    path = directory / CONFIG_FILE
    replace_atomically(path, lambda file: file.write(text))
    return path


_MAY_CHANGE_ON_RESUME = (
    "version",
    "output_dir",
    "schedule",
    "run_config.verbose",
    "run_config.host_memory",
)


def check_unchanged(config: AnyExperimentConfig, output_dir: Any, save_dir: Path) -> None:
    """Refuse to resume a run under a config other than the one in its config.yaml."""
    if output_dir is not None:
        directory = Path(output_dir)
    elif config.version is not None:
        directory = save_dir / config.name / f"version_{config.version}"
    else:
        return  # a new version
    path = directory / CONFIG_FILE
    if not path.is_file():
        return
    try:
        stored = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        before = _comparable(_with_defaults(stored, config), directory)
    except (OSError, ValueError, yaml.YAMLError) as error:  # ValueError: bad UTF-8, a bad array
        raise ConfigError(
            f"{path} is damaged ({type(error).__name__}: {str(error)[:200]}), so this resume "
            "cannot be checked against the config the run began with. Restore it, or pass "
            "--allow-config-change (allow_config_change=True) to resume and write this config.",
            "version",
            config.version,
        ) from None
    if not isinstance(before, dict):
        raise ConfigError(
            f"{path} is damaged: it holds a {type(before).__name__}, not a config.",
            "version",
            config.version,
        )
    after = _comparable(to_plain(config.to_dict(), arrays=_array_fingerprint), directory)
    if before == after:
        return
    diff = "".join(
        difflib.unified_diff(
            yaml.safe_dump(before, sort_keys=True).splitlines(keepends=True),
            yaml.safe_dump(after, sort_keys=True).splitlines(keepends=True),
            fromfile=str(path),
            tofile="this config",
        )
    )
    raise ConfigError(
        f"The run in {str(directory)!r} was started with another config; resuming it with this "
        f"one would change its record. Differences:\n{diff}Start a new version (drop "
        "`version`/--output-dir), or pass --allow-config-change (allow_config_change=True) to "
        "resume anyway.",
        "version",
        config.version,
    )


def _with_defaults(stored: Any, config: AnyExperimentConfig) -> Any:
    """The stored config with the defaults of keys it predates filled in (a run begun before
    an upgrade that added config keys resumes); as stored when it no longer validates."""
    if not isinstance(stored, dict):
        return stored
    try:
        return to_plain(type(config).from_dict(stored).to_dict(), arrays=_array_fingerprint)
    except (PetriError, ValueError, TypeError):
        return stored


def _comparable(values: Any, directory: Path) -> Any:
    """Plain config data with arrays (inline, or kept in ``config_arrays/``) as fingerprints."""
    arrays = (directory / ARRAYS_FOLDER).resolve()

    def walk(value: Any, path: str = "") -> Any:
        if isinstance(value, dict):
            paths = {k: f"{path}.{k}" if path else k for k in value}
            return {
                k: walk(v, paths[k])
                for k, v in value.items()
                if paths[k] not in _MAY_CHANGE_ON_RESUME
            }
        if isinstance(value, list):
            return [walk(v, f"{path}[]") for v in value]
        if isinstance(value, str) and Path(value).parent == arrays:
            if value.endswith(".npy"):
                return _fingerprint(np.load(value, allow_pickle=False))
            if value.endswith(FRAME_SUFFIXES):
                return frame_fingerprint(read_frame(value, path))
        return value

    return walk(values)


def _array_fingerprint(path: str, array: Any) -> str:
    if is_frame(array):
        return frame_fingerprint(array)
    values = array.detach().cpu().numpy() if hasattr(array, "detach") else np.asarray(array)
    return _fingerprint(values)


def _fingerprint(array: np.ndarray) -> str:
    digest = hashlib.sha1(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]
    return f"<array {tuple(array.shape)} {array.dtype} sha1:{digest}>"
