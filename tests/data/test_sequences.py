"""Sequences (issue #16, item 2): SequenceExample records, TFRecordSequencePipeline with
padding, a length feature and bucketing, exact resume, and recurrent layers that stop at each
sequence's own length."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from petri.data import TFRecordSequencePipeline, write_sequence_records
from petri.data.records import iter_records, parse_sequence_example
from petri.errors import ConfigError
from petri.layers import LSTM, BidirectionalRNN


def _dataset(folder: Path, size: int = 60, seed: int = 0, max_length: int = 30) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, max_length + 1, size)
    data = {
        "frames": [rng.normal(size=(n, 3)).astype(np.float32) for n in lengths],
        "tokens": [rng.integers(0, 50, n) for n in lengths],
        "label": rng.integers(0, 4, size),
        "id": np.arange(size),
    }
    write_sequence_records(
        {"frames": data["frames"], "tokens": data["tokens"]},
        folder,
        "toy_train",
        num_shards=3,
        context={"label": data["label"], "id": data["id"]},
    )
    return data


def _pipeline(folder: Path, **config: Any) -> TFRecordSequencePipeline:
    params = {"data_files": f"{folder}/toy_train-*", "meta_data_file": f"{folder}/meta_data.json"}
    return TFRecordSequencePipeline(
        {"batch_size": 8, "dynamic_pad": True, "params": params, **config}
    )


def test_records_read_back_exactly_by_petri_and_the_tfrecord_package(tmp_path: Path) -> None:
    data = _dataset(tmp_path)
    files = sorted(tmp_path.glob("toy_train-*.tfrecord"))
    parsed = [parse_sequence_example(raw) for f in files for _, raw in iter_records(str(f))]
    assert len(parsed) == 60
    for context, steps in parsed:
        i = int(context["id"][0])
        assert int(context["label"][0]) == data["label"][i]
        np.testing.assert_array_equal(steps["frames"], data["frames"][i])
        np.testing.assert_array_equal(steps["tokens"].ravel(), data["tokens"][i])

    from tfrecord.reader import tfrecord_loader

    seen = 0
    context_kinds = {"id": "int", "label": "int"}
    sequence_kinds = {"frames": "float", "tokens": "int"}
    for path in files:
        for context, steps in tfrecord_loader(
            str(path), None, context_kinds, None, sequence_kinds
        ):
            i = int(context["id"][0])
            np.testing.assert_array_equal(np.stack(steps["frames"]), data["frames"][i])
            np.testing.assert_array_equal(np.concatenate(steps["tokens"]), data["tokens"][i])
            seen += 1
    assert seen == 60

    features, labels = next(_pipeline(tmp_path, batch_size=60)())
    assert set(features) == {"frames", "tokens", "id", "length"}
    for row, i in enumerate(features["id"].tolist()):
        n = int(features["length"][row])
        assert n == len(data["frames"][i]) and int(labels[row]) == data["label"][i]
        np.testing.assert_array_equal(features["frames"][row, :n].numpy(), data["frames"][i])
        assert not features["frames"][row, n:].any()  # zero padding past the length
        np.testing.assert_array_equal(features["tokens"][row, :n].numpy(), data["tokens"][i])


def test_token_text_reads_back_as_token_lists(tmp_path: Path) -> None:
    sentences = [["the", "cat", "sat"], ["a", "dog"]]
    write_sequence_records({"words": sentences}, tmp_path, "toy_train", context={"label": [0, 1]})
    features, labels = next(_pipeline(tmp_path, params={
        "data_files": f"{tmp_path}/toy_train-*"}, batch_size=2)())  # fmt: skip
    assert features["words"] == [[b"the", b"cat", b"sat"], [b"a", b"dog"]]
    assert features["length"].tolist() == [3, 2] and labels.tolist() == [0, 1]


def _padding(batches: Any) -> float:
    padded = real = 0
    for features, _ in batches:
        lengths = features["length"]
        padded += len(lengths) * int(lengths.max())
        real += int(lengths.sum())
    return 1 - real / padded


def test_bucketing_pads_less_and_resumes_exactly(tmp_path: Path) -> None:
    _dataset(tmp_path, size=400, max_length=100)
    plain = _padding(_pipeline(tmp_path, shuffle=True, seed=1)())
    boundaries = list(range(10, 100, 10))
    bucketed = _padding(_pipeline(tmp_path, shuffle=True, seed=1, bucket_boundaries=boundaries)())
    assert plain > 0.3 and bucketed < 0.1, (plain, bucketed)

    for readers in (1, 2):
        pipeline = _pipeline(
            tmp_path, shuffle=True, seed=2, num_epochs=3, num_threads=readers,
            bucket_boundaries=boundaries,
        )  # fmt: skip
        whole = [f["id"].tolist() for f, _ in pipeline()]
        first = pipeline()
        head = [next(first)[0]["id"].tolist() for _ in range(37)]
        buffer = io.BytesIO()
        torch.save(first.state_dict(), buffer)  # what a checkpoint holds
        first.close()
        buffer.seek(0)
        resumed = pipeline()
        resumed.load_state_dict(torch.load(buffer, weights_only=True))
        assert head + [f["id"].tolist() for f, _ in resumed] == whole
    ids = sorted(i for batch in whole for i in batch)
    assert ids == sorted(list(range(400)) * 3)  # buckets lose nothing


def test_two_shares_with_buckets_read_every_example_once(tmp_path: Path) -> None:
    _dataset(tmp_path, size=101)
    pipeline = _pipeline(tmp_path, shuffle=True, seed=3, bucket_boundaries=[10, 20])
    ids = [i for share in (0, 1) for f, _ in pipeline((share, 2)) for i in f["id"].tolist()]
    assert sorted(ids) == list(range(101))


@pytest.mark.parametrize("layer", ["lstm", "bidirectional"])
def test_recurrent_layers_stop_at_each_sequences_length(layer: str) -> None:
    torch.manual_seed(0)
    if layer == "lstm":
        net: torch.nn.Module = LSTM(num_units=5)
    else:
        net = BidirectionalRNN(
            rnncell_fw=["LSTM", {"num_units": 5}], rnncell_bw=["GRU", {"num_units": 4}]
        )
    lengths = torch.tensor([2, 6, 4])
    padded = torch.zeros(3, 6, 3)
    alone = []
    for i, n in enumerate(lengths.tolist()):
        sequence = torch.randn(1, n, 3)
        padded[i, :n] = sequence[0]
        alone.append(sequence)
    batch = net({"frames": padded + 0, "length": lengths})
    for i, sequence in enumerate(alone):
        torch.testing.assert_close(batch[i], net(sequence)[0], atol=1e-6, rtol=1e-5)
    garbage = padded.clone()
    garbage[0, 2:] = 100.0  # whatever lies past a length is never read
    torch.testing.assert_close(net({"frames": garbage, "length": lengths}), batch)
    with pytest.raises(ValueError, match="one sequence feature and its 'length'"):
        net({"frames": padded, "other": padded, "length": lengths})


def test_records_without_feature_lists_are_refused(tmp_path: Path) -> None:
    from petri.data import write_records

    write_records({"x": np.zeros((4, 2))}, tmp_path, "flat_train")
    with pytest.raises(ConfigError, match="hold no feature list"):
        TFRecordSequencePipeline({"params": {"data_files": f"{tmp_path}/flat_train-*"}})
    _dataset(tmp_path / "seq")
    with pytest.raises(ConfigError, match=r"params.sequence_features.*\['frame'\]"):
        _pipeline(tmp_path / "seq", params={"data_files": f"{tmp_path}/seq/toy_train-*",
                                            "sequence_features": ["frame"]})  # fmt: skip
    with pytest.raises(ValueError, match="differ in length"):
        write_sequence_records({"a": [[1, 2]], "b": [[1]]}, tmp_path / "bad", "bad_train")


def test_a_resumed_training_run_sees_the_batches_of_an_uninterrupted_one(tmp_path: Path) -> None:
    """Through the Estimator: a run stopped at step 7 (mid-epoch, with examples waiting in the
    buckets) and resumed by a new Estimator from its checkpoint trains on the same batches."""
    from petri.estimators import Estimator, EstimatorSpec
    from petri.layers import FullyConnected
    from petri.training import Hook

    _dataset(tmp_path / "data", size=120)

    def model_fn(features: Any, labels: Any, mode: str) -> EstimatorSpec:
        hidden = LSTM(mode, num_units=4)(
            {"frames": features["frames"], "length": features["length"]}
        )
        logits = FullyConnected(mode, num_units=4)(hidden)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        return EstimatorSpec(mode, predictions=logits, loss=loss, optimizer="adam")

    class Seen(Hook):
        def __init__(self) -> None:
            super().__init__()
            self.ids: list[list[int]] = []

        def before_step(self, state: Any) -> None:
            self.ids.append(state.features["id"].tolist())

    def run(folder: str, steps: int, seen: Seen) -> Estimator:
        estimator = Estimator(
            model_fn, model_dir=tmp_path / folder, config={"seed": 0, "verbose": False}
        )
        pipeline = _pipeline(tmp_path / "data", shuffle=True, seed=4, num_epochs=None,
                             bucket_boundaries=[8, 16, 24])  # fmt: skip
        estimator.train(pipeline, max_steps=steps, hooks=[seen])
        return estimator

    whole = Seen()
    run("whole", 20, whole)
    first, second = Seen(), Seen()
    run("cut", 7, first)
    from petri.training.checkpoints import latest_checkpoint, load_checkpoint

    saved = load_checkpoint(latest_checkpoint(tmp_path / "cut"))["input"]["batcher"]["buckets"]
    assert sum(len(bucket) for bucket in saved) > 0  # examples were waiting in the buckets
    run("cut", 20, second)  # a new process would build a new Estimator on the model_dir
    assert first.ids + second.ids == whole.ids
