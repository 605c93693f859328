"""The example gallery (issue #16, item 5): every row of ``examples/README.md``'s table runs
as written and reaches its target, so the table cannot claim what the examples do not do."""

from __future__ import annotations

import operator
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

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


def _argv(command: str, run_dir: Path) -> list[str]:
    words = shlex.split(command)
    paths = [str(ROOT / word) if word.startswith("examples/") else word for word in words]
    if paths[0] == "petri":
        paths = [sys.executable, "-m", "petri", "-q", *paths[1:]]
        if words[1] == "run":
            paths += ["--output-dir", str(run_dir)]
    elif paths[0] == "python":
        paths = [sys.executable, *paths[1:]]
    else:
        raise AssertionError(f"a gallery command starts with petri or python: {command}")
    return paths


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


@pytest.mark.slow
@pytest.mark.parametrize("row", gallery_rows(), ids=lambda row: row.name.replace(" ", "_"))
def test_each_example_reaches_its_target(row: Row, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    for command in row.commands:
        done = subprocess.run(
            _argv(command, run_dir), cwd=tmp_path, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    key = f"eval/{row.metric}"
    values = [r[key] for r in load(run_dir).metrics if r.get(key) not in (None, "")]
    assert values, f"{row.name}: the run logged no {key}"
    reached = float(values[-1])
    assert _COMPARE[row.op](reached, row.target), (
        f"{row.name}: {row.metric} {reached:.4g}, the table promises {row.op} {row.target}"
    )
