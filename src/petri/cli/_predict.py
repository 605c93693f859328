"""``petri predict``: a trained run's predictions for the features in a ``.npy``/``.npz``
file, or a generator's samples, written to a ``.npy``/``.npz`` file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from petri.errors import PetriError

__all__ = ["predict"]

_MAIN_KEYS = {"encode": ("codes",), "generate": ("results",), "infer": ("results", "classes")}


@click.command("predict")
@click.argument("run_spec", metavar="RUN")
@click.option(
    "--mode",
    type=click.Choice(["infer", "encode", "generate"]),
    default="infer",
    show_default=True,
    help="infer: the model's predictions; a generator also encodes (features to codes) and "
    "generates (codes to features).",
)
@click.option("--input", "input_path", default=None, help="Features: a .npy file, or .npz.")
@click.option(
    "--count", default=None, type=click.IntRange(min=1), help="generate: draws from the prior."
)
@click.option("--seed", default=None, type=int, help="generate --count: seed of the draws.")
@click.option("--output", "output_path", required=True, help="Where to write: .npy or .npz.")
@click.option(
    "--key", default=None, help="The prediction written to a .npy (default: the main one)."
)
@click.option("--save-dir", default="petri_logs", show_default=True, help="Where runs are kept.")
@click.option("--checkpoint", default=None, help="Checkpoint file (default: newest).")
def predict(
    run_spec: str,
    mode: str,
    input_path: str | None,
    count: int | None,
    seed: int | None,
    output_path: str,
    key: str | None,
    save_dir: str,
    checkpoint: str | None,
) -> None:
    """Write a trained run's predictions for the features in --input to --output.

    RUN is a run folder, NAME, NAME:VERSION or NAME/version_N. A .npz --output holds every
    prediction (logits, probabilities and classes of a classifier; results and codes of a
    generator); a .npy one holds --key, by default the main one. `--mode generate --count N`
    draws N samples from a variational generator's prior.
    """
    # loaded when the command runs (torch is heavy): `petri --help` stays light
    import numpy as np

    from petri.experiments import predict_run
    from petri.tracking.query import resolve_run

    output = Path(output_path)
    try:
        if output.suffix not in (".npy", ".npz"):
            raise ValueError(f"--output {output_path!r} must end in .npy or .npz.")
        if not output.parent.is_dir():
            raise ValueError(
                f"--output {output_path!r}: folder {str(output.parent)!r} does not exist."
            )
        features = _read_features(input_path) if input_path is not None else None
        predictions = predict_run(
            resolve_run(run_spec, save_dir).path, features, mode, count, seed, checkpoint
        )
        chosen = predictions if output.suffix == ".npz" else _pick(predictions, key, mode)
        _write(output, chosen, np)
    except (FileNotFoundError, ValueError, PetriError) as error:
        click.echo(f"petri: error: {error}", err=True)
        sys.exit(2)
    shapes = ", ".join(
        f"{name or key or 'predictions'} {value.shape}" for name, value in chosen.items()
    )
    click.echo(f"{output}: {shapes}")


def _read_features(path: str) -> Any:
    """The array of a ``.npy``, or the dict of arrays of a ``.npz`` (one array: that array)."""
    import numpy as np

    if not Path(path).is_file():
        raise FileNotFoundError(f"--input {path!r} does not exist.")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ValueError(f"--input {path!r} is not a .npy or .npz array file: {error}") from None
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        arrays = {name: loaded[name] for name in loaded.files}
    return next(iter(arrays.values())) if len(arrays) == 1 else arrays


def _pick(predictions: dict[str, Any], key: str | None, mode: str) -> dict[str, Any]:
    """The one prediction a .npy file holds: ``key``, else the only or the main one."""
    if key is not None:
        if key not in predictions:
            raise ValueError(
                f"--key {key!r} is not a prediction; there are {sorted(predictions)}."
            )
        return {key: predictions[key]}
    if len(predictions) == 1:
        return predictions
    for name in _MAIN_KEYS[mode]:
        if name in predictions:
            return {name: predictions[name]}
    raise ValueError(
        f"The model predicts {sorted(predictions)}; choose one with --key, or write them all "
        "to a .npz file."
    )


def _write(output: Path, arrays: dict[str, Any], np: Any) -> None:
    from petri._fsync import replace_atomically

    if output.suffix == ".npz":
        replace_atomically(output, lambda file: np.savez(file, **arrays), binary=True)
    else:
        (array,) = arrays.values()
        replace_atomically(output, lambda file: np.save(file, array), binary=True)
