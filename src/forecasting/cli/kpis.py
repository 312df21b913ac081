"""``forecasting kpis``: the glossary's sales KPIs per period (and owner or segment)."""

from __future__ import annotations

import argparse

from ._common import add_map_option, add_read_options, mapping_from, output_dir, parameters_of, read_options_from, say


def register(sub) -> None:
    p = sub.add_parser(
        "kpis", help="sales KPIs per period (win rate, close ratio, coverage, velocity...)",
        description="Compute the sales glossary's KPIs per period, in total and optionally per owner "
        "or segment, and write kpis.csv (period, group, win_rate, close_ratio, deals_won, deals_lost, "
        "revenue_won, avg_deal_size, sales_cycle_days, pipeline_created, pipeline_coverage, "
        "pipeline_velocity, conversion_rate, ...) and run.json to --out.",
    )
    p.add_argument("--opportunities", required=True, metavar="SRC", help="opportunities SOURCE")
    p.add_argument("--leads", metavar="SRC", help="leads SOURCE (conversion rate, response time)")
    p.add_argument("--activities", metavar="SRC", help="activities SOURCE (activities, response time)")
    p.add_argument("--spend", metavar="SRC", help="spend SOURCE: month, source, amount (CAC)")
    p.add_argument("--quotas", metavar="SRC", help="quotas SOURCE: period, owner, quota (coverage, attainment)")
    p.add_argument("--accounts", metavar="SRC", help="accounts SOURCE: account_id, customer_since, churned_at (churn)")
    p.add_argument("--stages", metavar="YAML", help="stages YAML of your funnel (open: [...] with probabilities, "
                   "won, lost); default Prospecting..Negotiation, Closed Won, Closed Lost")
    p.add_argument("--by", choices=("owner", "segment"), help="also break down by owner or segment")
    p.add_argument("--freq", choices=("M", "Q", "Y"), default="Q", help="period length (default Q)")
    p.add_argument("--target", type=float, help="pipeline target per period when there are no quotas")
    p.add_argument("--commission-rate", type=float, help="commission on won revenue, e.g. 0.15 (adds commission)")
    p.add_argument("--as-of", help="count only what was known by this date (default: the data's last event)")
    add_map_option(p)
    add_read_options(p)
    p.add_argument("--out", required=True, help="output folder for kpis.csv and run.json")
    p.set_defaults(func=_kpis)


def _raw(source, kind):
    """Extra (non-canonical) tables: read as they are, dates parsed by the metrics."""
    from ..data import read_source

    return None if source is None else read_source(source, kind=kind)


def _kpis(args: argparse.Namespace) -> int:
    from ..data import Stages, load_table, write_csv
    from ..metrics import kpi_table

    mapping = mapping_from(args)
    with output_dir(args.out, "kpis", parameters_of(args)) as (out, log):
        stages = Stages.from_config(args.stages) if args.stages else Stages()
        opportunities = load_table("opportunities", args.opportunities, mapping, stages=stages,
                                   **read_options_from(args))
        leads = load_table("leads", args.leads, mapping, **read_options_from(args)) if args.leads else None
        activities = (load_table("activities", args.activities, mapping, **read_options_from(args))
                      if args.activities else None)
        extras = {name: _raw(getattr(args, name), name) for name in ("spend", "quotas", "accounts")}
        log.step("load")
        table = kpi_table(opportunities, leads, activities, freq=args.freq, by=args.by,
                          target=args.target, as_of=args.as_of,
                          commission_rate=args.commission_rate, **extras)
        log.step("compute")
        log.outputs["kpis"] = str(write_csv(table, out / "kpis.csv"))
    say(f"kpis: {len(table)} rows -> {out / 'kpis.csv'}")
    return 0
