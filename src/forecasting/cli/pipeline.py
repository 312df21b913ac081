"""``forecasting pipeline``: weighted / Monte Carlo pipeline forecasts and their backtests."""

from __future__ import annotations

import argparse

from ._common import output_dir, parameters_of, say
from ._pipeline_inputs import add_inputs, load_inputs

_METHODS = ("learned", "historical", "default")


def register(sub) -> None:
    pipeline = sub.add_parser(
        "pipeline", help="forecast a period from the open pipeline; backtest the forecast",
        description="Forecast the revenue won in a period from the pipeline as it stood on a date "
        "(closed won so far + open deals x win probability + deals not yet created), with "
        "Monte Carlo P10/P50/P90, and backtest the methods on past periods.",
    )
    cmds = pipeline.add_subparsers(dest="pipeline_command", metavar="SUBCOMMAND")

    fc = cmds.add_parser(
        "forecast", help="forecast one period as of a date (forecast.csv, deals.csv, health.csv)",
        description="Write forecast.csv (period, group, closed_won, open_pipeline, weighted, p10, p50, "
        "p90, method, ...; group 'all' is the total), deals.csv (the open deals as of the date with "
        "win probability, expected value and forecast category), health.csv (pipeline health KPIs) "
        "and run.json to --out. Without --stage-history the as-of snapshot is approximate. With no deal "
        "open at the date, the forecast is the closed won so far plus the run-rate of deals not yet "
        "created (with a warning).",
    )
    add_inputs(fc)
    fc.add_argument("--as-of", required=True, metavar="DATE",
                    help="forecast date (inclusive), e.g. 2026-06-30: not before the first deal, at most one "
                    "period after the data's last record")
    fc.add_argument("--period", required=True, help="period to forecast, e.g. 2026Q3 or 2026-07")
    fc.add_argument("--method", choices=_METHODS, default="learned",
                    help="open-deal probability: learned model, historical stage rates or default "
                    "stage weights (default: learned)")
    fc.add_argument("--by", choices=("owner", "segment"), help="also forecast per owner or segment")
    goal = fc.add_mutually_exclusive_group()
    goal.add_argument("--target", type=float, metavar="AMOUNT", help="period target: adds pipeline coverage")
    goal.add_argument("--quotas", metavar="SRC", help="quotas SOURCE (period, owner, quota): the target is the "
                      "period's quotas summed (file.duckdb reads table 'quotas')")
    _ranges(fc)
    fc.add_argument("--sims", type=int, default=10_000, help="Monte Carlo simulations (default 10000)")
    fc.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    fc.add_argument("--out", required=True, help="output folder")
    fc.set_defaults(func=_forecast)

    bt = cmds.add_parser(
        "backtest", help="forecast past periods as of their first day; compare with actuals",
        description="For each period, forecast as of its first day with each method using only data "
        "known then, and compare with the revenue actually won. Writes backtest.csv (period, method, "
        "actual, p10, p50, p90, ...), metrics.csv (method, wape, bias, coverage_80, width_80), "
        "backtest.png and run.json to --out.",
    )
    add_inputs(bt)
    bt.add_argument("--periods", required=True,
                    help="inclusive range like 2024Q1:2025Q4, within the data (after the first deal, "
                    "starting by the last record)")
    bt.add_argument("--methods", nargs="+", choices=_METHODS, default=list(_METHODS),
                    help="methods to compare (default: all)")
    _ranges(bt)
    bt.add_argument("--sims", type=int, default=2000, help="Monte Carlo simulations per forecast (default 2000)")
    bt.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    bt.add_argument("--out", required=True, help="output folder")
    bt.set_defaults(func=_backtest)

    from .pipeline_call import register as register_call  # waterfall, risk, scenario
    register_call(cmds, add_inputs)


def _ranges(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ranges", choices=("calibrated", "independent"), default="calibrated",
                   help="P10-P90: 'calibrated' widens the deal-by-deal Monte Carlo by the method's own backtest "
                   "errors on the periods before the date (a period-wide shock; assumed, with a warning, with "
                   "under 3 such periods); 'independent' treats deals as independent (too narrow on real "
                   "pipelines) (default: calibrated)")
    p.add_argument("--range-periods", type=int, default=8, metavar="N",
                   help="past periods backtested for the calibrated range (default 8)")


_APPROXIMATE = ("no --stage-history: as-of snapshots are approximate (deals closed after a date show as open in "
                "the first stage with an estimated close date), so past forecasts, learned and historical "
                "probabilities are biased; the calibrated range absorbs the errors this caused in the backtest")


def _range_log(row) -> dict:
    """What run.json says about how the total's P10-P90 was made."""
    return {"range_method": str(row["range_method"]), "range_shock": round(float(row["range_shock"]), 4),
            "range_shift": round(float(row.get("range_shift", 0.0)), 4), "range_periods": int(row["range_periods"])}


def _quota_target(source: str, period: str) -> float:
    from ..data import read_source
    from ..pipeline import period_target

    return period_target(read_source(source, kind="quotas"), period)


def _forecast(args: argparse.Namespace) -> int:
    from ..data import write_csv
    from ..pipeline import PipelineData, forecast_period
    from ..pipeline.health import pipeline_health

    with output_dir(args.out, "pipeline forecast", parameters_of(args)) as (out, log):
        opportunities, history, stages = load_inputs(args)
        data = PipelineData.build(opportunities, history, stages)
        target = args.target if args.quotas is None else _quota_target(args.quotas, args.period)
        log.step("load")
        forecast, deals = forecast_period(as_of=args.as_of, period=args.period, method=args.method, by=args.by,
                                          n_sims=args.sims, seed=args.seed, target=target, ranges=args.ranges,
                                          range_periods=args.range_periods, data=data)
        log.step("forecast")
        health = pipeline_health(as_of=args.as_of, period=args.period, target=target, data=data)
        log.step("health")
        log.outputs["forecast"] = str(write_csv(forecast, out / "forecast.csv"))
        log.outputs["deals"] = str(write_csv(deals, out / "deals.csv"))
        log.outputs["health"] = str(write_csv(health, out / "health.csv"))
        log.extra["exact_snapshot"] = data.exact
        log.extra.update(_range_log(forecast.iloc[0]))
    total = forecast[forecast["group"] == "all"].iloc[0]
    if not data.exact:
        say(f"NOTE: {_APPROXIMATE}")
    say(f"P10-P90: {total['range_method']}")
    say(f"pipeline forecast {args.period} as of {args.as_of} ({total['probabilities']}): "
        f"closed won {total['closed_won']:,.0f}, "
        f"P10 {total['p10']:,.0f} / P50 {total['p50']:,.0f} / P90 {total['p90']:,.0f} -> {out}")
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from ..data import write_csv
    from ..pipeline import PipelineData, backtest, plot_backtest

    with output_dir(args.out, "pipeline backtest", parameters_of(args)) as (out, log):
        opportunities, history, stages = load_inputs(args)
        data = PipelineData.build(opportunities, history, stages)
        log.step("load")
        frame, metrics = backtest(periods=args.periods, methods=args.methods, n_sims=args.sims,
                                  seed=args.seed, ranges=args.ranges, range_periods=args.range_periods, data=data)
        log.step("backtest")
        log.outputs["backtest"] = str(write_csv(frame, out / "backtest.csv"))
        log.outputs["metrics"] = str(write_csv(metrics, out / "metrics.csv"))
        plot_backtest(frame, out / "backtest.png")
        log.outputs["figure"] = str(out / "backtest.png")
        log.step("write")
        log.extra["exact_snapshot"] = data.exact
        log.extra["ranges"] = args.ranges
        log.extra["range_shock"] = {f"{r.period} {r.method}": round(float(r.range_shock), 4)
                                    for r in frame.itertuples()}
    if not data.exact:
        say(f"NOTE: {_APPROXIMATE}")
    for row in metrics.itertuples():
        say(f"  {row.method:<10} WAPE {row.wape:.3f}  bias {row.bias:+.3f}  P10-P90 coverage {row.coverage_80:.2f}")
    say(f"pipeline backtest: {len(frame)} forecasts -> {out}")
    return 0
