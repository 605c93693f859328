#!/usr/bin/env python
"""Training overhead: samples/s of Petri's Estimator against a hand-written loop and peers.

Command (from the repository root; the first part is needed once per machine):

    bash bench/setup_peers.sh && .venv-peers/bin/python bench/train_overhead.py

``bench/setup_peers.sh`` creates ``.venv-peers/`` (torch==2.13.0 CPU, numpy, scikit-learn,
lightning, keras, and Petri installed editable), so ONE interpreter runs every row. Lightning
and Keras are benchmark peers, never Petri dependencies. A peer that does not import is
reported as a "not installed" row. The whole default run takes about 6-8 minutes on 2 cores.

Rows (each runs in its own subprocess: ``train_overhead.py --worker FRAMEWORK WORKLOAD``,
which prints one JSON result; imports and thread pools never meet):

    torch-loop          the floor: tensors in memory, one torch.randperm per epoch, batches
                        by tensor indexing, model(x) -> F.cross_entropy -> zero_grad(set_to_none)
                        -> backward -> Adam.step
    petri               petri.models.Classifier(graph_fn=<the same nn.Module>) given directly to
                        petri.estimators.Estimator, numpy_input_fn(shuffle=True, num_epochs=None)
    petri-layers        the same network built from Petri's own layers (a definition list)
    lightning-lean      Trainer(logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    lightning-defaults  Trainer defaults except enable_progress_bar=False (its default logger
                        and per-epoch ModelCheckpoint on)
    keras               Keras 3, KERAS_BACKEND=torch, model.fit(numpy arrays, verbose=0)

Workloads (identical network, data, optimizer and step count in every row):

    lenet  conv(1->32, 5x5, same)+relu, maxpool 2, conv(32->64, 5x5, same)+relu, maxpool 2,
           flatten, fc(3136->1024)+tanh, fc(1024->10); batch 64. Data: sklearn load_digits,
           8x8 images scaled to [0, 1] and upsampled to 1x28x28 (bilinear F.interpolate).
    mlp    fc(64->64)+relu, fc(64->10); batch 32; sklearn load_digits, 64 features in [0, 1].

Both use the first 1792 digits (a multiple of 64 and 32, so every batch is full and an epoch is
28 resp. 56 steps); step counts are whole epochs so Keras, which trains in epochs, runs the same
steps. Adam(lr=1e-3), no gradient clipping, float32, CPU, torch.set_num_threads(--threads) in
every row. Timing: a warm-up call (excluded), then --repeats timed calls of --steps steps each;
a timed call is the framework's own entry point (``est.train(steps=N)``, ``trainer.fit`` with a
fresh Trainer, ``model.fit``), so per-call costs (Petri's end-of-call checkpoint, Lightning's
fit setup) are included; the floor times its loop. The table reports the median of the repeats
and the ratio to the floor's median. Repeats are spread over --rounds: each round runs every row
once, so slow drift of the machine affects all rows alike.

Options: --quick (a smoke run, ~1 minute), --rows, --workloads, --json PATH, --python PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
SETUP_HINT = "not installed: run bench/setup_peers.sh"
RESULT_MARK = "@@TRAIN_OVERHEAD_RESULT@@ "
N_EXAMPLES = 1792  # 28 * 64 = 56 * 32: full batches only, whole epochs for Keras.
LEARNING_RATE = 1e-3

# Steps are whole epochs (lenet: 28 steps/epoch, mlp: 56 steps/epoch).
WORKLOADS: dict[str, dict[str, int]] = {
    "lenet": {"batch": 64, "steps": 56, "warmup": 28},
    "mlp": {"batch": 32, "steps": 1120, "warmup": 112},
}
QUICK_STEPS = {"lenet": {"steps": 28, "warmup": 28}, "mlp": {"steps": 224, "warmup": 56}}

ROWS: dict[str, str] = {
    "torch-loop": "hand-written loop (floor)",
    "petri": "Petri Estimator + Classifier(nn.Module)",
    "petri-layers": "Petri Estimator + petri.layers",
    "lightning-lean": "Lightning Trainer, lean",
    "lightning-defaults": "Lightning Trainer, defaults - bar",
    "keras": "Keras 3 (torch backend) fit",
}
FLOOR = "torch-loop"


# =============================================================================================
# Worker side: one framework on one workload, in its own process.
# =============================================================================================
def _load_data(workload: str) -> tuple[Any, Any]:
    """Float32 features and int64 labels as torch tensors (first N_EXAMPLES digits)."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.from_numpy(digits.images[:N_EXAMPLES].astype(np.float32) / 16.0)
    labels = torch.from_numpy(digits.target[:N_EXAMPLES].astype(np.int64))
    if workload == "lenet":
        x = F.interpolate(images[:, None], size=(28, 28), mode="bilinear", align_corners=False)
    else:
        x = images.reshape(len(images), 64)
    return x.contiguous(), labels


def _torch_net(workload: str) -> Any:
    """The network every torch-based row trains (Keras and petri-layers rebuild it)."""
    from torch import nn

    if workload == "lenet":
        return nn.Sequential(
            nn.Conv2d(1, 32, 5, padding="same"),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding="same"),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(7 * 7 * 64, 1024),
            nn.Tanh(),
            nn.Linear(1024, 10),
        )
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def _petri_definition(workload: str) -> list[Any]:
    if workload == "lenet":
        return [
            ["Conv2d", {"num_filter": 32, "filter_size": 5, "activation": "relu"}],
            ["MaxPool2d", {"kernel_size": 2}],
            ["Conv2d", {"num_filter": 64, "filter_size": 5, "activation": "relu"}],
            ["MaxPool2d", {"kernel_size": 2}],
            ["FullyConnected", {"num_units": 1024, "activation": "tanh"}],
            ["FullyConnected", {"num_units": 10}],
        ]
    return [
        ["FullyConnected", {"num_units": 64, "activation": "relu"}],
        ["FullyConnected", {"num_units": 10}],
    ]


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _run_floor(workload: str, batch: int, steps: int, warmup: int, repeats: int) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    x, y = _load_data(workload)
    net = _torch_net(workload)
    net.train()
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    generator = torch.Generator().manual_seed(0)
    size = x.shape[0]
    state: dict[str, Any] = {"order": None, "position": size}

    def train(n: int) -> None:
        order, position = state["order"], state["position"]
        for _ in range(n):
            if position >= size:
                order, position = torch.randperm(size, generator=generator), 0
            index = order[position : position + batch]
            position += batch
            loss = F.cross_entropy(net(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        state["order"], state["position"] = order, position

    train(warmup)
    seconds = [_timed(lambda: train(steps)) for _ in range(repeats)]
    return {"seconds": seconds}


def _run_petri(
    workload: str, batch: int, steps: int, warmup: int, repeats: int, layers: bool
) -> dict[str, Any]:
    try:
        from petri.configs import OptimizerConfig
        from petri.data import numpy_input_fn
        from petri.estimators import Estimator, RunConfig
        from petri.models import Classifier

        graph: Any = _petri_definition(workload) if layers else _torch_net(workload)
        model = Classifier(
            graph_fn=graph,
            n_classes=10,
            loss_config="softmax_cross_entropy",
            optimizer_config=OptimizerConfig(name="adam", learning_rate=LEARNING_RATE),
            clip_gradients=None,
        )
    except Exception as error:  # petri (or petri.layers) does not import/build in this tree
        return {"status": "skipped", "reason": _short_error(error)}

    x, y = _load_data(workload)
    end_times: list[float] = []

    class LoopEnd:
        """Marks the time of the last step of a train() call, before its checkpoint."""

        every_n_steps = None

        def after_step(self, state: Any) -> None:
            if state.global_step == state.last_step:
                end_times.append(time.perf_counter())

    with tempfile.TemporaryDirectory(prefix="petri_bench_") as model_dir:
        estimator = Estimator(model, model_dir=model_dir, config=RunConfig(log_step_count_steps=1000))
        input_fn = numpy_input_fn(
            x.numpy(), y.numpy(), batch_size=batch, num_epochs=None, shuffle=True, seed=0
        )
        estimator.train(input_fn, steps=warmup)
        seconds, loop_seconds = [], []
        hooks = [LoopEnd()]
        for _ in range(repeats):
            start = time.perf_counter()
            estimator.train(input_fn, steps=steps, hooks=hooks)
            seconds.append(time.perf_counter() - start)
            loop_seconds.append(end_times[-1] - start)
        checkpoint = [_timed(estimator.save_checkpoint) for _ in range(3)]
        latest = estimator.latest_checkpoint()
        size_mb = os.path.getsize(latest) / 2**20 if latest else 0.0
    return {
        "seconds": seconds,
        "loop_seconds": loop_seconds,
        "checkpoint_ms": 1000 * statistics.median(checkpoint),
        "checkpoint_mb": size_mb,
    }


def _run_lightning(
    workload: str, batch: int, steps: int, warmup: int, repeats: int, lean: bool
) -> dict[str, Any]:
    import logging
    import warnings

    try:
        import lightning as L
    except ImportError as error:
        return {"status": "missing", "reason": f"{SETUP_HINT} ({_short_error(error)})"}
    import torch
    import torch.nn.functional as F
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)

    class Module(L.LightningModule):
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net
            self._optimizer: torch.optim.Optimizer | None = None

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            return F.cross_entropy(self.net(x), y)

        def configure_optimizers(self) -> torch.optim.Optimizer:
            # One Adam for all fit() calls, so its state carries on as in the other rows.
            if self._optimizer is None:
                self._optimizer = torch.optim.Adam(self.parameters(), lr=LEARNING_RATE)
            return self._optimizer

    loop_ends: list[float] = []

    class LoopEnd(L.Callback):
        def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
            if trainer.global_step >= trainer.max_steps:
                loop_ends.append(time.perf_counter())

    x, y = _load_data(workload)
    dataset = TensorDataset(x, y)
    # The fastest stock DataLoader form: one batch of indices per fetch (tensor fancy indexing,
    # no per-sample __getitem__ + collate), so the row measures the Trainer, not collation.
    sampler = BatchSampler(
        RandomSampler(dataset, generator=torch.Generator().manual_seed(0)), batch, drop_last=False
    )
    loader = DataLoader(dataset, sampler=sampler, batch_size=None, num_workers=0)
    module = Module(_torch_net(workload))

    with tempfile.TemporaryDirectory(prefix="lightning_bench_") as root:

        def trainer(n: int) -> Any:
            if lean:
                options: dict[str, Any] = {
                    "logger": False,
                    "enable_checkpointing": False,
                    "enable_model_summary": False,
                }
            else:
                options = {}
            return L.Trainer(
                accelerator="cpu",
                devices=1,
                max_steps=n,
                max_epochs=-1,
                enable_progress_bar=False,
                default_root_dir=root,
                callbacks=[LoopEnd()],
                **options,
            )

        trainer(warmup).fit(module, loader)
        seconds, loop_seconds = [], []
        for _ in range(repeats):
            fresh = trainer(steps)
            start = time.perf_counter()
            fresh.fit(module, loader)
            seconds.append(time.perf_counter() - start)
            loop_seconds.append(loop_ends[-1] - start)
    return {"seconds": seconds, "loop_seconds": loop_seconds}


def _run_keras(workload: str, batch: int, steps: int, warmup: int, repeats: int) -> dict[str, Any]:
    os.environ["KERAS_BACKEND"] = "torch"
    try:
        import keras
    except ImportError as error:
        return {"status": "missing", "reason": f"{SETUP_HINT} ({_short_error(error)})"}
    if keras.backend.backend() != "torch":
        return {"status": "skipped", "reason": f"keras backend is {keras.backend.backend()}"}
    from keras import layers

    # channels_first: the torch layout, so Keras does not transpose around every conv.
    keras.config.set_image_data_format("channels_first")
    keras.utils.set_random_seed(0)
    x, y = _load_data(workload)
    x_np, y_np = x.numpy(), y.numpy()
    if workload == "lenet":
        network = [
            keras.Input((1, 28, 28)),
            layers.Conv2D(32, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(1024, activation="tanh"),
            layers.Dense(10),
        ]
    else:
        network = [keras.Input((64,)), layers.Dense(64, activation="relu"), layers.Dense(10)]
    model = keras.Sequential(network)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    per_epoch = len(x_np) // batch

    def fit(n: int) -> None:
        model.fit(x_np, y_np, batch_size=batch, epochs=n // per_epoch, shuffle=True, verbose=0)

    fit(warmup)
    seconds = [_timed(lambda: fit(steps)) for _ in range(repeats)]
    return {"seconds": seconds, "jit_compile": str(getattr(model, "jit_compile", "?"))}


def _versions() -> dict[str, str]:
    import importlib

    found = {}
    for name in ("torch", "numpy", "lightning", "keras", "petri"):
        module = sys.modules.get(name)
        if module is None and name in ("torch", "numpy"):
            module = importlib.import_module(name)
        if module is not None:
            found[name] = str(getattr(module, "__version__", "?"))
    return found


def _short_error(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".splitlines()[0]
    return text[:160]


def worker(framework: str, workload: str, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    spec = dict(WORKLOADS[workload])
    batch, steps, warmup, repeats = spec["batch"], args.steps, args.warmup, args.repeats
    run_args = (workload, batch, steps, warmup, repeats)
    if framework == "torch-loop":
        result = _run_floor(*run_args)
    elif framework in ("petri", "petri-layers"):
        result = _run_petri(*run_args, layers=framework == "petri-layers")
    elif framework in ("lightning-lean", "lightning-defaults"):
        result = _run_lightning(*run_args, lean=framework == "lightning-lean")
    elif framework == "keras":
        result = _run_keras(*run_args)
    else:
        raise SystemExit(f"unknown framework {framework!r}; choose from {sorted(ROWS)}")
    result.setdefault("status", "ok")
    result.update(
        framework=framework,
        workload=workload,
        batch=batch,
        steps=steps,
        warmup=warmup,
        threads=torch.get_num_threads(),
        versions=_versions(),
    )
    return result


def worker_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="train_overhead.py --worker")
    parser.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "WORKLOAD"), required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--repeats", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args(argv)
    framework, workload = args.worker
    try:
        result = worker(framework, workload, args)
    except Exception as error:
        traceback.print_exc()
        result = {
            "framework": framework,
            "workload": workload,
            "status": "error",
            "reason": _short_error(error),
        }
    print(RESULT_MARK + json.dumps(result), flush=True)
    return 0


# =============================================================================================
# Driver side: runs the workers, aggregates, prints the table.
# =============================================================================================
def _run_worker(
    python: str, framework: str, workload: str, steps: int, warmup: int, repeats: int, threads: int
) -> dict[str, Any]:
    env = dict(os.environ)
    env.update(
        KERAS_BACKEND="torch",
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        PYTHONWARNINGS="ignore",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    command = [
        python,
        str(Path(__file__).resolve()),
        "--worker",
        framework,
        workload,
        "--steps",
        str(steps),
        "--warmup",
        str(warmup),
        "--repeats",
        str(repeats),
        "--threads",
        str(threads),
    ]
    with tempfile.TemporaryDirectory(prefix="train_overhead_") as cwd:  # stray logs land here
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
        )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK) :])
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    return {
        "framework": framework,
        "workload": workload,
        "status": "error",
        "reason": f"worker exited {done.returncode}: {' | '.join(tail)[:300]}",
    }


def _merge(previous: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    if previous is None or previous.get("status") != "ok":
        return new
    if new.get("status") != "ok":
        return previous
    merged = dict(previous)
    for key in ("seconds", "loop_seconds"):
        if key in new:
            merged[key] = previous.get(key, []) + new[key]
    return merged


def _summarise(result: dict[str, Any]) -> None:
    if result.get("status") != "ok":
        return
    samples = result["steps"] * result["batch"]
    result["samples_per_s"] = [samples / s for s in result["seconds"]]
    result["median_samples_per_s"] = statistics.median(result["samples_per_s"])
    if result.get("loop_seconds"):
        result["median_loop_samples_per_s"] = statistics.median(
            samples / s for s in result["loop_seconds"]
        )


def _format_table(results: dict[tuple[str, str], dict[str, Any]], workloads: list[str]) -> str:
    header = (
        f"{'framework':<38} {'workload':<8} {'steps':>6} {'batch':>5} {'samples/s':>10} "
        f"{'steps/s':>8} {'ratio':>7} {'spread':>7}"
    )
    lines = [header, "-" * len(header)]
    for workload in workloads:
        floor = results.get((FLOOR, workload), {})
        floor_rate = floor.get("median_samples_per_s")
        for framework, label in ROWS.items():
            result = results.get((framework, workload))
            if result is None:
                continue
            if result.get("status") != "ok":
                lines.append(f"{label:<38} {workload:<8} {result.get('reason', result['status'])}")
                continue
            rate = result["median_samples_per_s"]
            rates = result["samples_per_s"]
            spread = (max(rates) - min(rates)) / rate
            ratio = f"{rate / floor_rate:.2f}x" if floor_rate else "n/a"
            lines.append(
                f"{label:<38} {workload:<8} {result['steps']:>6} {result['batch']:>5} "
                f"{rate:>10,.0f} {rate / result['batch']:>8,.1f} {ratio:>7} {spread:>6.1%}"
            )
    return "\n".join(lines)


def _notes(results: dict[tuple[str, str], dict[str, Any]], workloads: list[str]) -> list[str]:
    notes = []
    for workload in workloads:
        floor_rate = results.get((FLOOR, workload), {}).get("median_samples_per_s")
        for framework in ROWS:
            result = results.get((framework, workload), {})
            if result.get("status") != "ok" or "median_loop_samples_per_s" not in result:
                continue
            loop = result["median_loop_samples_per_s"]
            ratio = f" = {loop / floor_rate:.2f}x floor" if floor_rate else ""
            extra = ""
            if "checkpoint_ms" in result:
                per_call = statistics.median(result["seconds"])
                extra = (
                    f"; end-of-train() checkpoint {result['checkpoint_mb']:.1f} MB in "
                    f"{result['checkpoint_ms']:.0f} ms = {result['checkpoint_ms'] / 10 / per_call:.1f}%"
                    " of a timed call"
                )
            notes.append(
                f"{framework}/{workload}: loop only (per-call setup/teardown excluded) "
                f"{loop:,.0f} samples/s{ratio}{extra}"
            )
    return notes


def driver_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all rows (default 3)")
    parser.add_argument("--repeats", type=int, default=2, help="timed calls per row per round")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads in every row")
    parser.add_argument("--quick", action="store_true", help="short smoke run (~1 minute)")
    parser.add_argument("--python", help="interpreter for the workers (default: .venv-peers)")
    parser.add_argument("--json", type=Path, help="also write all results to this JSON file")
    args = parser.parse_args(argv)

    python = args.python or (str(PEERS_PYTHON) if PEERS_PYTHON.exists() else sys.executable)
    if not args.python and not PEERS_PYTHON.exists():
        print(f"warning: {PEERS_PYTHON} missing ({SETUP_HINT}); peers will show as not installed")
    if args.quick:
        args.rounds, args.repeats = 1, 2
    rows = [r for r in ROWS if r in args.rows]
    if FLOOR not in rows:
        rows.insert(0, FLOOR)
    steps = {w: dict(WORKLOADS[w], **(QUICK_STEPS[w] if args.quick else {})) for w in args.workloads}
    print(
        f"train_overhead: {platform.node()} nproc={os.cpu_count()} threads={args.threads} "
        f"python={python}"
    )
    print(
        "  " + ", ".join(
            f"{w}: batch {s['batch']}, {s['steps']} timed steps x {args.repeats} x {args.rounds} "
            f"rounds, {s['warmup']} warm-up"
            for w, s in steps.items()
        ),
        flush=True,
    )
    results: dict[tuple[str, str], dict[str, Any]] = {}
    started = time.perf_counter()
    for round_index in range(args.rounds):
        for workload in args.workloads:
            spec = steps[workload]
            # Rotate the order each round so no row always runs first or last.
            shift = round_index % len(rows)
            for framework in rows[shift:] + rows[:shift]:
                if results.get((framework, workload), {}).get("status") in ("missing", "skipped"):
                    continue
                t0 = time.perf_counter()
                result = _run_worker(
                    python, framework, workload, spec["steps"], spec["warmup"], args.repeats,
                    args.threads,
                )
                results[(framework, workload)] = _merge(results.get((framework, workload)), result)
                status = result.get("status")
                detail = "" if status == "ok" else f" ({result.get('reason')})"
                print(
                    f"  round {round_index + 1}/{args.rounds} {workload:<6} {framework:<19} "
                    f"{status}{detail} [{time.perf_counter() - t0:.1f}s]",
                    flush=True,
                )
    for result in results.values():
        _summarise(result)
    versions: dict[str, str] = {}
    for result in results.values():
        versions.update(result.get("versions", {}))
    print()
    print(_format_table(results, args.workloads))
    print()
    print("ratio = median samples/s / the floor's median; spread = (max - min) / median.")
    for note in _notes(results, args.workloads):
        print("  " + note)
    keras_jit = {r.get("jit_compile") for (f, _), r in results.items() if f == "keras"} - {None}
    print(
        "versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        + (f"; keras jit_compile={'/'.join(sorted(keras_jit))}" if keras_jit else "")
    )
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.json:
        payload = {
            "machine": {"node": platform.node(), "nproc": os.cpu_count(), "threads": args.threads},
            "versions": versions,
            "results": [results[key] for key in sorted(results)],
        }
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    if "--worker" in sys.argv[1:]:
        sys.exit(worker_main(sys.argv[1:]))
    sys.exit(driver_main(sys.argv[1:]))
