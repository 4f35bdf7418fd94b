"""The command line: ``python -m rnnlib run`` and ``python -m rnnlib sweep`` (infrastructure; Paper: none).

``run`` trains one experiment and prints its result as JSON on stdout; every field of
:class:`~rnnlib.experiment.ExperimentConfig` is an option (``--length 20 --width 128``)::

    python -m rnnlib run --length 10 --width 256 --n-train 1000 --seed 0

``sweep`` runs the grid of a JSON spec (see :func:`rnnlib.sweep.configs_from_spec`) through the
cached engine of :mod:`rnnlib.sweep`, with a progress bar on stderr, and writes one CSV row per
config::

    python -m rnnlib sweep spec.json --cache .rnnlib_cache --workers 2 --output results.csv

A spec looks like ``{"base": {"width": 128}, "grid": {"length": [5, 10], "seed": [0, 1, 2]}}``.
Exit status: 0 done; 2 a usage error (bad option, bad or unreadable spec, an output path that
cannot be written or equals the spec, a request beyond the machine), found before anything is
computed; 1 a failed experiment (for example diverging SGD); 130 interrupted (Ctrl-C), with the
one line ``interrupted; N points cached; rerun to resume``.  Every error is one line on stderr.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import typing
from pathlib import Path

from .config import check_resources
from .experiment import ExperimentConfig
from .training import TRAINABLE

__all__ = ["main", "build_parser"]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's convention

_CHOICES = {"trained": TRAINABLE, "labels": ("last", "all")}


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    hints = typing.get_type_hints(ExperimentConfig)
    group = parser.add_argument_group("experiment config (defaults: rnnlib.ExperimentConfig)")
    for f in dataclasses.fields(ExperimentConfig):
        hint = hints[f.name]
        args = typing.get_args(hint)
        base = next((a for a in args if a is not type(None)), hint) if args else hint
        kwargs: dict = {"dest": f.name, "default": argparse.SUPPRESS}
        if base is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
            kwargs["help"] = f"(default {f.default})"
        else:
            kwargs["type"] = base
            kwargs["metavar"] = base.__name__.upper()
            kwargs["help"] = f"(default {f.default})"
            if f.name in _CHOICES:
                kwargs["choices"] = _CHOICES[f.name]
                kwargs.pop("metavar")
        group.add_argument(_option(f.name), **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rnnlib",
        description="Train Elman RNNs by SGD on W (Allen-Zhu & Li 2019) from the command line.")
    sub = parser.add_subparsers(dest="command", metavar="{run,sweep}")
    sub.required = True

    run = sub.add_parser("run", help="train one experiment and print its result as JSON",
                         description="Train one experiment and print its result (JSON) on stdout.")
    _add_config_options(run)
    run.add_argument("--cache", metavar="DIR", default=None,
                     help="read/write the result in this cache directory (default: no cache)")
    run.add_argument("--progress", action="store_true", help="show a progress bar over epochs on stderr")
    run.add_argument("--indent", type=int, default=None, metavar="N", help="indent the JSON output")
    run.add_argument("--no-history", action="store_true", help="omit the per-epoch curves from the output")

    sw = sub.add_parser("sweep", help="run the configs of a JSON spec and write a CSV",
                        description="Run a grid of experiments from a JSON spec through the cache "
                                    "and write one CSV row per config.")
    sw.add_argument("spec", metavar="SPEC.json",
                    help='JSON object with optional keys "base", "grid" and "configs"')
    sw.add_argument("--cache", metavar="DIR", default=None,
                    help="cache directory (default: $RNNLIB_CACHE or the repository's .rnnlib_cache)")
    sw.add_argument("--no-cache", action="store_true", help="do not read or write a cache")
    sw.add_argument("--workers", type=int, default=1, metavar="K", help="local worker processes (default 1)")
    sw.add_argument("--output", "-o", metavar="CSV", default=None,
                    help="CSV file to write (default: SPEC with the suffix .csv)")
    sw.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


class _Usage(Exception):
    pass


def _cmd_run(args) -> int:
    fields = {f.name for f in dataclasses.fields(ExperimentConfig)}
    values = {k: v for k, v in vars(args).items() if k in fields}
    try:
        cfg = ExperimentConfig(**values)
        check_resources(cfg)
    except (TypeError, ValueError) as exc:
        raise _Usage(f"bad config: {exc}") from exc
    from .experiment import run_experiment
    from .sweep import sweep
    if args.indent is not None and args.indent < 0:
        raise _Usage(f"--indent must be >= 0, got {args.indent}")
    cache = None if args.cache is None else _cache_dir(args.cache)
    try:
        if cache is not None:
            result = sweep([cfg], cache_dir=cache, progress=args.progress)[0]
        else:
            result = run_experiment(cfg, progress=args.progress)
    except KeyboardInterrupt:
        print("interrupted; 0 points cached; rerun to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - reported as a failed run with its cause
        print(f"rnnlib run: error: the experiment failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    out = result.to_dict()
    if args.no_history:
        out.pop("history")
    print(json.dumps(out, indent=args.indent, allow_nan=False))
    return 0


def _cache_dir(text: str) -> Path:
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise _Usage(f"--cache must be a directory, got the file {path}")
    return path


def _check_output(output: Path, spec: Path) -> None:
    """Refuse an output path that is the spec itself or cannot be written, before computing."""
    if output.exists() and output.is_dir():
        raise _Usage(f"--output must be a file path, got the directory {output}")
    if output.resolve() == spec.resolve() or (output.exists() and spec.exists() and output.samefile(spec)):
        raise _Usage(f"--output {output} is the input spec; writing the CSV would overwrite it")
    parent = output.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".tmp-probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise _Usage(f"--output {output} cannot be written ({exc.strerror or exc})") from None
    if output.exists() and not os.access(output, os.W_OK):
        raise _Usage(f"--output {output} cannot be written (permission denied)")


def _cmd_sweep(args) -> int:
    from .config import ResourceError
    from .sweep import SweepError, cache_status, configs_from_spec, sweep, write_csv
    if args.workers < 1:
        raise _Usage(f"--workers must be an integer >= 1, got {args.workers}")
    try:
        configs = configs_from_spec(args.spec)
    except ValueError as exc:
        raise _Usage(str(exc)) from exc
    output = Path(args.output) if args.output else Path(args.spec).with_suffix(".csv")
    _check_output(output, Path(args.spec))
    if args.no_cache and args.cache is not None:
        raise _Usage("--cache and --no-cache exclude each other")
    cache = False if args.no_cache else (None if args.cache is None else _cache_dir(args.cache))
    try:
        results = sweep(configs, cache_dir=cache, workers=args.workers, progress=not args.no_progress)
    except ResourceError as exc:
        raise _Usage(str(exc)) from exc
    except SweepError as exc:
        print(f"rnnlib sweep: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        done = 0 if cache is False else sum(cache_status(set(configs), cache))
        print(f"interrupted; {done} points cached; rerun to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    try:
        path = write_csv(results, output)
    except OSError as exc:
        print(f"rnnlib sweep: error: cannot write {output} ({exc.strerror or exc}); the results are "
              f"cached, rerun to write them", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {len(results)} results to {path}", file=sys.stderr)
    return 0


def main(argv: typing.Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 failed experiment, 2 usage error, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its message
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return _cmd_run(args) if args.command == "run" else _cmd_sweep(args)
    except _Usage as exc:
        print(f"python -m rnnlib {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
