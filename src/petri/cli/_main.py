"""The ``petri`` command line."""

from __future__ import annotations

import logging
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import click

from petri import __version__
from petri.errors import PetriError

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="petri")
@click.option(
    "-q", "--quiet", is_flag=True, help="Only print warnings, errors and the final result."
)
def main(quiet: bool) -> None:
    """Petri: deep-learning and reinforcement-learning experiments on PyTorch."""
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname).1s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


@main.command()
@click.argument("config", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override a config value, e.g. --set model_config.optimizer_config.learning_rate=0.01",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False),
    help="Put this run's files, checkpoints included, directly in this folder (re-using it "
    "continues the run).",
)
@click.option(
    "--save-dir",
    type=click.Path(file_okay=False),
    help="Root of versioned runs: the run goes to SAVE_DIR/<name>/version_<n>/ (default: the "
    "config's output_dir, else ./petri_logs).",
)
@click.option(
    "--schedule",
    type=click.Choice(
        ["train", "evaluate", "train_and_evaluate", "continuous_train_and_evaluate"]
    ),
    help="Override the config's schedule.",
)
@click.option(
    "--allow-config-change",
    is_flag=True,
    help="Resume a run although the config differs from its config.yaml (the diff is shown).",
)
@click.option(
    "--nproc",
    type=click.IntRange(min=1),
    help="Train with N processes on this machine (DistributedDataParallel through "
    "torch.distributed.run); each reads 1/N of the input, rank 0 writes the run.",
)
def run(
    config: tuple[str, ...],
    overrides: tuple[str, ...],
    output_dir: str | None,
    save_dir: str | None,
    schedule: str | None,
    allow_config_change: bool,
    nproc: int | None,
) -> None:
    """Train and evaluate the experiment in CONFIG (YAML/JSON; several merge in order).

    The run is recorded in SAVE_DIR/<name>/version_<n>/ (see `petri ls`, `petri show`).
    Ctrl-C saves a checkpoint and prints the command that resumes the run. Under torchrun
    (several machines: --nnodes, --rdzv-endpoint) the processes train one run together.
    """
    if nproc and nproc > 1 and "WORLD_SIZE" not in os.environ:
        sys.exit(_launch(nproc))
    try:
        experiment, schedule_name = _build(
            config, overrides, output_dir, save_dir, schedule, allow_config_change
        )
    except PetriError as error:
        _fail(error)
    started = time.perf_counter()
    try:
        result = _run_schedule(experiment, schedule_name)
    except KeyboardInterrupt:
        _interrupted(experiment, config, overrides, output_dir, save_dir, schedule)
    except PetriError as error:
        _fail(error)
    if _is_main_process():
        elapsed = time.perf_counter() - started
        _print_result(result, Path(experiment.output_dir), elapsed, experiment)


def _build(
    sources: tuple[str, ...],
    overrides: tuple[str, ...],
    output_dir: str | None,
    save_dir: str | None,
    schedule: str | None,
    allow_config_change: bool,
) -> tuple[Any, str]:
    """The experiment the command line describes (supervised or RL) and its schedule."""
    # loaded when the command runs (torch is heavy): `petri --help` stays light
    from petri.configs import apply_overrides, deep_merge, is_rl_config, load_config_source
    from petri.experiments import check_schedule, create_experiment, validate_config

    merged: dict[str, Any] = {}
    for source in sources:
        merged = deep_merge(merged, load_config_source(source))
    merged = apply_overrides(merged, overrides)
    run_config = merged.get("run_config")
    quiet = click.get_current_context().find_root().params.get("quiet")
    if quiet and (run_config is None or isinstance(run_config, dict)):
        merged["run_config"] = {**(run_config or {}), "verbose": False}
    if save_dir:
        merged["output_dir"] = save_dir
    if schedule:
        merged["schedule"] = schedule
    if output_dir and not is_rl_config(merged):
        estimator_config = dict(merged.get("estimator_config") or {})
        if not estimator_config.get("output_dir") and not estimator_config.get("model_dir"):
            estimator_config["output_dir"] = output_dir  # checkpoints directly in the folder
        merged["estimator_config"] = estimator_config
    config = validate_config(merged)
    check_schedule(config, output_dir)
    experiment = create_experiment(
        config, output_dir=output_dir, allow_config_change=allow_config_change
    )
    if _is_main_process():
        click.echo(
            f"petri: running {config.name!r} ({config.schedule}) in {experiment.output_dir}",
            err=True,
        )
    return experiment, config.schedule


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") in ("", "0")


def _launch(nproc: int) -> int:
    """``petri run`` again, in ``nproc`` processes started by torch's own launcher (the
    ``--standalone`` rendezvous picks a free local port); its exit code."""
    arguments = _without_option(sys.argv[1:], "--nproc")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "petri",
        *arguments,
    ]
    click.echo(f"petri: training in {nproc} processes (torch.distributed.run)", err=True)
    return _run_child(command)


def _without_option(arguments: list[str], option: str) -> list[str]:
    kept, skip = [], False
    for argument in arguments:
        if skip:
            skip = False
        elif argument == option:
            skip = True
        elif not argument.startswith(option + "="):
            kept.append(argument)
    return kept


def _run_schedule(experiment: Any, schedule: str) -> dict[str, Any]:
    if hasattr(experiment, "run_schedule"):  # an RLExperiment
        return experiment.run_schedule()
    result = getattr(experiment, schedule)()
    if schedule == "train":
        result = {"global_step": experiment.estimator.global_step}
    return result


def _interrupted(
    experiment: Any,
    sources: tuple[str, ...],
    overrides: tuple[str, ...],
    output_dir: str | None,
    save_dir: str | None,
    schedule: str | None,
) -> None:
    """Ctrl-C: the loop has saved a checkpoint; say where, and how to go on."""
    estimator = experiment.estimator
    command = ["petri", "run", *sources, *(f"--set={o}" for o in overrides)]
    if save_dir:
        command += ["--save-dir", save_dir]
    if schedule:
        command += ["--schedule", schedule]
    if output_dir:
        command += ["--output-dir", output_dir]
    else:
        command.append(f"--set=version={experiment.run.version}")
    click.echo(
        f"\npetri: interrupted at step {estimator.global_step}; checkpoint saved in "
        f"{estimator.model_dir}.\nResume with: {shlex.join(command)}",
        err=True,
    )
    sys.exit(130)


def _print_result(
    result: dict[str, Any], directory: Path, elapsed: float, experiment: Any
) -> None:
    width = max((len(key) for key in result), default=10)
    click.echo("")
    click.echo(f"{'metric'.ljust(width)}  value")
    click.echo(f"{'-' * width}  ----------")
    for key, value in result.items():
        text = f"{value:.4f}" if isinstance(value, float) else str(value)
        click.echo(f"{key.ljust(width)}  {text}")
    click.echo("")
    click.echo(f"finished in {elapsed:.1f} s")
    click.echo(f"run:         {directory}")
    click.echo(f"checkpoints: {experiment.estimator.model_dir}")
    click.echo(f"metrics:     {directory / 'metrics.csv'}")
    click.echo(f"config:      {directory / 'config.yaml'}")
    exports = getattr(experiment, "exports", None)
    if exports:
        click.echo(f"export:      {exports[-1]}")


# ------------------------------------------------------------------- run records
_SAVE_DIR_HELP = "Root of the runs (default ./petri_logs)."


@main.command("ls")
@click.argument("save_dir", required=False, default=None, type=click.Path(file_okay=False))
@click.option(
    "--sort",
    metavar="KEY",
    help="Sort by name, version, created, status, step, a metric or a "
    "tag; prefix with - for descending (--sort=-acc).",
)
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="EXPR",
    help="Keep runs where KEY OP VALUE holds (OP: > >= < <= = != ~); repeatable, all must hold. "
    "Example: --filter 'eval/acc>0.9' --filter status=finished",
)
@click.option(
    "--metrics",
    help="Comma-separated columns: final metrics or tags, e.g. "
    "--metrics eval/streaming_accuracy,model_config/optimizer_config/learning_rate "
    "(default: up to 3 key metrics).",
)
@click.option("--name", help="Only runs of this experiment name.")
@click.option("-r", "--reverse", is_flag=True, help="Reverse the order.")
def ls_command(
    save_dir: str | None,
    sort: str | None,
    filters: tuple[str, ...],
    metrics: str | None,
    name: str | None,
    reverse: bool,
) -> None:
    """List the runs under SAVE_DIR (default ./petri_logs): name, version, created, status,
    last step, key metrics and the tags that differ between runs."""
    # loaded when the command runs (torch is heavy): `petri --help` stays light
    from petri.cli._report import ls_text
    from petri.cli._studies import studies_text

    try:
        text = ls_text(
            save_dir or "petri_logs",
            sort=sort,
            filters=filters,
            metrics=[m.strip() for m in metrics.split(",") if m.strip()] if metrics else None,
            name=name,
            reverse=reverse,
        )
    except ValueError as error:
        _fail(error)
    click.echo(text)
    studies = studies_text(save_dir or "petri_logs", name)
    if studies:
        click.echo(f"\n{studies}")


@main.command("show")
@click.argument("run_spec", metavar="RUN")
@click.option("--save-dir", default="petri_logs", show_default=True, help=_SAVE_DIR_HELP)
@click.option("--all", "show_all", is_flag=True, help="Show every tag, the config's defaults too.")
def show_command(run_spec: str, save_dir: str, show_all: bool) -> None:
    """Show one run: status, git commit, tags, final metrics and files.

    The tags shown are those set (`tag`, a search's parameters) and the config keys that differ
    from their defaults; --all adds the defaults. Long values fold to the terminal's width.

    RUN is a run folder, NAME (its latest version), NAME:VERSION or NAME/version_N;
    study:NAME shows a search made by `petri tune` (its trials, best first).
    """
    # loaded when the command runs (torch is heavy): `petri --help` stays light
    from petri.cli._report import show_text
    from petri.cli._studies import find_study, study_text
    from petri.tracking.query import resolve_run

    try:
        if run_spec.startswith("study:"):
            click.echo(study_text(find_study(run_spec, save_dir)))
        else:
            click.echo(show_text(resolve_run(run_spec, save_dir), show_all=show_all))
    except (FileNotFoundError, PetriError) as error:
        _fail(error)


@main.command("compare")
@click.argument("run_specs", metavar="RUN RUN...", nargs=-1, required=True)
@click.option("--save-dir", default="petri_logs", show_default=True, help=_SAVE_DIR_HELP)
@click.option("--all-tags", is_flag=True, help="Show every tag, not only those that differ.")
def compare_command(run_specs: tuple[str, ...], save_dir: str, all_tags: bool) -> None:
    """Compare runs: the tags that differ, and final metrics side by side."""
    # loaded when the command runs (torch is heavy): `petri --help` stays light
    from petri.cli._report import compare_text
    from petri.tracking.query import resolve_run

    if len(run_specs) < 2:
        _fail(ValueError(f"compare needs at least two runs; received {len(run_specs)}."))
    try:
        runs = [resolve_run(spec, save_dir) for spec in run_specs]
    except (FileNotFoundError, PetriError) as error:
        _fail(error)
    click.echo(compare_text(runs, all_tags=all_tags))


@main.command("export")
@click.argument("run_spec", metavar="RUN")
@click.option("--save-dir", default="petri_logs", show_default=True, help=_SAVE_DIR_HELP)
@click.option("--checkpoint", default=None, help="Checkpoint file to export (default: newest).")
@click.option("--to", "export_dir_base", default=None, help="Create the export below this folder.")
@click.option("--as-text", is_flag=True, help="Also write the program as text.")
def export_command(
    run_spec: str,
    save_dir: str,
    checkpoint: str | None,
    export_dir_base: str | None,
    as_text: bool,
) -> None:
    """Export a run's trained model for serving; prints the new export folder.

    RUN is a run folder, NAME, NAME:VERSION or NAME/version_N. The export (a torch.export program
    in a timestamped folder, default below RUN/exports/cli) takes features as the run's
    evaluation input gives them; load it with petri.export.load_exported.
    """
    # loaded when the command runs (torch is heavy): `petri --help` stays light
    from petri.experiments import export_run
    from petri.tracking.query import resolve_run

    try:
        folder = export_run(
            resolve_run(run_spec, save_dir).path, checkpoint, export_dir_base, as_text
        )
    except (FileNotFoundError, ValueError, PetriError) as error:
        _fail(error)
    click.echo(folder)


@main.command("serve")
@click.argument("export")
@click.option("--name", default=None, help="The model's name in URLs (default: the run's name).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8501, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Server processes.")
@click.option(
    "--runtime", default="torch", show_default=True, type=click.Choice(["torch", "onnxruntime"])
)
@click.option(
    "--max-batch-size",
    default=64,
    show_default=True,
    type=int,
    help="Rows one model call gathers from concurrent requests (0 or 1: no batching).",
)
@click.option(
    "--batch-timeout-ms",
    default=2.0,
    show_default=True,
    type=float,
    help="How long a batch waits for more requests.",
)
@click.option("--max-body-mb", default=16.0, show_default=True, type=float)
@click.option("--max-rows", default=4096, show_default=True, type=int, help="Rows per request.")
@click.option(
    "--threads",
    default=None,
    type=int,
    help="torch threads of a model call (default: half the cores per server process).",
)
@click.option("--save-dir", default="petri_logs", show_default=True, help=_SAVE_DIR_HELP)
def serve_command(
    export: str,
    name: str | None,
    host: str,
    port: int,
    workers: int,
    runtime: str,
    max_batch_size: int,
    batch_timeout_ms: float,
    max_body_mb: float,
    max_rows: int,
    threads: int | None,
    save_dir: str,
) -> None:
    """Serve an export over HTTP in TensorFlow Serving's REST shape.

    EXPORT is an export folder, a folder of exports (the newest is served, and a newer one
    is switched to when it appears), or a run (a run folder, NAME, NAME:VERSION or
    NAME/version_N: its newest export). POST /v1/models/NAME:predict with {"instances": [...]}
    or {"inputs": ...}; GET /v1/models/NAME, /v1/models/NAME/metadata, /healthz, /metrics.
    """
    from petri.serving import serve

    def ready(url: str, model: str) -> None:
        click.echo(f"Serving {model!r} at {url}/v1/models/{model} (Ctrl-C stops)", err=True)

    try:
        serve(
            export,
            name=name,
            host=host,
            port=port,
            workers=workers,
            runtime=runtime,
            max_batch_size=max_batch_size,
            batch_timeout_ms=batch_timeout_ms,
            max_body_mb=max_body_mb,
            max_rows=max_rows,
            save_dir=save_dir,
            on_ready=ready,
            threads=threads,
        )
    except (FileNotFoundError, ValueError, PetriError) as error:
        _fail(error)


@main.command("ui")
@click.argument("save_dir", default="petri_logs", required=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=6007, show_default=True, type=int)
def ui_command(save_dir: str, host: str, port: int) -> None:
    """A web dashboard over SAVE_DIR's runs (read-only): browse, filter, compare, watch."""
    from petri.ui import serve_ui

    if not os.path.isdir(save_dir):
        _fail(FileNotFoundError(f"No folder {save_dir!r} to show: give a save_dir."))

    def ready(url: str) -> None:
        click.echo(
            f"Petri dashboard of {os.path.abspath(save_dir)} at {url} (Ctrl-C stops)", err=True
        )

    try:
        serve_ui(save_dir, host=host, port=port, on_ready=ready)
    except PetriError as error:
        _fail(error)


@main.command("tensorboard")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False))
@click.option("--port", default=6006, show_default=True, type=int)
@click.option("--host", default="localhost", show_default=True)
@click.option(
    "--dry-run", is_flag=True, help="Print the tensorboard command instead of running it."
)
def tensorboard_command(paths: tuple[str, ...], port: int, host: str, dry_run: bool) -> None:
    """Start TensorBoard on runs: a save_dir (default ./petri_logs) or run folders."""
    import importlib.util
    import shlex

    if importlib.util.find_spec("tensorboard") is None:
        _fail(
            RuntimeError(
                "tensorboard is not installed; install it with `pip install tensorboard`."
            )
        )
    targets = list(paths) or ["petri_logs"]
    command = [sys.executable, "-m", "tensorboard.main", "--port", str(port), "--host", host]
    if len(targets) == 1:
        command += ["--logdir", targets[0]]
    else:
        # loaded when the command runs (torch is heavy): `petri --help` stays light
        from petri.tracking import load

        specs = []
        for target in targets:
            try:
                label = f"{load(target).name}_v{load(target).version}"
            except FileNotFoundError:
                label = Path(target).name
            specs.append(f"{label}:{target}")
        command += ["--logdir_spec", ",".join(specs)]
    if dry_run:
        click.echo(shlex.join(command))
        return
    sys.exit(_run_child(command))


def _run_child(command: list[str]) -> int:
    """Run ``command`` and take it down with us: SIGTERM, SIGHUP or Ctrl-C to ``petri``
    reach the child too, so no TensorBoard is left serving after its parent is gone."""
    import signal
    import subprocess

    child = subprocess.Popen(command)

    def forward(signum: int, frame: Any) -> None:
        child.send_signal(signal.SIGTERM)

    previous = {
        number: signal.signal(number, forward) for number in (signal.SIGTERM, signal.SIGHUP)
    }
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)
        return 0
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _fail(error: BaseException) -> None:
    click.echo(f"petri: error: {error}", err=True)
    sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
