"""``forecasting report``: run report notebooks (one, or a schedule of them)."""

from __future__ import annotations

import argparse

from ._common import add_map_option, mapping_from, say

# Shorthand options (--source, --stages, --date-format) for parameters every report takes; and --map.
_SHORTHANDS = ("source", "stages", "date_format")


def register(sub) -> None:
    report = sub.add_parser("report", help="run parameterized report notebooks (HTML + run.json)",
                            description="Run the report notebooks of notebooks/ with papermill.")
    cmds = report.add_subparsers(dest="report_command", metavar="SUBCOMMAND")

    run = cmds.add_parser(
        "run", help="run one report, or every report of a schedule (--all)",
        description="Run report NAME with parameters (-p KEY VALUE, checked against the notebook's "
        "parameters cell) and write NAME.ipynb (executed), NAME.html (code hidden) and run.json to "
        "--out. The run is written beside --out and replaces it only when complete: an interrupted or "
        "failed run leaves the previous report (a failed one is NAME.failed.ipynb beside it). A re-run "
        "with the same parameters replaces the previous run; other parameters need --force. With --all, "
        "run every report listed in --config (reports.yaml: out, defaults, reports), resolving relative "
        "dates (today, start_of_quarter, end_of_last_month, this_quarter...) against --as-of; a "
        "failure does not stop the others and the exit code is 1 if any failed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  forecasting report run pipeline_forecast --source crm.duckdb -p as_of 2026-06-30 "
        "-p period 2026Q3\n  forecasting report run sales_kpis --source export.csv --map 'Deal Id=opportunity_id' "
        "--date-format %d/%m/%Y\n"
        "  forecasting report run --all --config reports.yaml --as-of 2026-07-06\n"
        "cron (Mondays 06:00):\n  0 6 * * 1  cd /srv/forecasting && .venv/bin/forecasting report run "
        "--all --config reports.yaml",
    )
    run.add_argument("name", nargs="?", help="report name (see `forecasting report list`)")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                     help="a notebook parameter (repeatable)")
    run.add_argument("--source", help="where the data is (-p source SOURCE): path.duckdb, a file, a "
                     "SQLAlchemy URL or demo")
    add_map_option(run)
    run.add_argument("--stages", metavar="FILE", help="your open stages, a stages YAML (-p stages FILE)")
    run.add_argument("--date-format", metavar="FMT",
                     help="strptime format of every date column, e.g. %%d/%%m/%%Y (-p date_format FMT); "
                     "default: detected per column")
    run.add_argument("--out", help="output folder (default: reports/NAME, or the schedule's out)")
    run.add_argument("--force", action="store_true", help="replace an existing run with other parameters in --out")
    run.add_argument("--all", action="store_true", help="run every report of --config")
    run.add_argument("--config", default="reports.yaml", help="schedule file for --all (default reports.yaml)")
    run.add_argument("--as-of", help="date relative dates resolve against (default today)")
    run.add_argument("--progress", action="store_true", help="show a progress bar per cell")
    run.set_defaults(func=_run)

    lst = cmds.add_parser("list", help="list reports and their parameters",
                          description="List the report notebooks and their parameters with defaults.")
    lst.set_defaults(func=_list)


def _list(args: argparse.Namespace) -> int:
    from ..reports import available_reports, report_parameters

    for name in available_reports():
        print(name)
        for key, spec in report_parameters(name).items():
            print(f"  {key} ({spec['type']}) = {spec['default']}  {spec['help']}")
    return 0


def _parameters(args: argparse.Namespace) -> dict:
    """``-p KEY VALUE`` plus the shorthand options; the same parameter twice is refused."""
    from ..data.errors import Problem
    from ..reports import ReportError

    params, problems = dict(args.parameter), []
    given = {key: getattr(args, key) for key in _SHORTHANDS if getattr(args, key)}
    mapping = mapping_from(args)
    bad = [f"{old}={new}" for old, new in mapping.items() if "," in old + new]
    if bad:  # the map parameter is "OLD=NEW,OLD=NEW"
        problems.append(Problem("report", "map", f"a column name with a comma cannot be mapped: {', '.join(bad)}"))
    if mapping:
        given["map"] = ",".join(f"{old}={new}" for old, new in mapping.items())
    for key, value in given.items():
        if key in params:
            flag = "--" + key.replace("_", "-")
            problems.append(Problem("report", key, f"given twice (-p {key} and {flag}): keep one"))
        params[key] = value
    if problems:
        raise ReportError(problems)
    return params


def _run(args: argparse.Namespace) -> int:
    from ..reports import run_report, run_schedule

    if args.all:
        if args.name or args.parameter or mapping_from(args) or any(getattr(args, o) for o in _SHORTHANDS):
            say("forecasting: --all takes no NAME, -p, --source, --map, --stages or --date-format; "
                "put them under defaults (or a report's parameters) in the config")
            return 2
        results = run_schedule(args.config, args.as_of, args.out, force=args.force)
        say(f"{'id':<28} {'report':<24} {'status':<8} {'seconds':>8}  output")
        for r in results:
            where = r.html or r.notebook or "-"
            say(f"{r.id:<28} {r.name:<24} {r.status:<8} {r.seconds:>8.1f}  {where}"
                + (f"\n    {r.error}" if r.error else ""))
        return 1 if any(not r.ok for r in results) else 0
    if not args.name:
        say("forecasting: report run needs a NAME or --all (see `forecasting report list`)")
        return 2
    result = run_report(args.name, _parameters(args), args.out, force=args.force, progress=args.progress)
    if not result.ok:
        kept = " (the previous report in the folder is kept)" if result.notebook.name.endswith(".failed.ipynb") else ""
        say(f"report {args.name} FAILED: {result.error}\n  executed notebook: {result.notebook}{kept}")
        return 1
    say(f"report {args.name}: {result.html} ({result.seconds:.1f}s)")
    return 0
