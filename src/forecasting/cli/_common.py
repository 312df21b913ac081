"""Shared plumbing of the commands: exit codes, options, run.json."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import warnings
from pathlib import Path

__all__ = ["run", "add_map_option", "mapping_from", "add_read_options", "read_options_from", "add_engine_option",
           "engine_from", "output_dir", "parameters_of", "say"]


def say(message: str = "") -> None:
    """Progress and result lines go to stderr; stdout stays for data (JSON/CSV)."""
    print(message, file=sys.stderr, flush=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM / SIGHUP raised as an exception, so that every ``with`` block's cleanup runs
    (temporary outputs are removed, the previous outputs stay) before the process exits."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_terminated(signum, frame):
    signal.signal(signum, signal.SIG_IGN)  # a second signal must not cut the cleanup short
    raise Terminated(signum)


@contextlib.contextmanager
def _signals_as_exceptions():
    """Turn SIGTERM (cron, systemd, ``timeout``) and SIGHUP into :class:`Terminated` meanwhile.

    Signals a parent set to be ignored (``nohup``) stay ignored; handlers can only be
    set in the main thread, elsewhere nothing changes.
    """
    installed = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:
                installed[signum] = signal.signal(signum, _raise_terminated)
    try:
        yield
    finally:
        for signum, handler in installed.items():
            signal.signal(signum, handler)


_depth = 0  # run() inside run() (the demo runs each step as a command): the outermost one exits


def run(args: argparse.Namespace) -> int:
    """Call the command's handler and turn failures into messages and exit codes.

    Bad input (:class:`~forecasting.data.DataError`) exits 2 with the message that
    names table, column and rows; any other failure exits 1 without a traceback
    unless ``--debug``. SIGINT, SIGTERM and SIGHUP exit 128 + the signal number
    (130, 143, 129) once the outputs being written are removed.
    """
    from ..data.errors import DataError

    global _depth
    _depth += 1
    try:
        with _signals_as_exceptions():
            return int(args.func(args) or 0)
    except DataError as err:
        say("forecasting: bad input:")
        for problem in err.problems:
            say(f"  - {problem}")
        return 2
    except KeyboardInterrupt as exc:
        if _depth > 1:
            raise
        signum = getattr(exc, "signum", signal.SIGINT)
        say(f"forecasting: interrupted by {signal.Signals(signum).name}; unfinished outputs removed")
        return 128 + signum
    except Exception as err:  # noqa: BLE001 - the CLI's last line of defence
        if getattr(args, "debug", False):
            raise
        say(f"forecasting: error: {type(err).__name__}: {err}")
        say("  (run with --debug for the traceback)")
        return 1
    finally:
        _depth -= 1


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
    """``{their_name: canonical_name}`` from ``--map``; one column mapped twice is refused
    (the last would silently win)."""
    from ..data.errors import DataError, Problem

    pairs = list(getattr(args, "mapping", None) or [])
    olds = [old for old, _ in pairs]
    twice = sorted({old for old in olds if olds.count(old) > 1})
    if twice:
        raise DataError([Problem("map", old, "is mapped more than once (--map "
                                 + ", --map ".join(f"'{o}={n}'" for o, n in pairs if o == old)
                                 + "); keep one --map per column") for old in twice])
    return dict(pairs)


def _decimal_mark(text: str) -> str:
    if text not in (",", "."):
        raise argparse.ArgumentTypeError(f"expected , or . got {text!r}")
    return text


def add_read_options(parser: argparse.ArgumentParser) -> None:
    """``--date-format FMT``, ``--dayfirst`` / ``--monthfirst`` and ``--decimal , | .``: settle a
    column whose date or number format its values cannot tell (every command reads files alike)."""
    parser.add_argument("--date-format", metavar="FMT",
                        help="strptime format of every date column, e.g. '%%d/%%m/%%Y %%H:%%M' "
                        "(default: detected per column from all its values)")
    order = parser.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True, default=None,
                       help="read 03/04/2025 as 3 April when no day in a column is above 12")
    order.add_argument("--monthfirst", dest="dayfirst", action="store_const", const=False,
                       help="read 03/04/2025 as 4 March when no day in a column is above 12")
    parser.add_argument("--decimal", type=_decimal_mark, metavar=", | .",
                        help="decimal mark of number columns when no value tells it (26.900: --decimal ,)")


def read_options_from(args: argparse.Namespace) -> dict:
    """``date_format``, ``dayfirst``, ``decimal`` keyword arguments for ``load_table``,
    ``check_source`` and ``score_source`` (None where not given: detected)."""
    return {"date_format": getattr(args, "date_format", None), "dayfirst": getattr(args, "dayfirst", None),
            "decimal": getattr(args, "decimal", None)}


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
def output_dir(out: str | Path, command: str, parameters: dict, run_json: str = "run.json"):
    """Yield ``out`` and a :class:`~forecasting.provenance.RunLog`; write run.json on success.

    Every file in ``out`` is written atomically by the command; run.json (named ``run_json``)
    comes last, so its presence says the outputs are complete. Warnings raised meanwhile (approximate
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
    log.write(path, name=run_json)
