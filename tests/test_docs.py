"""Every ```python block of README.md and docs/ runs as written, page by page.

A page's blocks run in order in one fresh interpreter (in a temporary working directory), each
block in its own namespace, so a block cannot lean on names an earlier one defined.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
DRIVER = """
import json, sys, traceback
for index, code in enumerate(json.load(sys.stdin)):
    try:
        exec(compile(code, f"block {index}", "exec"), {"__name__": "__main__"})
    except BaseException:
        traceback.print_exc()
        sys.exit(f"python block {index} failed")
"""


def _pages_with_code() -> list[Path]:
    return [page for page in PAGES if BLOCK.search(page.read_text())]


@pytest.mark.slow
@pytest.mark.parametrize("page", _pages_with_code(), ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    blocks = BLOCK.findall(page.read_text())
    done = subprocess.run(
        [sys.executable, "-c", DRIVER],
        input=json.dumps(blocks),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"{page.relative_to(ROOT)}: {done.stderr[-3000:]}"
