"""``forecasting pipeline waterfall|risk|scenario``: the weekly forecast call's pipeline views."""

from __future__ import annotations

import argparse

from ._common import output_dir, parameters_of, say


def register(cmds, inputs) -> None:
    """Add the forecast-call subcommands to ``forecasting pipeline`` (``inputs`` adds the table options)."""
    wf = cmds.add_parser(
        "waterfall", help="how the period's open pipeline moved between two dates (waterfall.csv)",
        description="Write waterfall.csv (group, from, to, bucket, amount, deals, period, snapshot): open at "
        "start, + created, + pulled in / pushed in / reopened, - pushed out / pulled out, +/- amount changes, "
        "- won, - lost, = open at end, reconciled to the cent, for the deals expected to close in --period; "
        "categories.csv (from_category, to_category, deals, amount): moves between forecast categories; "
        "waterfall.png and run.json. Without --stage-history the snapshots are approximate.",
    )
    inputs(wf)
    wf.add_argument("--from", dest="from_date", required=True, metavar="DATE", help="first as-of date, e.g. 2026-06-01")
    wf.add_argument("--to", dest="to_date", required=True, metavar="DATE", help="second as-of date (on or after --from)")
    wf.add_argument("--period", help="target period, e.g. 2026Q3 (default: the quarter containing --to)")
    wf.add_argument("--by", help="also one waterfall per value of this deal column (owner, segment...)")
    wf.add_argument("--out", required=True, help="output folder")
    wf.set_defaults(func=_waterfall)

    rk = cmds.add_parser(
        "risk", help="risk flags of the open deals due in a period, by value at risk (risk.csv)",
        description="Write risk.csv (opportunity_id, flag_pushed, flag_stalled, flag_overdue, flag_inactive, "
        "flag_amount_changed, flag_regressed, expected_value, value_at_risk, owner, ...; value at risk = "
        "expected value of flagged deals, largest first) and run.json, for the open deals expected to close "
        "in --period as of --as-of. Push, amount-change and regression signals need --stage-history; "
        "inactivity needs --activities.",
    )
    inputs(rk)
    rk.add_argument("--activities", metavar="SRC", help="activities SOURCE with opportunity_id (days since "
                    "the last activity)")
    rk.add_argument("--as-of", required=True, metavar="DATE", help="snapshot date (inclusive)")
    rk.add_argument("--period", help="period whose deals are listed (default: the quarter open after --as-of)")
    rk.add_argument("--stalled-ratio", type=float, default=2.0, metavar="X",
                    help="flag deals in their stage over X times the median of their stage and segment (default 2)")
    rk.add_argument("--inactive-days", type=float, default=30.0, metavar="DAYS",
                    help="flag deals without an activity for longer (default 30)")
    rk.add_argument("--out", required=True, help="output folder")
    rk.set_defaults(func=_risk)

    sc = cmds.add_parser(
        "scenario", help="bear / base / bull re-simulations of a period's forecast; what it takes (scenarios.csv)",
        description="Forecast --period as of --as-of, then re-simulate it under bear (win rate x0.8, 20%% "
        "slippage, new pipeline x0.8, deal size x0.95), base and bull (x1.2, no slippage, x1.2, x1.05) "
        "assumptions, plus a custom scenario from --win-rate/--slippage/--new-pipeline/--deal-size. Writes "
        "scenarios.csv (scenario, p10, p50, p90, mean, [prob_target], assumptions), with --target "
        "what_it_takes.csv (extra pipeline or win-rate factor to reach the target with --probability), and "
        "run.json.",
    )
    inputs(sc)
    sc.add_argument("--as-of", required=True, metavar="DATE", help="forecast date (inclusive)")
    sc.add_argument("--period", help="period to forecast (default: the quarter open after --as-of)")
    sc.add_argument("--method", choices=("learned", "historical", "default"), default="historical",
                    help="open-deal probability of the forecast (default: historical)")
    sc.add_argument("--target", type=float, metavar="AMOUNT", help="period target: probability of reaching it, "
                    "and what it takes")
    sc.add_argument("--probability", type=float, default=0.8, metavar="Q",
                    help="confidence wanted for what it takes (default 0.8)")
    custom = sc.add_argument_group("custom scenario (any of these adds one named 'custom')")
    custom.add_argument("--win-rate", type=float, metavar="K", help="win probabilities x K")
    custom.add_argument("--slippage", type=float, metavar="S", help="share of would-be wins slipping out (0..1)")
    custom.add_argument("--new-pipeline", type=float, metavar="K", help="new-pipeline creation x K")
    custom.add_argument("--deal-size", type=float, metavar="K", help="deal amounts x K")
    sc.add_argument("--sims", type=int, default=5000, help="simulations (default 5000)")
    sc.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sc.add_argument("--out", required=True, help="output folder")
    sc.set_defaults(func=_scenario)


def _waterfall(args: argparse.Namespace) -> int:
    from ..data import write_csv
    from ..pipeline import PipelineData
    from ..pipeline.waterfall import category_moves, plot_waterfall, waterfall
    from ._pipeline_inputs import load_inputs

    with output_dir(args.out, "pipeline waterfall", parameters_of(args)) as (out, log):
        opportunities, history, stages = load_inputs(args)
        _check_by(opportunities, args.by)
        data = PipelineData.build(opportunities, history, stages)
        log.step("load")
        frame = waterfall(from_date=args.from_date, to_date=args.to_date, period=args.period, by=args.by, data=data)
        moves = category_moves(from_date=args.from_date, to_date=args.to_date, period=args.period, data=data)
        log.step("waterfall")
        log.outputs["waterfall"] = str(write_csv(frame, out / "waterfall.csv"))
        log.outputs["categories"] = str(write_csv(moves, out / "categories.csv"))
        plot_waterfall(frame, path=out / "waterfall.png")
        log.outputs["figure"] = str(out / "waterfall.png")
        log.extra["exact_snapshot"] = data.exact
        log.extra["period"] = str(frame["period"].iloc[0])
    total = frame[frame["group"] == "all"].set_index("bucket")["amount"]
    say(f"pipeline waterfall {frame['period'].iloc[0]} {args.from_date} -> {args.to_date}: open "
        f"{total['open at start']:,.0f} -> {total['open at end']:,.0f} ({'exact' if data.exact else 'approximate'})"
        f" -> {out}")
    return 0


def _risk(args: argparse.Namespace) -> int:
    from ..data import load_table, write_csv
    from ..pipeline import PipelineData
    from ..pipeline.risk import deal_risk
    from ..pipeline.snapshot import resolve_period
    from ._common import mapping_from, read_options_from
    from ._pipeline_inputs import load_inputs

    period = resolve_period(args.period or "", args.as_of)
    with output_dir(args.out, "pipeline risk", parameters_of(args)) as (out, log):
        opportunities, history, stages = load_inputs(args)
        activities = None
        if args.activities:
            activities = load_table("activities", args.activities, mapping_from(args), **read_options_from(args))
        data = PipelineData.build(opportunities, history, stages)
        log.step("load")
        frame = deal_risk(as_of=args.as_of, period=period, activities=activities, stalled_ratio=args.stalled_ratio,
                          inactive_days=args.inactive_days, data=data)
        log.outputs["risk"] = str(write_csv(frame, out / "risk.csv"))
        log.extra.update(period=period, exact_snapshot=data.exact)
    flagged = frame[frame["flags"] > 0]
    say(f"pipeline risk {period} as of {args.as_of}: {len(flagged)} of {len(frame)} deals flagged, value at risk "
        f"{frame['value_at_risk'].sum():,.0f} of expected {frame['expected_value'].sum():,.0f} -> {out}")
    return 0


def _custom(args: argparse.Namespace):
    from ..pipeline.scenario import Scenario

    given = {k: getattr(args, k) for k in ("win_rate", "slippage", "new_pipeline", "deal_size")
             if getattr(args, k) is not None}
    return [Scenario("custom", **given)] if given else []


def _scenario(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..data import write_csv
    from ..pipeline import PipelineData, forecast_period
    from ..pipeline.scenario import SCENARIOS, simulate_scenarios, what_it_takes
    from ..pipeline.snapshot import resolve_period
    from ._pipeline_inputs import load_inputs

    period = resolve_period(args.period or "", args.as_of)
    with output_dir(args.out, "pipeline scenario", parameters_of(args)) as (out, log):
        opportunities, history, stages = load_inputs(args)
        data = PipelineData.build(opportunities, history, stages)
        log.step("load")
        forecast, deals = forecast_period(as_of=args.as_of, period=period, method=args.method, n_sims=2000,
                                          seed=args.seed, data=data)
        log.step("forecast")
        frame = simulate_scenarios(forecast, deals, [*SCENARIOS, *_custom(args)], target=args.target,
                                   n_sims=args.sims, seed=args.seed)
        log.outputs["scenarios"] = str(write_csv(frame, out / "scenarios.csv"))
        if args.target is not None:
            takes = what_it_takes(forecast, deals, target=args.target, probability=args.probability,
                                  n_sims=args.sims, seed=args.seed)
            log.outputs["what_it_takes"] = str(write_csv(pd.DataFrame([takes]), out / "what_it_takes.csv"))
            log.extra["what_it_takes"] = takes
        log.step("scenarios")
        log.extra.update(period=period, exact_snapshot=data.exact)
    for row in frame.itertuples():
        say(f"  {row.scenario:<8} P10 {row.p10:,.0f}  P50 {row.p50:,.0f}  P90 {row.p90:,.0f}")
    if args.target is not None:
        factor = takes["win_rate_factor"]
        rates = f"win rates x{factor:.2f}" if factor == factor else "not reachable by win rates alone"
        say(f"to reach {args.target:,.0f} with {args.probability:.0%} probability (now {takes['current_probability']:.0%})"
            f": +{takes['extra_pipeline']:,.0f} pipeline, or {rates}")
    say(f"pipeline scenario {period} as of {args.as_of} -> {out}")
    return 0


def _check_by(opportunities, by: str | None) -> None:
    from ..data.errors import DataError, problem

    if by is not None and by not in opportunities.columns:
        raise DataError([problem("opportunities", by, f"is not a column (--by {by}); columns are "
                                 f"{', '.join(map(str, opportunities.columns))}")])
