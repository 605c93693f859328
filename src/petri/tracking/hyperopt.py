"""test_tube's ``HyperOptArgumentParser`` (seed 004): argparse plus tunable arguments.

``opt_list`` and ``opt_range`` declare the values an argument may take; ``parse_args`` returns a
namespace that carries ``trials``, ``generate_trials``, ``optimize_parallel_cpu`` and
``optimize_parallel``, as test_tube's did. Strategies: ``grid_search`` (the product of the
options in declaration order, cut at ``nb_trials``), ``random_search`` (unique random
combinations, at most as many as the product holds) and ``tpe`` (optuna's TPE sampler: the
results of finished trials steer the next ones in ``optimize_parallel_cpu``).

Beyond test_tube: sampling is seeded (``seed=0`` by default), a tunable argument given on the
command line is pinned to that value (its issue #78), ``parse_args(parse_known=True)`` ignores
arguments it does not know (Jupyter's ``-f``, its issue #28), and trials run in reused worker
processes in which a trial that raises or kills its process fails alone (result ``None``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["STRATEGIES", "HyperOptArgumentParser", "OptArg", "TTNamespace", "generate_trials"]

logger = logging.getLogger("petri")

STRATEGIES = ("grid_search", "random_search", "tpe")
_ATTACHED = ("trials", "generate_trials", "optimize_parallel_cpu", "optimize_parallel")


@dataclass
class OptArg:
    """A tunable argument: its name (the argparse ``dest``) and the values it may take.

    ``low``/``high``/``log_base`` are kept for ``opt_range`` so TPE can search the range itself
    instead of the ``nb_samples`` values drawn from it for grid and random search.
    """

    name: str
    values: list[Any]
    tunable: bool
    low: float | None = None
    high: float | None = None
    arg_type: Any = None
    log_base: float | None = None


def generate_trials(
    strategy: str,
    flat_params: Sequence[Sequence[dict[str, Any]]],
    nb_trials: int | None,
    seed: Any = None,
) -> list[tuple[dict[str, Any], ...]]:
    """test_tube's ``strategies.generate_trials``: grid (product, cut at ``nb_trials``) or
    random (unique combinations, capped at the product's size; ``nb_trials`` required)."""
    if strategy == "grid_search":
        trials = list(itertools.product(*flat_params))
        return trials[:nb_trials] if nb_trials else trials
    if strategy == "random_search":
        if nb_trials is None:
            raise TypeError("`random_search` strategy requires nb_trials to be an int.")
        rng = random.Random(seed)
        possible = math.prod(len(options) for options in flat_params)
        seen: set[tuple[int, ...]] = set()
        trials = []
        while len(trials) < min(possible, nb_trials):
            picks = tuple(rng.randrange(len(options)) for options in flat_params)
            if picks not in seen:
                seen.add(picks)
                trials.append(tuple(options[i] for options, i in zip(flat_params, picks)))
        return trials
    raise ValueError(
        f"Unknown strategy {strategy!r}. Must be one of {{grid_search, random_search}}."
    )


class TTNamespace(argparse.Namespace):
    """The parsed hyperparameters; printing shows them, pickling drops the attached methods."""

    def __str__(self) -> str:
        lines = ["-" * 100, "Hyperparameters:"]
        lines += [f"{k:20}: {v}" for k, v in vars(self).items() if not callable(v)]
        return "\n".join(lines) + "\n"

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not callable(v)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)


class HyperOptArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose ``opt_list``/``opt_range`` arguments can be searched.

    Args:
        strategy: ``grid_search``, ``random_search`` or ``tpe``.
        seed: seeds ``opt_range`` sampling and random/TPE search (None: not seeded).
        **kwargs: ``argparse.ArgumentParser`` arguments.

    Raises:
        ValueError: an unknown strategy.
    """

    def __init__(self, strategy: str = "grid_search", seed: int | None = 0, **kwargs: Any) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"Unknown strategy {strategy!r}. Must be one of {set(STRATEGIES)}.")
        super().__init__(**kwargs)
        self.strategy = strategy
        self.seed = seed
        self.opt_args: dict[str, OptArg] = {}
        self.json_config_arg_name: str | None = None
        self.parsed_args: dict[str, Any] | None = None
        self.trials: list[TTNamespace] = []
        self._pinned: set[str] = set()
        self._rng = random.Random(seed)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not callable(v)}

    def opt_list(
        self,
        *args: str,
        options: Sequence[Any] | None = None,
        tunable: bool = False,
        **kwargs: Any,
    ) -> None:
        """An argument that takes one of ``options`` when ``tunable``."""
        if not options:
            raise ValueError(f"opt_list {args!r} needs a non-empty list of options.")
        action = self.add_argument(*args, **kwargs)
        self.opt_args[action.dest] = OptArg(action.dest, list(options), tunable)

    def opt_range(
        self,
        *args: str,
        low: float | None = None,
        high: float | None = None,
        type: Any = None,
        nb_samples: int = 10,
        log_base: float | None = None,
        tunable: bool = False,
        **kwargs: Any,
    ) -> None:
        """An argument sampled ``nb_samples`` times from ``[low, high]`` (log scale with
        ``log_base``); grid and random search choose among the samples, TPE the whole range."""
        if low is None or high is None or not low <= high:
            raise ValueError(f"opt_range {args!r} needs low <= high; got {low!r}, {high!r}.")
        if log_base is not None and not low > 0:
            raise ValueError(f"opt_range {args!r}: a log scale needs low > 0; got {low!r}.")
        action = self.add_argument(*args, type=type, **kwargs)
        values = self._samples(low, high, type, nb_samples, log_base, args)
        self.opt_args[action.dest] = OptArg(
            action.dest, values, tunable, low, high, type, log_base
        )

    def _samples(
        self, low: float, high: float, arg_type: Any, count: int, log_base: Any, args: Any
    ) -> list[Any]:
        rng = self._rng
        if log_base is not None:
            lo, hi = math.log(low, log_base), math.log(high, log_base)
            values = [log_base ** rng.uniform(lo, hi) for _ in range(count)]
            return [arg_type(v) for v in values] if arg_type is int else values
        if arg_type is int:
            span = range(int(low), int(high))
            if count > len(span):
                raise ValueError(
                    f"opt_range {args!r}: {count} distinct ints do not fit in [{low}, {high})."
                )
            return rng.sample(span, count)
        return [rng.uniform(low, high) for _ in range(count)]

    def json_config(self, *args: str, **kwargs: Any) -> None:
        """An argument naming a JSON file whose keys override the parsed values."""
        action = self.add_argument(*args, **kwargs)
        self.json_config_arg_name = action.dest

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None, parse_known: bool = False
    ) -> TTNamespace:
        """Parse like argparse; the result also carries the search methods.

        Args:
            parse_known: ignore arguments this parser does not know (a notebook's ``-f``)
                instead of exiting with argparse's usage error.
        """
        argv = list(sys.argv[1:] if args is None else args)
        if parse_known:
            parsed, unknown = self.parse_known_args(argv, namespace)
            if unknown:
                logger.warning(
                    "Ignoring arguments the parser does not know: %s", " ".join(unknown)
                )
        else:
            parsed = super().parse_args(argv, namespace)
        values = vars(parsed)
        if self.json_config_arg_name and values.get(self.json_config_arg_name):
            with open(values[self.json_config_arg_name], encoding="utf-8") as handle:
                values.update(json.load(handle))
        self._pinned = {name for name in self.opt_args if self._given(name, argv)}
        self.parsed_args = dict(values)
        namespace_out = TTNamespace(**values)
        for name in _ATTACHED:
            setattr(namespace_out, name, getattr(self, "opt_trials" if name == "trials" else name))
        return namespace_out

    def _given(self, dest: str, argv: list[str]) -> bool:
        """Whether the command line set ``dest`` explicitly (then it is not searched)."""
        for action in self._actions:
            if action.dest == dest:
                flags = action.option_strings
                return any(a in flags or a.split("=", 1)[0] in flags for a in argv)
        return False

    # ------------------------------------------------------------------ trials
    def _flat_params(self) -> list[list[dict[str, Any]]]:
        return [
            [{"idx": i, "val": value, "name": arg.name} for value in arg.values]
            for i, arg in enumerate(self.opt_args.values())
            if arg.tunable and arg.name not in self._pinned
        ]

    def _namespace(self, trial: Sequence[dict[str, Any]] | dict[str, Any]) -> TTNamespace:
        chosen = trial if isinstance(trial, dict) else {d["name"]: d["val"] for d in trial}
        return TTNamespace(**{**(self.parsed_args or {}), **chosen})

    def _require_parsed(self) -> None:
        if self.parsed_args is None:
            raise RuntimeError("Call parse_args() before asking for trials.")

    def generate_trials(self, nb_trials: int | None) -> list[TTNamespace]:
        """``nb_trials`` namespaces, each a combination of the tunable arguments."""
        self._require_parsed()
        if self.strategy == "tpe":
            study = self._tpe_study("maximize")
            return [self._namespace(self._ask(study)[1]) for _ in range(nb_trials or 0)]
        trials = generate_trials(self.strategy, self._flat_params(), nb_trials, self.seed)
        self.trials = [self._namespace(t) for t in trials]
        return self.trials

    def opt_trials(self, num: int | None) -> Iterator[TTNamespace]:
        """The trials of :meth:`generate_trials`, one at a time (``hparams.trials(n)``)."""
        yield from self.generate_trials(num)

    def optimize_parallel_cpu(
        self,
        train_function: Callable[[TTNamespace], Any],
        nb_trials: int,
        nb_workers: int = 4,
        direction: str = "minimize",
    ) -> list[list[Any]]:
        """Run ``train_function(trial_params)`` for each trial in ``nb_workers`` processes.

        Returns ``[[trial_params, result], ...]`` in trial order; a trial that raised or whose
        process died has result None (its error is logged). With ``tpe`` the results must be
        numbers, minimised or maximised as ``direction`` says.
        """
        return self._run_parallel(train_function, nb_trials, nb_workers, False, direction)

    def optimize_parallel(
        self,
        train_function: Callable[[TTNamespace, int], Any],
        nb_trials: int,
        nb_parallel: int = 4,
        direction: str = "minimize",
    ) -> list[list[Any]]:
        """test_tube's forking variant: ``train_function(trial_params, process_index)``."""
        return self._run_parallel(train_function, nb_trials, nb_parallel, True, direction)

    def _run_parallel(
        self,
        function: Callable[..., Any],
        nb_trials: int,
        workers: int,
        with_index: bool,
        direction: str,
    ) -> list[list[Any]]:
        from petri._workers import WorkerPool

        self._require_parsed()
        results: list[list[Any]] = []
        with WorkerPool(min(workers, max(nb_trials, 1))) as pool:
            if self.strategy != "tpe":
                trials = self.generate_trials(nb_trials)
                calls = [(t, i % workers) if with_index else (t,) for i, t in enumerate(trials)]
                for trial, outcome in zip(trials, pool.map(function, calls)):
                    results.append([trial, _value(outcome)])
                return results
            study = self._tpe_study(direction)
            while len(results) < nb_trials:
                batch = [self._ask(study) for _ in range(min(workers, nb_trials - len(results)))]
                spaces = [self._namespace(params) for _, params in batch]
                calls = [(t, i) if with_index else (t,) for i, t in enumerate(spaces)]
                for (trial, _), space, outcome in zip(batch, spaces, pool.map(function, calls)):
                    value = _value(outcome)
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        study.tell(trial, float(value))
                    else:
                        study.tell(trial, state=_failed())
                    results.append([space, value])
        return results

    def _tpe_study(self, direction: str) -> Any:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=self.seed)
        return optuna.create_study(direction=direction, sampler=sampler)

    def _ask(self, study: Any) -> tuple[Any, dict[str, Any]]:
        """A TPE trial and its chosen values: ranges searched whole, lists as categories."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        space: dict[str, Any] = {}
        for arg in self.opt_args.values():
            if not arg.tunable or arg.name in self._pinned:
                continue
            if arg.low is None:
                space[arg.name] = CategoricalDistribution(arg.values)
            elif arg.arg_type is int:
                space[arg.name] = IntDistribution(
                    int(arg.low), int(arg.high), log=arg.log_base is not None
                )
            else:
                space[arg.name] = FloatDistribution(
                    arg.low, arg.high, log=arg.log_base is not None
                )
        trial = study.ask(space)
        return trial, dict(trial.params)


def _value(outcome: Any) -> Any:
    if outcome.ok:
        return outcome.value
    logger.error("A trial failed: %s", outcome.error)
    return None


def _failed() -> Any:
    from optuna.trial import TrialState

    return TrialState.FAIL
