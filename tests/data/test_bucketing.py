"""``bucket_boundaries`` on ``TFRecordSequencePipeline``: every batch is drawn from one bucket,
so its padding is bounded by the bucket's width; no example is lost or repeated."""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from petri.data import TFRecordSequencePipeline, write_sequence_records
from petri.errors import ConfigError

# Buckets [lo, hi) growing by a fifth: a batch of lengths in one of them is at most
# 1 - lo / (hi - 1) padding, which is <= 1/6 for every bucket here ([0, 2) holds only length 1).
BOUNDARIES = [2, 3, 4, 5, 6, 8, 10, 12, 15, 18, 22, 27, 33, 40, 48, 58, 70, 84, 101]
BOUND = 1 / 6


def _write(folder: Path, lengths: Any) -> None:
    write_sequence_records(
        {"frames": [np.full((n, 2), i, np.float32) for i, n in enumerate(lengths)]},
        folder,
        "toy_train",
        num_shards=3,
        context={"id": np.arange(len(lengths))},
    )


def _pipeline(folder: Path, **config: Any) -> TFRecordSequencePipeline:
    params = {"data_files": f"{folder}/toy_train-*", "meta_data_file": f"{folder}/meta_data.json"}
    base = {"batch_size": 8, "dynamic_pad": True, "shuffle": True, "seed": 1, "params": params}
    return TFRecordSequencePipeline({**base, **config})


def _padding_per_batch(pipeline: TFRecordSequencePipeline) -> list[float]:
    fractions = []
    for features, _ in pipeline():
        lengths = features["length"].numpy()
        assert features["frames"].shape[1] == lengths.max()  # padded to the batch's longest
        fractions.append(1 - lengths.sum() / (len(lengths) * lengths.max()))
    return fractions


def test_every_batch_is_at_most_a_sixth_padding_with_buckets(tmp_path: Path) -> None:
    lengths = np.random.default_rng(0).integers(1, 101, 400)
    _write(tmp_path, lengths)
    plain = _padding_per_batch(_pipeline(tmp_path))
    bucketed = _padding_per_batch(_pipeline(tmp_path, bucket_boundaries=BOUNDARIES))
    # measured: without buckets a batch is 42% padding on average (61% at worst); with them
    # 5% on average and 10% at worst
    assert np.mean(plain) > 0.3 and max(plain) > 0.5, (np.mean(plain), max(plain))
    assert max(bucketed) <= BOUND, max(bucketed)
    assert np.mean(bucketed) < 0.1, np.mean(bucketed)


def test_a_batch_holds_one_bucket_and_the_last_ones_empty_the_buckets(tmp_path: Path) -> None:
    lengths = np.random.default_rng(1).integers(1, 40, 203)
    _write(tmp_path, lengths)
    boundaries = [5, 10, 20]
    ids: list[int] = []
    for features, _ in _pipeline(tmp_path, bucket_boundaries=boundaries)():
        buckets = {bisect.bisect_right(boundaries, int(n)) for n in features["length"]}
        assert len(buckets) == 1, features["length"].tolist()
        batch_ids = features["id"].tolist()
        for row, i in enumerate(batch_ids):  # each example intact under its padding
            n = int(lengths[i])
            assert int(features["length"][row]) == n
            assert (features["frames"][row, :n] == i).all()
            assert not features["frames"][row, n:].any()
        ids += batch_ids
    assert sorted(ids) == list(range(203))  # short final batches too: nothing lost

    strict = _pipeline(tmp_path, bucket_boundaries=boundaries, allow_smaller_final_batch=False)
    full_only = [f["id"].tolist() for f, _ in strict()]
    assert all(len(batch) == 8 for batch in full_only)
    assert len({i for batch in full_only for i in batch}) == 8 * len(full_only) > 203 - 4 * 8


def test_varying_lengths_without_dynamic_pad_are_refused_before_reading(tmp_path: Path) -> None:
    _write(tmp_path, [3, 5, 4])
    with pytest.raises(ConfigError, match=r"dynamic_pad` is false.*run from 3 to 5 steps"):
        _pipeline(tmp_path, dynamic_pad=False)
    _pipeline(tmp_path, dynamic_pad=False, batch_size=1)  # one sequence a batch: no padding
    _write(tmp_path / "fixed", [4, 4, 4])
    features, _ = next(_pipeline(tmp_path / "fixed", dynamic_pad=False, batch_size=3)())
    assert features["frames"].shape == (3, 4, 2)
