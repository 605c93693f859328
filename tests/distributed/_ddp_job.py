"""Run under ``torch.distributed.run`` by the tests: train a config with ``create_experiment``,
then have every rank evaluate and write its results to ``<out>/rank<r>.json``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml

from petri.experiments import create_experiment


def main() -> None:
    config_path, run_dir, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    config = yaml.safe_load(Path(config_path).read_text())
    experiment = create_experiment(config, output_dir=run_dir)
    experiment.train_and_evaluate()
    results = experiment.estimator.evaluate(experiment.eval_input_fn)
    rank = int(os.environ["RANK"])
    (out / f"rank{rank}.json").write_text(json.dumps({k: float(v) for k, v in results.items()}))


if __name__ == "__main__":
    main()
