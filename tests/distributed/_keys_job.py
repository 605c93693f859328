"""Run under ``torch.distributed.run`` by the tests: an Estimator joins the launch with the
``run_config.distributed`` given as JSON in argv[1]; with ``hang``, rank 1 never answers."""

from __future__ import annotations

import json
import os
import sys
import time

from petri import distributed
from petri.estimators import Estimator


def main() -> None:
    settings, mode = json.loads(sys.argv[1]), sys.argv[2]
    Estimator(lambda features, labels, mode: None, config={"distributed": settings})
    print(f"rank {distributed.rank()} joined with backend {distributed.backend()}", flush=True)
    if mode == "hang" and distributed.rank() == 1:
        time.sleep(120)
        os._exit(0)
    started = time.monotonic()
    try:
        distributed.broadcast("hello")
    except Exception as error:  # the timeout
        print(f"rank 0 gave up after {time.monotonic() - started:.1f} s: {type(error).__name__}")
        os._exit(3)
    print("broadcast done", flush=True)


if __name__ == "__main__":
    main()
