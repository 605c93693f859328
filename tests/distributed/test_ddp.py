"""Distributed training (issue #15): two CPU processes with gloo train one run together, as
one process with the same global batch would, and survive the death of a rank."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from petri.experiments import create_experiment
from petri.training.checkpoints import list_checkpoints

ROOT = Path(__file__).resolve().parents[2]
LENET = ROOT / "examples/configs/lenet_digits.yaml"
PYTHON = sys.executable

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, name: str, **changes: Any) -> Path:
    config = yaml.safe_load(LENET.read_text())
    config.update(
        {
            "train_steps": 200,
            "eval_every_n_steps": 100,
            "train_steps_per_iteration": 100,
            "export_strategies": None,
        }
    )
    config["run_config"].update({"save_checkpoints_steps": 100, "log_step_count_steps": 25})
    config["run_config"].pop("num_threads", None)
    for key, value in changes.items():
        config[key] = value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _rows(run: Path) -> list[dict[str, str]]:
    with (run / "metrics.csv").open() as file:
        return list(csv.DictReader(file))


def _launch(nproc: int, *arguments: str) -> list[str]:
    return [
        PYTHON,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        *arguments,
    ]


def test_two_processes_train_as_one_with_the_same_global_batch(tmp_path: Path) -> None:
    config = _config(tmp_path, "ddp")
    run_dir, out = tmp_path / "ddp_run", tmp_path / "ranks"
    out.mkdir()
    job = str(Path(__file__).with_name("_ddp_job.py"))
    done = subprocess.run(
        _launch(2, job, str(config), str(run_dir), str(out)),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    # one process, twice the batch: the same examples at every step
    single = yaml.safe_load(config.read_text())
    single["train_input_data_config"]["pipeline_config"]["batch_size"] *= 2
    single["run_config"]["num_threads"] = 1
    single_dir = tmp_path / "single_run"
    reference = create_experiment(single, output_dir=single_dir)
    reference.train_and_evaluate()

    ddp_rows, single_rows = _rows(run_dir), _rows(single_dir)
    ddp_loss = {r["global_step"]: float(r["loss"]) for r in ddp_rows if r["loss"]}
    single_loss = {r["global_step"]: float(r["loss"]) for r in single_rows if r["loss"]}
    assert ddp_loss.keys() == single_loss.keys() == {str(s) for s in range(25, 201, 25)}
    # the same to float rounding at first (which grows over 200 Adam steps): within 1%, then 5%
    assert ddp_loss["25"] == pytest.approx(single_loss["25"], rel=0.01)
    for step, loss in ddp_loss.items():
        assert loss == pytest.approx(single_loss[step], rel=0.05), step

    # every rank's evaluation is the same, and is the single-process evaluation of the checkpoint
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0] == ranks[1]
    assert ranks[0]["global_step"] == 200
    checker = create_experiment(single, output_dir=tmp_path / "checker")
    own = checker.estimator.evaluate(
        checker.eval_input_fn, checkpoint_path=str(run_dir / "checkpoints/model.ckpt-200.pt")
    )
    for key in ("streaming_accuracy", "streaming_precision", "loss"):
        assert ranks[0][key] == pytest.approx(own[key], abs=1e-6), key
    assert ranks[0]["streaming_accuracy"] > 0.9

    # one run log, one checkpoint series: rank 1 wrote nothing of its own
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(
        p.name for p in single_dir.iterdir()
    )
    assert [p.name for p in list_checkpoints(run_dir / "checkpoints")] == [
        "model.ckpt-100.pt",
        "model.ckpt-200.pt",
    ]
    steps = [(r["global_step"], bool(r["loss"])) for r in ddp_rows]
    assert len(steps) == len(set(steps))  # no row written twice


def _rank_process(launcher: subprocess.Popen, rank: int) -> int:
    """The pid of the worker with ``RANK=rank`` among the launcher's descendants."""
    pending, seen = [launcher.pid], set()
    while pending:
        pid = pending.pop()
        seen.add(pid)
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            try:
                environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if (
                f"RANK={rank}".encode() in environ
                and b"LOCAL_RANK=" + str(rank).encode() in environ
            ):
                return child
            pending.append(child)
    raise AssertionError(f"no rank {rank} among {sorted(seen)}")


def test_a_killed_rank_fails_the_job_fast_and_the_same_command_resumes(tmp_path: Path) -> None:
    config = _config(
        tmp_path, "long", train_steps=1500, eval_every_n_steps=500, train_steps_per_iteration=500
    )
    run_dir = tmp_path / "run"
    command = [
        PYTHON,
        "-m",
        "petri",
        "run",
        str(config),
        "--output-dir",
        str(run_dir),
        "--nproc",
        "2",
    ]
    launcher = subprocess.Popen(
        command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 300
        while not (run_dir / "model.ckpt-200.pt").exists():
            assert launcher.poll() is None, launcher.stdout.read()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint at step 200"
            time.sleep(0.1)
        victim = _rank_process(launcher, 1)
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        code = launcher.wait(timeout=120)
        took = time.monotonic() - killed
        output = launcher.stdout.read()
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert code != 0, output[-3000:]
    assert took < 60, took
    resumed_from = max(int(p.stem.split("-")[1]) for p in run_dir.glob("model.ckpt-*.pt"))
    assert 200 <= resumed_from < 1500

    again = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"global step {resumed_from}" in again.stderr  # "Restored ... (global step N)"
    assert (run_dir / "model.ckpt-1500.pt").exists()
    rows = _rows(run_dir)
    train_steps = [int(r["global_step"]) for r in rows if r["loss"]]
    assert train_steps == list(range(25, 1501, 25))  # the record of an uninterrupted run
    evaluations = [int(r["global_step"]) for r in rows if r["eval/loss"]]
    assert evaluations == [500, 1000, 1500]


def _keys_job(settings: dict[str, Any], mode: str) -> subprocess.CompletedProcess[str]:
    job = str(Path(__file__).with_name("_keys_job.py"))
    return subprocess.run(
        _launch(2, job, json.dumps(settings), mode),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_distributed_backend_is_chosen_and_nccl_needs_cuda() -> None:
    done = _keys_job({"backend": "gloo"}, "ok")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("joined with backend gloo") == 2
    auto = _keys_job({}, "ok")  # auto on a CPU machine: gloo
    assert auto.stdout.count("joined with backend gloo") == 2, auto.stderr[-2000:]
    if not __import__("torch").cuda.is_available():
        nccl = _keys_job({"backend": "nccl"}, "ok")
        assert nccl.returncode != 0
        assert "backend 'nccl' needs CUDA" in nccl.stderr


def test_distributed_timeout_fails_a_collective_that_waits_for_a_silent_rank() -> None:
    started = time.monotonic()
    done = _keys_job({"timeout_s": 4}, "hang")
    assert done.returncode != 0
    assert "rank 0 gave up after" in done.stdout, done.stdout + done.stderr[-2000:]
    waited = float(done.stdout.split("gave up after ")[1].split(" s")[0])
    assert 3.5 <= waited < 30, waited
    assert time.monotonic() - started < 90
