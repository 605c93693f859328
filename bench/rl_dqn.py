#!/usr/bin/env python
"""DQN on CartPole-v1: wall seconds and environment steps/s of Petri, Stable-Baselines3 and a
single-file plain-PyTorch DQN (the floor), at rl-baselines3-zoo's hyperparameters.

Command (from the repository root; the first part is needed once per machine):

    bash bench/setup_rl_peers.sh && .venv-rlpeers/bin/python bench/rl_dqn.py --write-docs

``bench/setup_rl_peers.sh`` creates ``.venv-rlpeers/`` (torch==2.13.0 CPU, gymnasium,
stable-baselines3, and Petri installed editable), so ONE interpreter runs every row. A peer that
does not import is reported as a "not installed" row. The default run takes about 5 minutes on
an idle 2-core machine (three 50,000-step trainings plus greedy evaluations).

Rows (each runs in its own subprocess: ``rl_dqn.py --worker ROW``, which prints one JSON
result, so imports and thread pools never meet):

    floor   the plain PyTorch DQN below (``_floor``): numpy ring buffer, epsilon-greedy on one
            state, 128 gradient steps every 256 environment steps, target copied every 10
            environment steps (what SB3 does)
    petri   torch.manual_seed(seed), then
            petri.estimators.Agent + petri.models.DQNModel(graph_fn=[FullyConnected 256 relu] x2)
            + petri.rl.memories.Memory(100000, 64) + LinearExploration(1.0 -> 0.04 over 8000);
            train(steps=50000, first_update=1000, update_frequency=256, gradient_steps=128)
    sb3     stable_baselines3.DQN("MlpPolicy", ...).learn(50000)

Hyperparameters (rl-baselines3-zoo ``hyperparams/dqn.yml``, CartPole-v1), identical in every row:
learning rate 2.3e-3 (Adam), batch 64, buffer 100,000, learning_starts 1000, gamma 0.99,
target_update_interval 10 (environment steps), train_freq 256, gradient_steps 128,
exploration_fraction 0.16 (of 50,000 steps: 8000) down to 0.04, net [256, 256] ReLU, Huber loss,
gradient-norm clip 10. Petri counts ``target_update_frequency`` in updates, not environment
steps; with train_freq 256 >= 10 SB3's target is synced during each rollout and fixed during the
128 gradient steps that follow, which ``target_update_frequency=128`` reproduces exactly.

Timing: the wall seconds of the training call alone (environment creation, imports and the final
evaluation excluded), float32, CPU, ``torch.set_num_threads(--threads)`` (default 1) in every
row. "final return" is the greedy (deterministic) mean return over 20 evaluation episodes after
training, on an environment seeded ``seed + 1000``. With ``--rounds N`` every row runs N times
(rounds interleave the rows so machine drift hits all alike) and the table shows the median time
and the mean final return.

Options: --steps (default 50000), --seeds (default 0), --rounds, --rows, --threads, --json PATH,
--write-docs (replace the RL section of docs/benchmarks.md), --quick (2,000 steps, smoke run),
--from-json PATH (re-make the table of an earlier --json run without training).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ROWS = ("floor", "petri", "sb3")
ENV_ID = "CartPole-v1"
ZOO = {
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_final_eps": 0.04,
    "net_arch": [256, 256],
    "max_grad_norm": 10.0,
}
EVAL_EPISODES = 20


# ------------------------------------------------------------------------------- the rows
def _floor(steps: int, seed: int) -> tuple[float, Any]:
    """A single-file DQN in plain PyTorch with SB3's semantics; returns (seconds, act_fn)."""
    import gymnasium as gym
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn

    def mlp() -> nn.Module:
        return nn.Sequential(
            nn.Linear(4, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 2)
        )

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=seed)
    q_net, target = mlp(), mlp()
    target.load_state_dict(q_net.state_dict())
    optimizer = torch.optim.Adam(q_net.parameters(), lr=ZOO["learning_rate"])
    online, frozen = list(q_net.parameters()), list(target.parameters())
    size = ZOO["buffer_size"]
    states = np.zeros((size, 4), np.float32)
    next_states = np.zeros((size, 4), np.float32)
    actions = np.zeros(size, np.int64)
    rewards = np.zeros(size, np.float32)
    terminals = np.zeros(size, np.float32)
    position = stored = 0
    decay_steps = ZOO["exploration_fraction"] * steps
    final_eps = ZOO["exploration_final_eps"]
    started = time.perf_counter()
    for t in range(1, steps + 1):
        eps = max(final_eps, 1.0 - (1.0 - final_eps) * (t - 1) / decay_steps)
        if rng.random() < eps:
            action = int(rng.integers(2))
        else:
            with torch.no_grad():
                action = int(q_net(torch.from_numpy(obs).unsqueeze(0)).argmax())
        next_obs, reward, terminated, truncated, _ = env.step(action)
        states[position], actions[position], rewards[position] = obs, action, reward
        next_states[position], terminals[position] = next_obs, float(terminated)
        position, stored = (position + 1) % size, min(stored + 1, size)
        obs = env.reset()[0] if terminated or truncated else next_obs
        if t % ZOO["target_update_interval"] == 0:
            with torch.no_grad():
                torch._foreach_copy_(frozen, online)
        if t % ZOO["train_freq"] == 0 and t > ZOO["learning_starts"]:
            for _ in range(ZOO["gradient_steps"]):
                index = torch.from_numpy(rng.integers(0, stored, ZOO["batch_size"]))
                s = torch.from_numpy(states)[index]
                with torch.no_grad():
                    next_q = target(torch.from_numpy(next_states)[index]).amax(1)
                    y = (
                        torch.from_numpy(rewards)[index]
                        + ZOO["gamma"] * (1.0 - torch.from_numpy(terminals)[index]) * next_q
                    )
                q = q_net(s).gather(1, torch.from_numpy(actions)[index].unsqueeze(1)).squeeze(1)
                loss = F.smooth_l1_loss(q, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(online, ZOO["max_grad_norm"])
                optimizer.step()
    seconds = time.perf_counter() - started

    def act(state: Any) -> int:
        with torch.no_grad():
            return int(q_net(torch.as_tensor(state).unsqueeze(0)).argmax())

    return seconds, act


def _petri(steps: int, seed: int) -> tuple[float, Any]:
    import tempfile

    import torch

    import petri as plx

    torch.manual_seed(seed)  # the model is built here, before the Agent seeds torch
    env = plx.envs.GymEnvironment(ENV_ID, seed=seed)
    units = ZOO["net_arch"]
    model = plx.models.DQNModel(
        graph_fn=[["FullyConnected", {"num_units": n, "activation": "relu"}] for n in units],
        loss_config="huber_loss",
        num_states=env.num_states,
        num_actions=env.num_actions,
        optimizer_config=plx.configs.OptimizerConfig(
            name="adam", learning_rate=ZOO["learning_rate"]
        ),
        exploration_config=plx.rl.explorations.LinearExploration(
            1.0, ZOO["exploration_final_eps"], int(ZOO["exploration_fraction"] * steps)
        ),
        target_update_frequency=ZOO["gradient_steps"],
        discount=ZOO["gamma"],
        clip_gradients=ZOO["max_grad_norm"],
    )
    memory = plx.rl.memories.Memory(ZOO["buffer_size"], ZOO["batch_size"])
    agent = plx.estimators.Agent(
        model,
        memory,
        model_dir=tempfile.mkdtemp(prefix="petri_rl_bench_"),
        config={"seed": seed, "log_step_count_steps": 10_000},
    )
    started = time.perf_counter()
    agent.train(
        env,
        steps=steps,
        first_update=ZOO["learning_starts"],
        update_frequency=ZOO["train_freq"],
        gradient_steps=ZOO["gradient_steps"],
    )
    seconds = time.perf_counter() - started

    def act(state: Any) -> int:
        with torch.no_grad():
            return int(agent.predict(state)["actions"])

    return seconds, act


def _sb3(steps: int, seed: int) -> tuple[float, Any]:
    import gymnasium as gym
    from stable_baselines3 import DQN

    model = DQN(
        "MlpPolicy",
        gym.make(ENV_ID),
        learning_rate=ZOO["learning_rate"],
        batch_size=ZOO["batch_size"],
        buffer_size=ZOO["buffer_size"],
        learning_starts=ZOO["learning_starts"],
        gamma=ZOO["gamma"],
        target_update_interval=ZOO["target_update_interval"],
        train_freq=ZOO["train_freq"],
        gradient_steps=ZOO["gradient_steps"],
        exploration_fraction=ZOO["exploration_fraction"],
        exploration_final_eps=ZOO["exploration_final_eps"],
        max_grad_norm=ZOO["max_grad_norm"],
        policy_kwargs={"net_arch": ZOO["net_arch"]},
        seed=seed,
        device="cpu",
        verbose=0,
    )
    started = time.perf_counter()
    model.learn(total_timesteps=steps)
    seconds = time.perf_counter() - started

    def act(state: Any) -> int:
        return int(model.predict(state, deterministic=True)[0])

    return seconds, act


def _greedy_return(act: Any, seed: int) -> float:
    import gymnasium as gym

    env = gym.make(ENV_ID)
    returns = []
    for episode in range(EVAL_EPISODES):
        state, _ = env.reset(seed=seed + 1000 + episode)
        total, done = 0.0, False
        while not done:
            state, reward, terminated, truncated, _ = env.step(act(state))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return statistics.fmean(returns)


def _worker(row: str, steps: int, seed: int, threads: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    run = {"floor": _floor, "petri": _petri, "sb3": _sb3}[row]
    seconds, act = run(steps, seed)
    return {
        "row": row,
        "seed": seed,
        "steps": steps,
        "seconds": seconds,
        "steps_per_sec": steps / seconds,
        "final_return": _greedy_return(act, seed),
    }


# ------------------------------------------------------------------------------- driver
def _run_row(row: str, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    command = [
        args.python,
        __file__,
        "--worker",
        row,
        "--steps",
        str(args.steps),
        "--seeds",
        str(seed),
        "--threads",
        str(args.threads),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        missing = "ModuleNotFoundError" in done.stderr
        return {
            "row": row,
            "seed": seed,
            "error": "not installed" if missing else "failed",
            "detail": done.stderr.strip().splitlines()[-1:] or ["?"],
        }
    return json.loads(lines[-1])


def _table(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    by_row: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        by_row.setdefault(result["row"], []).append(result)
    medians = {
        row: statistics.median(r["seconds"] for r in rows)
        for row, rows in by_row.items()
        if all("seconds" in r for r in rows)
    }
    floor, sb3 = medians.get("floor"), medians.get("sb3")
    lines = [
        "| row | wall s (median) | env steps/s | final greedy return (mean) | vs floor | vs SB3 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in ROWS:
        rows = by_row.get(row)
        if not rows:
            continue
        if row not in medians:
            lines.append(f"| {row} | {rows[0].get('error', 'failed')} | | | | |")
            continue
        seconds = medians[row]
        final = statistics.fmean(r["final_return"] for r in rows)
        vs_floor = f"{seconds / floor:.2f}x" if floor else ""
        vs_sb3 = f"{seconds / sb3:.2f}x" if sb3 else ""
        lines.append(
            f"| {row} | {seconds:.1f} | {args.steps / seconds:.0f} | {final:.1f} | "
            f"{vs_floor} | {vs_sb3} |"
        )
    return "\n".join(lines)


def _paired(results: list[dict[str, Any]]) -> str:
    """Petri's seconds over SB3's and over the floor's, seed by seed (same round)."""
    seconds: dict[tuple[int, int], dict[str, float]] = {}
    counts: dict[tuple[str, int], int] = {}
    for result in results:
        if "seconds" not in result:
            continue
        key = (result["row"], result["seed"])
        counts[key] = counts.get(key, 0) + 1
        seconds.setdefault((result["seed"], counts[key]), {})[result["row"]] = result["seconds"]
    pairs = [
        f"seed {seed}: {rows['petri'] / rows['sb3']:.2f}x SB3, "
        f"{rows['petri'] / rows['floor']:.2f}x floor"
        for (seed, _), rows in sorted(seconds.items())
        if {"petri", "sb3", "floor"} <= rows.keys()
    ]
    return "Petri per seed: " + "; ".join(pairs) + ".\n\n" if pairs else ""


def _write_docs(table: str, args: argparse.Namespace, results: list[dict[str, Any]]) -> Path:
    path = ROOT / "docs" / "benchmarks.md"
    begin, end = "<!-- rl_dqn:begin -->", "<!-- rl_dqn:end -->"
    section = (
        f"{begin}\n## DQN on CartPole-v1 (`bench/rl_dqn.py`)\n\n"
        f"`bash bench/setup_rl_peers.sh && taskset -c 0 .venv-rlpeers/bin/python "
        f"bench/rl_dqn.py --seeds {args.seeds} --rounds {args.rounds} --write-docs`: "
        f"{args.steps} environment steps, rl-baselines3-zoo hyperparameters "
        f"(see the script's docstring), seeds {args.seeds}, {args.rounds} round(s), "
        f"{args.threads} torch thread(s); {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. Wall seconds of the "
        f"training call; final return = greedy mean over {EVAL_EPISODES} episodes.\n\n"
        f"{table}\n\n"
        f"{_paired(results)}"
        "Where the time goes: about 24,000 gradient steps of a 64-row batch through the "
        "[256, 256] Q-network and its target dominate every row. The floor and SB3 use "
        "`torch.optim.Adam` as written (torch's for-loop kernel on CPU) and "
        "`clip_grad_norm_`; Petri builds Adam with `fused=True` and takes each update through "
        "`petri.optimizers.GradientStep`, which calls the fused kernel directly (no per-call "
        "regrouping, hooks or profiler ranges: 122 vs 208 µs per step) and clips with one norm "
        "read back on CPU (33 vs 160 µs). Greedy acting runs the network's `F.linear` calls "
        "directly under `inference_mode` (`LinearChain`: 68 vs 117 µs per state). Final "
        "returns after exactly 50,000 steps are a snapshot of a noisy learner (one seed of a "
        "row may sit at 20-50 while the others hold 500), so compare their means over "
        "seeds.\n"
        f"{end}"
    )
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", choices=ROWS)
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--from-json", type=Path, help="re-make the table from a --json file of an earlier run"
    )
    args = parser.parse_args()
    seeds = [int(s) for s in str(args.seeds).split(",")]
    if args.worker:
        try:
            print(json.dumps(_worker(args.worker, args.steps, seeds[0], args.threads)))
        except ImportError:
            traceback.print_exc()
            sys.exit(3)
        return
    if args.quick:
        args.steps = 2000
    rows = [row for row in args.rows.split(",") if row]
    results = json.loads(args.from_json.read_text()) if args.from_json else []
    for _ in range(0 if args.from_json else args.rounds):
        for seed in seeds:
            for row in rows:
                result = _run_row(row, args, seed)
                print(json.dumps(result), flush=True)
                results.append(result)
    table = _table(results, args)
    print("\n" + table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.write_docs:
        print(f"\nwrote {_write_docs(table, args, results)}")


if __name__ == "__main__":
    main()
