#!/usr/bin/env bash
# Creates the peers' virtual environment for bench/log_throughput.py:
#   .venv-logpeers/ with torch (CPU, pinned), test_tube 0.7.5, mlflow, tensorboard and Petri (-e).
# test_tube and MLflow are benchmark peers only, never Petri dependencies.
#
# Usage (from anywhere):  bash bench/setup_logging_peers.sh
# Env: PYTHON (interpreter used to create the venv, default python3),
#      PETRI_LOGPEERS_VENV (venv path, default <repo>/.venv-logpeers).
# Idempotent: re-running reuses the venv and only installs what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PETRI_LOGPEERS_VENV:-$ROOT/.venv-logpeers}"
PYTHON="${PYTHON:-python3}"
# test_tube 0.7.5 depends on torch: the CPU build is installed FIRST and every later pip call
# repeats this exact pin, so no dependency can swap in another (CUDA) torch.
TORCH_PIN="torch==2.13.0"

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)

echo "== $TORCH_PIN (first, pinned)"
"${PIP[@]}" "$TORCH_PIN"
echo "== test_tube 0.7.5, mlflow, tensorboard"
# test_tube 0.7.5 (2020) declares loose lower bounds only (pandas, numpy, imageio, tensorboard,
# torch, future), so today's releases satisfy it; if a future release breaks it, the bench
# reports the row as "not installable: <reason>" instead of failing.
"${PIP[@]}" "$TORCH_PIN" "test_tube==0.7.5" || echo "test_tube==0.7.5 did not install"
"${PIP[@]}" "$TORCH_PIN" mlflow tensorboard
echo "== petri (editable)"
"${PIP[@]}" "$TORCH_PIN" -e "$ROOT"

"$VENV/bin/python" - <<'PY'
import importlib
for name in ("torch", "test_tube", "mlflow", "tensorboard", "petri"):
    try:
        module = importlib.import_module(name)
        print(f"  {name:<12} {getattr(module, '__version__', '?')}")
    except Exception as error:  # report, don't fail: the bench marks the row as missing
        print(f"  {name:<12} NOT importable: {type(error).__name__}: {error}")
PY
echo "peers ready: $VENV/bin/python bench/log_throughput.py"
