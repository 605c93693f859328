"""Helpers for the run-log tests: a Python subprocess runner and TensorBoard readers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def python(code: str, *args: str, cwd: Path | None = None, **kwargs: Any) -> subprocess.Popen:
    """Start ``python -c code`` with Petri importable (the repo's src first)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def accumulator(directory: str | Path) -> Any:
    """TensorBoard's own reader over a ``tf/`` folder, everything kept."""
    from tensorboard.backend.event_processing import event_accumulator

    reader = event_accumulator.EventAccumulator(
        str(directory),
        size_guidance={"scalars": 0, "images": 0, "histograms": 0, "tensors": 0},
    )
    reader.Reload()
    return reader


def hparams_sessions(logdir: str | Path) -> tuple[Any, list[Any]]:
    """What TensorBoard's HParams tab shows for ``logdir``: the experiment (hyperparameters and
    metrics) and the session groups, from the plugin's own handlers over its data provider."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import (
        api_pb2,
        backend_context,
        get_experiment,
        list_session_groups,
    )

    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    tb_context = base_plugin.TBContext(
        logdir=str(logdir), data_provider=provider, multiplexer=multiplexer
    )
    backend = backend_context.Context(tb_context)
    request = context.RequestContext()
    experiment = get_experiment.Handler(
        request, backend, "", api_pb2.GetExperimentRequest(include_metrics=True)
    ).run()
    groups = list_session_groups.Handler(
        request,
        backend,
        "",
        api_pb2.ListSessionGroupsRequest(
            start_index=0,
            slice_size=100,
            include_metrics=True,
            aggregation_type=api_pb2.AGGREGATION_AVG,  # one session per group
            allowed_statuses=api_pb2.Status.values(),  # the tab's status filter, all ticked
        ),
    ).run()
    return experiment, list(groups.session_groups)
