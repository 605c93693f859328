"""TensorBoard reads back what the run log wrote: TensorBoard's own reader and protos."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest
from tensorboard.plugins.hparams import api_pb2

from petri._tfrecord import masked_crc32c, masked_crc32c_rows
from petri.tracking import Experiment

from ._helpers import accumulator, hparams_sessions


def records(path: Path) -> list[bytes]:
    """TFRecord payloads of an event file, checking both CRCs with TensorBoard's own code."""
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as reference

    data = path.read_bytes()
    out, position = [], 0
    while position < len(data):
        header = data[position : position + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack_from("<I", data, position + 8)
        payload = data[position + 12 : position + 12 + length]
        (payload_crc,) = struct.unpack_from("<I", data, position + 12 + length)
        assert header_crc == reference(header)
        assert payload_crc == reference(payload)
        out.append(payload)
        position += 16 + length
    return out


def test_crc_matches_tensorboard():
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as reference

    rng = np.random.default_rng(0)
    samples = [b"", b"a", bytes(range(256))] + [rng.bytes(40) for _ in range(20)]
    assert [masked_crc32c(s) for s in samples] == [reference(s) for s in samples]
    block = np.frombuffer(b"".join(samples[3:]), np.uint8).reshape(20, 40)
    assert masked_crc32c_rows(block).tolist() == [reference(s) for s in samples[3:]]


@pytest.mark.parametrize("autosave", [True, False])
def test_every_scalar_is_read_back_with_its_step(tmp_path, autosave):
    exp = Experiment(save_dir=tmp_path, autosave=autosave)
    expected: dict[str, list[tuple[int, float]]] = {}

    def log(row, step=None):
        index = len(exp.metrics)
        exp.log(row, global_step=step)
        for key, value in row.items():
            expected.setdefault(key, []).append((index if step is None else step, value))

    for step in range(6_000):  # steps up to 18,000 cross the 1-, 2- and 3-byte varint widths
        log({"loss": 1.0 / (step + 1), "acc": step / 6_000}, step * 3)
        if step % 1000 == 0:
            log({"eval/acc": 0.5 + step / 1e5, "eval/loss": float(step)}, step * 3)
    log({"np": np.float32(0.25), "flag": True}, 70_000)
    log({"big": 1e39, "nan": float("nan"), "neg": -2.5}, 70_001)
    log({"nested": {"a": 1.0}}, 2**40)
    log({"no_step": 7.0})
    exp.close()
    reader = accumulator(exp.get_tensorboard_path())
    assert set(reader.Tags()["scalars"]) == {
        "loss",
        "acc",
        "eval/acc",
        "eval/loss",
        "np",
        "flag",
        "big",
        "nan",
        "neg",
        "nested/a",
        "no_step",
    }
    expected["nested/a"] = [(2**40, 1.0)]
    expected.pop("nested")
    for tag, points in expected.items():
        events = reader.Scalars(tag)
        assert [e.step for e in events] == [step for step, _ in points], tag
        for event, (_, value) in zip(events, points):
            value = float(value)
            if math.isnan(value):
                assert math.isnan(event.value)
            elif abs(value) > 3.4e38:
                assert event.value == math.inf
            else:
                assert event.value == pytest.approx(value, rel=1e-6), tag


def test_events_are_valid_protos_with_valid_checksums(tmp_path):
    from tensorboard.compat.proto import event_pb2

    exp = Experiment(save_dir=tmp_path, autosave=True)
    for step in range(100):
        exp.log({"loss": step / 10}, global_step=step)
    exp.add_text("notes", "**hello**", 3)
    exp.add_histogram("weights", np.random.default_rng(0).normal(size=1000), 4)
    exp.close()
    files = list(Path(exp.get_tensorboard_path()).iterdir())
    assert len(files) == 1 and files[0].name.startswith("events.out.tfevents.")
    events = [event_pb2.Event.FromString(payload) for payload in records(files[0])]
    assert events[0].file_version == "brain.Event:2"
    scalars = [
        e for e in events if e.summary.value and e.summary.value[0].HasField("simple_value")
    ]
    assert [e.step for e in scalars] == list(range(100))
    assert scalars[7].summary.value[0].tag == "loss"
    assert scalars[7].summary.value[0].simple_value == pytest.approx(0.7)
    reader = accumulator(exp.get_tensorboard_path())
    histogram = reader.Histograms("weights")[0]
    assert histogram.step == 4 and histogram.histogram_value.num == 1000
    assert "notes" in reader.Tags()["tensors"]


def test_images_and_resumed_runs(tmp_path):
    exp = Experiment(save_dir=tmp_path, name="img", autosave=True)
    exp.log({"sample_png": np.zeros((6, 5, 3), np.uint8), "loss": 1.0}, global_step=2)
    exp.add_image("direct", np.ones((7, 4, 3)), 3)
    exp.close()
    again = Experiment(save_dir=tmp_path, name="img", version=0, autosave=True)
    again.log({"loss": 0.5}, global_step=3)
    again.close()
    reader = accumulator(exp.get_tensorboard_path())
    image = reader.Images("sample_png")[0]
    assert (image.step, image.height, image.width) == (2, 6, 5)
    direct = reader.Images("direct")[0]
    assert (direct.step, direct.height, direct.width) == (3, 7, 4)
    assert [e.step for e in reader.Scalars("loss")] == [2, 3]


# ------------------------------------------------------------------ the HParams tab
def _session_starts(tf_dir: Path) -> list[bytes]:
    """The HParams session start of each event file, in file order, as TensorBoard reads it."""
    from tensorboard.backend.event_processing import event_file_loader

    starts = []
    for path in sorted(tf_dir.iterdir()):
        for event in event_file_loader.EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.tag == "_hparams_/session_start_info":
                    starts.append(value.metadata.plugin_data.content)
    return starts


def test_hparams_tab_shows_each_run_with_its_tags_final_metrics_and_status(tmp_path):
    for index, status in enumerate(["finished", "crashed"]):
        exp = Experiment(save_dir=tmp_path, name="hp", autosave=True)
        exp.tag({"lr": 0.1 * (index + 1), "opt": "adam", "deep": True, "none": None})
        exp.tag({"beta1": 0.9, "layers": [1, 2]}, defaults=["beta1"])  # beta1: a default
        exp.log({"loss": 1.0 - index / 10}, global_step=1)
        exp.log({"eval/acc": 0.5 + index / 10}, global_step=2)
        exp.close(status)
    experiment, groups = hparams_sessions(tmp_path)
    infos = {info.name: api_pb2.DataType.Name(info.type) for info in experiment.hparam_infos}
    assert infos == {
        "lr": "DATA_TYPE_FLOAT64",
        "opt": "DATA_TYPE_STRING",
        "deep": "DATA_TYPE_BOOL",
        "none": "DATA_TYPE_STRING",
        "layers": "DATA_TYPE_STRING",
    }
    assert {info.name.tag for info in experiment.metric_infos} == {"loss", "eval/acc"}
    by_name = {group.name: group for group in groups}
    assert set(by_name) == {"hp/version_0", "hp/version_1"}
    first, second = by_name["hp/version_0"], by_name["hp/version_1"]
    assert first.hparams["lr"].number_value == pytest.approx(0.1)
    assert first.hparams["layers"].string_value == "[1, 2]"
    assert second.hparams["lr"].number_value == pytest.approx(0.2)
    assert {m.name.tag: m.value for m in second.metric_values} == pytest.approx(
        {"loss": 0.9, "eval/acc": 0.6}
    )
    assert api_pb2.Status.Name(first.sessions[0].status) == "STATUS_SUCCESS"
    # a crashed run may be resumed and finish, and TensorBoard keeps a run's first end
    assert api_pb2.Status.Name(second.sessions[0].status) == "STATUS_UNKNOWN"


def test_a_resumed_run_is_one_session_with_its_last_values(tmp_path):
    exp = Experiment(save_dir=tmp_path, name="hp", autosave=True)
    exp.tag({"lr": 0.1, "opt": "adam"})
    for step in (1, 2, 3):
        exp.log({"loss": 1.0 / step}, global_step=step)
    exp.close("crashed")  # killed: the resume starts from the checkpoint at step 2
    again = Experiment(save_dir=tmp_path, name="hp", version=0, autosave=True)
    again.tag({"lr": 0.1, "opt": "adam"})
    again.rewind(2)
    for step in (3, 4):
        again.log({"loss": 10.0 * step}, global_step=step)
    again.close("finished")
    starts = _session_starts(Path(again.get_tensorboard_path()))
    assert len(starts) == 2 and starts[0] == starts[1]  # the same start: nothing conflicts
    experiment, groups = hparams_sessions(tmp_path)
    assert [info.name for info in experiment.hparam_infos] == ["lr", "opt"]
    (group,) = groups
    (session,) = group.sessions
    assert api_pb2.Status.Name(session.status) == "STATUS_SUCCESS"
    (loss,) = session.metric_values
    assert (loss.value, loss.training_step) == (40.0, 4)


def test_a_run_without_tags_writes_no_hparams(tmp_path):
    with Experiment(save_dir=tmp_path, name="plain", autosave=True) as exp:
        exp.log({"loss": 1.0}, global_step=1)
    assert _session_starts(Path(exp.get_tensorboard_path())) == []
