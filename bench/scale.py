#!/usr/bin/env python
"""Training throughput: steady-state samples/s of Petri and PyTorch Lightning side by side, on
1 and 2 processes (DDP), fp32 and bf16-mixed, contiguous and channels_last, eager and
torch.compile (issue #15).

Command (from the repository root; Lightning in the same interpreter, e.g.
``.venv/bin/pip install lightning`` when pip leaves torch as it is, or bench/setup_peers.sh):

    PYTHONPATH=src .venv/bin/python bench/scale.py --write-docs

Workloads (the same network, data, optimizer, loss and gradient clipping on both sides):

    lenet   the digits LeNet of examples/configs/lenet_digits.yaml: conv(1->32, 5x5, same),
            maxpool 2, conv(32->64, 5x5, same), maxpool 2, fc(256->1024)+tanh, fc(1024->10),
            L2 (0.001) on both kernels, Adam (lr 0.002, halved every 500 steps, fused),
            gradient norm clipped to 5.0; the 1,437 training digits (1x8x8), global batch 64
    cnn     conv(3->32, 3x3)+relu, maxpool 2, conv(32->64)+relu, maxpool 2, conv(64->128)+relu,
            maxpool 2, fc(2048->256)+relu, fc(256->10), Adam (lr 0.001, fused), clip 5.0;
            4,096 random 3x32x32 images (seed 0), global batch 128

Settings (one factor at a time from each workload's base, 1 process fp32 contiguous eager, plus
the combined fast setting, plus ``cnn-1p-fp32-cl-eager-malloc-env``: both frameworks with
glibc's MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ set to 1 GiB in the environment, what
Petri's default ``run_config.host_memory: auto`` does in process, to show what that default is
worth; informational, not one of the issue's targets): ``--settings`` picks by name,
``--list`` prints them. Petri and Lightning get the same global batch (each of N processes
takes batch / N) and the same torch threads per process (``--threads``, default cores // N;
OMP_NUM_THREADS set to match).

    Petri       ``petri -q run CONFIG`` (``--nproc N`` for N > 1: torch.distributed.run under the
                hood), the workload's config with the setting as run_config keys: precision
                ('32' | 'bf16-mixed' | '16-mixed'), memory_format ('contiguous' |
                'channels_last'), compile (true), num_threads, device; schedule ``train``, no
                evaluation or export. Keys left at their defaults are not written.
    Lightning   ``Trainer(accelerator, devices=N, strategy=DDPStrategy(process_group_backend=
                'gloo') for N > 1 on CPU ('ddp', NCCL, on CUDA), precision='32-true' |
                'bf16-mixed' | '16-mixed', gradient_clip_val=5.0, enable_progress_bar=False,
                logger=False, enable_checkpointing=False, enable_model_summary=False,
                use_distributed_sampler=False)``; the data as in-memory tensors behind the fastest
                stock DataLoader form (a BatchSampler of this rank's shuffled indices over a
                TensorDataset, ``batch_size=None``, ``num_workers=0``: one fancy-indexing fetch per
                batch); ``configure_optimizers`` returns ``Adam(fused=True)``; channels_last
                moves the model (``module.to(memory_format=...)``) and each batch; compile is
                ``torch.compile(module)`` before ``fit`` (Lightning's documented way).

Timing: each run is its own process (or process group). A hook (Petri: ``train_hooks_config``
with ``scale:StepTimes``; Lightning: a Callback's ``on_train_batch_end``) records a timestamp
after every step; samples/s is the samples of all ranks in steps W+1..W+T over the time from
the end of step W to the end of step W+T (the slowest rank's), so start-up, the first
steps (compilation, DDP's bucket set-up) and the end-of-run checkpoint are excluded. On CUDA the
two timestamps that bound the window wait for the device. Every setting runs ``--rounds`` times
(default 3), both frameworks back to back in alternating order, settings in a rotated order; the
table gives medians and the median of the per-round Petri / Lightning ratios.

Shared machines: before each pair the script waits (up to --quiet-wait, 60 s) until other
processes use at most --max-others (0.15) of the cores; a pair during which they used more runs
again, up to --retries (2) times; the table counts them.

Options: --rounds N, --quick (1 round, a quarter of the steps), --settings a,b, --list,
--frameworks, --device cpu|cuda, --threads N, --steps-scale X, --max-others F, --retries N,
--quiet-wait S, --json PATH, --from-json PATH (the table of a finished run), --keep DIR,
--write-docs, --python PATH.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _run_facts import command_line, cpu_model, loadavg, write_section

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
BEGIN, END = "<!-- scale:begin -->", "<!-- scale:end -->"
FRAMEWORKS = ("petri", "lightning")
CLIP_NORM = 5.0
RUN_TIMEOUT_S = 600

# workload -> global batch, warm-up steps W, timed steps T (sized so the slowest 1-process
# setting times about 2-3 s on 2 cores)
WORKLOADS: dict[str, dict[str, int]] = {
    "lenet": {"batch": 64, "warmup": 50, "steps": 600},
    "cnn": {"batch": 128, "warmup": 10, "steps": 50},
}
CNN_EXAMPLES = 4096
# glibc's own environment tunables for what Petri's run_config.host_memory (auto) does in
# process: with them set, Petri steps aside and both frameworks run on the same tuned malloc
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}


@dataclasses.dataclass(frozen=True)
class Setting:
    """One cell of the matrix: a workload and how it is trained."""

    workload: str
    nproc: int = 1
    precision: str = "32"
    memory_format: str = "contiguous"
    compile: bool = False
    malloc_env: bool = False  # both frameworks under MALLOC_ENV (informational, not a target)

    @property
    def name(self) -> str:
        parts = [
            self.workload,
            f"{self.nproc}p",
            {"32": "fp32"}.get(self.precision, self.precision),
        ]
        if self.workload == "cnn":
            parts.append("cl" if self.memory_format == "channels_last" else "contig")
        parts.append("compile" if self.compile else "eager")
        if self.malloc_env:
            parts.append("malloc-env")
        return "-".join(parts)

    @property
    def base(self) -> Setting:
        """The workload's base setting (1 process, fp32, contiguous, eager)."""
        return Setting(self.workload)


def settings_for(device: str) -> list[Setting]:
    """The default matrix: each factor on its own from the base, DDP, and the combined fast
    setting; on CUDA also fp16 mixed precision."""
    half = ["bf16-mixed"] + (["16-mixed"] if device == "cuda" else [])
    rows = [Setting("lenet")]
    rows += [Setting("lenet", precision=p) for p in half]
    rows += [Setting("lenet", compile=True), Setting("lenet", nproc=2)]
    rows += [Setting("cnn")]
    rows += [Setting("cnn", precision=p) for p in half]
    rows += [
        Setting("cnn", memory_format="channels_last"),
        Setting("cnn", precision="bf16-mixed", memory_format="channels_last"),
        Setting("cnn", compile=True),
        Setting("cnn", precision="bf16-mixed", memory_format="channels_last", compile=True),
        Setting("cnn", nproc=2),
        Setting("cnn", nproc=2, precision="bf16-mixed", memory_format="channels_last"),
        Setting("cnn", memory_format="channels_last", malloc_env=True),
    ]
    return rows


# ------------------------------------------------------------------------------ step times
class _Clock:
    """Per-step timestamps and batch sizes of one rank, written as JSON at the end."""

    def __init__(self, path: str, warmup: int, last_step: int, device: str) -> None:
        self.path, self.warmup, self.last_step = path, warmup, last_step
        self.cuda = device.startswith("cuda")
        self.times: list[float] = []
        self.sizes: list[int] = []
        self.threads = 0
        self.started = time.time()  # wall clock, comparable with the launcher's

    def tick(self, step: int, size: int) -> None:
        if self.cuda and step in (self.warmup, self.last_step):
            import torch

            torch.cuda.synchronize()
        self.times.append(time.perf_counter())
        self.sizes.append(size)
        if len(self.times) == 1:
            self.first_step_wall = time.time()

    def write(self, rank: int, world: int, extra: dict[str, Any]) -> None:
        out = {
            "rank": rank,
            "world": world,
            "threads": self.threads,
            "times": self.times,
            "sizes": self.sizes,
            "first_step_wall": getattr(self, "first_step_wall", None),
            **extra,
        }
        Path(f"{self.path}.{rank}.json").write_text(json.dumps(out))


def _labels_size(labels: Any) -> int:
    return int(labels.shape[0]) if hasattr(labels, "shape") else len(labels)


class StepTimes:
    """Petri's side: a training hook (``train_hooks_config: [{module: scale:StepTimes}]``) that
    times every step; one file per rank (``RANK`` from torch.distributed.run)."""

    def __init__(self, path: str, warmup: int, last_step: int, device: str = "cpu") -> None:
        self.clock = _Clock(path, warmup, last_step, device)

    def begin(self, state: Any) -> None:
        import torch

        self.clock.threads = torch.get_num_threads()
        self.model = state.model

    def after_step(self, state: Any) -> None:
        self.clock.tick(state.global_step, _labels_size(state.labels))

    def end(self, state: Any) -> None:
        import torch

        weight = next(
            (p for p in self.model.parameters() if p.dim() == 4), None
        )  # the first conv kernel: its memory format as trained
        extra = {
            "channels_last": bool(
                weight is not None
                and weight.is_contiguous(memory_format=torch.channels_last)
                and not weight.is_contiguous()
            ),
        }
        world = int(os.environ.get("WORLD_SIZE", "1"))
        self.clock.write(int(os.environ.get("RANK", "0")), world, extra)


# ----------------------------------------------------------------------------------- data
def _prepare_data(folder: Path) -> dict[str, str]:
    """The workloads' training arrays as .npy files both sides read."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "src"))
    from petri.datasets import digits

    x, y = digits.load_split("train")
    paths = {"lenet_x": folder / "lenet_x.npy", "lenet_y": folder / "lenet_y.npy"}
    np.save(paths["lenet_x"], x)
    np.save(paths["lenet_y"], y)
    rng = np.random.default_rng(0)
    paths["cnn_x"] = folder / "cnn_x.npy"
    paths["cnn_y"] = folder / "cnn_y.npy"
    np.save(paths["cnn_x"], rng.standard_normal((CNN_EXAMPLES, 3, 32, 32), dtype=np.float32))
    np.save(paths["cnn_y"], rng.integers(0, 10, CNN_EXAMPLES).astype(np.int64))
    return {key: str(value) for key, value in paths.items()}


# ---------------------------------------------------------------------------- Petri side
CNN_DEFINITION = [
    ["Conv2d", {"num_filter": 32, "filter_size": 3, "activation": "relu"}],
    ["MaxPool2d", {"kernel_size": 2}],
    ["Conv2d", {"num_filter": 64, "filter_size": 3, "activation": "relu"}],
    ["MaxPool2d", {"kernel_size": 2}],
    ["Conv2d", {"num_filter": 128, "filter_size": 3, "activation": "relu"}],
    ["MaxPool2d", {"kernel_size": 2}],
    ["FullyConnected", {"num_units": 256, "activation": "relu"}],
    ["FullyConnected", {"num_units": 10}],
]


def petri_config(
    setting: Setting, data: dict[str, str], plan: dict[str, int], threads: int, device: str,
    times_path: str,
) -> dict[str, Any]:  # fmt: skip
    """The Petri config of one run: the workload's config, the setting as run_config keys."""
    import yaml

    steps = plan["warmup"] + plan["steps"]
    # batch_size is per process (each rank reads its own shard), as in the DataLoader of
    # every torchrun script: the global batch is batch_size * nproc.
    batch = WORKLOADS[setting.workload]["batch"] // setting.nproc
    if setting.workload == "lenet":
        config = yaml.safe_load((ROOT / "examples/configs/lenet_digits.yaml").read_text())
        config.pop("eval_input_data_config")
        config.pop("export_strategies")
        config["train_input_data_config"]["pipeline_config"].update(
            batch_size=batch, allow_smaller_final_batch=False
        )
    else:
        config = {
            "name": "scale_cnn",
            "train_input_data_config": {
                "input_type": "numpy",
                "x": data["cnn_x"],
                "y": data["cnn_y"],
                "pipeline_config": {
                    "name": "train",
                    "batch_size": batch,
                    "num_epochs": None,
                    "shuffle": True,
                    "allow_smaller_final_batch": False,
                },
            },
            "model_config": {
                "model_type": "classifier",
                "n_classes": 10,
                "loss_config": {"name": "softmax_cross_entropy"},
                "optimizer_config": {"name": "Adam", "learning_rate": 0.001},
                "graph_config": {"name": "cnn", "definition": CNN_DEFINITION},
            },
        }
    run_config = dict(config.get("run_config") or {})
    run_config.pop("save_checkpoints_steps", None)  # one checkpoint, after the timed steps
    run_config.update(seed=1, num_threads=threads, device=device)
    # The setting, passed as the RunConfig keys a user writes; defaults are left unwritten.
    if setting.precision != "32":
        run_config["precision"] = setting.precision
    if setting.memory_format != "contiguous":
        run_config["memory_format"] = setting.memory_format
    if setting.compile:
        run_config["compile"] = True
    config.update(
        run_config=run_config,
        schedule="train",
        train_steps=steps,
        train_steps_per_iteration=steps,
        train_hooks_config=[
            {
                "module": "scale:StepTimes",
                "params": {
                    "path": times_path,
                    "warmup": plan["warmup"],
                    "last_step": steps,
                    "device": device,
                },
            }
        ],
    )
    return config


def _petri_command(setting: Setting, config_path: str, out: str, python: str) -> list[str]:
    command = [python, "-m", "petri", "-q", "run", config_path, "--output-dir", out]
    if setting.nproc > 1:
        command += ["--nproc", str(setting.nproc)]
    return command


# ------------------------------------------------------------------------ Lightning side
def _torch_net(workload: str) -> Any:
    from torch import nn

    if workload == "lenet":
        return nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(256, 1024),
            nn.Tanh(),
            nn.Linear(1024, 10),
        )
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2048, 256),
        nn.ReLU(),
        nn.Linear(256, 10),
    )


def _lightning_worker(spec_path: str) -> None:
    """One Lightning run (rank 0; Lightning re-runs this command for the other ranks)."""
    import logging
    import warnings

    import lightning as L
    import numpy as np
    import torch
    import torch.nn.functional as F
    from lightning.pytorch.strategies import DDPStrategy
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset
    from torch.utils.data.distributed import DistributedSampler

    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    spec = json.loads(Path(spec_path).read_text())
    setting = Setting(**spec["setting"])
    torch.set_num_threads(spec["threads"])
    channels_last = setting.memory_format == "channels_last"
    x = torch.from_numpy(np.load(spec["x"]))
    y = torch.from_numpy(np.load(spec["y"]))
    steps = spec["warmup"] + spec["steps"]
    lenet = setting.workload == "lenet"
    per_rank = WORKLOADS[setting.workload]["batch"] // setting.nproc

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = _torch_net(setting.workload)
            self.kernels = [m.weight for m in self.net if isinstance(m, torch.nn.Conv2d)]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(self(x), y)
            if lenet:  # the example's l2_regularizer (scale 0.001): scale * sum(w**2) / 2
                loss = loss + sum(0.001 * w.square().sum() / 2 for w in self.kernels)
            return loss

        def configure_gradient_clipping(self, optimizer: Any, *args: Any, **kwargs: Any) -> None:
            # Lightning's own gradient_clip_val refuses a fused optimizer under mixed precision
            # (it assumes the optimizer unscales); clip_grad_norm_ is the call it would make.
            torch.nn.utils.clip_grad_norm_(self.parameters(), CLIP_NORM)

        def configure_optimizers(self) -> Any:
            optimizer = torch.optim.Adam(
                self.parameters(), lr=0.002 if lenet else 0.001, fused=True
            )
            if not lenet:
                return optimizer
            decay = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 ** (s / 500))
            return {
                "optimizer": optimizer,
                "lr_scheduler": {"scheduler": decay, "interval": "step"},
            }

        def train_dataloader(self) -> DataLoader:
            dataset = TensorDataset(x, y)
            rank, world = self.trainer.global_rank, self.trainer.world_size
            if world > 1:
                sampler: Any = DistributedSampler(dataset, world, rank, shuffle=True, seed=0)
            else:
                sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(0))
            batches = BatchSampler(sampler, per_rank, drop_last=True)
            return DataLoader(dataset, sampler=batches, batch_size=None, num_workers=0)

    clock = _Clock(spec["times"], spec["warmup"], steps, spec["device"])

    class Times(L.Callback):
        def on_train_start(self, trainer: Any, module: Any) -> None:
            clock.threads = torch.get_num_threads()

        def on_train_batch_end(self, trainer: Any, module: Any, outputs: Any, batch: Any,
                               batch_idx: int) -> None:  # fmt: skip
            clock.tick(trainer.global_step, _labels_size(batch[1]))

        def on_train_end(self, trainer: Any, module: Any) -> None:
            kernel = module.kernels[0]
            clock.write(
                trainer.global_rank,
                trainer.world_size,
                {
                    "channels_last": bool(
                        kernel.is_contiguous(memory_format=torch.channels_last)
                        and not kernel.is_contiguous()
                    ),
                    "precision": str(trainer.precision),
                    "lightning": L.__version__,
                },
            )

    module: Any = Module()
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
    if setting.compile:
        module = torch.compile(module)
    cuda = spec["device"] == "cuda"
    if setting.nproc > 1:
        strategy: Any = "ddp" if cuda else DDPStrategy(process_group_backend="gloo")
    else:
        strategy = "auto"
    precision = {"32": "32-true"}.get(setting.precision, setting.precision)
    with tempfile.TemporaryDirectory(prefix="petri-scale-lightning-") as root:
        trainer = L.Trainer(
            accelerator="gpu" if cuda else "cpu",
            devices=setting.nproc,
            strategy=strategy,
            precision=precision,
            max_steps=steps,
            max_epochs=-1,
            enable_progress_bar=False,
            logger=False,
            enable_checkpointing=False,
            enable_model_summary=False,
            use_distributed_sampler=False,
            num_sanity_val_steps=0,
            default_root_dir=root,
            callbacks=[Times()],
        )
        trainer.fit(module)
        # Reap the ranks Lightning started, so their CPU time counts as this run's.
        for process in getattr(trainer.strategy.launcher, "procs", None) or []:
            process.wait()


# -------------------------------------------------------------------------------- driver
def _run(
    framework: str, setting: Setting, data: dict[str, str], args: argparse.Namespace,
    folder: Path, tag: str,
) -> dict[str, Any]:  # fmt: skip
    """One run of ``setting`` on ``framework`` in fresh processes; its steady-state rate."""
    plan = {
        "warmup": WORKLOADS[setting.workload]["warmup"],
        "steps": max(10, round(WORKLOADS[setting.workload]["steps"] * args.steps_scale)),
    }
    threads = args.threads or max(1, (os.cpu_count() or 1) // setting.nproc)
    run_dir = folder / tag
    run_dir.mkdir(parents=True)
    times = str(run_dir / "times")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(BENCH)]),
        "OMP_NUM_THREADS": str(threads),
        **(MALLOC_ENV if setting.malloc_env else {}),
    }
    if framework == "petri":
        config = petri_config(setting, data, plan, threads, args.device, times)
        config_path = run_dir / "config.json"
        config_path.write_text(json.dumps(config, indent=1))
        command = _petri_command(setting, str(config_path), str(run_dir / "run"), args.python)
    else:
        spec = {
            "setting": dataclasses.asdict(setting),
            "threads": threads,
            "device": args.device,
            "x": data[f"{setting.workload}_x"],
            "y": data[f"{setting.workload}_y"],
            "times": times,
            **plan,
        }
        spec_path = run_dir / "spec.json"
        spec_path.write_text(json.dumps(spec))
        command = [
            args.python,
            str(Path(__file__).resolve()),
            "--lightning-worker",
            str(spec_path),
        ]
    result: dict[str, Any] = {"framework": framework, "setting": setting.name, "threads": threads}
    busy, ours = _cpu_seconds()
    launched = time.time()
    try:
        done = subprocess.run(
            command, env=env, cwd=run_dir, capture_output=True, text=True,
            timeout=RUN_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {**result, "error": f"timed out after {RUN_TIMEOUT_S} s"}
    result["wall_s"] = time.time() - launched
    busy_after, ours_after = _cpu_seconds()
    result["others_cpu"] = max(0.0, (busy_after - busy) - (ours_after - ours)) / (
        result["wall_s"] * (os.cpu_count() or 1)
    )
    ranks = [json.loads(p.read_text()) for p in sorted(run_dir.glob("times.*.json"))]
    if done.returncode != 0 or len(ranks) != setting.nproc:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        reason = next((ln for ln in reversed(lines) if "Error" in ln), lines[-1] if lines else "?")
        return {**result, "error": reason.strip()[:300]}
    warmup, steps = plan["warmup"], plan["steps"]
    samples = 0
    window = 0.0
    for rank in ranks:
        if len(rank["times"]) < warmup + steps:
            return {
                **result,
                "error": f"{len(rank['times'])} steps timed, expected {warmup + steps}",
            }
        samples += sum(rank["sizes"][warmup : warmup + steps])
        window = max(window, rank["times"][warmup + steps - 1] - rank["times"][warmup - 1])
    first = ranks[0]
    result.update(
        samples_per_s=samples / window,
        samples=samples,
        window_s=window,
        to_first_step_s=(first["first_step_wall"] or launched) - launched,
        threads_read_back=first["threads"],
        channels_last=first.get("channels_last"),
    )
    return result


def _run_pair(
    pair: list[str], setting: Setting, data: dict[str, str], args: argparse.Namespace,
    folder: Path, turn: int,
) -> list[dict[str, Any]]:  # fmt: skip
    """Both frameworks' runs of ``setting`` in round ``turn``, back to back. On a shared
    machine a process with one thread per core stalls whenever another process takes a core
    (lenet's 2-thread step slowed 10-15x while other jobs held half the cores), so a pair
    during which other processes used more than ``--max-others`` of the cores runs again, up
    to ``--retries`` times; the earlier attempts stay in the JSON, marked ``discarded``."""
    attempts: list[dict[str, Any]] = []
    for attempt in range(args.retries + 1):
        _wait_for_quiet(args.max_others, args.quiet_wait)
        runs = []
        for framework in pair:
            tag = f"r{turn}-{setting.name}-{framework}-a{attempt}"
            result = _run(framework, setting, data, args, folder, tag)
            result.update(round=turn, attempt=attempt)
            print(json.dumps(result), flush=True)
            runs.append(result)
        disturbed = max(r.get("others_cpu", 0.0) for r in runs) > args.max_others
        for result in runs:
            result["disturbed"] = disturbed
        if not disturbed or attempt == args.retries:
            return attempts + runs
        for result in runs:
            result["discarded"] = True
        attempts += runs
        time.sleep(args.retry_pause)
    return attempts


def _wait_for_quiet(max_others: float, patience: float) -> float:
    """Wait (up to ``patience`` seconds) until the other processes on the machine use at most
    ``max_others`` of the cores over a 2-second window: cheaper than a disturbed pair re-run.
    Returns the share of the last window."""
    cores = os.cpu_count() or 1
    deadline = time.monotonic() + patience
    while True:
        busy, ours = _cpu_seconds()
        time.sleep(2.0)
        busy_after, ours_after = _cpu_seconds()
        share = max(0.0, (busy_after - busy) - (ours_after - ours)) / (2.0 * cores)
        if share <= max_others or time.monotonic() >= deadline:
            return share
        print(f"# waiting for a quiet machine: others use {share:.0%} of the cores", flush=True)


def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds the whole machine has been busy (/proc/stat) and those of this script's
    finished child processes (their own children included): the difference over a run is what
    other processes took from it."""
    ours = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    return busy, ours.ru_utime + ours.ru_stime


def _kept(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs that count: not the disturbed attempts that were run again."""
    return [r for r in results if not r.get("discarded")]


def _median(results: list[dict[str, Any]], framework: str, setting: str) -> float | None:
    values = [
        r["samples_per_s"]
        for r in _kept(results)
        if r["framework"] == framework and r["setting"] == setting and "samples_per_s" in r
    ]
    return statistics.median(values) if values else None


def _paired_ratio(
    results: list[dict[str, Any]], num: tuple[str, str], den: tuple[str, str]
) -> tuple[float, float, float] | None:
    """Median, lowest and highest over rounds of rate(num) / rate(den) in the same round."""
    by_round: dict[int, dict[tuple[str, str], float]] = {}
    for r in _kept(results):
        if "samples_per_s" in r:
            by_round.setdefault(r["round"], {})[(r["framework"], r["setting"])] = r[
                "samples_per_s"
            ]
    ratios = [
        cells[num] / cells[den] for cells in by_round.values() if num in cells and den in cells
    ]
    if not ratios:
        return None
    return statistics.median(ratios), min(ratios), max(ratios)


def _error(results: list[dict[str, Any]], framework: str, setting: str) -> str | None:
    mine = [r for r in _kept(results) if r["framework"] == framework and r["setting"] == setting]
    errors = [r["error"] for r in mine if "error" in r]
    return errors[0] if errors else None


def _fmt(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "n/a"


def _fmt_ratio(ratio: tuple[float, float, float] | None, bold: bool = False) -> str:
    if ratio is None:
        return "n/a"
    text = f"{ratio[0]:.2f}x"
    return (f"**{text}**" if bold else text) + f" ({ratio[1]:.2f}-{ratio[2]:.2f})"


def _table(results: list[dict[str, Any]], settings: list[Setting]) -> str:
    lines = [
        "| setting | procs x threads | global batch | Petri samples/s | Lightning samples/s "
        "| Petri / Lightning (rounds) | Petri vs base | Lightning vs base | to first step s "
        "(Petri, Lightning) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in settings:
        threads = next((r["threads"] for r in results if r["setting"] == s.name), 0)
        cells = [s.name, f"{s.nproc} x {threads}", str(WORKLOADS[s.workload]["batch"])]
        for framework in FRAMEWORKS:
            value = _median(results, framework, s.name)
            error = _error(results, framework, s.name)
            cells.append(_fmt(value) if value is not None or not error else f"failed: {error}")
        ratio = _paired_ratio(results, ("petri", s.name), ("lightning", s.name))
        cells.append(_fmt_ratio(ratio, bold=True))
        for framework in FRAMEWORKS:
            if s == s.base:
                cells.append("1.00x")
                continue
            base = _paired_ratio(results, (framework, s.name), (framework, s.base.name))
            cells.append(f"{base[0]:.2f}x" if base else "n/a")
        starts = []
        for framework in FRAMEWORKS:
            values = [r["to_first_step_s"] for r in _kept(results) if r["framework"] == framework
                      and r["setting"] == s.name and "to_first_step_s" in r]  # fmt: skip
            starts.append(f"{statistics.median(values):.1f}" if values else "n/a")
        cells.append(", ".join(starts))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _targets(results: list[dict[str, Any]], settings: list[Setting]) -> list[str]:
    """The issue's targets, computed from the medians of the paired per-round ratios."""
    lines = []
    short = []
    for s in settings:
        if s.malloc_env:
            continue  # informational: not one of the settings
        ratio = _paired_ratio(results, ("petri", s.name), ("lightning", s.name))
        if ratio is None:
            short.append(f"{s.name} (not measured)")
        elif ratio[0] < 1.0:
            short.append(f"{s.name} {ratio[0]:.2f}x ({100 * (1 - ratio[0]):.0f}% short)")
    lines.append(
        "- Every Petri row >= Lightning's: "
        + ("**holds**." if not short else "**does not hold** for " + "; ".join(short) + ".")
    )
    names = {s.name for s in settings}
    for label, setting, factor in (
        ("bf16-mixed >= 1.3x fp32 (CNN, 1 process, eager)",
         Setting("cnn", precision="bf16-mixed"), 1.3),
        ("channels_last >= 1.1x contiguous (CNN, 1 process, fp32, eager)",
         Setting("cnn", memory_format="channels_last"), 1.1),
    ):  # fmt: skip
        if setting.name not in names:
            continue
        parts = []
        for framework in FRAMEWORKS:
            ratio = _paired_ratio(
                results, (framework, setting.name), (framework, "cnn-1p-fp32-contig-eager")
            )
            parts.append(f"{framework} {_fmt_ratio(ratio)}")
        petri = _paired_ratio(
            results, ("petri", setting.name), ("petri", "cnn-1p-fp32-contig-eager")
        )
        verdict = (
            "n/a"
            if petri is None
            else ("**holds**" if petri[0] >= factor else "**does not hold**")
        )
        lines.append(f"- {label}: {verdict}: " + ", ".join(parts) + ".")
    for s in settings:
        if s.malloc_env:
            ratio = _paired_ratio(results, ("petri", s.name), ("lightning", s.name))
            plain = dataclasses.replace(s, malloc_env=False)
            gains = []
            for framework in FRAMEWORKS:
                gain = _paired_ratio(results, (framework, s.name), (framework, plain.name))
                gains.append(f"{framework} {_fmt_ratio(gain)}")
            lines.append(
                f"- Where Petri's lead on CPU comes from (informational): with glibc's malloc "
                f"tuned through the environment for both ({s.name}), Petri / Lightning is "
                f"{_fmt_ratio(ratio)}; against {plain.name}: " + ", ".join(gains) + "."
            )
    compiled = [s for s in settings if s.compile]
    if compiled:
        parts = []
        for s in compiled:
            eager = dataclasses.replace(s, compile=False)
            for framework in FRAMEWORKS:
                ratio = _paired_ratio(results, (framework, s.name), (framework, eager.name))
                parts.append(f"{s.name} {framework} {_fmt_ratio(ratio)} of {eager.name}")
        lines.append("- torch.compile (reported as measured): " + "; ".join(parts) + ".")
    return lines


def _others(results: list[dict[str, Any]]) -> str:
    shares = [r["others_cpu"] for r in _kept(results) if "others_cpu" in r]
    if not shares:
        return "n/a"
    low, mid, high = (100 * v for v in (min(shares), statistics.median(shares), max(shares)))
    return f"{mid:.0f}% ({low:.0f}-{high:.0f}%)"


def _disturbance(results: list[dict[str, Any]], threshold: float) -> str:
    """How many pairs other processes disturbed: re-run, and kept although disturbed."""
    rerun = {(r["round"], r["setting"], r["attempt"]) for r in results if r.get("discarded")}
    kept = sorted(
        {f"{r['setting']} (round {r['round']})" for r in _kept(results) if r.get("disturbed")}
    )
    text = (
        f"{len(rerun)} pair(s) re-run because other processes used more than "
        f"{100 * threshold:.0f}% of the cores during them"
    )
    if kept:
        text += f"; still disturbed after the last retry, and kept: {', '.join(kept)}"
    return text + "."


def _versions(python: str) -> str:
    code = (
        "import importlib\n"
        "out = []\n"
        "for name in ('torch', 'lightning', 'numpy', 'petri'):\n"
        "    try:\n"
        "        out.append(f'{name} {importlib.import_module(name).__version__}')\n"
        "    except Exception:\n"
        "        out.append(f'{name} missing')\n"
        "print(', '.join(out))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [python, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


DOCS_INTRO = """\
Steady-state training samples/s of Petri and PyTorch Lightning with the same network, data,
global batch, optimizer (fused Adam), clipping (5.0) and torch threads per process, for 1 and
2 processes (DDP over gloo on CPU), fp32 and bf16-mixed autocast, contiguous and channels_last
(CNN), eager and `torch.compile`. Petri runs `petri -q run CONFIG [--nproc N]` with the setting
as `run_config` keys (`precision`, `memory_format`, `compile`; `host_memory` stays at its
default, `auto`, which keeps freed host memory in the process from step to step on glibc);
Lightning a lean `Trainer`
(`precision=`, `devices=N, strategy=DDPStrategy(process_group_backend="gloo")`, no logger,
checkpointing, progress bar or model summary, `gradient_clip_val=5.0`, a BatchSampler
DataLoader over in-memory tensors, `torch.compile(module)` for the compile rows). `lenet` is
the digits LeNet of `examples/configs/lenet_digits.yaml` (1,437 8x8 digits, global batch 64);
`cnn` conv 3->32->64->128 (3x3, relu, maxpool 2 each) + fc 2048->256->10 on 4,096 random
3x32x32 images, global batch 128. A hook (Petri) or callback (Lightning) stamps every step;
samples/s counts the steps after the warm-up (lenet 50, cnn 10 steps) over the slowest rank's
time, so start-up, compilation and the final checkpoint are left out. Each run is its own
process group; rounds interleave the frameworks and rotate the settings. Cells are medians over
rounds; ratios are medians of per-round ratios (lowest-highest in brackets); "vs base" is the
same framework's 1-process fp32 contiguous eager row of the workload. This machine is shared,
and a process with one torch thread per core stalls whenever another process takes a core
(the 2-thread lenet step ran 10-15x slower while other jobs held half the cores), so a pair
of runs during which other processes used more than 15% of the cores (/proc/stat less the
runs' own CPU time) is run again, up to twice. The `-malloc-env` row runs both frameworks
with glibc's `MALLOC_MMAP_THRESHOLD_` and `MALLOC_TRIM_THRESHOLD_` at 1 GiB (Petri's `auto`
then steps aside): the same malloc tuning for both, which a Lightning user can set by hand,
to show how much of Petri's lead on CPU is that default. Written by the script
(`--write-docs`)."""

DOCS_GPU = """\
**On a GPU.** `--device cuda` runs the same matrix on CUDA (adding `16-mixed` rows; DDP uses
NCCL, one process per GPU, so `2p` rows need two GPUs) with `run_config.device: cuda` for Petri
and `accelerator="gpu"` for Lightning; the two timestamps that bound the timed window wait for
the device (`torch.cuda.synchronize()`). Raise `--steps-scale` (e.g. 10) so each window lasts
seconds at GPU speed:

```bash
PYTHONPATH=src .venv/bin/python bench/scale.py --device cuda --steps-scale 10 --write-docs
```"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 round, a quarter of the steps")
    parser.add_argument("--settings", default="", help="comma-separated names (default all)")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="per process (0: cores // N)")
    parser.add_argument("--steps-scale", type=float, default=1.0)
    parser.add_argument(
        "--max-others", type=float, default=0.15,
        help="re-run a pair when other processes used more than this share of the cores",
    )  # fmt: skip
    parser.add_argument("--retries", type=int, default=2, help="re-runs of a disturbed pair")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="seconds to wait before each pair for other processes to use <= --max-others",
    )
    parser.add_argument("--retry-pause", type=float, default=5.0, help="seconds before one")
    parser.add_argument("--list", action="store_true", help="print the settings and exit")
    parser.add_argument("--json", default="")
    parser.add_argument("--keep", default="", help="keep the runs' folders here")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument(
        "--from-json", default="", help="table (and docs) from a finished run's --json file"
    )
    parser.add_argument("--lightning-worker", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.lightning_worker:
        _lightning_worker(args.lightning_worker)
        return
    if args.quick:
        args.rounds, args.steps_scale = 1, args.steps_scale / 4
    settings = settings_for(args.device)
    if args.list:
        print("\n".join(s.name for s in settings))
        return
    if args.settings:
        wanted = args.settings.split(",")
        unknown = sorted(set(wanted) - {s.name for s in settings})
        if unknown:
            parser.error(f"unknown settings {unknown}; known: {[s.name for s in settings]}")
        settings = [s for s in settings if s.name in wanted]
    frameworks = [f for f in args.frameworks.split(",") if f]
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        meta, results = saved["meta"], saved["results"]
        names = {r["setting"] for r in results}
        settings = [s for s in settings if s.name in names]
        args.rounds = 1 + max(r["round"] for r in results)
        _report(args, meta, results, settings)
        return
    meta = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "command": command_line("bench/scale.py", sys.argv[1:]),
        "loadavg_start": loadavg(),
        "cpu": cpu_model(),
        "versions": _versions(args.python),
    }
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="petri-scale-") as tmp:
        folder = Path(args.keep or tmp)
        data = _prepare_data(folder)
        for turn in range(args.rounds):
            order = settings[turn % len(settings) :] + settings[: turn % len(settings)]
            for index, setting in enumerate(order):
                pair = frameworks if (turn + index) % 2 == 0 else frameworks[::-1]
                results += _run_pair(pair, setting, data, args, folder, turn)
    meta.update(loadavg_end=loadavg(), minutes=(time.perf_counter() - started) / 60)
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    _report(args, meta, results, settings)


def _report(
    args: argparse.Namespace,
    meta: dict[str, Any],
    results: list[dict[str, Any]],
    settings: list[Setting],
) -> None:
    """Print the table and the targets; with ``--write-docs`` put them in the docs."""
    table = _table(results, settings)
    targets = _targets(results, settings)
    print("\n" + table + "\n\n" + "\n".join(targets))
    print(f"other processes' share of the cores during the runs: {_others(results)}")
    print(_disturbance(results, args.max_others))
    if args.write_docs:
        section = "\n\n".join(
            [
                BEGIN,
                "## Training throughput: bench/scale.py",
                DOCS_INTRO,
                "```bash\nPYTHONPATH=src .venv/bin/python bench/scale.py --write-docs\n```",
                f"**Run of {meta['date']}**: `{meta['command']}`; {args.rounds} round(s), "
                f"{meta['minutes']:.1f} minutes. {os.cpu_count()} CPUs ({meta['cpu']}), load "
                f"average {meta['loadavg_start']} at the start and {meta['loadavg_end']} at the "
                f"end; other processes used {_others(results)} of all cores during the runs "
                f"(/proc/stat less this script's processes; median and range over the runs "
                f"kept); {_disturbance(results, args.max_others)} {meta['versions']}.",
                table,
                "**Targets (issue #15).**\n\n" + "\n".join(targets),
                DOCS_GPU,
                END,
            ]
        )
        print(f"wrote {write_section(section, BEGIN, END)}")


if __name__ == "__main__":
    main()
