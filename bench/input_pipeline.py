"""Input-pipeline throughput: digits TFRecords through Petri's pipeline vs in-memory baselines.

Measures examples/s of:

- ``tensor slice``: batches indexed out of one decoded in-memory tensor (the floor: no decoding);
- ``DataLoader``: ``torch.utils.data.DataLoader`` over a TensorDataset of the same decoded data;
- ``TFRecordImagePipeline``: the digits records (PNG-encoded 8x8 images, 4 shards), shuffled,
  decoded in this process (``num_threads=1``) and in 2 reader processes (``num_threads=2``);
- the same pipeline with a ``Resize(28, 28, bilinear)`` processor, i.e. LeNet-sized inputs;
- the in-process pipeline with ``params.cache`` (decoded examples kept after the first epoch);

then trains the seed's LeNet (Conv 32 5x5, pool, Conv 64 5x5, pool, FC 1024 tanh, FC 10; Adam)
on 28x28 batches of 64, fed from memory and from the pipeline, and reports the pipeline's
throughput as a multiple of the LeNet's training samples/s (target >= 5x) and the training
slowdown when the pipeline feeds it (target: none).

Measurements of one kind alternate across rounds and the median is reported, so a machine shared
with other work skews all of them alike.

Run:  .venv/bin/python bench/input_pipeline.py [--seconds 2] [--rounds 3] [--torch-threads N]
      [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from petri.data import create_input_fn
from petri.datasets import digits

BATCH = 64


def _rate(next_batch: Callable[[], int], seconds: float) -> float:
    """Examples/s of calling ``next_batch`` (returns the batch's size) for ``seconds``."""
    next_batch()  # warm-up: first batch, lazy starts
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        count += next_batch()
    return count / elapsed


def _tensor_slice(images: torch.Tensor, labels: torch.Tensor) -> Callable[[], int]:
    generator = torch.Generator().manual_seed(0)
    state = {"order": torch.randperm(len(images), generator=generator), "at": 0}

    def next_batch() -> int:
        if state["at"] + BATCH > len(images):
            state["order"], state["at"] = torch.randperm(len(images), generator=generator), 0
        index = state["order"][state["at"] : state["at"] + BATCH]
        state["at"] += BATCH
        _, y = images[index], labels[index]
        return len(y)

    return next_batch


def _forever(make: Callable[[], Iterator[Any]]) -> Callable[[], Any]:
    holder = {"it": make()}

    def next_item() -> Any:
        try:
            return next(holder["it"])
        except StopIteration:
            holder["it"] = make()
            return next(holder["it"])

    return next_item


def _loader(images: torch.Tensor, labels: torch.Tensor) -> Callable[[], int]:
    dataset = torch.utils.data.TensorDataset(images, labels)
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True, drop_last=True)
    next_item = _forever(lambda: iter(loader))
    return lambda: len(next_item()[1])


def _pipeline(
    folder: str, threads: int, resize: bool, cache: bool = False
) -> tuple[Callable[[], int], Any]:
    config = {
        "module": "TFRecordImagePipeline",
        "batch_size": BATCH,
        "num_epochs": None,
        "shuffle": True,
        "num_threads": threads,
        "params": {
            "data_files": f"{folder}/digits_train-*",
            "meta_data_file": f"{folder}/meta_data.json",
            "cache": cache,
        },
    }
    if resize:
        config["definition"] = [["Resize", {"height": 28, "width": 28, "method": "bilinear"}]]
    iterator = create_input_fn(config, seed=0)()
    return (lambda: len(next(iterator)[1])), iterator


def lenet() -> nn.Module:
    """The seed's LeNet for 1x28x28 inputs (Petri's Conv2d pads 'same')."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 1024), nn.Tanh(), nn.Linear(1024, 10),
    )  # fmt: skip


def _trainer(batches: Callable[[], tuple[torch.Tensor, torch.Tensor]]) -> Callable[[], int]:
    torch.manual_seed(0)
    model = lenet()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> int:
        x, y = batches()
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return len(y)

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--torch-threads", type=int, help="torch intra-op threads (default: torch's choice)"
    )
    args = parser.parse_args()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)

    folder = digits.prepare(tempfile.mkdtemp(prefix="petri_bench_digits_"))
    (x_train, y_train), _ = digits.load_data()
    images, labels = torch.from_numpy(x_train), torch.from_numpy(y_train)
    big = nn.functional.interpolate(images, size=(28, 28), mode="bilinear")

    iterators = []
    readers: dict[str, Callable[[], int]] = {
        "tensor slice (floor)": _tensor_slice(images, labels),
        "DataLoader (num_workers=0)": _loader(images, labels),
    }
    for threads in (1, 2):
        for resize in (False, True):
            name = f"TFRecordImagePipeline num_threads={threads}" + (
                " +Resize 28" if resize else ""
            )
            readers[name], iterator = _pipeline(folder, threads, resize)
            iterators.append(iterator)
    for resize in (False, True):
        name = "TFRecordImagePipeline num_threads=1 cache" + (" +Resize 28" if resize else "")
        readers[name], iterator = _pipeline(folder, 1, resize, cache=True)
        iterators.append(iterator)

    memory = _forever(
        lambda: iter(
            [
                (big[i : i + BATCH], labels[i : i + BATCH])
                for i in range(0, len(big) - BATCH + 1, BATCH)
            ]
        )
    )

    def fed_by(threads: int, cache: bool) -> Callable[[], tuple[torch.Tensor, torch.Tensor]]:
        _, iterator = _pipeline(folder, threads, True, cache=cache)
        iterators.append(iterator)
        if cache:  # one epoch fills the cache
            for _ in range(len(labels) // BATCH + 1):
                next(iterator)

        def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
            features, batch_labels = next(iterator)
            return features["image"], batch_labels

        return next_batch

    trainers = {
        "LeNet 28x28 fed from memory": _trainer(memory),
        "LeNet fed by the pipeline, num_threads=1 +Resize 28": _trainer(fed_by(1, False)),
        "LeNet fed by the pipeline, num_threads=2 +Resize 28": _trainer(fed_by(2, False)),
        "LeNet fed by the pipeline, cache +Resize 28": _trainer(fed_by(1, True)),
    }
    rates: dict[str, list[float]] = {name: [] for name in [*readers, *trainers]}
    for _ in range(args.rounds):
        for name, fn in {**readers, **trainers}.items():
            # a LeNet step is slow: give training measurements longer
            seconds = args.seconds * (3 if name in trainers else 1)
            rates[name].append(_rate(fn, seconds))
    for it in iterators:
        it.close()

    median = {name: statistics.median(values) for name, values in rates.items()}
    lenet_rate = median["LeNet 28x28 fed from memory"]
    floor = median["tensor slice (floor)"]
    print(
        f"digits train records, batch {BATCH}, {args.rounds} rounds of {args.seconds:g} s, "
        f"torch threads {torch.get_num_threads()}\n"
    )
    print(f"| {'reader':<52} | {'examples/s':>11} | {'vs floor':>8} | {'vs LeNet':>8} |")
    print(f"|{'-' * 54}|{'-' * 13}|{'-' * 10}|{'-' * 10}|")
    for name in readers:
        rate = median[name]
        print(
            f"| {name:<52} | {rate:>11,.0f} | {rate / floor:>7.3f}x | {rate / lenet_rate:>7.1f}x |"
        )
    print()
    for name in trainers:
        rate = median[name]
        print(f"{name}: {rate:,.0f} samples/s ({rate / lenet_rate:.2f} of fed from memory)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"median_examples_per_s": median, "rounds": rates}, out, indent=2)


if __name__ == "__main__":
    main()
