"""The example gallery (issue #16, item 5): every row of ``examples/README.md``'s table runs
as written and reaches its target, so the table cannot claim what the examples do not do.
The RL Python files, whose YAML twins are rows, are smoke-run in process for a few hundred
steps."""

from __future__ import annotations

import ast
import importlib.util
import math
import operator
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
import torch

from petri.tracking import load

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "examples" / "README.md"
_ROW = re.compile(
    r"^\| (?P<name>[^|]+?) \| [^|]*? \| `(?P<commands>[^`]+)` \| "
    r"`(?P<metric>[\w/]+) (?P<op>>=|<=) (?P<target>-?[\d.]+)` \| [^|]*? \|$"
)
_COMPARE = {">=": operator.ge, "<=": operator.le}


class Row(NamedTuple):
    name: str
    commands: list[str]
    metric: str
    op: str
    target: float


def gallery_rows() -> list[Row]:
    text = TABLE.read_text()
    body = text.split("<!-- gallery:begin -->", 1)[1].split("<!-- gallery:end -->", 1)[0]
    rows = []
    for line in body.strip().splitlines()[2:]:  # past the header and its rule
        match = _ROW.match(line.strip())
        assert match, f"examples/README.md: a gallery row does not follow the format: {line}"
        rows.append(
            Row(
                match["name"],
                match["commands"].split(" && "),
                match["metric"],
                match["op"],
                float(match["target"]),
            )
        )
    return rows


def _argv(command: str, run_dir: Path, checked: bool) -> list[str]:
    """``command`` as argv; the checked (last) command writes its run to ``run_dir``."""
    words = shlex.split(command)
    paths = [str(ROOT / word) if word.startswith("examples/") else word for word in words]
    if paths[0] == "petri":
        paths = [sys.executable, "-m", "petri", "-q", *paths[1:]]
        if words[1] == "run":
            paths += ["--output-dir", str(run_dir)]
    elif paths[0] == "python":
        paths = [sys.executable, *paths[1:]]
        if checked:
            paths += ["--model-dir", str(run_dir)]
    else:
        raise AssertionError(f"a gallery command starts with petri or python: {command}")
    return paths


def _reached(row: Row, run_dir: Path, stdout: str) -> float:
    """The checked command's final ``row.metric``: the last evaluation ``petri run`` logged, or
    the results dict a Python example prints as its last line."""
    if row.commands[-1].startswith("python "):
        results = ast.literal_eval(stdout.strip().splitlines()[-1])
        assert row.metric in results, f"{row.name}: the example printed no {row.metric}: {results}"
        return float(results[row.metric])
    key = f"eval/{row.metric}"
    values = [r[key] for r in load(run_dir).metrics if r.get(key) not in (None, "")]
    assert values, f"{row.name}: the run logged no {key}"
    return float(values[-1])


def test_the_table_lists_every_example_config() -> None:
    listed = " ".join(" ".join(row.commands) for row in gallery_rows())
    configs = sorted(ROOT.glob("examples/**/*.yaml"))
    search_spaces = {"lenet_search.yaml", "mlp_search.yaml"}  # searched over, not run
    missing = [
        str(path.relative_to(ROOT))
        for path in configs
        if path.name not in search_spaces and str(path.relative_to(ROOT)) not in listed
    ]
    assert not missing, f"examples/README.md has no gallery row for {missing}"


def test_the_table_runs_every_seed_style_python_example() -> None:
    listed = " ".join(" ".join(row.commands) for row in gallery_rows())
    missing = [
        f"examples/{path.name}"
        for path in sorted((ROOT / "examples").glob("*.py"))
        if f"python examples/{path.name}" not in listed
    ]
    assert not missing, f"examples/README.md has no gallery row for {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("row", gallery_rows(), ids=lambda row: row.name.replace(" ", "_"))
def test_each_example_reaches_its_target(row: Row, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    for index, command in enumerate(row.commands):
        argv = _argv(command, run_dir, checked=index == len(row.commands) - 1)
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    reached = _reached(row, run_dir, done.stdout)
    assert _COMPARE[row.op](reached, row.target), (
        f"{row.name}: {row.metric} {reached:.4g}, the table promises {row.op} {row.target}"
    )


# Steps enough for each agent's first updates (DQN's first_update is 1,000; TRPO's and VPG's
# batches are 2,048 and 2,000 steps); their YAML twins' rows check the returns they reach.
_RL_SMOKE_STEPS = {
    "dqn_cartpole": 1_536,
    "dueling_ddqn_cartpole": 1_200,
    "naf_pendulum": 1_200,
    "ppo_cartpole": 512,
    "trpo_cartpole": 4_096,
    "vpg_cartpole": 4_000,
}


def test_every_rl_python_example_is_smoke_run() -> None:
    files = {path.stem for path in (ROOT / "examples" / "rl").glob("*.py")}
    assert files == set(_RL_SMOKE_STEPS)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_RL_SMOKE_STEPS))
def test_rl_python_example_trains_and_evaluates(name: str, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / "rl" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    steps = _RL_SMOKE_STEPS[name]
    threads = torch.get_num_threads()
    try:  # the example asks for one torch thread, for this whole process
        results = module.main(steps, str(tmp_path / "run"))
    finally:
        torch.set_num_threads(threads)
    assert results["global_step"] == steps
    assert results["episodes"] > 0 and math.isfinite(results["return_mean"])
    assert list((tmp_path / "run").glob("model.ckpt-*.pt")), "the agent saved no checkpoint"
