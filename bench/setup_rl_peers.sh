#!/usr/bin/env bash
# Creates the RL peers' virtual environment for bench/rl_dqn.py:
#   .venv-rlpeers/ with torch (CPU, pinned), gymnasium, stable-baselines3 and Petri (-e).
# Stable-Baselines3 is a benchmark peer only, never a Petri dependency.
#
# Usage (from anywhere):  bash bench/setup_rl_peers.sh
# Env: PYTHON (interpreter used to create the venv, default python3),
#      PETRI_RLPEERS_VENV (venv path, default <repo>/.venv-rlpeers).
# Idempotent: re-running reuses the venv and only installs what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PETRI_RLPEERS_VENV:-$ROOT/.venv-rlpeers}"
PYTHON="${PYTHON:-python3}"
# Every pip call repeats this exact pin, so no later install can swap in another (CUDA) torch.
TORCH_PIN="torch==2.13.0"

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)

echo "== $TORCH_PIN (first, pinned)"
"${PIP[@]}" "$TORCH_PIN"
echo "== gymnasium stable-baselines3"
"${PIP[@]}" "$TORCH_PIN" gymnasium stable-baselines3
echo "== petri (editable)"
"${PIP[@]}" "$TORCH_PIN" -e "$ROOT"

"$VENV/bin/python" - <<'PY'
import importlib
for name in ("torch", "numpy", "gymnasium", "stable_baselines3", "petri"):
    try:
        module = importlib.import_module(name)
        print(f"  {name:<18} {getattr(module, '__version__', '?')}")
    except Exception as error:  # report, don't fail: the bench marks the row as missing
        print(f"  {name:<18} NOT importable: {type(error).__name__}: {error}")
PY
echo "peers ready: $VENV/bin/python bench/rl_dqn.py"
