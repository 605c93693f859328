#!/usr/bin/env python
"""Training overhead: samples/s of Petri's Estimator against a hand-written loop and peers.

Command (from the repository root; the first part is needed once per machine):

    bash bench/setup_peers.sh && .venv-peers/bin/python bench/train_overhead.py

``bench/setup_peers.sh`` creates ``.venv-peers/`` (torch==2.13.0 CPU, numpy, scikit-learn,
lightning, keras, and Petri installed editable), so ONE interpreter runs every row. Lightning
and Keras are benchmark peers, never Petri dependencies. A peer that does not import is
reported as a "not installed" row. A default run (3 rounds) takes about 8 minutes with
--threads 1 on a 2-core VM shared with other jobs (about 2.5 minutes per round; the keras-jit
row's torch.compile is about 40 s of each round).

Every row gets the settings a careful user of it would choose: torch's fused Adam kernel
(``fused=True``) wherever the framework lets one pass optimizer arguments, and the same
gradient clipping, the global L2 norm clipped to 5.0 (CLIP_NORM: Petri's Classifier default,
``clip_gradients=5.0``), each the framework's own way.

Rows (each runs in its own subprocess: ``train_overhead.py --worker FRAMEWORK WORKLOAD``,
which prints one JSON result; imports and thread pools never meet):

    torch-loop          THE FLOOR: tensors in memory, one torch.randperm per epoch, batches by
                        tensor indexing, model(x) -> F.cross_entropy -> zero_grad(set_to_none)
                        -> backward -> clip_grad_norm_(5.0) -> Adam(lr=1e-3, fused=True).step
    torch-loop-unfused  REFERENCE ONLY (not a peer): the same loop with torch.optim.Adam's
                        default CPU kernel (the for-loop one), to show what the kernel alone is
                        worth
    petri               petri.models.Classifier(graph_fn=<the same nn.Module>) given directly to
                        petri.estimators.Estimator, numpy_input_fn(shuffle=True, num_epochs=None),
                        Classifier defaults (clip_gradients=5.0; Petri's optimizer factory builds
                        Adam(fused=True), GradientStep calls its kernel; RunConfig defaults,
                        so host_memory: auto keeps freed host memory between steps on glibc,
                        where the floor and the peers use malloc as it is); the worker reports
                        both
    petri-layers        the same network built from Petri's own layers (a definition list)
    lightning-lean      Trainer(logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False,
                        gradient_clip_val=5.0, gradient_clip_algorithm="norm")
    lightning-defaults  Trainer defaults except enable_progress_bar=False and the same clipping
                        (default logger and the per-epoch ModelCheckpoint on)
    keras               Keras 3, KERAS_BACKEND=torch, model.fit(numpy arrays, verbose=0),
                        channels_first (torch's layout, no transposes),
                        Adam(global_clipnorm=5.0), compile() defaults (jit_compile resolves to
                        False on torch). Keras 3 builds its own Adam from torch._foreach ops and
                        takes no torch kernel choice: there is no fused Adam to pass it.
    keras-jit           the keras row with compile(jit_compile=True), i.e. torch.compile of
                        Keras's whole train step (forward, backward and optimizer): the fastest
                        setting Keras offers here. No other row compiles (it favours Keras); its
                        compilation runs in the untimed warm-up call.

Lightning gets the fastest stock DataLoader form (a BatchSampler over a TensorDataset with
batch_size=None: one fancy-indexing fetch per batch, no per-sample collate), so its rows measure
the Trainer rather than collation. Its LightningModule's configure_optimizers returns
Adam(fused=True), as the floor builds it.

Workloads (identical network, data, optimizer and step count in every row):

    lenet  conv(1->32, 5x5, same)+relu, maxpool 2, conv(32->64, 5x5, same)+relu, maxpool 2,
           flatten, fc(3136->1024)+tanh, fc(1024->10) (3.27M parameters); batch 64.
           Data: sklearn load_digits, 8x8 images scaled to [0, 1] and upsampled to 1x28x28
           (bilinear F.interpolate), i.e. real digits, not random data.
    mlp    fc(64->64)+relu, fc(64->10); batch 32; sklearn load_digits, 64 features in [0, 1].

Both use the first 1792 digits (a multiple of 64 and 32, so every batch is full and an epoch is
28 resp. 56 steps); step counts are whole epochs so Keras, which trains in epochs, runs the same
steps. Adam(lr=1e-3), gradient norm clipped to 5.0, float32, CPU,
torch.set_num_threads(--threads) in every row (default 2).

Timing: a warm-up call (excluded), then timed calls of --steps steps each. A timed call is the
framework's own entry point (``est.train(steps=N)`` on the same Estimator, ``trainer.fit`` on a
fresh Trainer built untimed, ``model.fit``), so per-call costs (Petri's end-of-call checkpoint,
Lightning's fit setup) count; the floor times its loop. Repeats are spread over --rounds: each
round runs every row once in a rotated order, so slow drift affects all rows alike. The table
reports the median samples/s over all timed calls and the ratio paired by round (median over
rounds of the row's samples/s / the floor's in the same round), by wall clock and by the CPU
time of the row's own process.

The machine may be shared: the driver waits (up to --max-wait s in all) for the cores to go idle
before each row, and a timed call during which OTHER processes used more than --contention of
all cores (read from /proc/stat; plus the share of cores the rows' threads leave free) is re-run
up to --retries times; the "other" column reports what remained. On a busy 2-core machine use
--threads 1: with 2 threads on 2 busy cores torch's OpenMP regions stall (10-40x slower).

Options: --quick (a smoke run), --rows, --workloads, --rounds, --repeats, --threads, --json PATH,
--python PATH (default .venv-peers/bin/python), --write-docs (replace the section between
<!-- train_overhead:begin --> and <!-- train_overhead:end --> in docs/benchmarks.md with this
run's table and its targets summary, computed from that table), --from-json PATH (re-make the
table, and with --write-docs the docs section, from an earlier --json of this script).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _run_facts import command_line, cpu_model, loadavg, write_section

ROOT = Path(__file__).resolve().parents[1]
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
SETUP_HINT = "not installed: run bench/setup_peers.sh"
RESULT_MARK = "@@TRAIN_OVERHEAD_RESULT@@ "
N_EXAMPLES = 1792  # 28 * 64 = 56 * 32: full batches only, whole epochs for Keras.
LEARNING_RATE = 1e-3
CLIP_NORM = 5.0  # Petri's Classifier default (clip_gradients=5.0); every row clips to it
DOCS = ROOT / "docs" / "benchmarks.md"
DOCS_BEGIN, DOCS_END = "<!-- train_overhead:begin -->", "<!-- train_overhead:end -->"

# Steps are whole epochs (lenet: 28 steps/epoch, mlp: 56 steps/epoch).
# repeats: timed calls per row per round.
WORKLOADS: dict[str, dict[str, int]] = {
    "lenet": {"batch": 64, "steps": 28, "warmup": 28, "repeats": 1},
    "mlp": {"batch": 32, "steps": 560, "warmup": 112, "repeats": 2},
}
QUICK_STEPS = {"lenet": {"steps": 28, "warmup": 28}, "mlp": {"steps": 224, "warmup": 56}}

ROWS: dict[str, str] = {
    "torch-loop": "hand-written loop, fused Adam (floor)",
    "torch-loop-unfused": "reference: the floor with Adam's default kernel",
    "petri": "Petri Estimator + Classifier(nn.Module)",
    "petri-layers": "Petri Estimator + petri.layers",
    "lightning-lean": "Lightning Trainer, lean",
    "lightning-defaults": "Lightning Trainer, defaults minus progress bar",
    "keras": "Keras 3 (torch backend) fit",
    "keras-jit": "Keras 3 fit, jit_compile=True",
}
FLOOR = "torch-loop"
REFERENCE = "torch-loop-unfused"  # not a peer: what the fused kernel alone is worth
# The "Petri faster than Lightning and Keras" target compares Petri with each of these.
PEERS: dict[str, str] = {
    "lightning-lean": "Lightning lean",
    "lightning-defaults": "Lightning defaults",
    "keras": "Keras",
    "keras-jit": "Keras jit_compile",
}


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


def _cpu_seconds() -> tuple[float, float] | None:
    """(busy CPU seconds of the whole machine, CPU seconds of this process), Linux only."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait (steal counts as busy)
    return busy / os.sysconf("SC_CLK_TCK"), time.process_time()


class Segments:
    """Times the timed calls, and how busy OTHER processes kept the machine meanwhile.

    A call during which other processes used more than ``threshold`` of all cores is discarded
    and run again, at most ``retries`` times per repeat (the machine may be shared); the last
    attempt is kept either way and its contention is reported.
    """

    def __init__(self, retries: int = 2, threshold: float = 0.15) -> None:
        self.retries = retries
        self.threshold = threshold
        self.seconds: list[float] = []
        self.loop_seconds: list[float] = []
        self.other_load: list[float] = []  # fraction of all cores used by other processes
        self.cpu_seconds: list[float] = []  # this process's CPU time (all its threads)
        self.discarded = 0

    def measure(self, run: Any, repeats: int, prepare: Any = None) -> None:
        """``repeats`` times: ``prepare()`` (untimed), then time ``run(start)``.

        ``run`` may return the ``time.perf_counter()`` at which its last step ended (before
        per-call teardown such as a final checkpoint), recorded as ``loop_seconds``.
        """
        for _ in range(repeats):
            for attempt in range(self.retries + 1):
                context = prepare() if prepare is not None else None
                before = _cpu_seconds()
                cpu = time.process_time()
                start = time.perf_counter()
                loop_end = run(start) if context is None else run(start, context)
                elapsed = time.perf_counter() - start
                cpu = time.process_time() - cpu
                after = _cpu_seconds()
                other = None
                if before is not None and after is not None:
                    foreign = (after[0] - before[0]) - (after[1] - before[1])
                    other = max(0.0, foreign / (elapsed * (os.cpu_count() or 1)))
                if other is None or other <= self.threshold or attempt == self.retries:
                    break
                self.discarded += 1
            self.seconds.append(elapsed)
            self.cpu_seconds.append(cpu)
            if other is not None:
                self.other_load.append(other)
            if loop_end is not None:
                self.loop_seconds.append(loop_end - start)

    def result(self, **extra: Any) -> dict[str, Any]:
        result = {
            "seconds": self.seconds,
            "other_load": self.other_load,
            "cpu_seconds": self.cpu_seconds,
            **extra,
        }
        result["discarded"] = self.discarded
        if self.loop_seconds:
            result["loop_seconds"] = self.loop_seconds
        return result


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _floor_loop(
    net: Any, optimizer: Any, x: Any, y: Any, batch: int, clip_norm: float | None = None
) -> Callable[[int], None]:
    """The floor's hand-written loop: ``train(n)`` runs n steps of ``batch`` examples.

    One ``torch.randperm`` per epoch, batches by tensor indexing, ``clip_grad_norm_`` when
    ``clip_norm`` is set. bench/step_overhead.py's ``loop`` rung runs this same loop (without
    clipping), so its ladder starts from the floor measured here.
    """
    import torch
    import torch.nn.functional as F

    parameters = [p for p in net.parameters() if p.requires_grad]
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
            if clip_norm:
                torch.nn.utils.clip_grad_norm_(parameters, clip_norm)
            optimizer.step()
        state["order"], state["position"] = order, position

    return train


def _run_floor(
    segments: Segments,
    workload: str,
    batch: int,
    steps: int,
    warmup: int,
    repeats: int,
    fused: bool,
) -> dict[str, Any]:
    import torch

    x, y = _load_data(workload)
    net = _torch_net(workload)
    net.train()
    kernel = {"fused": True} if fused else {}  # default: torch's CPU choice, the for-loop
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, **kernel)
    train = _floor_loop(net, optimizer, x, y, batch, clip_norm=CLIP_NORM)
    train(warmup)
    segments.measure(lambda start: train(steps), repeats)
    return segments.result(adam_fused=bool(optimizer.defaults.get("fused")), clip_norm=CLIP_NORM)


def _run_petri(
    segments: Segments,
    workload: str,
    batch: int,
    steps: int,
    warmup: int,
    repeats: int,
    layers: bool,
) -> dict[str, Any]:
    try:
        from petri.configs import OptimizerConfig
        from petri.data import numpy_input_fn
        from petri.estimators import Estimator, RunConfig
        from petri.models import Classifier

        graph: Any = _petri_definition(workload) if layers else _torch_net(workload)
        model = Classifier(  # clip_gradients: the Classifier's default (5.0), checked below
            graph_fn=graph,
            n_classes=10,
            loss_config="softmax_cross_entropy",
            optimizer_config=OptimizerConfig(name="adam", learning_rate=LEARNING_RATE),
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
        config = RunConfig(log_step_count_steps=1000)
        estimator = Estimator(model, model_dir=model_dir, config=config)
        input_fn = numpy_input_fn(
            x.numpy(), y.numpy(), batch_size=batch, num_epochs=None, shuffle=True, seed=0
        )
        estimator.train(input_fn, steps=warmup)
        hooks = [LoopEnd()]

        def run(start: float) -> float:
            estimator.train(input_fn, steps=steps, hooks=hooks)
            return end_times[-1]

        segments.measure(run, repeats)
        # What Petri actually ran: the optimizer's kernel, the clip norm, and whether
        # GradientStep took the direct fused-kernel path (its plan) rather than step().
        step = estimator._gradient_step
        fused = bool(estimator._optimizer.defaults.get("fused"))
        direct = step is not None and step._plan is not None
        clip_norm = step.clip_norm if step is not None else None
        checkpoint = [_timed(estimator.save_checkpoint) for _ in range(3)]
        latest = estimator.latest_checkpoint()
        size_mb = os.path.getsize(latest) / 2**20 if latest else 0.0
    return segments.result(
        checkpoint_ms=1000 * statistics.median(checkpoint),
        checkpoint_mb=size_mb,
        adam_fused=fused,
        direct_kernel=direct,
        clip_norm=clip_norm,
    )


def _run_lightning(
    segments: Segments,
    workload: str,
    batch: int,
    steps: int,
    warmup: int,
    repeats: int,
    lean: bool,
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
                self._optimizer = torch.optim.Adam(self.parameters(), lr=LEARNING_RATE, fused=True)
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
                gradient_clip_val=CLIP_NORM,  # Lightning's own clip_grad_norm_ call
                gradient_clip_algorithm="norm",
                enable_progress_bar=False,
                default_root_dir=root,
                callbacks=[LoopEnd()],
                **options,
            )

        trainer(warmup).fit(module, loader)

        def run(start: float, fresh: Any) -> float:
            fresh.fit(module, loader)
            return loop_ends[-1]

        # A fresh Trainer per timed call (built untimed); fit() itself, setup included, is timed.
        segments.measure(run, repeats, prepare=lambda: trainer(steps))
    optimizer = module._optimizer
    return segments.result(
        adam_fused=bool(optimizer is not None and optimizer.defaults.get("fused")),
        clip_norm=CLIP_NORM,
    )


def _run_keras(
    segments: Segments,
    workload: str,
    batch: int,
    steps: int,
    warmup: int,
    repeats: int,
    jit: bool = False,
) -> dict[str, Any]:
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
        # Keras 3's Adam is its own (torch._foreach ops on this backend): no fused kernel to ask
        # for. global_clipnorm is its clip of the global gradient norm.
        optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE, global_clipnorm=CLIP_NORM),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        **({"jit_compile": True} if jit else {}),
    )
    per_epoch = len(x_np) // batch

    def fit(n: int) -> None:
        model.fit(x_np, y_np, batch_size=batch, epochs=n // per_epoch, shuffle=True, verbose=0)

    fit(warmup)
    segments.measure(lambda start: fit(steps), repeats)
    return segments.result(
        jit_compile=str(getattr(model, "jit_compile", "?")), adam_fused=False, clip_norm=CLIP_NORM
    )


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
    spec = WORKLOADS[workload]
    batch, steps, warmup, repeats = spec["batch"], args.steps, args.warmup, args.repeats
    segments = Segments(args.retries, args.contention)
    run_args = (segments, workload, batch, steps, warmup, repeats)
    if framework in (FLOOR, REFERENCE):
        result = _run_floor(*run_args, fused=framework == FLOOR)
    elif framework in ("petri", "petri-layers"):
        result = _run_petri(*run_args, layers=framework == "petri-layers")
    elif framework in ("lightning-lean", "lightning-defaults"):
        result = _run_lightning(*run_args, lean=framework == "lightning-lean")
    elif framework in ("keras", "keras-jit"):
        result = _run_keras(*run_args, jit=framework == "keras-jit")
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
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--contention", type=float, default=0.15)
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
    python: str,
    framework: str,
    workload: str,
    plan: dict[str, int],
    args: argparse.Namespace,
) -> dict[str, Any]:
    threads = args.threads
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
        str(plan["steps"]),
        "--warmup",
        str(plan["warmup"]),
        "--repeats",
        str(plan["repeats"]),
        "--threads",
        str(threads),
        "--retries",
        str(args.retries),
        "--contention",
        str(args.contention),
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
    for key in ("seconds", "loop_seconds", "other_load", "cpu_seconds"):
        if key in new:
            merged[key] = previous.get(key, []) + new[key]
    merged["discarded"] = previous.get("discarded", 0) + new.get("discarded", 0)
    return merged


def _summarise(result: dict[str, Any]) -> None:
    if result.get("status") != "ok":
        return
    samples = result["steps"] * result["batch"]
    for clock, key in (("wall", "seconds"), ("cpu", "cpu_seconds"), ("loop", "loop_seconds")):
        if result.get(key):
            rates = [samples / max(s, 1e-9) for s in result[key]]
            result[f"{clock}_samples_per_s"] = rates
            result[f"median_{clock}_samples_per_s"] = statistics.median(rates)
    result["median_samples_per_s"] = result["median_wall_samples_per_s"]


def paired_ratios(result: dict[str, Any], reference: dict[str, Any], clock: str) -> list[float]:
    """Per round: result's samples/s / reference's in the same round (rounds both ran)."""
    if result.get("status") != "ok" or reference.get("status") != "ok":
        return []
    mine, theirs = result.get("per_round", {}), reference.get("per_round", {})
    return [
        mine[key][clock] / theirs[key][clock]
        for key in sorted(mine, key=int)
        if key in theirs and theirs[key][clock]
    ]


def paired_ratio(result: dict[str, Any], reference: dict[str, Any], clock: str) -> float | None:
    """Median over rounds of result's samples/s / reference's in the same round.

    Pairing by round cancels drift of the machine between rounds; without common rounds it
    falls back to the ratio of the overall medians.
    """
    ratios = paired_ratios(result, reference, clock)
    if ratios:
        return statistics.median(ratios)
    if result.get("status") != "ok" or reference.get("status") != "ok":
        return None
    rate = result.get(f"median_{clock}_samples_per_s")
    base = reference.get(f"median_{clock}_samples_per_s")
    return rate / base if rate and base else None


Results = dict[tuple[str, str], dict[str, Any]]


def _label(framework: str) -> str:
    return ROWS[framework]


def _format_table(results: Results, workloads: list[str]) -> str:
    header = (
        f"{'framework':<48} {'workload':<8} {'batch':>5} {'steps':>5} {'n':>2} "
        f"{'samples/s':>9} {'ratio':>6} {'rounds':>11} {'spread':>6} "
        f"{'cpu-s/s':>8} {'ratio':>6} {'other':>5}"
    )
    lines = [header, "-" * len(header)]
    for workload in workloads:
        floor = results.get((FLOOR, workload), {})
        for framework in ROWS:
            result = results.get((framework, workload))
            if result is None:
                continue
            label = _label(framework)
            if result.get("status") != "ok":
                lines.append(f"{label:<48} {workload:<8} {result.get('reason', result['status'])}")
                continue
            rate = result["median_wall_samples_per_s"]
            ratio = paired_ratio(result, floor, "wall")
            rounds = paired_ratios(result, floor, "wall")
            cpu_rate = result.get("median_cpu_samples_per_s")
            cpu_ratio = paired_ratio(result, floor, "cpu")
            rates = result["wall_samples_per_s"]
            spread = (max(rates) - min(rates)) / rate
            other = result.get("other_load") or []
            lines.append(
                f"{label:<48} {workload:<8} {result['batch']:>5} {result['steps']:>5} "
                f"{len(rates):>2} {rate:>9,.0f} {_x(ratio):>6} {_range(rounds):>11} "
                f"{spread:>6.0%} {cpu_rate or 0:>8,.0f} {_x(cpu_ratio):>6} "
                f"{(f'{statistics.median(other):.0%}' if other else 'n/a'):>5}"
            )
    return "\n".join(lines)


def _x(value: float | None) -> str:
    return f"{value:.2f}x" if value else "n/a"


def _range(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}x" if values else "n/a"


LEGEND = """\
samples/s = median over the n timed calls of samples / wall-clock second; ratio = median over
rounds of (the row's samples/s / the floor's in the same round), the floor being the
hand-written loop with fused Adam; rounds = the lowest and highest of those per-round ratios;
spread = (max - min) / median of the wall figures; cpu-s/s = samples per CPU-second of the
row's own process (all its threads), then its ratio; other = median share of all cores that
OTHER processes used during the timed calls (contended above 15% plus the share of cores the
rows leave free: 65% with --threads 1 on 2 cores)."""


def _notes(results: Results, workloads: list[str]) -> list[str]:
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
                    f"; its checkpoint: {result['checkpoint_mb']:.1f} MB in "
                    f"{result['checkpoint_ms']:.0f} ms "
                    f"({result['checkpoint_ms'] / 10 / per_call:.1f}% of a timed call)"
                )
            notes.append(
                f"{framework}/{workload}: loop only (per-call setup/teardown excluded) "
                f"{loop:,.0f} samples/s{ratio}{extra}"
            )
    return notes


# What each row must have run for the comparison to be like for like (checked, not assumed).
EXPECTED_SETTINGS: dict[str, dict[str, Any]] = {
    FLOOR: {"adam_fused": True, "clip_norm": CLIP_NORM},
    REFERENCE: {"adam_fused": False, "clip_norm": CLIP_NORM},
    "petri": {"adam_fused": True, "direct_kernel": True, "clip_norm": CLIP_NORM},
    "petri-layers": {"adam_fused": True, "direct_kernel": True, "clip_norm": CLIP_NORM},
    "lightning-lean": {"adam_fused": True, "clip_norm": CLIP_NORM},
    "lightning-defaults": {"adam_fused": True, "clip_norm": CLIP_NORM},
    "keras": {"adam_fused": False, "clip_norm": CLIP_NORM, "jit_compile": "False"},
    "keras-jit": {"adam_fused": False, "clip_norm": CLIP_NORM, "jit_compile": "True"},
}


def _settings_problems(results: Results) -> list[str]:
    """Rows whose reported optimizer kernel or clip norm is not what the comparison needs."""
    problems = []
    for (framework, workload), result in sorted(results.items()):
        if result.get("status") != "ok":
            continue
        for key, wanted in EXPECTED_SETTINGS.get(framework, {}).items():
            if result.get(key) != wanted:
                problems.append(
                    f"{framework}/{workload}: {key}={result.get(key)!r}, not {wanted!r}"
                )
    return problems


# ------------------------------------------------------------------------------- targets
def _verdict(ok: bool | None) -> str:
    return "**holds**" if ok else ("**does not hold**" if ok is False else "not measured")


def _floor_target(results: Results, workload: str, threshold: float, name: str) -> list[str]:
    petri = results.get(("petri", workload), {})
    floor = results.get((FLOOR, workload), {})
    wall = paired_ratio(petri, floor, "wall")
    if wall is None:
        return [f"Petri >= {threshold:.2f}x the floor on {name}", _verdict(None)]
    rounds = paired_ratios(petri, floor, "wall")
    cpu = paired_ratio(petri, floor, "cpu")
    text = (
        f"{_verdict(wall >= threshold)}: {wall:.2f}x by wall clock (rounds {_range(rounds)}), "
        f"{_x(cpu)} by CPU time"
    )
    if rounds and min(rounds) < threshold <= max(rounds):
        text += "; the rounds fall on both sides of the target"
    layers = paired_ratio(results.get(("petri-layers", workload), {}), floor, "wall")
    if layers:
        text += f". petri.layers: {layers:.2f}x"
    return [f"Petri >= {threshold:.2f}x the floor on {name}", text + "."]


def _peers_target(results: Results, workloads: list[str]) -> list[str]:
    parts, verdicts = [], []
    for workload in workloads:
        petri = results.get(("petri", workload), {})
        cells = []
        for peer in PEERS:
            other = results.get((peer, workload), {})
            ratio = paired_ratio(petri, other, "wall")
            if ratio is None:
                continue
            rounds = paired_ratios(petri, other, "wall")
            verdicts.append(ratio > 1.0)
            cell = f"{ratio:.2f}x {PEERS[peer]}"
            if rounds and min(rounds) <= 1.0 < max(rounds):
                cell += f" (rounds {_range(rounds)})"
            cells.append(cell)
        if cells:
            parts.append(f"{workload}: Petri's samples/s = " + ", ".join(cells))
    if not verdicts:
        return ["Petri faster than Lightning and Keras", _verdict(None)]
    ok = all(verdicts)
    lost = "" if ok else f" ({verdicts.count(False)} of {len(verdicts)} comparisons lost)"
    return [
        "Petri faster than Lightning and Keras",
        f"{_verdict(ok)}{lost}: paired by round, " + "; ".join(parts) + ".",
    ]


def _targets(results: Results, workloads: list[str]) -> list[list[str]]:
    rows = []
    if "lenet" in workloads:
        rows.append(_floor_target(results, "lenet", 0.97, "LeNet"))
    if "mlp" in workloads:
        rows.append(_floor_target(results, "mlp", 0.90, "the tiny MLP"))
    rows.append(_peers_target(results, workloads))
    return rows


# ------------------------------------------------------------------------------- docs
def _markdown_table(results: Results, workloads: list[str]) -> str:
    lines = [
        "| framework | workload | samples/s (median) | ratio to floor | rounds' ratios "
        "| CPU-time ratio to floor |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for workload in workloads:
        floor = results.get((FLOOR, workload), {})
        for framework in ROWS:
            result = results.get((framework, workload))
            if result is None:
                continue
            label = _label(framework)
            if result.get("status") != "ok":
                reason = str(result.get("reason", result.get("status"))).replace("|", "/")
                lines.append(f"| {label} | {workload} | {reason} | | | |")
                continue
            ratio = paired_ratio(result, floor, "wall")
            text = _x(ratio)
            if framework == "petri":
                text = f"**{text}**"
            lines.append(
                f"| {label} | {workload} | {result['median_wall_samples_per_s']:,.0f} | {text} | "
                f"{_range(paired_ratios(result, floor, 'wall'))} | "
                f"{_x(paired_ratio(result, floor, 'cpu'))} |"
            )
    return "\n".join(lines)


DOCS_INTRO = """\
## Training overhead (`bench/train_overhead.py`)

Samples per second of Petri's `Estimator` (the fast path: a `petri.models.Classifier` given
directly to the Estimator) against a hand-written PyTorch loop (the floor), PyTorch Lightning's
`Trainer` and Keras 3 on the torch backend: same network, data, optimizer (Adam, lr 1e-3) and
number of steps in every row, each row in its own process. Every row gets the settings a careful
user of that framework would choose: torch's fused Adam kernel (`fused=True`) wherever the
framework takes optimizer arguments, and the same gradient clipping, the global L2 norm clipped
to {clip} (Petri's `Classifier` default, `clip_gradients={clip}`), each framework its own way.
This section, its table and the targets below it are written by the script
(`--write-docs`) from one run; nothing in it is typed by hand.

```bash
bash bench/setup_peers.sh && .venv-peers/bin/python bench/train_overhead.py --write-docs
```

`bench/setup_peers.sh` creates `.venv-peers/` (`torch==2.13.0` CPU first, then numpy,
scikit-learn, lightning, keras and Petri itself, editable), so one interpreter runs every row;
Lightning and Keras are never Petri dependencies. Options: `--threads N` (default 2),
`--quick` (smoke run), `--rows`, `--workloads`, `--rounds`, `--json PATH`, `--write-docs`,
`--from-json PATH`.

- **Workloads.** `lenet`: conv(1→32, 5x5, same)+relu, maxpool 2, conv(32→64, 5x5, same)+relu,
  maxpool 2, flatten, fc(3136→1024)+tanh, fc(1024→10), 3.27M parameters, batch 64; data: the
  sklearn `load_digits` images scaled to [0, 1] and upsampled to 1x28x28 with bilinear
  `F.interpolate` (real digits, not random data). `mlp`: fc(64→64)+relu, fc(64→10), batch 32,
  the 64 digit pixels. Both use the first 1,792 digits, so every batch is full and the step
  counts are whole epochs (Keras trains in epochs): lenet {lenet_steps} steps per timed call,
  mlp {mlp_steps}.
- **Rows.** *floor*: tensors in memory, one `torch.randperm` per epoch, batches by tensor
  indexing, `zero_grad(set_to_none=True)`, backward, `clip_grad_norm_(params, {clip})`,
  `torch.optim.Adam(fused=True)` step. *reference*: the same loop with `torch.optim.Adam`'s
  default CPU kernel (the for-loop one); not a peer, it shows what the kernel alone is worth.
  *Petri*: `Classifier(graph_fn=<the same nn.Module>)` with its defaults,
  `numpy_input_fn(shuffle=True, num_epochs=None)`, `est.train(input_fn, steps=N)` on one
  Estimator after a warm-up call; Petri's optimizer factory builds `Adam(fused=True)` and
  `petri.optimizers.GradientStep` calls that kernel directly (the worker reads the kernel, the
  direct path and the clip norm back from the Estimator and the script checks them). Its
  `RunConfig` defaults include `host_memory: auto`, which keeps freed host memory in the
  process from step to step (glibc's mmap and trim thresholds raised for the loop); the
  floor and the peers run on glibc's malloc as it is, so Petri can beat the floor. *Petri +
  petri.layers*: the same network as a `petri.layers` definition list. *Lightning lean*:
  `logger=False, enable_checkpointing=False, enable_progress_bar=False,
  enable_model_summary=False`; *Lightning defaults*: only `enable_progress_bar=False` (default
  logger, which is TensorBoard once Petri's `tensorboard` dependency is installed, and the
  per-epoch `ModelCheckpoint`). Both Lightning rows: `configure_optimizers` returns
  `Adam(fused=True)`, `Trainer(gradient_clip_val={clip}, gradient_clip_algorithm="norm")`, and
  the fastest stock `DataLoader` form (a `BatchSampler` over a `TensorDataset`,
  `batch_size=None`: one fancy-indexing fetch per batch). *Keras*: `model.fit` on numpy
  arrays, `verbose=0`, `channels_first` (no transposes around the convolutions),
  `Adam(global_clipnorm={clip})`, compile defaults (`jit_compile` resolves to False on torch).
  Keras 3 cannot take a fused kernel: its Adam is its own, written with `torch._foreach` ops on
  this backend, with no kernel argument, and `steps_per_execution` must be 1 on torch. *Keras,
  jit_compile=True*: the same with `torch.compile` of Keras's whole train step (forward,
  backward and optimizer), the fastest setting Keras offers here; no other row compiles, so
  this row is a favour to Keras (its compilation runs in the untimed warm-up call).
- **Timing.** A warm-up call (excluded), then timed calls of the framework's own entry point:
  `est.train(steps=N)` (so Petri's end-of-call checkpoint counts), `trainer.fit` on a fresh
  Trainer (built untimed; fit setup counts), `model.fit(epochs=N/steps_per_epoch)`, the floor's
  loop. Rounds run every row once each in a rotated order (lenet {lenet_repeats} call(s), mlp
  {mlp_repeats} per row and round); the table gives the median samples/s and the **ratio
  paired by round** (median over rounds of the row's samples/s / the floor's in the same round,
  with the lowest and highest round), on wall-clock time and on the CPU time of the row's own
  process."""


def _docs_section(results: Results, workloads: list[str], meta: dict[str, Any]) -> str:
    plans = meta.get("plans", {})

    def plan(workload: str, key: str) -> Any:
        return plans.get(workload, WORKLOADS[workload]).get(key, WORKLOADS[workload][key])

    intro = DOCS_INTRO.format(
        clip=CLIP_NORM,
        lenet_steps=plan("lenet", "steps"),
        mlp_steps=plan("mlp", "steps"),
        lenet_repeats=plan("lenet", "repeats"),
        mlp_repeats=plan("mlp", "repeats"),
    )
    versions = meta.get("versions", {})
    others = [
        statistics.median(r["other_load"])
        for (f, _), r in results.items()
        if r.get("status") == "ok" and r.get("other_load")
    ]
    run = (
        f"**Run of {meta.get('date', '?')}**: `{meta.get('command', '?')}`, "
        f"{meta.get('rounds', '?')} round(s), {meta.get('threads', '?')} torch thread(s) per "
        f"row, {meta.get('total_seconds', 0) / 60:.0f} minutes in all. "
        f"{meta.get('nproc', '?')} CPUs ({meta.get('cpu', '?')}), load average "
        f"{meta.get('loadavg_start', '?')} at the start and {meta.get('loadavg_end', '?')} at the "
        f"end (/proc/loadavg: 1, 5, 15 minutes; other engineers' jobs shared the machine)"
    )
    if others:
        run += (
            f"; during the timed calls other processes used {min(others):.0%}-{max(others):.0%}"
            " of all cores (median per row)"
        )
    run += (
        f". Python {meta.get('python', '?')}, "
        + ", ".join(f"{k} {versions[k]}" for k in sorted(versions))
        + "."
    )
    problems = meta.get("settings_problems", [])
    settings = (
        "Settings as run (read back by each worker): every row clipped to "
        f"{CLIP_NORM}; fused Adam in the floor, Petri (through GradientStep's direct kernel "
        "path) and Lightning rows; Keras's own foreach Adam (jit_compile False, True in its jit "
        "row); the reference row torch's default kernel."
        if not problems
        else "**Settings differ from the intended ones**: " + "; ".join(problems) + "."
    )
    notes = []
    for workload in workloads:
        spreads = []
        for framework in ROWS:
            result = results.get((framework, workload), {})
            if result.get("status") == "ok":
                rates = result["wall_samples_per_s"]
                spreads.append((max(rates) - min(rates)) / result["median_wall_samples_per_s"])
        if spreads:
            notes.append(
                f"{workload}: timed calls per row: "
                f"{len(results.get((FLOOR, workload), {}).get('seconds', []))}; spread "
                f"(max-min over median samples/s) {min(spreads):.0%}-{max(spreads):.0%}"
            )
    kernel = []
    for workload in workloads:
        reference = paired_ratio(
            results.get((REFERENCE, workload), {}), results.get((FLOOR, workload), {}), "wall"
        )
        if reference:
            kernel.append(f"{reference:.2f}x on {workload}")
    kernel_text = (
        f" The reference row (Adam's default kernel) ran at {' and '.join(kernel)} of the fused "
        "floor: that much of any comparison against an unfused loop is the kernel alone."
        if kernel
        else ""
    )
    loop_notes = _loop_notes(results, workloads)
    meaning = _meaning(results, workloads)
    targets = _targets(results, workloads)
    target_table = "\n".join(
        ["| target | result |", "|---|---|"] + [f"| {t} | {r} |" for t, r in targets]
    )
    paragraphs = [
        f"{run} {settings}",
        _markdown_table(results, workloads),
        f"{'; '.join(notes)}. The ratios are paired by round, so they can differ from the "
        "quotient of the medians; the spread is how much this machine's speed moved during "
        f"the run, so a ratio within it of a threshold is not settled by one run.{kernel_text}",
    ]
    if loop_notes:
        paragraphs.append(
            "Loop only (timed from the first to the last step of each call, so per-call setup "
            "and teardown such as fit() setup and Petri's end-of-call checkpoint are excluded; "
            "ratios of medians, not paired): " + "; ".join(loop_notes) + "."
        )
    if meaning:
        paragraphs.append(meaning)
    paragraphs += [
        "### Targets",
        "Computed by the script from the table above (wall clock, medians of per-round ratios).",
        target_table,
    ]
    body = "\n\n".join(p if p.startswith(("|", "#")) else _wrap(p) for p in paragraphs)
    return f"{DOCS_BEGIN}\n{intro}\n\n{body}\n{DOCS_END}"


def _wrap(paragraph: str) -> str:
    return textwrap.fill(paragraph, width=99, break_long_words=False, break_on_hyphens=False)


def _loop_notes(results: Results, workloads: list[str]) -> list[str]:
    """The loop-only figures, short, for the docs."""
    notes = []
    for workload in workloads:
        floor = results.get((FLOOR, workload), {})
        floor_loop = floor.get("median_loop_samples_per_s") or floor.get("median_samples_per_s")
        for framework in ROWS:
            result = results.get((framework, workload), {})
            if result.get("status") != "ok" or "median_loop_samples_per_s" not in result:
                continue
            loop = result["median_loop_samples_per_s"]
            text = f"{framework}/{workload} {loop:,.0f} samples/s"
            if floor_loop:
                text += f" = {loop / floor_loop:.2f}x the floor's median"
            if "checkpoint_ms" in result:
                per_call = statistics.median(result["seconds"])
                text += (
                    f" (its checkpoint, {result['checkpoint_mb']:.1f} MB, takes "
                    f"{result['checkpoint_ms']:.0f} ms on its own, "
                    f"{result['checkpoint_ms'] / 10 / per_call:.1f}% of a timed call)"
                )
            notes.append(text)
    return notes


def _meaning(results: Results, workloads: list[str]) -> str:
    """What the ratios measure, with this run's step times."""
    steps = []
    for workload in workloads:
        floor = results.get((FLOOR, workload), {})
        if floor.get("median_samples_per_s"):
            per_step = floor["batch"] / floor["median_samples_per_s"]
            steps.append(
                f"{per_step * 1e6:,.0f} µs on {workload}"
                if per_step < 1e-2
                else f"{per_step * 1e3:,.0f} ms on {workload}"
            )
    if not steps:
        return ""
    return (
        "**What the ratios measure.** Every row runs the same arithmetic, fused Adam (Keras its "
        f"own foreach Adam) and a clip to {CLIP_NORM}, so the ratios are the per-step work "
        "around it: batching, the training loop, hooks, the optimizer call and the clip. A "
        f"floor step took {' and '.join(steps)} in this run. Where Petri exceeds the floor, "
        "it is that work: `GradientStep` calls the fused kernel without `Optimizer.step()`'s "
        "per-call bookkeeping (hooks, profiler ranges, regrouping of tensors) and clips with "
        "one norm read back on CPU, rescaling only when the norm exceeds the bound, where "
        "the floor calls `clip_grad_norm_` (which always rescales) and `optimizer.step()`. "
        "The shorter the step, the larger the share of this work, which is why the "
        "frameworks differ far more on the MLP than on LeNet, whose step is mostly convolutions."
    )


def _write_docs(section: str) -> Path:
    return write_section(section, DOCS_BEGIN, DOCS_END, DOCS)


def _machine_busy(interval: float = 0.5) -> float | None:
    """Fraction of all cores busy over ``interval`` (the driver itself sleeps meanwhile)."""
    before = _cpu_seconds()
    time.sleep(interval)
    after = _cpu_seconds()
    if before is None or after is None:
        return None
    return (after[0] - before[0]) / (interval * (os.cpu_count() or 1))


def _wait_until_quiet(max_wait: float, threshold: float) -> float | None:
    """Wait (at most ``max_wait`` s) for other processes to leave the cores; last busy fraction."""
    deadline = time.monotonic() + max_wait
    busy = _machine_busy()
    while busy is not None and busy > threshold and time.monotonic() < deadline:
        busy = _machine_busy(1.0)
    return busy


def driver_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all rows (default 3)")
    parser.add_argument(
        "--repeats", type=int, help="timed calls per row per round (default: lenet 1, mlp 2)"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads everywhere")
    parser.add_argument(
        "--max-wait",
        type=float,
        default=90.0,
        help="seconds, in total over the run, to wait before rows for other processes to go idle",
    )
    parser.add_argument(
        "--contention",
        type=float,
        default=0.15,
        help="re-run a timed call if other processes used more than this share of all cores",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="re-runs per contended call (only when the machine was idle when the row started)",
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run (~2 minutes)")
    parser.add_argument("--python", help="interpreter for the workers (default: .venv-peers)")
    parser.add_argument("--json", type=Path, help="also write all results to this JSON file")
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="replace this benchmark's section of docs/benchmarks.md (table and targets)",
    )
    parser.add_argument(
        "--from-json", type=Path, help="re-make the table (and docs) from an earlier --json file"
    )
    args = parser.parse_args(argv)

    if args.from_json:
        payload = json.loads(args.from_json.read_text())
        meta = payload["meta"]
        results: Results = {(r["framework"], r["workload"]): r for r in payload["results"]}
        workloads = list(meta["workloads"])
    else:
        results, workloads, meta = _run_all(args, argv)
        if args.json:
            payload = {"meta": meta, "results": [results[key] for key in sorted(results)]}
            args.json.write_text(json.dumps(payload, indent=2))
    for result in results.values():
        _summarise(result)
    print()
    print(_format_table(results, workloads))
    print()
    print(LEGEND)
    contention = meta.get("contention", 0.15)
    contended = [
        f"{f}/{w}"
        for (f, w), r in results.items()
        if r.get("other_load") and statistics.median(r["other_load"]) > contention
    ]
    if contended:
        print(
            f"WARNING: other processes kept the machine busy during {', '.join(contended)}: "
            "their wall-clock samples/s are low and noisy; the cpu-s/s columns (per CPU-second "
            "of the row's own process) hold up better. Rerun on an idle machine for wall figures, "
            "or with --threads 1 (with 2 threads on 2 busy cores torch's OpenMP regions stall)."
        )
    for note in _notes(results, workloads):
        print("  " + note)
    meta["settings_problems"] = _settings_problems(results)
    for problem in meta["settings_problems"]:
        print(f"WARNING: not like for like: {problem}")
    versions = meta.get("versions", {})
    print(
        "versions: "
        + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        + f"; load average {meta.get('loadavg_start')} at start, {meta.get('loadavg_end')} at end"
    )
    print("\nTargets:")
    for target, verdict in _targets(results, workloads):
        print(f"  {target}: {verdict.replace('**', '')}")
    print(f"total {meta.get('total_seconds', 0):.0f} s")
    if args.write_docs:
        print(f"wrote {_write_docs(_docs_section(results, workloads, meta))}")
    return 0


def _run_all(args: argparse.Namespace, argv: list[str]) -> tuple[Results, list[str], dict]:
    """Run every row of every workload over the rounds; (results, workloads, run metadata)."""
    python = args.python or (str(PEERS_PYTHON) if PEERS_PYTHON.exists() else sys.executable)
    if not args.python and not PEERS_PYTHON.exists():
        print(f"warning: {PEERS_PYTHON} missing ({SETUP_HINT}); peers will show as not installed")
    if args.quick:
        args.rounds = 1
    rows = [r for r in ROWS if r in args.rows]
    if FLOOR not in rows:
        rows.insert(0, FLOOR)
    plans: dict[str, dict[str, int]] = {}
    for workload in args.workloads:
        plan = dict(WORKLOADS[workload], **(QUICK_STEPS[workload] if args.quick else {}))
        if args.repeats:
            plan["repeats"] = args.repeats
        plans[workload] = plan
    meta: dict[str, Any] = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "command": command_line("bench/train_overhead.py", argv),
        "loadavg_start": loadavg(),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "threads": args.threads,
        "rounds": args.rounds,
        "workloads": list(args.workloads),
        "plans": plans,
    }
    print(
        f"train_overhead: nproc={os.cpu_count()} threads={args.threads} python={python} "
        f"load average {meta['loadavg_start']}\n  "
        + "\n  ".join(
            f"{w}: batch {p['batch']}, {p['warmup']} warm-up steps, then {p['repeats']} x "
            f"{p['steps']} timed steps per round, {args.rounds} round(s)"
            for w, p in plans.items()
        ),
        flush=True,
    )
    results: Results = {}
    started = time.perf_counter()
    wait_budget = args.max_wait
    # Other processes only compete once they need the cores the rows' threads use: with
    # --threads 1 on 2 cores, one busy core elsewhere is not contention.
    cores = os.cpu_count() or 1
    args.contention += max(0.0, 1.0 - args.threads / cores)
    meta["contention"] = args.contention
    for round_index in range(args.rounds):
        for workload in args.workloads:
            plan = plans[workload]
            # Rotate the order each round so no row always runs first or last.
            shift = round_index % len(rows)
            for framework in rows[shift:] + rows[:shift]:
                if results.get((framework, workload), {}).get("status") in ("missing", "skipped"):
                    continue
                t0 = time.monotonic()
                busy = _wait_until_quiet(min(wait_budget, 20.0), args.contention)
                wait_budget = max(0.0, wait_budget - (time.monotonic() - t0))
                # Re-running contended calls only pays when the contention comes and goes.
                sustained = busy is not None and busy > args.contention
                worker_args = argparse.Namespace(**vars(args))
                worker_args.retries = 0 if sustained else args.retries
                t0 = time.perf_counter()
                result = _run_worker(python, framework, workload, plan, worker_args)
                merged = _merge(results.get((framework, workload)), result)
                if result.get("status") == "ok":  # per-round medians, for paired ratios
                    samples = plan["steps"] * plan["batch"]
                    merged.setdefault("per_round", {})[str(round_index)] = {
                        "wall": statistics.median(samples / s for s in result["seconds"]),
                        "cpu": statistics.median(
                            samples / max(s, 1e-9) for s in result["cpu_seconds"]
                        ),
                    }
                results[(framework, workload)] = merged
                status = result.get("status")
                detail = "" if status == "ok" else f" ({result.get('reason')})"
                if status == "ok" and result.get("other_load"):
                    detail = f" other load {max(result['other_load']):.0%}"
                    if result.get("discarded"):
                        detail += f", {result['discarded']} contended call(s) re-run"
                noisy = (
                    f" (machine busy {busy:.0%} before start)"
                    if busy and busy > args.contention
                    else ""
                )
                print(
                    f"  round {round_index + 1}/{args.rounds} {workload:<6} {framework:<19} "
                    f"{status}{detail} [{time.perf_counter() - t0:.1f}s]{noisy}",
                    flush=True,
                )
    versions: dict[str, str] = {}
    for result in results.values():
        versions.update(result.get("versions", {}))
    meta.update(
        versions=versions,
        loadavg_end=loadavg(),
        total_seconds=time.perf_counter() - started,
    )
    return results, list(args.workloads), meta


if __name__ == "__main__":
    if "--worker" in sys.argv[1:]:
        sys.exit(worker_main(sys.argv[1:]))
    sys.exit(driver_main(sys.argv[1:]))
