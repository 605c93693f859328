"""The pipelines: what they yield, shuffling, epochs, batching, labels and config errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from petri.configs import InputDataConfig, PipelineConfig
from petri.data import (
    PIPELINES,
    CSVPipeline,
    ImageFolderPipeline,
    NumpyPipeline,
    TFRecordImagePipeline,
    TFRecordPipeline,
    create_input_fn,
    write_records,
)
from petri.data.processors import encode_image
from petri.errors import ConfigError, UnknownNameError


def _labels(input_fn) -> list[int]:
    return [int(v) for _, labels in input_fn() for v in labels]


def test_registry_lists_pipelines() -> None:
    assert {
        "TFRecordImagePipeline",
        "TFRecordPipeline",
        "NumpyPipeline",
        "CSVPipeline",
        "ImageFolderPipeline",
    } <= set(PIPELINES.names())
    with pytest.raises(UnknownNameError, match="Did you mean 'TFRecordImagePipeline'"):
        PIPELINES.get("TFRecordImagePipelin")


def test_image_pipeline_yields_float_chw_and_labels(digits_config, digits) -> None:
    input_fn = create_input_fn(digits_config("eval", batch_size=64))
    batches = list(input_fn())
    features, labels = batches[0]
    assert set(features) == {"image"}
    assert features["image"].shape == (64, 1, 8, 8) and features["image"].dtype == torch.float32
    assert features["image"].min() >= 0.0 and features["image"].max() <= 1.0
    assert labels.dtype == torch.int64
    (_, _), (x_eval, y_eval) = digits
    images = torch.cat([f["image"] for f, _ in batches])
    # Unshuffled records come back in the order written; PNG keeps pixels to 1/255.
    assert torch.equal(torch.cat([y for _, y in batches]), torch.from_numpy(y_eval))
    assert torch.allclose(images, torch.from_numpy(x_eval), atol=0.5 / 255 + 1e-6)
    assert [len(y) for _, y in batches] == [64] * 5 + [40]


def test_epochs_and_final_batch(digits_config) -> None:
    labels = _labels(create_input_fn(digits_config("eval", num_epochs=2, batch_size=100)))
    assert len(labels) == 720
    dropped = create_input_fn(
        digits_config("eval", num_epochs=1, batch_size=100, allow_smaller_final_batch=False)
    )
    assert [len(y) for _, y in dropped()] == [100, 100, 100]


def test_shuffle_is_seeded_and_covers_each_epoch(digits_config) -> None:
    config = digits_config("eval", shuffle=True, num_epochs=2, batch_size=60, seed=7)
    first, again = _labels(create_input_fn(config)), _labels(create_input_fn(config))
    assert first == again
    other = _labels(create_input_fn({**config, "seed": 8}))
    assert first != other
    unshuffled = _labels(create_input_fn(digits_config("eval")))
    assert first[:360] != unshuffled
    assert sorted(first[:360]) == sorted(unshuffled) == sorted(first[360:])


def test_run_seed_used_when_config_has_none(digits_config) -> None:
    config = digits_config("eval", shuffle=True)
    assert _labels(create_input_fn(config, seed=3)) == _labels(create_input_fn(config, seed=3))


def test_reader_processes_give_every_example_once(digits_config) -> None:
    config = digits_config("train", shuffle=True, num_threads=2, batch_size=50, seed=1)
    input_fn = create_input_fn(config)
    assert input_fn.num_workers == 2
    labels = _labels(input_fn)
    assert sorted(labels) == sorted(_labels(create_input_fn(digits_config("train"))))
    assert labels == _labels(create_input_fn(config))


def test_cache_gives_the_same_batches(digits_config) -> None:
    config = digits_config(
        "eval", shuffle=True, num_epochs=3, seed=4, definition=[["Flip", {"is_random": True}]]
    )
    cached = create_input_fn({**config, "params": {**config["params"], "cache": True}})
    plain = create_input_fn(config)
    pairs = list(zip(cached(), plain(), strict=True))
    assert all(torch.equal(a[0]["image"], b[0]["image"]) for a, b in pairs)
    assert all(torch.equal(a[1], b[1]) for a, b in pairs)


def test_cache_keeps_deterministic_processing_and_reruns_random(digits_config) -> None:
    definition = [
        ["Resize", {"height": 12, "width": 12, "method": "bilinear"}],
        ["RandomCrop", {"height": 10, "width": 10}],
        ["Resize", {"height": 9, "width": 9, "method": "bilinear"}],  # after a random one
        ["Flip", {"is_random": True}],
    ]
    config = digits_config("eval", shuffle=True, num_epochs=3, seed=4, definition=definition)
    cached = create_input_fn({**config, "params": {**config["params"], "cache": True}})
    pairs = list(zip(cached(), create_input_fn(config)(), strict=True))
    assert len(pairs) == 34  # 3 epochs of 360 examples in batches of 32, the last one short
    assert all(torch.equal(a[0]["image"], b[0]["image"]) for a, b in pairs)
    assert pairs[0][0][0]["image"].shape[1:] == (1, 9, 9)


def test_processors_say_whether_a_cache_may_keep_their_output() -> None:
    from petri.data.processors import Flip, Processor, Resize, split_deterministic

    class Noise(Processor):  # a custom processor: not declared deterministic
        def __call__(self, value, rng):
            return value + float(rng.normal())

    resize, still, flip = Resize(4, 4), Flip(is_random=False), Flip(is_random=True)
    fixed, rest = split_deterministic(
        {"image": [resize, still], "label": [Noise()], "mask": [resize, flip, still]}
    )
    assert fixed == {"image": [resize, still], "mask": [resize]}
    assert rest["mask"] == [flip, still] and [type(p) for p in rest["label"]] == [Noise]
    assert "image" not in rest


def test_definition_processes_images(digits_config) -> None:
    config = digits_config(
        "eval",
        definition=[
            ["Resize", {"height": 12, "width": 12, "method": "bilinear"}],
            ["RandomCrop", {"height": 10, "width": 10}],
            ["Flip", {"is_random": True}],
        ],
        shuffle=True,
        seed=0,
    )
    features, _ = next(create_input_fn(config)())
    assert features["image"].shape == (32, 1, 10, 10)
    again, _ = next(create_input_fn(config)())
    assert torch.equal(features["image"], again["image"])


def test_tfrecord_pipeline_with_meta_data(tmp_path) -> None:
    x = np.arange(20, dtype=np.float64).reshape(10, 2)
    tokens = np.array([f"t{i}" for i in range(10)])
    write_records({"x": x, "label": np.arange(10) % 3, "name": tokens}, tmp_path, "toy_train", 2)
    input_fn = TFRecordPipeline(
        {
            "batch_size": 4,
            "params": {
                "data_files": str(tmp_path / "toy_train-*"),
                "meta_data_file": str(tmp_path / "meta_data.json"),
            },
        }
    )
    batches = list(input_fn())
    features, labels = batches[0]
    assert features["x"].dtype == torch.float32 and features["x"].shape == (4, 2)
    assert labels.tolist() == [0, 1, 2, 0]
    assert features["name"] == [b"t0", b"t1", b"t2", b"t3"]
    assert torch.equal(torch.cat([f["x"] for f, _ in batches]), torch.from_numpy(x).float())


def test_tfrecord_pipeline_infers_features(tmp_path) -> None:
    write_records({"x": np.ones((6, 3)), "y": np.arange(6)}, tmp_path, "toy")
    input_fn = TFRecordPipeline(
        {
            "batch_size": 6,
            "params": {
                "data_files": str(tmp_path / "toy-*"),
                "label_feature": "y",
                "features": ["x"],
            },
        }
    )
    features, labels = next(input_fn())
    assert set(features) == {"x"} and features["x"].shape == (6, 3)
    assert labels.shape == (6,)


def test_dynamic_pad(tmp_path) -> None:
    from petri.data.records import ShardedRecordWriter, make_example

    with ShardedRecordWriter(tmp_path, "seq", 1, 3) as writer:
        for length in (1, 3, 2):
            writer.write(make_example({"tokens": np.arange(1, length + 1), "label": length}))
    config = {"batch_size": 3, "params": {"data_files": str(tmp_path / "seq-*")}}
    with pytest.raises(ValueError, match="dynamic_pad"):
        next(TFRecordPipeline(config)())
    features, labels = next(TFRecordPipeline({**config, "dynamic_pad": True})())
    assert features["tokens"].tolist() == [[1, 0, 0], [1, 2, 3], [1, 2, 0]]
    assert labels.tolist() == [1, 3, 2]


def test_numpy_pipeline_matches_arrays() -> None:
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10)
    config = InputDataConfig(
        x=x, y=y, pipeline_config={"module": "NumpyPipeline", "batch_size": 4, "shuffle": True}
    )
    input_fn = create_input_fn(config, seed=0)
    assert isinstance(input_fn, NumpyPipeline)
    batches = list(input_fn())
    xs = torch.cat([f for f, _ in batches])
    ys = torch.cat([lab for _, lab in batches])
    assert sorted(ys.tolist()) == list(range(10))
    assert torch.equal(xs, torch.from_numpy(x)[ys])
    as_dict = NumpyPipeline({"params": {"x": {"a": x, "t": y}, "label_feature": "t"}})
    features, labels = next(as_dict())
    assert set(features) == {"a"} and labels.tolist() == list(range(10))


def test_csv_pipeline(tmp_path) -> None:
    (tmp_path / "a.csv").write_text("f1,f2,name,label\n1,0.5,x,0\n2,1.5,y,1\n\n")
    (tmp_path / "b.csv").write_text("f1,f2,name,label\n3,2.5,z,1\n")
    input_fn = CSVPipeline({"batch_size": 5, "params": {"data_files": str(tmp_path / "*.csv")}})
    features, labels = next(input_fn())
    assert features["f1"].tolist() == [1, 2, 3] and features["f1"].dtype == torch.int64
    assert features["f2"].dtype == torch.float32
    assert features["name"] == [b"x", b"y", b"z"] and labels.tolist() == [0, 1, 1]
    grouped = CSVPipeline(
        {
            "batch_size": 5,
            "params": {
                "data_files": str(tmp_path / "*.csv"),
                "feature_groups": {"x": ["f1", "f2"]},
            },
        }
    )
    features, _ = next(grouped())
    assert features["x"].tolist() == [[1, 0.5], [2, 1.5], [3, 2.5]] and "f1" not in features


def test_image_folder_pipeline(tmp_path) -> None:
    rng = np.random.default_rng(0)
    for name, count in (("cat", 3), ("dog", 2)):
        (tmp_path / name).mkdir()
        for index in range(count):
            pixels = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
            (tmp_path / name / f"{index}.png").write_bytes(encode_image(pixels))
    input_fn = ImageFolderPipeline({"batch_size": 8, "params": {"data_dir": str(tmp_path)}})
    features, labels = next(input_fn())
    assert input_fn.classes == ["cat", "dog"]
    assert features["image"].shape == (5, 3, 6, 5) and labels.tolist() == [0, 0, 0, 1, 1]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"params": {"data_files": "x", "meta_data_fle": "m"}}, "Did you mean 'meta_data_file'"),
        ({"params": {}}, "needs `pipeline_config.params.data_files`"),
        ({"params": {"data_files": "/nowhere/digits_train-*"}}, "matches no file"),
    ],
)
def test_config_errors_name_the_key(config, message) -> None:
    with pytest.raises(ConfigError, match=message):
        TFRecordImagePipeline(config)


def test_unknown_processor_is_reported(digits_config) -> None:
    with pytest.raises(ConfigError, match=r"definition.image\[0\].*Did you mean 'Resize'"):
        create_input_fn(digits_config(definition=[["Resise", {"height": 2, "width": 2}]]))


def test_decode_error_names_record(tmp_path) -> None:
    from petri.data.records import ShardedRecordWriter, make_example

    with ShardedRecordWriter(tmp_path, "bad", 1, 1) as writer:
        writer.write(make_example({"image/encoded": b"not a png", "class/label": 1}))
    with pytest.raises(ValueError, match=r"bad-00000-of-00001.tfrecord: record at byte offset 0"):
        next(TFRecordImagePipeline({"params": {"data_files": str(tmp_path / "bad-*")}})())


def test_worker_error_reaches_the_main_process(tmp_path, digits_dir) -> None:
    import shutil

    for path in sorted(__import__("glob").glob(f"{digits_dir}/digits_eval-*")):
        shutil.copy(path, tmp_path)
    damaged = sorted(tmp_path.glob("digits_eval-*"))[1]
    raw = bytearray(damaged.read_bytes())
    raw[200] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    input_fn = TFRecordImagePipeline(
        {"num_threads": 2, "params": {"data_files": str(tmp_path / "digits_eval-*")}}
    )
    from petri.data import CorruptRecordError

    with pytest.raises(CorruptRecordError, match=str(damaged)):
        list(input_fn())


def test_create_input_fn_accepts_configs(digits_config) -> None:
    config = digits_config("eval")
    by_dict = create_input_fn(config)
    by_pipeline = create_input_fn(PipelineConfig(**config))
    by_input = create_input_fn(InputDataConfig(pipeline_config=config))
    assert _labels(by_dict) == _labels(by_pipeline) == _labels(by_input)
    numpy_fn = create_input_fn({"input_type": "numpy", "x": np.zeros((3, 1)), "y": [0, 1, 2]})
    assert [len(y) for _, y in numpy_fn()] == [3]


def test_empty_shards(tmp_path) -> None:
    write_records({"x": np.arange(2.0)}, tmp_path, "few", num_shards=4)
    config = {"batch_size": 4, "num_epochs": 2, "params": {"data_files": str(tmp_path / "few-*")}}
    assert [len(f["x"]) for f, _ in TFRecordPipeline(config)()] == [4]
    readers = TFRecordPipeline({**config, "num_threads": 4})
    assert sorted(float(v) for f, _ in readers() for v in f["x"]) == [0.0, 0.0, 1.0, 1.0]
    write_records({"x": np.zeros(0)}, tmp_path, "none")
    with pytest.raises(ValueError, match="no records"):
        next(
            TFRecordPipeline(
                {
                    "params": {
                        "data_files": str(tmp_path / "none-*"),
                        "meta_data_file": str(tmp_path / "meta_data.json"),
                    }
                }
            )()
        )
