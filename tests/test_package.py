"""``import petri`` stays light: heavy parts load on first use."""

from __future__ import annotations

import subprocess
import sys


def test_import_petri_loads_no_heavy_modules():
    code = (
        "import sys, petri\n"
        "heavy = [m for m in ('torch', 'torchmetrics', 'pydantic', 'sklearn', 'yaml')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_submodules_load_on_attribute_access():
    import petri as plx

    assert plx.layers.Conv2d.__name__ == "Conv2d"
    assert plx.experiments.Estimator is plx.estimators.Estimator
    assert plx.configs.ExperimentConfig.__name__ == "ExperimentConfig"
    assert plx.export.load_exported.__name__ == "load_exported"
    assert plx.optimizers.GradientStep.__name__ == "GradientStep"
