"""Import cost: ``import petri`` (and its training stack) against ``import torch``.

Run:  .venv/bin/python bench/import_time.py [--repeats 7]

Each row is a fresh interpreter (``python -X importtime`` is not used: it adds its own cost);
the table shows median wall seconds and the extra over ``import torch``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python (no import)": "pass",
    "import torch": "import torch",
    "import torch, petri": "import torch, petri",
    "import petri.experiments (Estimator, configs, models)": (
        "import torch, petri.experiments, petri.models, petri.layers"
    ),
}


def measure(code: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    results = {name: measure(code, args.repeats) for name, code in CASES.items()}
    torch_time = results["import torch"]
    print(f"{'case':<55} {'median s':>9} {'vs torch':>9}")
    for name, seconds in results.items():
        print(f"{name:<55} {seconds:>9.3f} {seconds - torch_time:>+9.3f}")


if __name__ == "__main__":
    main()
