# Sourced (not run) by bench/setup_*peers.sh: the steps every peers' venv shares.
#
# Sets ROOT (the repository), PYTHON (default python3) and TORCH_PIN, and defines:
#   create_peer_venv PATH        set VENV=PATH, create the venv unless it exists, install the
#                                pinned torch first
#   pinned_install ARG...        pip install ARG... into $VENV, repeating the torch pin
#   report_versions MODULE...    print each module's version in $VENV, or why it does not import

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
# The CPU build is installed FIRST and every later pip call repeats this exact pin, so no later
# install (or a peer that depends on torch) can swap in another (CUDA) torch.
TORCH_PIN="torch==2.13.0"

create_peer_venv() {
    VENV="$1"
    if [ ! -x "$VENV/bin/python" ]; then
        echo "creating $VENV with $("$PYTHON" --version 2>&1)"
        "$PYTHON" -m venv "$VENV"
    fi
    echo "== $TORCH_PIN (first, pinned)"
    pinned_install
}

pinned_install() {
    "$VENV/bin/python" -m pip install --disable-pip-version-check "$TORCH_PIN" "$@"
}

report_versions() {
    "$VENV/bin/python" - "$@" <<'PY'
import importlib
import sys

names = sys.argv[1:]
width = max(map(len, names)) + 1
for name in names:
    try:
        module = importlib.import_module(name)
        print(f"  {name:<{width}} {getattr(module, '__version__', '?')}")
    except Exception as error:  # report, don't fail: the bench marks the row as missing
        print(f"  {name:<{width}} NOT importable: {type(error).__name__}: {error}")
PY
}
