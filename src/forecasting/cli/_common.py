"""Shared plumbing of the commands: exit codes, options, run.json."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from pathlib import Path

__all__ = ["run", "add_map_option", "mapping_from", "add_engine_option", "engine_from", "output_dir",
           "parameters_of", "say"]


def say(message: str = "") -> None:
    """Progress and result lines go to stderr; stdout stays for data (JSON/CSV)."""
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Call the command's handler and turn failures into messages and exit codes.

    Bad input (:class:`~forecasting.data.DataError`) exits 2 with the message that
    names table, column and rows; any other failure exits 1 without a traceback
    unless ``--debug``.
    """
    from ..data.errors import DataError

    try:
        return int(args.func(args) or 0)
    except DataError as err:
        say("forecasting: bad input:")
        for problem in err.problems:
            say(f"  - {problem}")
        return 2
    except KeyboardInterrupt:
        say("forecasting: interrupted")
        return 130
    except Exception as err:  # noqa: BLE001 - the CLI's last line of defence
        if getattr(args, "debug", False):
            raise
        say(f"forecasting: error: {type(err).__name__}: {err}")
        say("  (run with --debug for the traceback)")
        return 1


def _pair(text: str) -> tuple[str, str]:
    old, sep, new = text.partition("=")
    if not sep or not old or not new:
        raise argparse.ArgumentTypeError(f"expected OLD=NEW, got {text!r}")
    return old, new


def add_map_option(parser: argparse.ArgumentParser) -> None:
    """``--map OLD=NEW`` (repeatable): rename your CRM's columns to canonical names."""
    parser.add_argument(
        "--map", dest="mapping", metavar="OLD=NEW", type=_pair, action="append", default=[],
        help="rename a column to its canonical name, e.g. --map 'Deal Id=opportunity_id' (repeatable)",
    )


def mapping_from(args: argparse.Namespace) -> dict[str, str]:
    return dict(getattr(args, "mapping", None) or [])


def add_engine_option(parser: argparse.ArgumentParser) -> None:
    """``--engine local|dask`` and ``--scheduler ADDRESS``: where the work runs."""
    from ..engine import ENGINES

    parser.add_argument("--engine", choices=ENGINES, default="local",
                        help="run here (local, the default) or on a Dask cluster (dask)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler for --engine dask, e.g. tcp://10.0.0.5:8786 "
                        "(default: start a local cluster of 2 worker processes)")


def engine_from(args: argparse.Namespace) -> dict:
    """``engine=`` and ``scheduler=`` keyword arguments from the options of :func:`add_engine_option`."""
    return {"engine": args.engine, "scheduler": args.scheduler}


def _without_password(value):
    """A database URL option with its password masked (run.json is shared with reports)."""
    if isinstance(value, str) and "://" in value and "@" in value:
        from ..data.io import redact_url

        url, sep, rest = value.partition("#")
        return redact_url(url) + sep + rest
    return value


def parameters_of(args: argparse.Namespace) -> dict:
    """The command's options as the user gave them, for run.json (database passwords masked)."""
    return {k: _without_password(v) for k, v in vars(args).items() if k not in ("func", "debug", "commands")}


@contextlib.contextmanager
def output_dir(out: str | Path, command: str, parameters: dict):
    """Yield ``out`` and a :class:`~forecasting.provenance.RunLog`; write run.json on success.

    Every file in ``out`` is written atomically by the command; run.json comes last,
    so its presence says the outputs are complete. Warnings raised meanwhile (approximate
    snapshots, model fallbacks...) are printed once each as a plain line and kept in run.json.
    """
    from ..provenance import RunLog

    from ..data.errors import DataError, Problem

    path = Path(out)  # created by the first atomic write: bad input leaves no empty folder
    if path.exists() and not path.is_dir():
        raise DataError(Problem("out", None, f"--out {path} is a file, not a folder"))
    log = RunLog(command, parameters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            yield path, log
        finally:
            messages = list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, UserWarning)))
            for message in messages:
                say(f"warning: {message}")
    if messages:
        log.extra["warnings"] = messages
    log.write(path)
