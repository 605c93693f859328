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
source "$(dirname "${BASH_SOURCE[0]}")/_peer_venv.sh"

create_peer_venv "${PETRI_PEERS_VENV:-$ROOT/.venv-peers}"
echo "== numpy scikit-learn lightning keras"
pinned_install numpy scikit-learn lightning keras
echo "== petri (editable)"
pinned_install -e "$ROOT"

KERAS_BACKEND=torch report_versions torch numpy sklearn lightning keras petri
echo "peers ready: $VENV/bin/python bench/train_overhead.py"
