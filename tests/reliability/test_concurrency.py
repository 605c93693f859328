"""Several processes at once (issue #11, suite items d and e): 16 writers starting runs of one
name get 16 versions; 16 writers on one version take turns (never interleaved rows); readers
reading while a run is written see a consistent prefix of it, never an error."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from petri.tracking import load

WRITERS = 16

NEW_VERSION = """
import os, sys, time
from petri.tracking import Experiment
save_dir, go, ident = sys.argv[1], sys.argv[2], int(sys.argv[3])
while not os.path.exists(go):
    time.sleep(0.001)
with Experiment(save_dir=save_dir, name="shared", autosave=True) as run:
    run.tag({"writer": ident})
    for step in range(1, 201):
        run.log({"writer": ident, "value": step * 0.5}, global_step=step)
print(run.version)
"""

SAME_VERSION = """
import os, sys, time
from petri.tracking import Experiment, RunLockedError
save_dir, go, ident = sys.argv[1], sys.argv[2], int(sys.argv[3])
while not os.path.exists(go):
    time.sleep(0.001)
try:
    run = Experiment(save_dir=save_dir, name="one", version=0, autosave=True)
except RunLockedError as error:
    print("refused", error)
    sys.exit(0)
for index in range(100):
    run.log({"writer": ident, "index": index})
    time.sleep(0.001)
run.close()
print("wrote")
"""

LONG_WRITER = """
import sys
from petri.tracking import Experiment
with Experiment(save_dir=sys.argv[1], name="live", version=0, autosave=True) as run:
    print("open", flush=True)
    for step in range(1, 20001):
        run.log({"loss": 1.0 / step, "accuracy": step / 20000}, global_step=step)
        if step % 50 == 0:
            run.tag({"last": step})
"""


def _all_at_once(script: str, save_dir: Path, go: Path) -> list[subprocess.CompletedProcess]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(save_dir), str(go), str(ident)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for ident in range(WRITERS)
    ]
    time.sleep(0.5)  # every interpreter up and waiting
    go.touch()
    done = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def test_sixteen_writers_of_one_name_get_sixteen_versions(tmp_path, reliability_report) -> None:
    done = _all_at_once(NEW_VERSION, tmp_path, tmp_path / "go")
    assert all(d.returncode == 0 for d in done), [d.stderr for d in done if d.returncode]
    versions = sorted(int(d.stdout) for d in done)
    assert versions == list(range(WRITERS))
    for version in versions:
        run = load(tmp_path / "shared" / f"version_{version}")
        writers = {row["writer"] for row in run.metrics}
        assert len(writers) == 1 and run.tags["writer"] in writers
        assert [row["global_step"] for row in run.metrics] == list(range(1, 201))
    reliability_report.add("concurrent writers", WRITERS)


def test_writers_of_one_version_take_turns(tmp_path, reliability_report) -> None:
    done = _all_at_once(SAME_VERSION, tmp_path, tmp_path / "go")
    assert all(d.returncode == 0 for d in done), [d.stderr for d in done if d.returncode]
    wrote = [ident for ident, d in enumerate(done) if d.stdout.startswith("wrote")]
    refused = [d for d in done if d.stdout.startswith("refused")]
    assert wrote and len(wrote) + len(refused) == WRITERS
    assert all("being written by process" in d.stdout for d in refused)
    rows = load(tmp_path / "one" / "version_0").metrics
    blocks = [(row["writer"], row["index"]) for row in rows]
    expected = []
    for writer in dict.fromkeys(row["writer"] for row in rows):  # in the order they wrote
        expected += [(writer, index) for index in range(100)]
    assert blocks == expected  # whole blocks, one writer at a time
    assert sorted({writer for writer, _ in blocks}) == sorted(wrote)
    reliability_report.add("concurrent writers", WRITERS)


def test_reading_while_a_run_is_written(tmp_path, reliability_report) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", LONG_WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reads = 0
    try:
        assert writer.stdout.readline().strip() == "open"
        run_dir = tmp_path / "live" / "version_0"
        while writer.poll() is None:
            run = load(run_dir)
            steps = [row["global_step"] for row in run.metrics]
            assert steps == list(range(1, len(steps) + 1))  # a prefix, in order, no torn row
            assert all(row["loss"] == 1.0 / row["global_step"] for row in run.metrics)
            assert int(run.tags.get("last", 0)) % 50 == 0  # meta_tags.csv is replaced whole
            reads += 1
        assert writer.returncode == 0, writer.stderr.read()
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    final = load(tmp_path / "live" / "version_0")
    assert [row["global_step"] for row in final.metrics] == list(range(1, 20001))
    assert final.status == "finished"
    assert reads >= 5
    reliability_report.add("reads during writes", reads)
