"""Every bad input is a Petri error (issue #11, finding 5), checked by fuzzing the ``petri run``
path a user takes: a config file and ``--set key=value`` strings.

A case passes when the command succeeds or fails with a ``PetriError`` (``petri: error: ...``,
exit 2); any other exception escaping is a failure that names the input. A config refused
before the run started must leave no run folder. ``PETRI_FUZZ_EXAMPLES`` sets the number of
examples of the longer ``slow`` variant (default 1,000 per strategy).
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petri.configs import apply_overrides
from petri.errors import ConfigError
from petri.experiments import create_experiment


def _digits(split: str, num_epochs: int | None) -> dict[str, Any]:
    return {
        "input_type": "dataset",
        "x": "digits",
        "pipeline_config": {
            "name": split,
            "batch_size": 16,
            "num_epochs": num_epochs,
            "shuffle": split == "train",
            "params": {"split": split},
        },
    }


# A one-hidden-layer MLP on digits: two training steps and one evaluation batch.
BASE: dict[str, Any] = {
    "name": "fuzz",
    "train_steps": 2,
    "train_steps_per_iteration": 2,
    "eval_every_n_steps": 2,
    "eval_steps": 1,
    "schedule": "train_and_evaluate",
    "run_config": {"seed": 1, "save_checkpoints_steps": 2, "num_threads": 1},
    "train_input_data_config": _digits("train", None),
    "eval_input_data_config": _digits("eval", 1),
    "model_config": {
        "model_type": "classifier",
        "n_classes": 10,
        "one_hot_encode": True,
        "loss_config": {"name": "softmax_cross_entropy"},
        "eval_metrics_config": [{"name": "streaming_accuracy"}],
        "optimizer_config": {"name": "adam", "learning_rate": 0.01},
        "graph_config": {
            "name": "mlp",
            "definition": [
                ["FullyConnected", {"num_units": 8, "activation": "relu"}],
                ["FullyConnected", {"num_units": 10}],
            ],
        },
    },
}


def _leaf_paths(value: Any, prefix: str = "") -> list[str]:
    """Dotted key paths of every mapping key in ``value`` (lists are not entered)."""
    paths = []
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.append(path)
            paths.extend(_leaf_paths(child, path))
    return paths


KEY_PATHS = [
    *_leaf_paths(BASE),
    "version",
    "export_strategies",
    "train_hooks_config",
    "estimator_config.module",
    "run_config.device",
    "run_config.save_summary_steps",
    "run_config.keep_checkpoint_max",
    "model_config.clip_gradients",
    "model_config.summaries",
    "model_config.params",
    "model_config.optimizer_config.decay_type",
    "model_config.optimizer_config.momentum",
]
LEFT_ALONE = ("config.yaml",)  # what the test itself writes in the case's folder


# ----------------------------------------------------------------- running one case
@contextmanager
def _case_folder() -> Iterator[Path]:
    """A fresh working folder (relative paths in a fuzzed config land in it)."""
    previous = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="petri-fuzz-") as folder:
        os.chdir(folder)
        try:
            yield Path(folder)
        finally:
            os.chdir(previous)


def _short_runs(monkeypatch_target: Any) -> Any:
    """The CLI's schedule runner with every run cut to 2 steps and 1 eval batch, no waiting:
    a fuzzed ``train_steps: 10**9`` or ``eval_delay_secs: 1e9`` is valid, but not for a test."""
    original = monkeypatch_target._run_schedule

    def run_schedule(experiment: Any, schedule: str) -> Any:
        if hasattr(experiment, "train_steps"):
            experiment.train_steps = min(experiment.train_steps or 2, 2)
            experiment.train_steps_per_iteration = 2
            experiment.eval_every_n_steps = 2
            experiment.eval_steps = 1
            experiment.eval_delay_secs = 0
            experiment.continuous_eval_throttle_secs = 0
        return original(experiment, schedule)

    return run_schedule


class Outcome:
    """What one fuzz case did: ``raw`` is a non-Petri exception (None when there was none)."""

    def __init__(self, exit_code: int, stderr: str, raw: BaseException | None, left: list[str]):
        self.exit_code = exit_code
        self.stderr = stderr
        self.raw = raw
        self.left = left

    @property
    def refused_before_running(self) -> bool:
        return self.exit_code == 2 and "petri: running" not in self.stderr


def run_cli(config: Any, overrides: list[str]) -> Outcome:
    """``petri run config.yaml --set ... --save-dir runs`` in-process, in a fresh folder."""
    import torch

    from petri.cli import _main, main

    threads = torch.get_num_threads()
    original = _main._run_schedule
    _main._run_schedule = _short_runs(_main)
    try:
        with _case_folder() as folder:
            text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
            (folder / "config.yaml").write_text(text, encoding="utf-8")
            args = ["run", "config.yaml", "--save-dir", "runs"]
            for item in overrides:
                args += ["--set", item]
            raw = None
            try:
                result = _runner().invoke(main, args, catch_exceptions=False)
                exit_code, stderr = result.exit_code, result.stderr
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as error:  # a traceback the user would see
                raw, exit_code, stderr = error, 1, ""
            left = sorted(p.name for p in folder.iterdir() if p.name not in LEFT_ALONE)
            if (folder / "runs").is_dir() and not any((folder / "runs").iterdir()):
                left.remove("runs")  # an empty save dir holds no run
            return Outcome(exit_code, stderr, raw, left)
    finally:
        _main._run_schedule = original
        torch.set_num_threads(threads)


def _runner() -> Any:
    from click.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)  # click 8.1 mixes stderr into stdout by default
    except TypeError:  # click >= 8.2 always keeps them apart
        return CliRunner()


def check(outcome: Outcome, what: str, reliability_report: Any) -> None:
    """Count the case and fail on a raw exception or a run folder left by a refused config."""
    if outcome.raw is None and outcome.exit_code == 0:
        reliability_report.add("fuzz cases that trained", 1)
    if outcome.raw is not None:
        reliability_report.add("raw exceptions", 1)
        raise AssertionError(
            f"{type(outcome.raw).__name__} escaped (not a PetriError) for {what}: {outcome.raw}"
        ) from outcome.raw
    assert outcome.exit_code in (0, 2), (outcome.exit_code, outcome.stderr, what)
    if outcome.exit_code == 2:
        assert "petri: error:" in outcome.stderr, (outcome.stderr, what)
    if outcome.refused_before_running and outcome.left:
        reliability_report.add("run folders left by invalid configs", 1)
        raise AssertionError(f"{outcome.left} left behind by the refused {what}")


# ------------------------------------------------------------------ config trees
SCALAR_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**40, 2**63, 2**64, -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8),
    st.sampled_from(["", "x" * 5000, "../..", "/", "cuda:7", "tpu", "digits", "relu", "é🙂"]),
)
# Values that often fit somewhere: the mutations then reach training, not only validation.
PLAUSIBLE = st.one_of(
    st.integers(1, 64),
    st.floats(0.001, 1.0),
    st.booleans(),
    st.sampled_from(
        [
            "relu",
            "tanh",
            "sigmoid",
            "sgd",
            "adam",
            "rmsprop",
            "Conv2d",
            "MaxPool2d",
            "Dropout",
            "Flatten",
            "FullyConnected",
            "BatchNormalization",
            "train",
            "eval",
            "classifier",
            "regressor",
            "mean_squared_error",
            "streaming_precision",
            "exponential_decay",
            "cpu",
            "auto",
            "all",
            "loss",
        ]
    ),
    st.just([["FullyConnected", {"num_units": 10}]]),
    st.just([["LSTM", {"num_units": 4}], ["FullyConnected", {"num_units": 10}]]),
    st.just([["Embedding", {"vocab_size": 10, "embedding_size": 4}]]),
    st.just([["Reshape", {"new_shape": [-1, 7]}], ["FullyConnected", {"num_units": 10}]]),
    st.just([["FullyConnected", {"num_units": 1}]]),
    st.just([{"name": "streaming_mean_squared_error"}, {"name": "streaming_auc"}]),
    st.just({"input_type": "numpy", "x": [[1.0, 2.0]], "y": [0]}),
    st.just({"name": "StopAtStepHook", "params": {"last_step": 1}}),
    st.just(
        [["Conv2d", {"num_filter": 2, "filter_size": 3}], ["FullyConnected", {"num_units": 10}]]
    ),
)
JUNK = st.recursive(
    st.one_of(SCALAR_JUNK, PLAUSIBLE),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=6), inner, max_size=3),
    ),
    max_leaves=6,
)


def _containers(tree: Any, path: tuple = ()) -> list[tuple]:
    """Paths (tuples of keys and indices) of every dict and list in ``tree``."""
    found = [path]
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    for key, child in items:
        if isinstance(child, dict | list):
            found.extend(_containers(child, (*path, key)))
    return found


def _at(tree: Any, path: tuple) -> Any:
    for key in path:
        tree = tree[key]
    return tree


@st.composite
def mutated_configs(draw: st.DrawFn) -> dict[str, Any]:
    """BASE with one to three mutations: a key dropped, a value replaced by junk, an unknown
    key added, or junk nested inside a list."""
    config = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        node = _at(config, draw(st.sampled_from(_containers(config))))
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        operation = draw(st.sampled_from(["drop", "replace", "plausible", "add", "nest"]))
        if operation == "drop" and keys:
            del node[draw(st.sampled_from(keys))]
        elif operation == "replace" and keys:
            node[draw(st.sampled_from(keys))] = copy.deepcopy(draw(JUNK))
        elif operation == "plausible" and keys:
            node[draw(st.sampled_from(keys))] = copy.deepcopy(draw(PLAUSIBLE))
        elif operation == "add" and isinstance(node, dict):
            node[draw(st.text(min_size=1, max_size=10))] = copy.deepcopy(draw(JUNK))
        elif isinstance(node, list):
            node.append(copy.deepcopy(draw(JUNK)))
        elif keys:
            key = draw(st.sampled_from(keys))
            node[key] = [node[key], copy.deepcopy(draw(JUNK))]
    return config


def _changes(before: Any, after: Any, path: str = "") -> dict[str, Any]:
    """``{key path: new value}`` where ``after`` differs from ``before`` ("<dropped>" if gone)."""
    if isinstance(before, dict) and isinstance(after, dict):
        changed: dict[str, Any] = {}
        for key in {*before, *after}:
            where = f"{path}.{key}" if path else str(key)
            if key not in after:
                changed[where] = "<dropped>"
            elif key not in before:
                changed[where] = after[key]
            else:
                changed.update(_changes(before[key], after[key], where))
        return changed
    return {} if before == after else {path: after}


# ------------------------------------------------------------------ --set strings
SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)
VALUE_TEXT = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats().map(str),
    st.sampled_from(["", "null", "true", "[]", "{}", "[", "{a: ", "'", '"', ":", "- -", "&a *a"]),
    st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 5000).map(lambda n: "{a: " * n + "1" + "}" * n),
    st.sampled_from(["x" * 5000, "cuda:7", "tpu", "-1", "0", "1e400", ".nan", "~"]),
    JUNK.map(lambda value: yaml.safe_dump(value, default_flow_style=True).strip()),
)
KEY_TEXT = st.one_of(
    st.sampled_from(KEY_PATHS),
    st.lists(SEGMENT, min_size=1, max_size=5).map(".".join),
    st.text(max_size=15),
    st.sampled_from(["", ".", "..", " ", "a..b", "=", "model_config.", ".name"]),
)
# Real keys with values that are wrong in ways only the data, the model or the machine show.
SET_CASES = [
    "schedule=evaluate",
    "schedule=train",
    "version=-1",
    "version=3",
    "model_config.model_type=regressor",
    "model_config.model_type=os:system",
    "estimator_config.module=Agent",
    "model_config.summaries=all",
    "model_config.loss_config.name=mean_squared_error",
    "model_config.eval_metrics_config=[{name: streaming_mean_squared_error}]",
    "model_config.graph_config.definition=[[LSTM, {num_units: 4}], [FullyConnected, {}]]",
    "model_config.graph_config.definition=[[Conv2d, {num_filter: 2, filter_size: 99}]]",
    "model_config.graph_config.definition=[[MaxPool2d, {kernel_size: 16}], [Flatten, {}]]",
    "train_input_data_config={input_type: numpy, x: [[1.0, 2.0]], y: [0]}",
    "train_input_data_config={input_type: numpy, x: [], y: []}",
    "eval_input_data_config.pipeline_config.params.split=test",
    "run_config.num_threads=100000",
    "run_config.seed=-5",
    "run_config.device=mps",
    "export_strategies=[{name: a}, {name: a}]",
    "train_hooks_config=[{name: StopAtStepHook, params: {last_step: -1}}]",
]
SET_STRINGS = st.one_of(
    st.sampled_from(SET_CASES),
    st.tuples(KEY_TEXT, VALUE_TEXT).map(lambda kv: f"{kv[0]}={kv[1]}"),
    st.tuples(st.sampled_from(KEY_PATHS), PLAUSIBLE).map(
        lambda kv: f"{kv[0]}={yaml.safe_dump(kv[1], default_flow_style=True).strip()}"
    ),
    st.text(max_size=30),  # often no `=` at all
)


# ---------------------------------------------------------------------- the tests
CI_EXAMPLES = {"configs": 350, "sets": 300}
FUZZ_SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


def _fuzz_configs(reliability_report: Any) -> Any:
    @given(config=mutated_configs())
    def case(config: dict[str, Any]) -> None:
        reliability_report.add("fuzz cases (configs)", 1)
        what = f"config changed at {_changes(BASE, config)!r:.2000}"
        check(run_cli(config, []), what, reliability_report)

    return case


def _fuzz_sets(reliability_report: Any) -> Any:
    @given(overrides=st.lists(SET_STRINGS, min_size=1, max_size=3))
    def case(overrides: list[str]) -> None:
        reliability_report.add("fuzz cases (--set strings)", 1)
        check(run_cli(BASE, overrides), f"--set {overrides!r:.2000}", reliability_report)

    return case


def test_fuzzed_configs_give_petri_errors(reliability_report: Any) -> None:
    settings(max_examples=CI_EXAMPLES["configs"], **FUZZ_SETTINGS)(
        _fuzz_configs(reliability_report)
    )()
    assert reliability_report["raw exceptions"] == 0
    assert reliability_report["run folders left by invalid configs"] == 0


def test_fuzzed_set_strings_give_petri_errors(reliability_report: Any) -> None:
    settings(max_examples=CI_EXAMPLES["sets"], **FUZZ_SETTINGS)(_fuzz_sets(reliability_report))()
    assert reliability_report["raw exceptions"] == 0
    assert reliability_report["run folders left by invalid configs"] == 0


@pytest.mark.slow
def test_fuzz_longer(reliability_report: Any) -> None:
    """More examples, other ones (another seed of the search): ``PETRI_FUZZ_EXAMPLES`` each."""
    examples = int(os.environ.get("PETRI_FUZZ_EXAMPLES", "1000"))
    longer = {**FUZZ_SETTINGS, "derandomize": False}
    settings(max_examples=examples, **longer)(_fuzz_configs(reliability_report))()
    settings(max_examples=examples, **longer)(_fuzz_sets(reliability_report))()
    assert reliability_report["raw exceptions"] == 0


def test_a_clean_config_trains(reliability_report: Any) -> None:
    """The fuzz's starting point runs, so the mutations test refusals, not a broken base."""
    outcome = run_cli(BASE, [])
    assert outcome.raw is None and outcome.exit_code == 0, outcome.stderr
    assert outcome.left == ["runs"]


# ------------------------------------------------------- the findings, one by one
FC = "FullyConnected"
FINDINGS = [
    ("train_input_data_config.x=[]", "train_input_data_config.x"),
    ("model_config.model_type=null", r"model_config\.(model_type|module)"),
    (
        f"model_config.graph_config.definition=[[{FC}, {{num_units: {2**40}}}], [{FC}, "
        "{num_units: 10}]]",
        r"model_config\.graph_config\.definition\[0\]",
    ),
    (
        "model_config.graph_config.definition=[[Conv2d, {num_filter: 4, filter_size: 3}], "
        f"[MaxPool2d, {{kernel_size: {2**63}}}], [{FC}, {{num_units: 10}}]]",
        r"model_config\.graph_config\.definition\[1\]",
    ),
    ("model_config.graph_config={}", r"model_config\.graph_config"),
    ("a=" + "[" * 5000 + "]" * 5000, "`a`"),
    ("name=" + "n" * 5000, "`name`"),
    ("run_config.device=cuda:7", r"run_config\.device"),
    ("run_config.device=tpu", r"run_config\.device"),
    ("model_config.n_classes=2", r"model_config\.n_classes"),
    ("version=true", "`version`"),
    ("export_strategies=[{name: '../..'}]", r"export_strategies\[0\]\.name"),
    ("export_strategies=[{assets_extra: {a: /nonexistent}}]", r"export_strategies\[0\]"),
]


@pytest.mark.parametrize(("override", "key_path"), FINDINGS, ids=lambda s: s[:40])
def test_each_finding_is_a_config_error_before_anything_runs(
    tmp_path: Path, override: str, key_path: str
) -> None:
    config = copy.deepcopy(BASE)
    config["output_dir"] = str(tmp_path / "runs")
    with pytest.raises(ConfigError) as caught:
        experiment = create_experiment(apply_overrides(config, [override]))
        experiment.train_and_evaluate()
    assert re.search(key_path, str(caught.value)), str(caught.value)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_the_findings_through_the_command_line(reliability_report: Any) -> None:
    """The same inputs as a user types them: one paragraph, exit 2, no run folder."""
    for override, key_path in FINDINGS:
        outcome = run_cli(BASE, [override])
        check(outcome, f"--set {override[:80]!r}", reliability_report)
        assert outcome.refused_before_running, (override[:80], outcome.stderr)
        assert re.search(key_path, outcome.stderr), outcome.stderr


def test_a_model_too_big_for_the_machine_is_refused_with_its_size(tmp_path: Path) -> None:
    """The estimate comes from a dry run on torch's meta device: nothing is allocated."""
    from petri.experiments._dry_run import physical_memory

    config = copy.deepcopy(BASE)
    config["output_dir"] = str(tmp_path / "runs")
    units = 2**40
    config["model_config"]["graph_config"]["definition"][0][1]["num_units"] = units
    with pytest.raises(ConfigError) as caught:
        create_experiment(config)
    message = str(caught.value)
    assert caught.value.path == "model_config.graph_config.definition[0]"
    assert re.search(r"needs about [\d.]+ TB to train", message), message
    assert "memory" in message and physical_memory() is not None
    assert not (tmp_path / "runs").exists()
    config["model_config"]["graph_config"]["definition"][0][1]["num_units"] = 64
    create_experiment(config).train()  # an ordinary size still trains
