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
source "$(dirname "${BASH_SOURCE[0]}")/_peer_venv.sh"

# test_tube 0.7.5 depends on torch: create_peer_venv installs the pinned CPU build first.
create_peer_venv "${PETRI_LOGPEERS_VENV:-$ROOT/.venv-logpeers}"
echo "== test_tube 0.7.5, mlflow, tensorboard"
# test_tube 0.7.5 (2020) declares loose lower bounds only (pandas, numpy, imageio, tensorboard,
# torch, future), so today's releases satisfy it; if a future release breaks it, the bench
# reports the row as "not installable: <reason>" instead of failing.
pinned_install "test_tube==0.7.5" || echo "test_tube==0.7.5 did not install"
pinned_install mlflow tensorboard
echo "== petri (editable)"
pinned_install -e "$ROOT"

report_versions torch test_tube mlflow tensorboard petri
echo "peers ready: $VENV/bin/python bench/log_throughput.py"
