#!/usr/bin/env python
"""Vectorised CartPole: gymnasium's synchronous against its asynchronous vector environment,
and PPO (examples/rl/ppo_cartpole.yaml) in 8 environments against 1.

Command (from the repository root, on an idle machine):

    PYTHONPATH=src python bench/rl_vector_envs.py

Rows:

    sync/async N   microseconds per loop iteration and per environment step of N CartPoles
                   (``gymnasium.make_vec``, same-step autoreset) acted on by a [64, 64] tanh
                   policy on one torch thread, 3,000 iterations after 50 to warm up
    ppo N          wall seconds of ``create_experiment(ppo_cartpole.yaml).run_schedule()`` for
                   its 100,000 steps with ``num_envs: N``, seed 0, no early stop, and the final
                   greedy return (20 episodes)

Measured on the 2-core development machine (docs/api/rl.md): async 49-54 us per environment
step against sync 10 us with 8 CartPoles, 37-39 against 8 with 16: a CartPole step costs less
than the inter-process round trip, so Petri offers only the synchronous one. PPO: 8.2-8.8 s with 8
environments, 11.2-11.7 s with one, every run ending at a return of 500 (seeds 0-5).
"""

from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
import yaml
from gymnasium.vector import AutoresetMode

ROOT = Path(__file__).resolve().parents[1]


def vector_step(mode: str, num_envs: int, iterations: int = 3000) -> tuple[float, float]:
    """(microseconds per iteration, per environment step) of ``num_envs`` CartPoles."""
    policy = torch.nn.Sequential(
        torch.nn.Linear(4, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 2),
    )
    env = gym.make_vec(
        "CartPole-v1",
        num_envs=num_envs,
        vectorization_mode=mode,
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
    )
    rng = np.random.default_rng(0)
    observation, _ = env.reset(seed=0)
    for _ in range(50):
        observation, *_ = env.step(rng.integers(0, 2, num_envs))
    started = time.perf_counter()
    for _ in range(iterations):
        with torch.no_grad():
            logits = policy(torch.from_numpy(observation.astype(np.float32)))
        actions = logits.argmax(1).numpy() ^ rng.integers(0, 2, num_envs)
        observation, *_ = env.step(actions)
    elapsed = time.perf_counter() - started
    env.close()
    return elapsed / iterations * 1e6, elapsed / (iterations * num_envs) * 1e6


def ppo(num_envs: int, seed: int = 0) -> tuple[float, float]:
    """(wall seconds, final greedy return) of ppo_cartpole.yaml in ``num_envs`` environments."""
    from petri.experiments import create_experiment

    config = yaml.safe_load((ROOT / "examples/rl/ppo_cartpole.yaml").read_text())
    config = copy.deepcopy(config)
    config["environment_config"]["num_envs"] = num_envs
    for key in ("eval_every_n_steps", "target_return"):
        config.pop(key)
    config.update(output_dir=tempfile.mkdtemp(prefix="petri_bench_"))
    config["run_config"].update(seed=seed, verbose=False)
    started = time.perf_counter()
    result = create_experiment(config).run_schedule()
    return time.perf_counter() - started, float(result["return_mean"])


def main() -> None:
    torch.set_num_threads(1)
    for num_envs in (8, 16):
        for mode in ("sync", "async"):
            per_iteration, per_step = vector_step(mode, num_envs)
            print(
                f"{mode:5s} {num_envs:2d}: {per_iteration:5.0f} us/iteration, "
                f"{per_step:5.1f} us/environment step"
            )
    for num_envs in (8, 1):
        seconds, final_return = ppo(num_envs)
        print(f"ppo {num_envs}: {seconds:.2f} s, final return {final_return:.1f}")


if __name__ == "__main__":
    main()
