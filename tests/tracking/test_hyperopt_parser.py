"""test_tube's HyperOptArgumentParser, as its users wrote against it (seed 004), and the
issues its users filed (#28, #78) fixed."""

from __future__ import annotations

import os
import pickle

import pytest

from petri.tracking import Experiment, HyperOptArgumentParser


def _parser(strategy: str = "grid_search", **kwargs) -> HyperOptArgumentParser:
    """test_tube's strategy tests' space: 4 learning rates x 2 decays."""
    parser = HyperOptArgumentParser(strategy=strategy, **kwargs)
    parser.opt_list(
        "--learning_rate", options=[0.0001, 0.001, 0.01, 0.1], type=float, tunable=True
    )
    parser.opt_list("--decay", options=[0.99, 0.999], type=float, tunable=True)
    parser.add_argument("--epochs", default=3, type=int)
    return parser


# --- test_tube 0.7.5's tests/strategies_test.py, through the parser ---------------------------
def test_grid_search_no_limit() -> None:
    hparams = _parser().parse_args([])
    trials = hparams.generate_trials(None)
    assert len(trials) == 8
    assert [(t.learning_rate, t.decay) for t in trials[:3]] == [
        (0.0001, 0.99),
        (0.0001, 0.999),
        (0.001, 0.99),
    ]  # the product in declaration order
    assert all(t.epochs == 3 for t in trials)


def test_grid_search_limit() -> None:
    assert len(_parser().parse_args([]).generate_trials(5)) == 5


def test_random_search() -> None:
    trials = _parser("random_search").parse_args([]).generate_trials(5)
    assert len(trials) == 5
    assert len({(t.learning_rate, t.decay) for t in trials}) == 5  # unique combinations


def test_random_search_is_capped_at_the_product_and_needs_a_count() -> None:
    hparams = _parser("random_search").parse_args([])
    assert len(hparams.generate_trials(100)) == 8
    with pytest.raises(TypeError):
        hparams.generate_trials(None)


def test_unknown_strategy() -> None:
    with pytest.raises(ValueError, match="Unknown strategy 'unknown_strategy'"):
        HyperOptArgumentParser(strategy="unknown_strategy")


# --- seed 004 -----------------------------------------------------------------------------------
def test_seed_004_snippet(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", ["train.py"])
    exp = Experiment(name="dense_model", save_dir=str(tmp_path))
    # --- the seed's snippet, verbatim but for the import ---
    from petri.tracking import HyperOptArgumentParser

    # parse args
    parser = HyperOptArgumentParser()
    parser.add_argument("--learning_rate", default=0.002, type=float, help="the learning rate")
    hparams = parser.parse_args()

    # learning_rate is now a meta tag for your experiment
    exp.argparse(hparams)
    # ---
    exp.close()
    assert exp.tags == {"learning_rate": 0.002}


# --- beyond test_tube ---------------------------------------------------------------------------
def test_a_value_given_on_the_command_line_pins_a_tunable_argument() -> None:
    trials = _parser().parse_args(["--learning_rate", "0.5"]).generate_trials(None)
    assert len(trials) == 2  # only decay is searched (test_tube #78)
    assert {t.learning_rate for t in trials} == {0.5}
    trials = _parser().parse_args(["--decay=0.9"]).generate_trials(None)
    assert {t.decay for t in trials} == {0.9} and len(trials) == 4


def test_foreign_arguments_are_ignored_only_when_asked(capsys) -> None:
    jupyter = ["-f", "/run/user/kernel-1234.json"]
    with pytest.raises(SystemExit):
        _parser().parse_args(jupyter)
    assert "unrecognized arguments" in capsys.readouterr().err
    hparams = _parser().parse_args(jupyter, parse_known=True)  # test_tube #28
    assert hparams.epochs == 3


def test_hyphens_become_underscores_and_the_namespace_pickles_and_prints() -> None:
    parser = HyperOptArgumentParser()
    parser.opt_list("--nb-layers", options=[1, 2], type=int, tunable=True, default=1)
    hparams = parser.parse_args([])
    trials = hparams.generate_trials(None)
    assert [t.nb_layers for t in trials] == [1, 2]
    again = pickle.loads(pickle.dumps(trials[1]))
    assert again.nb_layers == 2 and not hasattr(again, "optimize_parallel_cpu")
    assert "Hyperparameters:" in str(hparams) and "nb_layers" in str(hparams)


def test_ranges_are_sampled_with_the_seed() -> None:
    def ranges(seed):
        parser = HyperOptArgumentParser(strategy="random_search", seed=seed)
        parser.opt_range("--lr", low=1e-4, high=1e-1, type=float, log_base=10, tunable=True)
        parser.opt_range("--units", low=8, high=64, type=int, nb_samples=5, tunable=True)
        parser.opt_range("--dropout", low=0.0, high=0.5, type=float, tunable=True)
        hparams = parser.parse_args([])
        return [(t.lr, t.units, t.dropout) for t in hparams.generate_trials(20)]

    first = ranges(0)
    assert first == ranges(0) and first != ranges(1)
    assert all(1e-4 <= lr <= 1e-1 and 8 <= u < 64 and 0 <= d <= 0.5 for lr, u, d in first)
    assert all(isinstance(u, int) for _, u, _ in first)


def test_the_json_config_overrides_parsed_values(tmp_path) -> None:
    path = tmp_path / "hparams.json"
    path.write_text('{"epochs": 9}')
    parser = _parser()
    parser.json_config("--config", default=None)
    assert parser.parse_args(["--config", str(path)]).epochs == 9


def score(hparams) -> float:
    """A trial function for the worker processes (importable, as multiprocessing needs)."""
    if hparams.learning_rate == 0.001 and hparams.decay == 0.99:
        raise RuntimeError("this trial fails")
    if hparams.learning_rate == 0.01 and hparams.decay == 0.999:
        os._exit(1)  # and this one takes its process down
    return hparams.learning_rate * hparams.decay


def test_optimize_parallel_cpu_fails_only_the_trials_that_fail(caplog) -> None:
    hparams = _parser().parse_args([])
    results = hparams.optimize_parallel_cpu(score, nb_trials=8, nb_workers=2)
    assert len(results) == 8
    by_params = {(t.learning_rate, t.decay): result for t, result in results}
    assert by_params[(0.001, 0.99)] is None and by_params[(0.01, 0.999)] is None
    assert by_params[(0.1, 0.999)] == pytest.approx(0.0999)
    assert sum(result is not None for result in by_params.values()) == 6
    assert "this trial fails" in caplog.text and "exited with status 1" in caplog.text


def quadratic(hparams) -> float:
    return (hparams.x - 0.3) ** 2 + (hparams.n - 4) ** 2


def test_tpe_uses_the_results_of_finished_trials() -> None:
    parser = HyperOptArgumentParser(strategy="tpe", seed=0)
    parser.opt_range("--x", low=-1.0, high=1.0, type=float, tunable=True)
    parser.opt_range("--n", low=0, high=10, type=int, tunable=True)
    results = parser.parse_args([]).optimize_parallel_cpu(quadratic, nb_trials=30, nb_workers=2)
    values = [result for _, result in results]
    assert len(values) == 30
    assert min(values[20:]) < min(values[:10])  # later trials better than the random start
    assert min(values) < 0.1


def test_a_script_without_a_main_guard_is_told_why_its_workers_die(tmp_path) -> None:
    import subprocess
    import sys

    script = tmp_path / "noguard.py"
    script.write_text(
        "from petri.tracking import HyperOptArgumentParser\n"
        "def f(h):\n    return h.x\n"
        "p = HyperOptArgumentParser()\n"
        "p.opt_list('--x', options=[1, 2], tunable=True)\n"
        "print(p.parse_args([]).optimize_parallel_cpu(f, 2, 2))\n"
    )
    done = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "WorkerStartError" in done.stderr and "if __name__ == '__main__':" in done.stderr
