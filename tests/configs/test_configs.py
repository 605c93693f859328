from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

import petri as plx
from petri.configs import ExperimentConfig, ModelConfig, OptimizerConfig, RunConfig, json_schema
from petri.errors import ConfigError
from petri.experiments import validate_config

LENET = [
    ["Conv2d", {"num_filter": 8, "filter_size": 3}],
    ["MaxPool2d", {"kernel_size": 2}],
    ["FullyConnected", {"num_units": 10}],
]


def base_config(**overrides):
    config = {
        "name": "t",
        "train_input_data_config": {
            "input_type": "numpy",
            "pipeline_config": {"batch_size": 4},
            "x": np.zeros((8, 1, 4, 4), dtype=np.float32),
            "y": np.zeros(8, dtype=np.int64),
        },
        "model_config": {
            "model_type": "classifier",
            "n_classes": 10,
            "loss_config": {"name": "softmax_cross_entropy"},
            "eval_metrics_config": [{"name": "streaming_accuracy"}],
            "optimizer_config": {"name": "adam", "learning_rate": 0.01},
            "graph_config": {"name": "lenet", "definition": LENET},
        },
    }
    config.update(overrides)
    return config


def test_read_configs_from_dict_yaml_json_and_list(tmp_path):
    values = base_config()
    values.pop("train_input_data_config")
    yml = tmp_path / "a.yml"
    yml.write_text(yaml.safe_dump(values))
    js = tmp_path / "b.json"
    js.write_text(
        json.dumps(
            {"train_steps": 7, "model_config": {"optimizer_config": {"learning_rate": 0.5}}}
        )
    )
    from_dict = ExperimentConfig.read_configs(values)
    from_yaml = ExperimentConfig.read_configs(str(yml))
    merged = ExperimentConfig.read_configs([yml, js])
    assert from_dict == from_yaml
    assert merged.train_steps == 7
    assert merged.model.optimizer_config.learning_rate == 0.5
    assert merged.model.optimizer_config.name == "adam"  # nested dicts merge, not replace


def test_to_dict_round_trips():
    config = ExperimentConfig.read_configs(base_config())
    again = ExperimentConfig.read_configs(config.to_dict())
    assert again.to_dict().keys() == config.to_dict().keys()
    assert again.model == config.model
    assert again.run_config == config.run_config


def test_name_and_module_select_case_insensitively_and_classes_are_accepted():
    definition = [
        (plx.layers.Conv2d, {"num_filter": 4, "filter_size": 3}),
        ("maxpool2d", {"kernel_size": 2}),
        ("fully_connected", {"n_units": 10}),
    ]
    model = ModelConfig.from_dict(
        {
            "module": "Classifier",
            "optimizer_config": {"module": "ADAM"},
            "loss_config": {"module": "Softmax_Cross_Entropy"},
            "graph_config": {"definition": definition},
        }
    )
    assert model.graph_config.definition[0][0] is plx.layers.Conv2d  # data: the builder resolves
    assert model.optimizer_config.identifier == "ADAM"
    assert ModelConfig.from_dict({"model_type": "regressor"}).module == "regressor"


def test_seed_aliases():
    assert RunConfig.from_dict({"tf_random_seed": 3}).seed == 3
    assert RunConfig.from_dict({"seed": 4}).seed == 4


def test_input_data_config_numpy_constant():
    assert plx.configs.InputDataConfig.NUMPY == "numpy"


def test_json_schema_exports():
    schema = json_schema()
    assert "model_config" in schema["properties"]
    json.dumps(schema)


def test_loss_kwargs_validated_against_the_loss():
    config = ModelConfig.from_dict({"loss_config": {"name": "huber_loss", "delta": 2.0}})
    assert config.loss_config.kwargs == {"delta": 2.0}


BAD_CONFIGS = [
    # (dotted path to set, value, expected key path in message, fragment expected in message)
    (
        "model_config.optimizer_config.learning_rate",
        "fast",
        "model_config.optimizer_config.learning_rate",
        "number",
    ),
    (
        "model_config.optimizer_config.learning_rate",
        -1,
        "model_config.optimizer_config.learning_rate",
        "greater than 0",
    ),
    (
        "model_config.optimizer_config.learnin_rate",
        0.1,
        "model_config.optimizer_config.learnin_rate",
        "learning_rate",
    ),
    (
        "model_config.optimizer_config.name",
        "adamm",
        "model_config.optimizer_config.name",
        "Did you mean 'adam'",
    ),
    (
        "model_config.optimizer_config.decay_type",
        "exponentail_decay",
        "model_config.optimizer_config.decay_type",
        "exponential_decay",
    ),
    (
        "model_config.loss_config.name",
        "softmax_cross_entrop",
        "model_config.loss_config",
        "softmax_cross_entropy",
    ),
    (
        "model_config.loss_config.dlta",
        1.0,
        "model_config.loss_config",
        "unexpected argument 'dlta'",
    ),
    (
        "model_config.eval_metrics_config",
        [{"name": "streaming_acuracy"}],
        "model_config.eval_metrics_config[0]",
        "streaming_accuracy",
    ),
    (
        "model_config.model_type",
        "clasifier",
        "model_config.module",
        "Did you mean 'Classifier'",
    ),
    (
        "model_config.graph_config.definition",
        [["Conv2D_", {}], ["MaxPol2d", {}]],
        "model_config.graph_config.definition",
        "MaxPool2d",
    ),
    (
        "model_config.graph_config.definition",
        [["Conv2d"]],
        "model_config.graph_config.definition",
        "[layer, kwargs]",
    ),
    (
        "model_config.graph_config.definition",
        "Conv2d",
        "model_config.graph_config.definition",
        "list",
    ),
    ("model_config.summaries", ["los"], "model_config.summaries", "loss"),
    ("model_config.n_classes", 0, "model_config.n_classes", "greater than 0"),
    ("model_config.clip_gradients", "big", "model_config.clip_gradients", "number"),
    (
        "run_config.save_checkpoints_steps",
        0,
        "run_config.save_checkpoints_steps",
        "greater than 0",
    ),
    (
        "run_config.keep_checkpoint_maxx",
        3,
        "run_config.keep_checkpoint_maxx",
        "keep_checkpoint_max",
    ),
    ("run_config.seed", "abc", "run_config.seed", "integer"),
    ("train_steps", -5, "train_steps", "greater than 0"),
    ("eval_every_n_step", 5, "eval_every_n_step", "eval_every_n_steps"),
    ("train_steps_per_iteraton", 5, "train_steps_per_iteraton", "train_steps_per_iteration"),
    ("schedule", "train_evaluate", "schedule", "train_and_evaluate"),
    (
        "train_input_data_config.pipeline_config.batch_size",
        0,
        "train_input_data_config.pipeline_config.batch_size",
        "greater than 0",
    ),
    (
        "train_input_data_config.pipeline_config.batch_sise",
        3,
        "train_input_data_config.pipeline_config.batch_sise",
        "batch_size",
    ),
    (
        "train_input_data_config.pipeline_config.module",
        "TFRecordImagePipelin",
        "train_input_data_config.pipeline_config.module",
        "pipeline",
    ),
    ("train_input_data_config.input_type", "numpi", "train_input_data_config.input_type", "numpy"),
    (
        "train_input_data_config.pipeline_config.shuffle",
        "sometimes",
        "train_input_data_config.pipeline_config.shuffle",
        "bool",
    ),
    ("estimator_config.module", "Estimater", "estimator_config.module", "Estimator"),
    (
        "train_hooks_config",
        [{"module": "NanLosHook"}],
        "train_hooks_config[0].module",
        "NanLossHook",
    ),
]


def _set(config, dotted, value):
    keys = dotted.split(".")
    node = config
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


@pytest.mark.parametrize(
    ("key", "value", "path", "fragment"),
    BAD_CONFIGS,
    ids=[c[0] + "=" + repr(c[1])[:20] for c in BAD_CONFIGS],
)
def test_bad_config_names_the_key_path(key, value, path, fragment):
    config = base_config()
    if key == "model_config.model_type":
        config["model_config"].pop("model_type")
    _set(config, key, value)
    with pytest.raises(ConfigError) as caught:
        validate_config(config)  # names are resolved by the builder's check, not the config
    message = str(caught.value)
    assert f"`{path}" in message, message
    assert fragment.lower() in message.lower(), message


def test_bad_config_error_names_the_value():
    config = base_config()
    config["model_config"]["optimizer_config"]["learning_rate"] = "fast"
    with pytest.raises(ConfigError, match="received 'fast'") as caught:
        ExperimentConfig.read_configs(config)
    assert caught.value.path == "model_config.optimizer_config.learning_rate"


def test_missing_file_and_bad_extension(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        ExperimentConfig.read_configs(str(tmp_path / "nope.yml"))
    bad = tmp_path / "c.txt"
    bad.write_text("a: 1")
    with pytest.raises(ConfigError, match=r"expected \.yml, \.yaml or \.json"):
        ExperimentConfig.read_configs(str(bad))


def test_piecewise_constant_needs_matching_values():
    with pytest.raises(ConfigError, match="len\\(values\\) == len\\(boundaries\\) \\+ 1"):
        OptimizerConfig.from_dict(
            {
                "name": "sgd",
                "decay_type": "piecewise_constant",
                "boundaries": [10],
                "values": [0.1],
            }
        )


def test_overrides_apply_typed_values():
    from petri.configs import apply_overrides

    values = apply_overrides(
        {}, ["model_config.optimizer_config.learning_rate=0.01", "train_steps=5", "name=x"]
    )
    assert values == {
        "model_config": {"optimizer_config": {"learning_rate": 0.01}},
        "train_steps": 5,
        "name": "x",
    }
    with pytest.raises(ConfigError, match=r"key\.path=value"):
        apply_overrides({}, ["oops"])


@pytest.mark.parametrize(
    ("key", "value", "path", "fragment"),
    [
        (
            "model_config.optimizer_config.beta1",
            0.9,
            "model_config.optimizer_config",
            "does not take `beta1`",
        ),
        ("estimator_config.params", {"lr": 1}, "", "model_config.params"),
        (
            "train_hooks_config",
            [{"params": {"last_step": 3}}],
            "train_hooks_config[0].module",
            "needs `module`",
        ),
    ],
)
def test_more_bad_configs(key, value, path, fragment):
    config = base_config()
    config["model_config"]["optimizer_config"]["name"] = "sgd"
    _set(config, key, value)
    with pytest.raises(ConfigError) as caught:
        validate_config(config)  # names are resolved by the builder's check, not the config
    assert fragment in str(caught.value)
    assert f"`{path}" in str(caught.value) or not path


def test_x_without_input_type_means_numpy():
    from petri.configs import InputDataConfig

    assert InputDataConfig.from_dict({"x": [[1.0]], "y": [0]}).input_type == "numpy"
