"""A real PostgreSQL server for the tune tests: ``postgres_url`` starts one per session.

Debian's binaries (``apt-get install postgresql``; ``.ci/run`` installs them) live in
``/usr/lib/postgresql/<version>/bin``; the newest version there is used, else ``initdb`` on the
PATH. The server is a throwaway cluster in a temporary folder (trust authentication, a free port
on 127.0.0.1, its socket in the same folder), stopped and removed at the end of the session.
``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres`` user.
Without the binaries the tests that need it skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from _servers import free_port


def postgres_bin() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``createdb`` (the newest version)."""

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.name)) or (0,)

    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: version(p.parent))
    for folder in reversed(versions):
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    found = shutil.which("initdb") or (
        "/usr/local/bin/initdb" if os.path.isfile("/usr/local/bin/initdb") else None
    )
    if found:
        folder = Path(found).resolve().parent
        if (folder / "pg_ctl").is_file():
            return folder
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql+psycopg://postgres@127.0.0.1:PORT/petri`` on a server of its own."""
    folder = postgres_bin()
    if folder is None:
        reason = (
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, no initdb on the "
            "PATH): apt-get install postgresql, as .ci/run does"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI must run these tests.")
        pytest.skip(reason)
    pytest.importorskip("psycopg")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="petri-pg-"))
    if os.geteuid() == 0:  # initdb will not run as root: the cluster is the postgres user's
        as_user = ["runuser", "-u", "postgres", "--"]
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    data, log = root / "data", root / "server.log"

    def run(*command: str) -> None:
        done = subprocess.run(
            [*as_user, *command], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            server = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
                f"\n{server}"
            )

    started = False
    try:
        run(
            str(folder / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8"
        )
        for attempt in range(3):  # another process may take the free port before the server
            port = free_port()
            options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
            try:
                run(str(folder / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                    "-w", "-t", "60", "start")  # fmt: skip
            except RuntimeError:
                if attempt == 2:
                    raise
                continue
            started = True
            break
        run(
            str(folder / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "petri"
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/petri"
    finally:
        if started:
            with contextlib.suppress(Exception):
                run(str(folder / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
