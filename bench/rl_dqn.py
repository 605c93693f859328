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
            environment steps (what SB3 does); torch.optim.Adam(fused=True) and
            clip_grad_norm_(10)
    petri   torch.manual_seed(seed), then
            petri.estimators.Agent + petri.models.DQNModel(graph_fn=[FullyConnected 256 relu] x2)
            + petri.rl.memories.Memory(100000, 64) + LinearExploration(1.0 -> 0.04 over 8000);
            train(steps=50000, first_update=1000, update_frequency=256, gradient_steps=128);
            Petri's optimizer factory builds Adam(fused=True) and GradientStep calls its
            kernel directly, clip_gradients=10
    sb3     stable_baselines3.DQN("MlpPolicy", ..., max_grad_norm=10,
            policy_kwargs=dict(net_arch=[256, 256], optimizer_kwargs=dict(fused=True))).learn

Every row gets the settings a careful user of it would choose: torch's fused Adam kernel (SB3
takes optimizer arguments through policy_kwargs) and gradient-norm clipping at 10 (SB3's
default max_grad_norm), each its own way. Each worker reads back the kernel and the clip norm
it actually ran with; the driver checks them before writing the docs.

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

The ratio columns are medians over (seed, round) pairs of the row's seconds / the reference
row's in the same pair; the targets (Petri <= 0.7x SB3's wall time at an equal or better final
return, <= 1.2x the floor's) are computed from the same table.

Options: --steps (default 50000), --seeds (default 0), --rounds, --rows, --threads, --json PATH,
--write-docs (replace the RL section of docs/benchmarks.md, targets included), --quick (2,000
steps, smoke run), --from-json PATH (re-make the table of an earlier --json run without
training).
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
import textwrap
import time
import traceback
from pathlib import Path
from typing import Any

from _run_facts import command_line, cpu_model, loadavg, write_section

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
# Targets (earlier issues): Petri's wall time relative to SB3's and to the floor's.
TARGET_VS_SB3, TARGET_VS_FLOOR = 0.7, 1.2


# ------------------------------------------------------------------------------- the rows
def _floor(steps: int, seed: int) -> tuple[float, Any, dict[str, Any]]:
    """A single-file DQN in plain PyTorch with SB3's semantics; (seconds, act_fn, settings)."""
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
    optimizer = torch.optim.Adam(q_net.parameters(), lr=ZOO["learning_rate"], fused=True)
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

    settings = {"adam_fused": bool(optimizer.defaults["fused"]), "clip_norm": ZOO["max_grad_norm"]}
    return seconds, act, settings


def _petri(steps: int, seed: int) -> tuple[float, Any, dict[str, Any]]:
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

    step = agent.model._optimize  # the GradientStep the model trained with
    settings = {
        "adam_fused": bool(agent.model.optimizer.defaults.get("fused")),
        "direct_kernel": getattr(step, "_plan", None) is not None,
        "clip_norm": getattr(step, "clip_norm", None),
    }
    return seconds, act, settings


def _sb3(steps: int, seed: int) -> tuple[float, Any, dict[str, Any]]:
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
        policy_kwargs={"net_arch": ZOO["net_arch"], "optimizer_kwargs": {"fused": True}},
        seed=seed,
        device="cpu",
        verbose=0,
    )
    started = time.perf_counter()
    model.learn(total_timesteps=steps)
    seconds = time.perf_counter() - started

    def act(state: Any) -> int:
        return int(model.predict(state, deterministic=True)[0])

    settings = {
        "adam_fused": bool(model.policy.optimizer.defaults.get("fused")),
        "clip_norm": model.max_grad_norm,
    }
    return seconds, act, settings


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
    seconds, act, settings = run(steps, seed)
    return {
        "row": row,
        "seed": seed,
        "steps": steps,
        "seconds": seconds,
        "steps_per_sec": steps / seconds,
        "final_return": _greedy_return(act, seed),
        **settings,
        "versions": _versions(),
    }


def _versions() -> dict[str, str]:
    found = {}
    for name in ("torch", "gymnasium", "stable_baselines3", "petri"):
        module = sys.modules.get(name)
        if module is not None:
            found[name] = str(getattr(module, "__version__", "?"))
    return found


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


def _by_pair(results: list[dict[str, Any]]) -> dict[tuple[int, int], dict[str, dict[str, Any]]]:
    """Results grouped by (seed, n-th run of that seed): the rows that ran side by side."""
    pairs: dict[tuple[int, int], dict[str, dict[str, Any]]] = {}
    counts: dict[tuple[str, int], int] = {}
    for result in results:
        if "seconds" not in result:
            continue
        key = (result["row"], result["seed"])
        counts[key] = counts.get(key, 0) + 1
        pairs.setdefault((result["seed"], counts[key]), {})[result["row"]] = result
    return pairs


def _paired_ratios(results: list[dict[str, Any]], row: str, reference: str) -> list[float]:
    """row's seconds / reference's, per (seed, run) in which both ran."""
    return [
        rows[row]["seconds"] / rows[reference]["seconds"]
        for _, rows in sorted(_by_pair(results).items())
        if row in rows and reference in rows
    ]


def _x(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x" if values else ""


def _table(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    by_row: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        by_row.setdefault(result["row"], []).append(result)
    lines = [
        "| row | wall s (median) | env steps/s | final greedy return (mean) | returns per seed "
        "| vs floor | vs SB3 |",
        "|---|---:|---:|---:|---|---:|---:|",
    ]
    for row in ROWS:
        rows = by_row.get(row)
        if not rows:
            continue
        if not all("seconds" in r for r in rows):
            lines.append(f"| {row} | {rows[0].get('error', 'failed')} | | | | | |")
            continue
        seconds = statistics.median(r["seconds"] for r in rows)
        final = statistics.fmean(r["final_return"] for r in rows)
        per_seed = " / ".join(f"{r['final_return']:.0f}" for r in rows)
        lines.append(
            f"| {row} | {seconds:.1f} | {rows[0]['steps'] / seconds:.0f} | {final:.1f} | "
            f"{per_seed} | "
            f"{_x(_paired_ratios(results, row, 'floor'))} | "
            f"{_x(_paired_ratios(results, row, 'sb3'))} |"
        )
    return "\n".join(lines)


def _paired(results: list[dict[str, Any]]) -> str:
    """Petri's seconds over SB3's and over the floor's, seed by seed (same round)."""
    pairs = [
        f"seed {seed}: {rows['petri']['seconds'] / rows['sb3']['seconds']:.2f}x SB3, "
        f"{rows['petri']['seconds'] / rows['floor']['seconds']:.2f}x floor"
        for (seed, _), rows in sorted(_by_pair(results).items())
        if {"petri", "sb3", "floor"} <= rows.keys()
    ]
    return "Petri per seed: " + "; ".join(pairs) + "." if pairs else ""


EXPECTED_SETTINGS: dict[str, dict[str, Any]] = {
    "floor": {"adam_fused": True, "clip_norm": ZOO["max_grad_norm"]},
    "petri": {"adam_fused": True, "direct_kernel": True, "clip_norm": ZOO["max_grad_norm"]},
    "sb3": {"adam_fused": True, "clip_norm": ZOO["max_grad_norm"]},
}


def _settings_problems(results: list[dict[str, Any]]) -> list[str]:
    """Rows whose reported optimizer kernel or clip norm is not the like-for-like one."""
    problems = set()
    for result in results:
        if "seconds" not in result:
            continue
        for key, wanted in EXPECTED_SETTINGS.get(result["row"], {}).items():
            if result.get(key) != wanted:
                problems.add(f"{result['row']}: {key}={result.get(key)!r}, not {wanted!r}")
    return sorted(problems)


def _verdict(ok: bool) -> str:
    return "**holds**" if ok else "**does not hold**"


def _straddles(ratios: list[float], target: float) -> str:
    """A warning when the seeds fall on both sides of a target: one run does not settle it."""
    above = sum(r > target for r in ratios)
    if 0 < above < len(ratios):
        return f"; {above} of {len(ratios)} seeds above the {target}x, so not a settled result"
    return ""


def _targets(results: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The DQN targets, computed from the results the table was made from."""
    returns: dict[str, list[float]] = {}
    for result in results:
        if "final_return" in result:
            returns.setdefault(result["row"], []).append(result["final_return"])
    targets = []
    vs_sb3 = _paired_ratios(results, "petri", "sb3")
    if vs_sb3 and returns.get("sb3"):
        ratio = statistics.median(vs_sb3)
        mine, theirs = statistics.fmean(returns["petri"]), statistics.fmean(returns["sb3"])
        faster, as_good = ratio <= TARGET_VS_SB3, mine >= theirs
        text = (
            f"{_verdict(faster and as_good)}: {ratio:.2f}x SB3's wall time (median; per seed "
            f"{min(vs_sb3):.2f}-{max(vs_sb3):.2f}x{_straddles(vs_sb3, TARGET_VS_SB3)}), final "
            f"return {mine:.1f} against SB3's {theirs:.1f} "
            f"({'equal or better' if as_good else 'worse'}; means over seeds)"
        )
        targets.append(
            (f"DQN: Petri <= {TARGET_VS_SB3}x SB3's wall time at an equal or better return", text)
        )
    vs_floor = _paired_ratios(results, "petri", "floor")
    if vs_floor:
        ratio = statistics.median(vs_floor)
        text = (
            f"{_verdict(ratio <= TARGET_VS_FLOOR)}: {ratio:.2f}x the floor's wall time (median; "
            f"per seed {min(vs_floor):.2f}-{max(vs_floor):.2f}x"
            f"{_straddles(vs_floor, TARGET_VS_FLOOR)})"
        )
        if returns.get("floor"):
            text += (
                f", final return {statistics.fmean(returns['petri']):.1f} against the floor's "
                f"{statistics.fmean(returns['floor']):.1f}"
            )
        targets.append((f"DQN: Petri <= {TARGET_VS_FLOOR}x the floor's wall time", text))
    return targets


def _write_docs(
    table: str, args: argparse.Namespace, results: list[dict[str, Any]], meta: dict[str, Any]
) -> Path:
    path = ROOT / "docs" / "benchmarks.md"
    begin, end = "<!-- rl_dqn:begin -->", "<!-- rl_dqn:end -->"
    problems = _settings_problems(results)
    settings = (
        "Settings as run (read back by each worker): fused Adam and a gradient-norm clip of "
        f"{ZOO['max_grad_norm']:g} in every row (Petri through `GradientStep`'s direct kernel "
        "path)."
        if not problems
        else "**Settings differ from the intended ones**: " + "; ".join(problems) + "."
    )
    versions = meta.get("versions", {})
    targets = "\n".join(
        ["| target | result |", "|---|---|"] + [f"| {t} | {r} |" for t, r in _targets(results)]
    )
    section = (
        f"{begin}\n## DQN on CartPole-v1 (`bench/rl_dqn.py`)\n\n"
        "Wall seconds of each row's training call and its final greedy return: Petri "
        "(`petri.estimators.Agent` + `petri.models.DQNModel`), Stable-Baselines3 and a "
        "single-file plain-PyTorch DQN with SB3's semantics (the floor), all at "
        "rl-baselines3-zoo's hyperparameters (see the script's docstring). Every row gets the "
        "settings a careful user of it would choose: torch's fused Adam kernel (the floor "
        "`Adam(fused=True)`; SB3 `policy_kwargs=dict(optimizer_kwargs=dict(fused=True))`; Petri's "
        "optimizer factory builds it) and the gradient norm clipped to "
        f"{ZOO['max_grad_norm']:g} (SB3's default `max_grad_norm`; the floor "
        "`clip_grad_norm_`; Petri `clip_gradients`). This section, its table and its targets "
        "are written by the script (`--write-docs`) from one run.\n\n"
        f"**Run of {meta.get('date', '?')}**: `{meta.get('command', '?')}` (after "
        "`bash bench/setup_rl_peers.sh`): "
        f"{meta.get('steps', args.steps)} environment steps, seeds "
        f"{meta.get('seeds', args.seeds)}, {meta.get('rounds', args.rounds)} round(s), "
        f"{meta.get('threads', args.threads)} torch thread(s), "
        f"{meta.get('total_seconds', 0) / 60:.0f} minutes in "
        f"all. {os.cpu_count()} CPUs ({meta.get('cpu', '?')}), load average "
        f"{meta.get('loadavg_start', '?')} at the start and {meta.get('loadavg_end', '?')} at "
        "the end (/proc/loadavg: 1, 5, 15 minutes; other engineers' jobs shared the machine). "
        f"Python {platform.python_version()}"
        + "".join(f", {k} {v}" for k, v in sorted(versions.items()))
        + f". {settings} Wall seconds of the training call; final return = greedy mean over "
        f"{EVAL_EPISODES} episodes; vs floor and vs SB3 = median over seeds of the row's "
        "seconds / the other row's in the same seed and round.\n\n"
        f"{table}\n\n"
        f"{_paired(results)}\n\n"
        "Where the time goes: about 24,000 gradient steps of a 64-row batch through the "
        "[256, 256] Q-network and its target dominate every row. All three use torch's fused "
        "Adam kernel; the floor and SB3 reach it through `optimizer.step()` and clip with "
        "`clip_grad_norm_`, while Petri's `petri.optimizers.GradientStep` calls the fused "
        "kernel directly (no per-call regrouping, hooks or profiler ranges) and clips with one "
        "norm read back on CPU, rescaling only when the norm exceeds the bound (the "
        "per-call costs are measured in `src/petri/optimizers/_step.py`'s docstring). Greedy "
        "acting runs the network's `F.linear` calls directly under `inference_mode` "
        "(`LinearChain`). Final returns after exactly 50,000 steps are a snapshot of a noisy "
        "learner (one seed of a row may sit far below 500 while the others hold it), so "
        "compare their means over seeds, and the per-seed returns.\n\n"
        "### Targets (DQN)\n\nComputed by the script from the run above.\n\n"
        f"{targets}\n"
        f"{end}"
    )
    section = "\n\n".join(
        part if part.startswith(("|", "#", "<!--")) else _wrap(part)
        for part in section.split("\n\n")
    )
    return write_section(section, begin, end, path)


def _wrap(paragraph: str) -> str:
    return textwrap.fill(paragraph, width=99, break_long_words=False, break_on_hyphens=False)


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
    meta: dict[str, Any] = {}
    results: list[dict[str, Any]] = []
    if args.from_json:
        payload = json.loads(args.from_json.read_text())
        if isinstance(payload, dict):
            meta, results = payload.get("meta", {}), payload["results"]
        else:
            results = payload
    else:
        meta = {
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "command": command_line("bench/rl_dqn.py", sys.argv[1:]),
            "loadavg_start": loadavg(),
            "cpu": cpu_model(),
            "steps": args.steps,
            "seeds": args.seeds,
            "rounds": args.rounds,
            "threads": args.threads,
        }
        print(f"rl_dqn: load average {meta['loadavg_start']}", flush=True)
        started = time.perf_counter()
        turn = 0
        for _ in range(args.rounds):
            for seed in seeds:
                # Rotate the row order from one seed to the next: no row always runs first.
                order = rows[turn % len(rows) :] + rows[: turn % len(rows)]
                turn += 1
                for row in order:
                    result = _run_row(row, args, seed)
                    print(json.dumps(result), flush=True)
                    results.append(result)
        versions: dict[str, str] = {}
        for result in results:
            versions.update(result.pop("versions", {}))
        meta.update(
            loadavg_end=loadavg(), total_seconds=time.perf_counter() - started, versions=versions
        )
    table = _table(results, args)
    print("\n" + table)
    print(_paired(results))
    for problem in _settings_problems(results):
        print(f"WARNING: not like for like: {problem}")
    print(f"load average {meta.get('loadavg_start')} at start, {meta.get('loadavg_end')} at end")
    print("Targets:")
    for target, verdict in _targets(results):
        print(f"  {target}: {verdict.replace('**', '')}")
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    if args.write_docs:
        print(f"\nwrote {_write_docs(table, args, results, meta)}")


if __name__ == "__main__":
    main()
