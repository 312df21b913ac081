"""``forecasting kpis``: the glossary's sales KPIs per period and group, with the funnel,
activity and attribution reports (kpis.csv, funnel.csv, activity.csv, attribution.csv)."""

from __future__ import annotations

import argparse

from ._common import add_map_option, add_read_options, mapping_from, output_dir, parameters_of, read_options_from, say

# Tables read through the canonical schema (validated, renamed by --map) and side tables read as they are.
_CANONICAL = ("opportunities", "stage_history", "leads", "activities", "team", "targets", "survey")
_SIDE = ("spend", "quotas", "accounts")
_OUTPUTS = ("kpis", "funnel", "activity", "attribution")


def register(sub) -> None:
    p = sub.add_parser(
        "kpis", help="sales KPIs per period and group, funnel, activity and attribution tables",
        description="Compute the sales glossary's KPIs (docs/kpis.md) per period (D, W, M, Q, Y), in total "
        "and per group (--by owner, team, territory, segment or a combination), and write kpis.csv, "
        "funnel.csv (lead -> opportunity -> stages -> won per cohort), activity.csv (activities per rep "
        "and period against targets) and attribution.csv to --out, all as of --as-of.",
    )
    p.add_argument("--source", metavar="SRC", help="a database (path.duckdb, SQLAlchemy URL or demo): every "
                   f"table found in it named {', '.join(_CANONICAL + _SIDE)} is used")
    p.add_argument("--opportunities", metavar="SRC", help="opportunities SOURCE (required without --source)")
    p.add_argument("--stage-history", metavar="SRC", help="stage_history SOURCE (funnel stage dates)")
    p.add_argument("--leads", metavar="SRC", help="leads SOURCE (conversion, response time, funnel, attribution)")
    p.add_argument("--activities", metavar="SRC", help="activities SOURCE (activity KPIs, response time)")
    p.add_argument("--team", metavar="SRC", help="team SOURCE: owner, manager, team, territory (--by team)")
    p.add_argument("--targets", metavar="SRC", help="targets SOURCE: owner, type, freq (D/W/M), target")
    p.add_argument("--survey", metavar="SRC", help="survey SOURCE: respondent_id, answered_at, score, kind (NPS)")
    p.add_argument("--spend", metavar="SRC", help="spend SOURCE: month, amount, optional owner/segment (CAC)")
    p.add_argument("--quotas", metavar="SRC", help="quotas SOURCE: period, owner, quota (coverage, attainment)")
    p.add_argument("--accounts", metavar="SRC", help="accounts SOURCE: account_id, customer_since, churned_at")
    p.add_argument("--stages", metavar="YAML", help="stages YAML of your funnel (open: [...] with probabilities, "
                   "won, lost); default Prospecting..Negotiation, Closed Won, Closed Lost")
    p.add_argument("--by", metavar="COLS", help="also break down by these columns, comma-separated "
                   "(owner, segment, team, territory, product, owner,segment ...)")
    p.add_argument("--freq", type=str.upper, choices=("D", "W", "M", "Q", "Y"), default="Q",
                   help="period length: day, week, month, quarter, year (default Q)")
    p.add_argument("--tables", default=None, metavar="LIST", help="outputs to write, comma-separated, from "
                   f"{','.join(_OUTPUTS)} (default: kpis and every other one its tables allow)")
    p.add_argument("--attribution-by", default="source", metavar="COL",
                   help="lead column credited by first-touch attribution (default source)")
    p.add_argument("--touch", choices=("first", "last"), default="first", help="attribution model (default first)")
    p.add_argument("--target", type=float, help="pipeline target per period when there are no quotas")
    p.add_argument("--commission-rate", type=float, help="commission on won revenue, e.g. 0.15 (adds commission)")
    p.add_argument("--as-of", help="count only what was known by this date (default: the data's last event)")
    add_map_option(p)
    add_read_options(p)
    p.add_argument("--out", required=True, help="output folder for the CSV files and run.json")
    p.set_defaults(func=_kpis)


def _sources(args: argparse.Namespace) -> dict[str, str | None]:
    """The SOURCE of each table: its own flag, else the table of that name in --source."""
    from ..data.embedded import resolve_source
    from ..data.errors import DataError, problem
    from ..data.io import list_tables

    found = {}
    if args.source:
        database = resolve_source(args.source)
        found = {name: f"{database}:{name}" for name in list_tables(database) if name in _CANONICAL + _SIDE}
    sources = {name: getattr(args, name) or found.get(name) for name in _CANONICAL + _SIDE}
    if sources["opportunities"] is None:
        raise DataError([problem("opportunities", None, "is needed: pass --opportunities SRC or a --source "
                                 "database with an opportunities table")])
    return sources


def _wanted(args: argparse.Namespace, tables: dict) -> list[str]:
    """The outputs to write: those asked for (refused when a table they need is missing), or by
    default kpis and every report whose tables are there."""
    from ..data.errors import DataError, problem

    needs = {"activity": "activities", "attribution": "leads"}
    if args.tables is None:
        wanted = [name for name in _OUTPUTS if tables.get(needs.get(name, "opportunities")) is not None]
        touched = tables["activities"] is not None and "lead_id" in tables["activities"].columns
        if "attribution" in wanted and not (args.attribution_by in tables["leads"].columns if args.touch == "first"
                                            else touched):
            wanted.remove("attribution")  # asked for by default only: say nothing, write what can be
        return wanted
    asked = [t.strip() for t in args.tables.split(",") if t.strip()]
    unknown = [t for t in asked if t not in _OUTPUTS]
    if unknown:
        raise DataError([problem("--tables", None, f"has {unknown[0]!r}; choose from {', '.join(_OUTPUTS)}")])
    missing = [t for t in asked if tables.get(needs.get(t, "opportunities")) is None]
    if missing:
        kind = needs[missing[0]]
        raise DataError([problem(kind, None, f"is needed for {missing[0]}.csv: pass --{kind} SRC (or a --source "
                                 f"database with a {kind} table), or leave {missing[0]} out of --tables")])
    return asked


def _kpis(args: argparse.Namespace) -> int:
    from ..data import Stages, load_table, read_source, write_csv
    from ..metrics import activity_report, kpi_table, lead_attribution
    from ..metrics.funnel import funnel_table

    mapping = mapping_from(args)
    with output_dir(args.out, "kpis", parameters_of(args)) as (out, log):
        stages = Stages.from_config(args.stages) if args.stages else Stages()
        sources = _sources(args)
        tables = {name: None if sources[name] is None else
                  load_table(name, sources[name], mapping, **({"stages": stages} if name == "opportunities" else {}),
                             **read_options_from(args))
                  for name in _CANONICAL}
        tables.update({name: None if sources[name] is None else read_source(sources[name], kind=name)
                       for name in _SIDE})
        wanted = _wanted(args, tables)
        log.step("load")
        opps, leads, activities = tables["opportunities"], tables["leads"], tables["activities"]
        results = {}
        if "kpis" in wanted:
            results["kpis"] = kpi_table(
                opps, leads, activities, freq=args.freq, by=args.by, target=args.target, as_of=args.as_of,
                commission_rate=args.commission_rate,
                **{name: tables[name] for name in ("spend", "quotas", "accounts", "team", "targets", "survey")})
        if "funnel" in wanted:
            results["funnel"] = funnel_table(opps, tables["stage_history"], leads, stages=stages, freq=args.freq,
                                             as_of=args.as_of)
        if "activity" in wanted:
            results["activity"] = activity_report(activities, freq=args.freq, by="owner", targets=tables["targets"],
                                                  as_of=args.as_of)
        if "attribution" in wanted:
            results["attribution"] = lead_attribution(leads, activities, opps if "lead_id" in opps.columns else None,
                                                      by=args.attribution_by, touch=args.touch, as_of=args.as_of)
        log.step("compute")
        for name, table in results.items():
            log.outputs[name] = str(write_csv(table, out / f"{name}.csv"))
    say("kpis: " + ", ".join(f"{name}.csv ({len(t)} rows)" for name, t in results.items()) + f" -> {out}")
    return 0
