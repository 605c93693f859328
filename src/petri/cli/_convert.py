"""``petri convert``: image folders, CSV files and numpy arrays to sharded TFRecords plus
``meta_data.json``, split into train/eval, through the same converters as the Python API
(``petri.data.convert``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

import click

from petri.errors import PetriError

__all__ = ["convert"]


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--seed", default=0, show_default=True, help="Shuffling seed of the split."
    )(command)
    command = click.option(
        "--split",
        default="train=0.8,eval=0.2",
        show_default=True,
        help="Named fractions adding up to 1; records are <name>_<split>-*.",
    )(command)
    command = click.option(
        "--shards",
        default=1,
        show_default=True,
        type=click.IntRange(min=1),
        help="Files per split.",
    )(command)
    return command


@click.group("convert")
def convert() -> None:
    """Write a dataset as sharded TFRecords plus meta_data.json (into a new folder OUT)."""


@convert.command("images")
@click.argument("folder")
@click.argument("out")
@_common
def images_command(folder: str, out: str, shards: int, split: str, seed: int) -> None:
    """Images in FOLDER/<class>/* (a class per sub-folder) as image records, read back by
    TFRecordImagePipeline."""
    from petri.data.convert import convert_images

    _run(lambda shares: convert_images(folder, out, shards, shares, seed, _progress), split, out)


@convert.command("csv")
@click.argument("file")
@click.argument("out")
@click.option("--label", required=True, help="The label column; every other column is a feature.")
@click.option(
    "--one-hot",
    "one_hot",
    multiple=True,
    metavar="COLUMN",
    help="A text feature column to write as one indicator per category (repeatable).",
)
@_common
def csv_command(
    file: str, out: str, label: str, one_hot: tuple[str, ...], shards: int, split: str, seed: int
) -> None:
    """A CSV file with a header as records of x (the feature columns: numbers, and text columns
    named by --one-hot as indicators) and y (--label)."""
    from petri.data.convert import convert_csv

    _run(
        lambda shares: convert_csv(
            file, out, label, shards, shares, seed, _progress, one_hot=one_hot
        ),
        split,
        out,
    )


@convert.command("numpy")
@click.argument("arrays", nargs=-1, required=True, metavar="X.npy [Y.npy] OUT")
@_common
def numpy_command(arrays: tuple[str, ...], shards: int, split: str, seed: int) -> None:
    """Features X.npy (and labels Y.npy) as records of x and y."""
    from petri.data.convert import convert_numpy

    if len(arrays) not in (2, 3):
        _fail(ValueError("petri convert numpy takes X.npy [Y.npy] OUT."))
    *inputs, out = arrays
    y = inputs[1] if len(inputs) == 2 else None
    _run(
        lambda shares: convert_numpy(inputs[0], y, out, shards, shares, seed, progress=_progress),
        split,
        out,
    )


def _run(convert_with: Callable[[Any], dict[str, Any]], split: str, out: str) -> None:
    from petri.data.convert import parse_split

    try:
        meta = convert_with(parse_split(split))
    except (ValueError, OSError, PetriError) as error:
        _fail(error)
    counts = ", ".join(f"{name} {count}" for name, count in meta.get("num_samples", {}).items())
    click.echo(f"{out}: {counts} examples in {len(meta.get('shards', {}))} files, meta_data.json")


def _progress(items: Iterable[Any], total: int, what: str) -> Iterable[Any]:
    """A progress bar on stderr (none when stderr is not a terminal)."""
    from tqdm import tqdm

    return tqdm(items, total=total, desc=what, unit="example", file=sys.stderr, disable=None)


def _fail(error: BaseException) -> None:
    click.echo(f"petri: error: {error}", err=True)
    sys.exit(2)
