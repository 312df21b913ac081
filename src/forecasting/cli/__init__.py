"""The ``forecasting`` command line: a thin shell over the library.

Each sub-command lives in a module of this package with a ``register(subparsers)``
function; modules import heavy libraries only inside their handlers so that
``forecasting --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__

__all__ = ["main", "build_parser"]

# Order is the order shown in --help.
_COMMANDS = ("demo", "data", "kpis", "leads", "pipeline", "calls", "revenue", "report")

_EPILOG = """\
SOURCE is a CSV or Parquet path, a DuckDB file (path.duckdb, or path.duckdb:table),
a SQLAlchemy URL with a table (postgresql://user@host/db#table), or `demo`
(the embedded demo CRM, made on first use; `demo:table` picks a table).
Exit codes: 0 ok, 1 error, 2 bad input or usage. Add --debug for tracebacks.

Start with:  forecasting demo
"""


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered command."""
    parser = argparse.ArgumentParser(
        prog="forecasting",
        description="Revenue forecasting & lead-scoring workbench: score leads, forecast the "
        "pipeline and revenue, compute sales KPIs, run reports.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"forecasting {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.set_defaults(commands=[])
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue  # command not built yet
        module.register(sub)
        parser.get_default("commands").append(name)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``forecasting`` console script; returns the exit code."""
    from ._common import run

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
