"""Exact resume: a restored iterator, or a restarted Estimator, sees exactly the examples an
uninterrupted run would have, in the same order."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from petri.data import TFRecordPipeline, create_input_fn, write_records
from petri.estimators import Estimator, EstimatorSpec, RunConfig
from petri.training.hooks import Hook


def _through_checkpoint(state):
    """What the Estimator's checkpoint gives back: torch.save / torch.load(weights_only)."""
    buffer = io.BytesIO()
    torch.save({"input": state}, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)["input"]


@pytest.fixture(scope="module")
def id_records(tmp_path_factory):
    """300 examples with an ``id`` feature in 5 shards."""
    folder = tmp_path_factory.mktemp("ids")
    ids = np.arange(300)
    write_records(
        {"id": ids, "x": ids[:, None].astype(np.float32) / 300, "label": ids % 2},
        folder,
        "ids_train",
        num_shards=5,
    )
    return folder


def _pipeline(folder, **config):
    return TFRecordPipeline(
        {
            "batch_size": 16,
            "num_epochs": 3,
            "shuffle": True,
            "seed": 11,
            "min_after_dequeue": 40,
            **config,
            "params": {
                "data_files": str(folder / "ids_train-*"),
                "meta_data_file": str(folder / "meta_data.json"),
            },
        }
    )


def _ids(batches):
    return [int(v) for features, _ in batches for v in features["id"]]


@pytest.mark.parametrize("num_threads", [1, 3])
@pytest.mark.parametrize("stop_after", [1, 20, 37])
def test_resumed_iterator_continues_exactly(id_records, num_threads, stop_after) -> None:
    full = _ids(_pipeline(id_records, num_threads=num_threads)())
    assert sorted(full) == sorted(list(range(300)) * 3)
    iterator = _pipeline(id_records, num_threads=num_threads)()
    head = [next(iterator) for _ in range(stop_after)]
    state = _through_checkpoint(iterator.state_dict())
    iterator.close()
    resumed = _pipeline(id_records, num_threads=num_threads)()
    resumed.load_state_dict(state)
    assert _ids(head) + _ids(resumed) == full


def test_resume_with_processors_repeats_augmentation(digits_config) -> None:
    config = digits_config(
        "eval",
        shuffle=True,
        seed=2,
        num_epochs=2,
        definition=[["RandomCrop", {"height": 6, "width": 6}], ["Flip", {"is_random": True}]],
    )
    full = [f["image"] for f, _ in create_input_fn(config)()]
    iterator = create_input_fn(config)()
    head = [next(iterator)[0]["image"] for _ in range(7)]
    resumed = create_input_fn(config)()
    resumed.load_state_dict(_through_checkpoint(iterator.state_dict()))
    rest = [f["image"] for f, _ in resumed]
    assert len(head + rest) == len(full)
    assert all(torch.equal(a, b) for a, b in zip(head + rest, full))


def test_resume_after_the_end_stays_ended(id_records) -> None:
    iterator = _pipeline(id_records, num_epochs=1)()
    list(iterator)
    resumed = _pipeline(id_records, num_epochs=1)()
    resumed.load_state_dict(_through_checkpoint(iterator.state_dict()))
    assert list(resumed) == []


def test_other_num_threads_is_refused(id_records) -> None:
    iterator = _pipeline(id_records, num_threads=2)()
    next(iterator)
    other = _pipeline(id_records, num_threads=1)()
    with pytest.raises(ValueError, match="saved with 2 reader"):
        other.load_state_dict(iterator.state_dict())
    iterator.close()


class _SeenIds(Hook):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[int] = []

    def before_step(self, state) -> None:
        self.ids.extend(int(v) for v in state.features["id"])


def _model_fn(features, labels, mode):
    from petri.layers import FullyConnected

    outputs = FullyConnected(mode, num_units=1)(features["x"])
    loss = ((outputs[:, 0] - labels.float()) ** 2).mean()
    return EstimatorSpec(mode, predictions=outputs, loss=loss, optimizer="sgd")


@pytest.mark.parametrize("num_threads", [1, 2])
def test_estimator_restart_neither_repeats_nor_skips(id_records, tmp_path, num_threads) -> None:
    config = RunConfig(seed=0, save_checkpoints_steps=None, log_step_count_steps=1000)
    uninterrupted = _SeenIds()
    Estimator(_model_fn, model_dir=tmp_path / "a", config=config).train(
        _pipeline(id_records, num_threads=num_threads), max_steps=30, hooks=[uninterrupted]
    )
    first, second = _SeenIds(), _SeenIds()
    Estimator(_model_fn, model_dir=tmp_path / "b", config=config).train(
        _pipeline(id_records, num_threads=num_threads), max_steps=12, hooks=[first]
    )
    # A new process would build everything again: a new Estimator and a new input function.
    Estimator(_model_fn, model_dir=tmp_path / "b", config=config).train(
        _pipeline(id_records, num_threads=num_threads), max_steps=30, hooks=[second]
    )
    assert len(uninterrupted.ids) == 30 * 16
    assert first.ids + second.ids == uninterrupted.ids
