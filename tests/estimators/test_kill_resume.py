"""A training process killed with SIGKILL leaves only loadable checkpoints and resumes exactly."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from petri.training.checkpoints import latest_checkpoint, list_checkpoints, load_checkpoint

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import petri as plx
    from petri.data import numpy_input_fn
    from petri.estimators import Estimator, RunConfig
    from petri.models import Classifier

    model_dir, max_steps = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 32)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = Classifier(
        graph_fn=[["FullyConnected", {"num_units": 256, "activation": "relu"}],
                  ["FullyConnected", {"num_units": 2}]],
        n_classes=2, optimizer_config="adam",
    )
    estimator = Estimator(model, model_dir=model_dir,
                          config=RunConfig(seed=0, save_checkpoints_steps=20,
                                           keep_checkpoint_max=3))
    estimator.train(numpy_input_fn(x, y, batch_size=32, num_epochs=None, shuffle=True, seed=1),
                    max_steps=max_steps)
    print("done", estimator.global_step)
    """
)


@pytest.mark.slow
def test_sigkill_mid_training_then_resume(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    model_dir = tmp_path / "model"
    process = subprocess.Popen([sys.executable, str(script), str(model_dir), "1000000"])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            checkpoints = list_checkpoints(model_dir)
            if len(checkpoints) >= 2 and checkpoints[-1].name != "model.ckpt-20.pt":
                break
            time.sleep(0.05)
        else:
            pytest.fail("the training process wrote no checkpoints in 120 s")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    for path in list_checkpoints(model_dir):
        state = load_checkpoint(path)  # never a torn checkpoint
        assert state["global_step"] % 20 == 0
    killed_at = load_checkpoint(latest_checkpoint(model_dir))["global_step"]
    target = killed_at + 50
    finished = subprocess.run(
        [sys.executable, str(script), str(model_dir), str(target)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    assert f"done {target}" in finished.stdout
    final = load_checkpoint(latest_checkpoint(model_dir))
    assert final["global_step"] == target
    assert "optimizer" in final and "input" in final
