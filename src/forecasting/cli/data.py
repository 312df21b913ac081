"""``forecasting data``: make demo data, check a table."""

from __future__ import annotations

import argparse
import json

from ._common import add_map_option, mapping_from, say

KINDS = ("leads", "opportunities", "stage_history", "activities", "revenue")


def register(sub) -> None:
    data = sub.add_parser("data", help="make demo data; check a table against the data contract",
                          description="Make demo data or check a table against the data contract.")
    cmds = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")

    demo = cmds.add_parser(
        "demo", help="write the demo CRM (DuckDB) with every table",
        description="Write a deterministic demo CRM: leads (with true conversion probabilities), "
        "opportunities with stage history, activities, accounts, spend, quotas and monthly revenue "
        "per segment, as one DuckDB file (crm.duckdb) and optionally CSV/Parquet files.",
    )
    demo.add_argument("--out", default=None, help="output folder (default: <project>/data/demo)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same data")
    demo.add_argument("--format", dest="formats", nargs="+", choices=("duckdb", "csv", "parquet"),
                      default=["duckdb"], help="file formats to write (default: duckdb)")
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
        "or amount totals, and every problem found with the offending row ids. Exit code 2 when the "
        "table has errors.",
    )
    check.add_argument("kind", choices=KINDS, help="which canonical table SOURCE holds")
    check.add_argument("source", help="CSV/Parquet path, file.duckdb[:table] or SQLAlchemy URL#table")
    add_map_option(check)
    check.add_argument("--stages", help="YAML file of stages (open: [...], won: ..., lost: ...)")
    check.add_argument("--opportunities", help="for stage_history: check ids against this SOURCE")
    check.add_argument("--label", action="store_true", help="for leads: require the converted label (training)")
    check.add_argument("--season-length", type=int, help="for revenue: season length (default: inferred)")
    check.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    check.set_defaults(func=_check)


def _demo(args: argparse.Namespace) -> int:
    import time

    from ..data.demo import write_demo
    from ..paths import demo_dir

    out = args.out or demo_dir()
    t0 = time.perf_counter()
    path = write_demo(out, seed=args.seed, formats=tuple(args.formats))
    say(f"demo CRM written to {path} in {time.perf_counter() - t0:.1f}s (seed {args.seed})")
    return 0


def _public(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd
    import yaml

    from ..data.adapters import ADAPTERS
    from ..data.io import write_duckdb, write_text

    adapted = ADAPTERS[args.name](root=args.root)
    tables = {k: v for k, v in adapted.tables.items() if isinstance(v, pd.DataFrame)}
    path = write_duckdb(tables, args.out)
    say(f"{args.name}: tables {', '.join(tables)} -> {path}")
    if adapted.stages is not None:
        stages = Path(path).with_suffix(".stages.yaml")
        write_text(stages, yaml.safe_dump(adapted.stages.to_config(), sort_keys=False))
        say(f"its funnel has other stages: pass --stages {stages}")
    if adapted.leaky:
        say(f"known leaky columns (excluded by lead scoring): {', '.join(adapted.leaky)}")
    if adapted.notes:
        say(f"notes: {adapted.notes}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from ..data import check_source, load_table

    kwargs = {}
    if args.stages and args.kind in ("opportunities", "stage_history"):
        kwargs["stages"] = args.stages
    if args.kind == "stage_history" and args.opportunities:
        kwargs["opportunities"] = load_table("opportunities", args.opportunities, mapping_from(args))
    if args.kind == "leads":
        kwargs["require_label"] = args.label
    if args.kind == "revenue" and args.season_length:
        kwargs["season_length"] = args.season_length
    report = check_source(args.kind, args.source, mapping_from(args), **kwargs)
    summary = report.summary()
    if args.json:
        summary["problems"] = [
            {"severity": p.severity, "table": p.table, "column": p.column, "message": p.message,
             "rows": list(p.rows), "n_rows": p.n_rows} for p in report.problems
        ]
        summary["ok"] = report.ok
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            say(f"{key:>16}: {value}")
        for p in report.problems:
            say(f"{p.severity.upper():>7} {p}")
        say("OK: no errors" if report.ok else f"FAILED: {sum(p.severity == 'error' for p in report.problems)} error(s)")
    return 0 if report.ok else 2
