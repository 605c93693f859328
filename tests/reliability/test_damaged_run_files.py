"""A damaged file of one run is reported by name and never breaks reading the others
(issue #11 item 6, for meta_tags.csv)."""

from __future__ import annotations

from pathlib import Path

import pytest

from petri.tracking import Experiment, RunFileError, list_runs, load


def test_a_bad_byte_in_meta_tags_is_named_and_the_listing_goes_on(
    tmp_path: Path, petri_cli
) -> None:
    for index in range(2):
        with Experiment(save_dir=tmp_path, name=f"run{index}", autosave=True) as run:
            run.tag({"lr": 0.1 * (index + 1)})
            run.log({"loss": 1.0}, global_step=1)
    tags = tmp_path / "run0" / "version_0" / "meta_tags.csv"
    tags.write_bytes(tags.read_bytes() + b"note,\xff\xfe,str\n")
    with pytest.raises(RunFileError, match=r"meta_tags\.csv is damaged: not UTF-8 text at byte"):
        load(tmp_path / "run0" / "version_0")
    statuses = {run.name: run.status for run in list_runs(tmp_path)}
    assert statuses == {"run0": "damaged", "run1": "finished"}
    listing = petri_cli("ls", tmp_path)
    assert listing.exit_code == 0 and "damaged" in listing.stdout and "run1" in listing.stdout
    shown = petri_cli("show", "run0", "--save-dir", tmp_path)  # shown as damaged, with why
    assert shown.exit_code == 0 and "meta_tags.csv is damaged" in shown.stdout
