"""RunConfig.host_memory: freed host memory stays in the process between steps (glibc)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from petri.configs.run import RunConfig
from petri.errors import ConfigError
from petri.host_memory import retained_host_memory, retaining, retention_unavailable

glibc_only = pytest.mark.skipif(
    retention_unavailable() is not None, reason=str(retention_unavailable())
)

# Steps in a fresh process (glibc's thresholds untouched by other tests) that make and free
# 64 MiB of activations, above the 32 MiB where glibc's own adaptive threshold stops: the
# minor page faults of steps 21-30 under the host_memory given.
_STEPS = textwrap.dedent(
    """
    import json, resource, sys
    import torch
    from petri.host_memory import retained_host_memory

    def step():
        activations = torch.empty(16, 1024, 1024).fill_(1.0)
        return float(activations[0, 0, 0])

    with retained_host_memory(sys.argv[1]) as retained:
        for _ in range(20):  # until the heap has grown to hold a step (memalign's slack)
            step()
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(10):
            step()
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    print(json.dumps({"retained": retained, "faults_per_step": faults / 10}))
    """
)


def _steps(mode: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUN"))}
    done = subprocess.run(
        [sys.executable, "-c", _STEPS, mode], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@glibc_only
def test_retained_memory_spares_the_page_faults_of_every_step():
    system, retained = _steps("system"), _steps("auto")
    assert not system["retained"] and retained["retained"]
    # 64 MiB is 16,384 pages that glibc maps, and the kernel zeroes, afresh on every step
    assert system["faults_per_step"] > 16000, system
    assert retained["faults_per_step"] < 100, retained


def _resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@glibc_only
def test_free_memory_goes_back_to_the_system_when_the_outermost_loop_ends():
    with retained_host_memory("retain"):
        with retained_host_memory("auto") as inner:  # an evaluation inside training
            assert inner
            big = torch.ones(64, 1024, 1024)  # 256 MiB from the heap
            del big
        held = _resident_mib()  # the inner loop's end trims nothing: training goes on
        assert _resident_mib() > 200
    released = _resident_mib()
    assert held - released > 200, (held, released)


def test_system_leaves_malloc_alone():
    with retained_host_memory("system") as retained:
        assert not retained


def test_auto_respects_a_users_own_malloc_tuning(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    with retained_host_memory("auto") as retained:
        assert not retained
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0")
    with retained_host_memory("auto") as retained:
        assert not retained


def test_retain_names_why_it_cannot_be_done(monkeypatch):
    monkeypatch.setenv("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")
    refused = r"host_memory='retain' cannot be done here: .*jemalloc"
    with pytest.raises(ConfigError, match=refused), retained_host_memory("retain"):
        pass
    with retained_host_memory("auto") as retained:  # auto steps aside for the preloaded malloc
        assert not retained


def test_unknown_host_memory_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match=r"host_memory.*'cache'.*'auto', 'retain' or 'system'"):
        RunConfig.from_dict({"host_memory": "cache"})


@glibc_only
def test_estimator_training_retains_and_gives_the_same_weights(tmp_path):
    """The Estimator's loops retain under ``retain`` (and ``auto``), not under ``system``;
    retaining changes where memory comes from, never the numbers."""
    import petri as plx
    from petri.data import numpy_input_fn
    from petri.estimators import Hook

    class Seen(Hook):
        def __init__(self) -> None:
            self.retaining: set[bool] = set()

        def after_step(self, state) -> None:
            self.retaining.add(retaining())

    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 3, 16, 16)).astype(np.float32)
    y = rng.integers(0, 4, 256)
    weights = {}
    for mode in ("retain", "system"):
        model = plx.models.Classifier(
            graph_fn=[
                ["Conv2d", {"num_filter": 8, "filter_size": 3, "activation": "relu"}],
                ["MaxPool2d", {"kernel_size": 2}],
                ["FullyConnected", {"num_units": 4}],
            ],
            n_classes=4,
            optimizer_config={"name": "adam", "learning_rate": 0.01},
        )
        config = RunConfig(seed=3, host_memory=mode, verbose=False)
        estimator = plx.experiments.Estimator(model, model_dir=tmp_path / mode, config=config)
        seen = Seen()
        estimator.train(
            numpy_input_fn(x, y, batch_size=32, num_epochs=2, shuffle=False), hooks=[seen]
        )
        assert seen.retaining == {mode == "retain"}
        assert not retaining()  # the loop is over
        estimator.evaluate(numpy_input_fn(x, y, batch_size=64), hooks=[seen])
        weights[mode] = [p.detach().clone() for p in estimator.model.parameters()]
    for kept, system in zip(weights["retain"], weights["system"], strict=True):
        torch.testing.assert_close(kept, system, rtol=0, atol=0)
