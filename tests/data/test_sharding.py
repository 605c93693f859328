"""Every input kind, split between the ranks of a distributed run (issue #15): over one epoch
the shares together yield each example exactly once, step by step they are the batch one
process with the whole batch takes, and each share resumes exactly."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from petri.data import (
    CSVPipeline,
    ImageFolderPipeline,
    NumpyPipeline,
    TFRecordPipeline,
    numpy_input_fn,
    write_records,
)
from petri.data.numpy_input import NumpyBatches
from petri.data.processors import encode_image

N = 37  # not a multiple of the ranks or the batch


def _ids(batches: Any, key: str) -> list[int]:
    out = []
    for features, labels in batches:
        values = labels if key == "label" else features[key]
        out.extend(int(v) for v in np.asarray(values).reshape(-1))
    return out


def _config(shuffle: bool, threads: int = 1, **params: Any) -> dict[str, Any]:
    return {
        "batch_size": 4,
        "shuffle": shuffle,
        "seed": 5,
        "num_epochs": 1,
        "num_threads": threads,
        "params": params,
    }


def _numpy(tmp_path: Any, shuffle: bool, threads: int) -> tuple[Any, str]:
    x = np.arange(N, dtype=np.float32).reshape(N, 1)
    return numpy_input_fn(x, np.arange(N), batch_size=4, shuffle=shuffle, seed=5), "label"


def _numpy_pipeline(tmp_path: Any, shuffle: bool, threads: int) -> tuple[Any, str]:
    x = np.arange(N, dtype=np.float32).reshape(N, 1)
    return NumpyPipeline(_config(shuffle), x=x, y=np.arange(N)), "label"


def _records(tmp_path: Any, shuffle: bool, threads: int) -> tuple[Any, str]:
    write_records({"x": np.ones((N, 2)), "label": np.arange(N)}, tmp_path, "toy", 4)
    config = _config(shuffle, threads, data_files=str(tmp_path / "toy-*"))
    return TFRecordPipeline({**config, "min_after_dequeue": 8}), "label"


def _csv(tmp_path: Any, shuffle: bool, threads: int) -> tuple[Any, str]:
    for part in range(3):
        rows = "".join(f"{i},{i * 0.5}\n" for i in range(part, N, 3))
        (tmp_path / f"part{part}.csv").write_text("label,f\n" + rows)
    return CSVPipeline(_config(shuffle, threads, data_files=str(tmp_path / "*.csv"))), "label"


def _images(tmp_path: Any, shuffle: bool, threads: int) -> tuple[Any, str]:
    for index in range(N):
        folder = tmp_path / f"class{index % 3}"
        folder.mkdir(exist_ok=True)
        pixels = np.full((4, 4, 3), index, dtype=np.uint8)  # the pixel value names the image
        (folder / f"{index:02d}.png").write_bytes(encode_image(pixels))
    return ImageFolderPipeline(_config(shuffle, threads, data_dir=str(tmp_path))), "image"


def _image_ids(batches: Any) -> list[int]:
    return [
        round(float(image[0, 0, 0]) * 255)
        for features, _ in batches
        for image in features["image"]
    ]


KINDS = {
    "numpy_input_fn": _numpy,
    "NumpyPipeline": _numpy_pipeline,
    "TFRecordPipeline": _records,
    "CSVPipeline": _csv,
    "ImageFolderPipeline": _images,
}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_two_shares_yield_every_example_once(
    tmp_path, kind: str, shuffle: bool, threads: int
) -> None:
    if threads == 2 and kind in ("numpy_input_fn", "NumpyPipeline"):
        pytest.skip("arrays are read in-process")
    input_fn, key = KINDS[kind](tmp_path, shuffle, threads)

    def ids(shard: tuple[int, int] | None) -> list[int]:
        batches = list(input_fn() if shard is None else input_fn(shard=shard))
        return _image_ids(batches) if key == "image" else _ids(batches, key)

    whole = ids(None)
    first, second = ids((0, 2)), ids((1, 2))
    assert Counter(first + second) == Counter(whole)  # each example exactly once
    assert sorted(whole) == list(range(N))
    assert abs(len(first) - len(second)) <= 1
    if threads == 1:  # one stream: the shares interleave the single-process order
        merged = [v for pair in zip(first, second) for v in pair] + first[len(second) :]
        assert merged == whole


def test_a_share_resumes_exactly_and_refuses_another_share(tmp_path) -> None:
    input_fn, _ = _records(tmp_path, shuffle=True, threads=1)
    iterator = input_fn(shard=(1, 2))
    next(iterator)
    state = iterator.state_dict()
    rest = _ids(iterator, "label")
    resumed = input_fn(shard=(1, 2))
    resumed.load_state_dict(state)
    assert _ids(resumed, "label") == rest
    with pytest.raises(ValueError, match="share 1 of 2"):
        input_fn(shard=(0, 2)).load_state_dict(state)
    arrays = numpy_input_fn(np.zeros((N, 1)), np.arange(N), batch_size=4, shuffle=True, seed=1)
    batches = arrays(shard=(0, 2))
    next(batches)
    with pytest.raises(ValueError, match="share 0 of 2"):
        arrays().load_state_dict(batches.state_dict())


@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("allow_smaller", [True, False])
def test_ends_together_says_whether_the_shares_have_as_many_batches(
    count: int, allow_smaller: bool
) -> None:
    """Ranks skip the per-step agreement on the end of a finite input exactly when their
    shares yield the same number of batches."""
    seen = set()
    for total in range(1, 40):
        for batch_size in (1, 2, 4, 5):
            shares = [
                NumpyBatches(
                    np.arange(total, dtype=np.float32)[:, None],
                    None,
                    batch_size,
                    num_epochs=2,
                    shuffle=True,
                    seed=0,
                    allow_smaller_final_batch=allow_smaller,
                    shard=(index, count),
                )
                for index in range(count)
            ]
            claims = {share.ends_together for share in shares}
            assert len(claims) == 1  # every rank reaches the same answer without talking
            lengths = {sum(1 for _ in share) for share in shares}
            assert claims.pop() == (len(lengths) == 1), (total, batch_size, lengths)
            seen.add(len(lengths) == 1)
    assert seen == {True, False}  # both cases occurred
    endless = NumpyBatches(np.zeros((5, 1)), None, 2, None, False, 0, shard=(0, 2))
    assert not endless.ends_together
