#!/usr/bin/env python
"""Where Petri's per-step training overhead goes: an in-process ablation ladder.

Command (from the repository root; any interpreter with Petri installed):

    .venv-peers/bin/python bench/step_overhead.py            # tiny MLP, 1 thread
    .venv-peers/bin/python bench/step_overhead.py --workload lenet --steps 28 --rounds 5
    .venv-peers/bin/python bench/step_overhead.py --profile  # + cProfile of est.train

Complements bench/train_overhead.py (frameworks in separate processes): here four stages run
in ONE process, interleaved round by round, so machine drift and other processes hit them alike,
and each stage adds one Petri layer to the previous one:

    loop        hand-written: randperm indexing, net, F.cross_entropy, Adam(fused=True)
    +input      batches from petri.data.numpy_input_fn (NumpyBatches) instead of indexing
    +model      loss from petri.models.Classifier(graph_fn=net)(x, y, "train").loss (the
                EstimatorSpec path) instead of F.cross_entropy(net(x), y)
    +estimator  Estimator.train(input_fn, steps=N): loop, hooks, state, end-of-call checkpoint

All stages use fused Adam, the kernel Petri's optimizer factory picks on CPU, so differences are
Petri's own Python overhead. Reported per stage: the BEST (minimum over rounds) and the median
wall-clock microseconds per step, and the best CPU-time figure; the minimum of many short
interleaved calls is the figure least disturbed by other processes on a shared machine.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
import torch.nn.functional as F
from train_overhead import LEARNING_RATE, WORKLOADS, _floor_loop, _load_data, _torch_net

from petri.configs import OptimizerConfig
from petri.data import numpy_input_fn
from petri.estimators import Estimator, RunConfig
from petri.models import Classifier
from petri.modes import ModeKeys


def _classifier(net: torch.nn.Module) -> Classifier:
    return Classifier(
        graph_fn=net,
        n_classes=10,
        loss_config="softmax_cross_entropy",
        optimizer_config=OptimizerConfig(name="adam", learning_rate=LEARNING_RATE),
        clip_gradients=None,
    )


def build_stages(workload: str, batch: int, model_dir: str) -> dict[str, Any]:
    """name -> train(n) for each rung of the ladder, all on identical copies of one network."""
    x, y = _load_data(workload)
    torch.manual_seed(0)
    base = _torch_net(workload)

    def adam(module: torch.nn.Module) -> torch.optim.Optimizer:
        return torch.optim.Adam(module.parameters(), lr=LEARNING_RATE, fused=True)

    # loop -----------------------------------------------------------------------------------
    net = copy.deepcopy(base)
    loop = _floor_loop(net, adam(net), x, y, batch)

    # +input ---------------------------------------------------------------------------------
    net_input = copy.deepcopy(base)
    optimizer_input = adam(net_input)
    batches = numpy_input_fn(
        x.numpy(), y.numpy(), batch_size=batch, num_epochs=None, shuffle=True, seed=0
    )()

    def with_input(n: int) -> None:
        for _ in range(n):
            features, labels = next(batches)
            loss = F.cross_entropy(net_input(features), labels)
            optimizer_input.zero_grad(set_to_none=True)
            loss.backward()
            optimizer_input.step()

    # +model ---------------------------------------------------------------------------------
    model = _classifier(copy.deepcopy(base))
    model.train()
    optimizer_model = adam(model)
    batches_model = numpy_input_fn(
        x.numpy(), y.numpy(), batch_size=batch, num_epochs=None, shuffle=True, seed=0
    )()

    def with_model(n: int) -> None:
        for _ in range(n):
            features, labels = next(batches_model)
            loss = model(features, labels, ModeKeys.TRAIN).loss
            optimizer_model.zero_grad(set_to_none=True)
            loss.backward()
            optimizer_model.step()

    # +estimator -----------------------------------------------------------------------------
    estimator = Estimator(
        _classifier(copy.deepcopy(base)),
        model_dir=model_dir,
        config=RunConfig(log_step_count_steps=1000),
    )
    input_fn = numpy_input_fn(
        x.numpy(), y.numpy(), batch_size=batch, num_epochs=None, shuffle=True, seed=0
    )

    def with_estimator(n: int) -> None:
        estimator.train(input_fn, steps=n)

    with_estimator(1)  # builds the model and the optimizer
    kernel = estimator._optimizer.defaults.get("fused")
    if not kernel:
        print("note: Petri's Adam is not fused here; '+estimator' also differs by the kernel")
    return {
        "loop": loop,
        "+input": with_input,
        "+model": with_model,
        "+estimator": with_estimator,
        "_estimator": estimator,
        "_input_fn": input_fn,
    }


def measure(stages: dict[str, Any], steps: int, warmup: int, rounds: int) -> dict[str, Any]:
    names = [name for name in stages if not name.startswith("_")]
    for name in names:
        stages[name](warmup)
    cpu: dict[str, list[float]] = {name: [] for name in names}
    wall: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            c0, w0 = time.process_time(), time.perf_counter()
            stages[name](steps)
            cpu[name].append((time.process_time() - c0) / steps * 1e6)
            wall[name].append((time.perf_counter() - w0) / steps * 1e6)
    return {"cpu": cpu, "wall": wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=list(WORKLOADS), default="mlp")
    parser.add_argument("--steps", type=int, default=200, help="steps per timed call")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile est.train afterwards")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch = WORKLOADS[args.workload]["batch"]
    with tempfile.TemporaryDirectory(prefix="petri_step_") as model_dir:
        stages = build_stages(args.workload, batch, model_dir)
        results = measure(stages, args.steps, args.warmup, args.rounds)
        estimator = stages["_estimator"]
        checkpoint_ms = 1000 * statistics.median(
            _timed(estimator.save_checkpoint) for _ in range(5)
        )
        print(
            f"{args.workload}: batch {batch}, {args.steps} steps x {args.rounds} rounds, "
            f"threads={args.threads}, torch {torch.__version__}"
        )
        header = f"{'stage':<11}" + "".join(
            f" {title:>12} {'delta':>7}" for title in ("best wall", "median wall", "best cpu")
        )
        print(header + "   (microseconds per step)")
        columns = (("wall", min), ("wall", statistics.median), ("cpu", min))
        previous: dict[int, float] = {}
        for name in results["cpu"]:
            row = f"{name:<11}"
            for index, (clock, reduce) in enumerate(columns):
                value = reduce(results[clock][name])
                delta = f"{value - previous[index]:+.1f}" if index in previous else ""
                row += f" {value:>12.1f} {delta:>7}"
                previous[index] = value
            print(row)
        loop = min(results["wall"]["loop"])
        full = min(results["wall"]["+estimator"])
        print(
            f"Petri total (best wall): {full - loop:+.1f} us/step over the fused loop "
            f"= {loop / full:.3f}x its speed; end-of-train() checkpoint {checkpoint_ms:.1f} ms "
            f"per call (= {checkpoint_ms * 1000 / args.steps:.1f} us/step at {args.steps} "
            "steps per call)"
        )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            estimator.train(stages["_input_fn"], steps=args.steps * 4)
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats("petri", 15)
    return 0


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
