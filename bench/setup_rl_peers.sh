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
source "$(dirname "${BASH_SOURCE[0]}")/_peer_venv.sh"

create_peer_venv "${PETRI_RLPEERS_VENV:-$ROOT/.venv-rlpeers}"
echo "== gymnasium stable-baselines3"
pinned_install gymnasium stable-baselines3
echo "== petri (editable)"
pinned_install -e "$ROOT"

report_versions torch numpy gymnasium stable_baselines3 petri
echo "peers ready: $VENV/bin/python bench/rl_dqn.py"
