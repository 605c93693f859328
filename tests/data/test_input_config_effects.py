"""Input-config keys without a test elsewhere: ``input_type: dataset`` and the shuffle buffer."""

from __future__ import annotations

import numpy as np

from petri.data import create_input_fn
from petri.datasets import digits, load_split


def test_input_type_dataset_reads_a_builtin_split() -> None:
    (_, y_train), (_, y_eval) = digits.load_data()

    def labels(split: str) -> list[int]:
        config = {
            "input_type": "dataset",
            "x": "digits",
            "pipeline_config": {"batch_size": 100, "params": {"split": split}},
        }
        input_fn = create_input_fn(config, load_dataset=load_split)
        return [int(v) for _, batch in input_fn() for v in batch]

    assert labels("eval") == y_eval.tolist()
    assert labels("train") == y_train.tolist()


def _order(**pipeline: object) -> list[int]:
    config = {
        "x": np.arange(40, dtype=np.float32).reshape(40, 1),
        "y": np.arange(40),
        "pipeline_config": {
            "module": "NumpyPipeline",
            "batch_size": 40,
            "shuffle": True,
            "seed": 0,
            **pipeline,
        },
    }
    return [int(v) for _, labels in create_input_fn(config)() for v in labels]


def test_min_after_dequeue_and_capacity_size_the_shuffle_buffer() -> None:
    in_order = list(range(40))
    assert _order() != in_order  # the default buffer holds every row: a full permutation
    # A buffer of one record draws the only record it holds: shuffling keeps file order.
    assert _order(min_after_dequeue=1) == in_order
    assert _order(capacity=1) == in_order
    # A buffer of 4 moves no record more than 3 places ahead of its turn.
    local = _order(capacity=4)
    assert local != in_order
    assert all(position >= value - 3 for position, value in enumerate(local))
    assert _order(min_after_dequeue=4) == local
