"""``forecasting data``: make demo data, check a table."""

from __future__ import annotations

import argparse
import json

from ._common import add_map_option, add_read_options, mapping_from, read_options_from, say



class _TableKinds:
    """The table kinds of :data:`forecasting.data.schema.TABLES`, as argparse choices.

    Read when a KIND is checked or ``data check --help`` is shown, so building the
    parser (``forecasting --help``) does not import the data layer and pandas.
    """

    def _kinds(self) -> tuple[str, ...]:
        from ..data.schema import KINDS

        return KINDS

    def __contains__(self, kind) -> bool:
        return kind in self._kinds()

    def __iter__(self):
        return iter(self._kinds())


class _WorldsHelp(argparse.Action):
    """``data demo --help``: the usual help, then one line per world.

    The world list is imported only when asked, so ``forecasting --help`` does not load pandas.
    """

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from ..data.worlds import WORLDS

        parser.print_help()
        print("\nworlds (--world NAME):")
        for name, line in WORLDS.items():
            print(f"  {name:<18} {line}")
        parser.exit()


def register(sub) -> None:
    data = sub.add_parser("data", help="make demo data; check a table against the data contract",
                          description="Make demo data or check a table against the data contract.")
    cmds = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")

    demo = cmds.add_parser(
        "demo", help="write the demo CRM (DuckDB) with every table, or another simulated world",
        add_help=False,
        description="Write a deterministic demo CRM: leads (with true conversion probabilities), "
        "opportunities with stage history, activities, accounts, spend, quotas and monthly revenue "
        "per segment, as one DuckDB file (crm.duckdb) and optionally CSV/Parquet files.",
    )
    demo.add_argument("--out", default=None,
                      help="output folder (default: <project>/data/demo, or data/worlds/NAME for --world)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same data")
    demo.add_argument("--format", dest="formats", nargs="+", choices=("duckdb", "csv", "parquet"),
                      default=["duckdb"], help="file formats to write (default: duckdb)")
    demo.add_argument("--world", default="demo", metavar="NAME",
                      help="which simulated CRM world to write (default: demo); --help lists them")
    demo.add_argument("--size", type=float, default=1.0, help="scale the number of leads and deals (default 1)")
    demo.add_argument("-h", "--help", action=_WorldsHelp, help="show this help (with the worlds) and exit")
    demo.set_defaults(func=_demo)

    public = cmds.add_parser(
        "public", help="load a public dataset through its adapter into a DuckDB file",
        description="Map a public dataset of ../shared/data (or $FORECASTING_SHARED_DATA) to the "
        "canonical tables and write them to one DuckDB file, so every command can run on it. "
        "Prints the dataset's known leaky columns and caveats.",
    )
    public.add_argument("name", choices=("x_education", "bank_marketing", "olist", "maven_crm",
                                         "superstore", "m3", "tourism"), help="dataset")
    public.add_argument("--out", required=True, help="DuckDB file to write, e.g. data/public/maven.duckdb")
    public.add_argument("--root", help="folder holding the datasets (default: ../shared/data)")
    public.set_defaults(func=_public)

    check = cmds.add_parser(
        "check", help="validate a table and report every problem (exit 2 if any)",
        description="Load a table as the commands would, print its size, date range, label balance "
        "or amount totals, and every problem found with the offending row ids, on stdout (warnings "
        "and progress go to stderr). Exit code 2 when the table has errors.",
    )
    check.add_argument("kind", choices=_TableKinds(), metavar="KIND",
                       help="which canonical table SOURCE holds: %(choices)s")
    check.add_argument("source", help="CSV/Parquet path, file.duckdb[:table] or SQLAlchemy URL#table")
    add_map_option(check)
    add_read_options(check)
    check.add_argument("--stages", help="YAML file of stages (open: [...], won: ..., lost: ...)")
    check.add_argument("--opportunities", help="for stage_history: check ids against this SOURCE")
    check.add_argument("--label", action="store_true", help="for leads: require the converted label (training)")
    check.add_argument("--season-length", type=int, help="for revenue: season length (default: inferred)")
    check.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    check.set_defaults(func=_check)


def _demo(args: argparse.Namespace) -> int:
    import time

    from ..data.errors import DataError, Problem
    from ..data.worlds import WORLDS, write_world
    from ..paths import data_dir, demo_dir

    if args.world not in WORLDS:
        raise DataError(Problem("world", None, f"--world {args.world!r} is not a world; choose from "
                                f"{', '.join(WORLDS)} (see forecasting data demo --help)"))
    if not args.size > 0:
        raise DataError(Problem("world", None, f"--size must be positive; got {args.size}"))
    out = args.out or (demo_dir() if args.world == "demo" else data_dir() / "worlds" / args.world)
    t0 = time.perf_counter()
    path, stages = write_world(out, args.world, seed=args.seed, size=args.size, formats=tuple(args.formats))
    say(f"{'demo CRM' if args.world == 'demo' else 'world ' + args.world} written to {path} "
        f"in {time.perf_counter() - t0:.1f}s (seed {args.seed})")
    if stages is not None:
        say(f"its funnel has other stages: pass --stages {stages}")
    return 0


def _public(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd
    import yaml

    from ..data.public import ADAPTERS, LEAKY_TABLE
    from ..data.io import write_duckdb, write_text

    adapted = ADAPTERS[args.name](root=args.root)
    tables = {k: v for k, v in adapted.export().items() if isinstance(v, pd.DataFrame)}
    path = write_duckdb(tables, args.out)
    say(f"{args.name}: tables {', '.join(tables)} -> {path}")
    if adapted.stages is not None:
        stages = Path(path).with_suffix(".stages.yaml")
        write_text(stages, yaml.safe_dump(adapted.stages.to_config(), sort_keys=False))
        say(f"its funnel has other stages: pass --stages {stages}")
    if adapted.leaky:
        say(f"known leaky columns, moved out of table leads into {LEAKY_TABLE} (join on lead_id): "
            f"{', '.join(adapted.leaky)}")
    if adapted.notes:
        say(f"notes: {adapted.notes}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from ..data import check_source, load_table

    kwargs = {}
    if args.stages and args.kind in ("opportunities", "stage_history"):
        kwargs["stages"] = args.stages
    if args.kind == "stage_history" and args.opportunities:
        kwargs["opportunities"] = load_table("opportunities", args.opportunities, mapping_from(args),
                                               **read_options_from(args))
    if args.kind == "leads":
        kwargs["require_label"] = args.label
    if args.kind == "revenue" and args.season_length:
        kwargs["season_length"] = args.season_length
    report = check_source(args.kind, args.source, mapping_from(args), **read_options_from(args), **kwargs)
    summary = report.summary()
    if args.json:
        summary["problems"] = [
            {"severity": p.severity, "table": p.table, "column": p.column, "message": p.message,
             "rows": list(p.rows), "n_rows": p.n_rows} for p in report.problems
        ]
        summary["ok"] = report.ok
        print(json.dumps(summary, indent=2))
    else:  # the report is the command's result: stdout, as --json (stderr is for progress)
        lines = [f"{key:>16}: {value}" for key, value in summary.items()]
        lines += [f"{p.severity.upper():>7} {p}" for p in report.problems]
        errors = sum(p.severity == "error" for p in report.problems)
        lines.append("OK: no errors" if report.ok else f"FAILED: {errors} error(s)")
        print("\n".join(lines), flush=True)
    return 0 if report.ok else 2
