#!/usr/bin/env bash
# Creates the peers' virtual environment for bench/train_overhead.py:
#   .venv-peers/ with torch (CPU, pinned), numpy, scikit-learn, lightning, keras and Petri (-e).
# Lightning and Keras are benchmark peers only, never Petri dependencies.
#
# Usage (from anywhere):  bash bench/setup_peers.sh
# Env: PYTHON (interpreter used to create the venv, default python3),
#      PETRI_PEERS_VENV (venv path, default <repo>/.venv-peers).
# Idempotent: re-running reuses the venv and only installs what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PETRI_PEERS_VENV:-$ROOT/.venv-peers}"
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
echo "== numpy scikit-learn lightning keras"
"${PIP[@]}" "$TORCH_PIN" numpy scikit-learn lightning keras
echo "== petri (editable)"
"${PIP[@]}" "$TORCH_PIN" -e "$ROOT"

KERAS_BACKEND=torch "$VENV/bin/python" - <<'PY'
import importlib
for name in ("torch", "numpy", "sklearn", "lightning", "keras", "petri"):
    try:
        module = importlib.import_module(name)
        print(f"  {name:<10} {getattr(module, '__version__', '?')}")
    except Exception as error:  # report, don't fail: the bench marks the row as missing
        print(f"  {name:<10} NOT importable: {type(error).__name__}: {error}")
PY
echo "peers ready: $VENV/bin/python bench/train_overhead.py"
