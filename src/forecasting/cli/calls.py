"""``forecasting calls``: the weekly forecast call (roll-ups of the team's calls, their accuracy)."""

from __future__ import annotations

import argparse

from ._common import add_map_option, add_read_options, mapping_from, output_dir, parameters_of, read_options_from, say


def register(sub) -> None:
    calls = sub.add_parser(
        "calls", help="roll up the team's forecast calls; measure their accuracy by week of quarter",
        description="The weekly forecast call: each rep and manager submits a commit and best case for the "
        "period (table forecast_calls); managers' submissions override their team's roll-up (table team).",
    )
    cmds = calls.add_subparsers(dest="calls_command", metavar="SUBCOMMAND")
    ru = cmds.add_parser(
        "rollup", help="the call of every node of the hierarchy as of a date (rollup.csv)",
        description="Write rollup.csv (node, level, as_of, period, commit, best_case, override, note, manager, "
        "submitted_at, rolled_commit, rolled_best_case, override_commit, missing_calls) and run.json: each "
        "node's latest submission on or before --as-of, else the sum of its reports' calls.",
    )
    _tables(ru)
    ru.add_argument("--as-of", required=True, metavar="DATE", help="submissions on or before this day count")
    ru.add_argument("--period", help="period called, e.g. 2026Q3 (default: the quarter still open after --as-of)")
    ru.add_argument("--out", required=True, help="output folder")
    ru.set_defaults(func=_rollup)

    ac = cmds.add_parser(
        "accuracy", help="every forecast source's error by week of quarter on past periods (accuracy.csv)",
        description="For each past period called and each week of it, every source as it stood at the end of "
        "the week (each node's call, the weighted pipeline, the pipeline model's P50 at --model-weeks) against "
        "the revenue won. Writes accuracy.csv (source, person, period, week, forecast, actual, error, bias, "
        "ratio, as_of; error = |forecast - actual| / actual, bias = (forecast - actual) / actual), "
        "combined.csv (the calls and the model combined by their past accuracy at the same week, debiased by "
        "each rep's record, P10-P90; walk-forward), backtest.csv (mean error by week: each source of the "
        "total, combined, best_single, combined_wins), convergence.csv (mean error by week and source, for "
        "the total), convergence.png and run.json.",
    )
    _tables(ac)
    _deals(ac)
    ac.add_argument("--periods", help="past periods, e.g. 2025Q1:2025Q4 (default: every called period over by "
                    "the data's last record)")
    ac.add_argument("--model-method", choices=("historical", "learned", "default", "none"), default="historical",
                    help="pipeline model of the model source, or none (default: historical)")
    ac.add_argument("--model-weeks", type=int, nargs="+", default=[1, 5, 9, 13], metavar="W",
                    help="weeks of quarter at which the model is forecast (each costs one forecast; default 1 5 9 13)")
    ac.add_argument("--sims", type=int, default=1000, help="Monte Carlo simulations of the model (default 1000)")
    ac.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ac.add_argument("--out", required=True, help="output folder")
    ac.set_defaults(func=_accuracy)


def _tables(p: argparse.ArgumentParser) -> None:
    p.add_argument("--team", metavar="SRC", help="team SOURCE (owner, manager; file.duckdb reads table 'team')")
    p.add_argument("--calls", metavar="SRC",
                   help="forecast_calls SOURCE (owner, period, submitted_at, commit, best_case; file.duckdb reads "
                   "table 'forecast_calls')")
    p.add_argument("--source", metavar="SRC", help="one database holding the tables (e.g. crm.duckdb or demo): "
                   "the default of every table option")
    add_map_option(p)
    add_read_options(p)


def _deals(p: argparse.ArgumentParser) -> None:
    p.add_argument("--opportunities", metavar="SRC", help="opportunities SOURCE (default: --source)")
    p.add_argument("--stage-history", metavar="SRC",
                   help="stage_history SOURCE for exact as-of snapshots (default: --source when it has the table)")
    p.add_argument("--stages", metavar="YAML", help="stages YAML (open: [...] with probabilities, won, lost)")


def load_deals(args):
    """Validated opportunities, stage history (or None) and stages; ``--source`` fills the table options."""
    from ..data.io import list_tables
    from ._pipeline_inputs import load_inputs

    args.opportunities = _source_of(args, "opportunities")
    if not args.stage_history and args.source and "stage_history" in list_tables(args.source):
        args.stage_history = args.source
    return load_inputs(args)


def _source_of(args, option: str) -> str:
    from ..data.errors import DataError, problem

    given = getattr(args, option) or args.source
    if not given:
        raise DataError([problem(option, None, f"no source: pass --{option.replace('_', '-')} SRC or --source SRC")])
    return given


def load_team_calls(args):
    """The validated hierarchy and calls of ``--team`` / ``--calls`` (or ``--source``)."""
    from ..calls import check_calls, hierarchy
    from ..data import load_table

    options = read_options_from(args)
    mapping = mapping_from(args)
    team = hierarchy(load_table("team", _source_of(args, "team"), mapping, table="team", **options),
                     checked=True)
    raw = load_table("forecast_calls", _source_of(args, "calls"), mapping, table="forecast_calls", **options)
    return team, check_calls(raw, team)


def _rollup(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..calls import rollup
    from ..data import write_csv
    from ..pipeline.snapshot import resolve_period

    period = resolve_period(args.period or "", args.as_of)
    with output_dir(args.out, "calls rollup", parameters_of(args)) as (out, log):
        team, calls = load_team_calls(args)
        log.step("load")
        frame = rollup(team, calls, as_of=args.as_of, period=period, checked=True)
        log.outputs["rollup"] = str(write_csv(frame, out / "rollup.csv"))
        log.extra["period"] = period
    top = frame.iloc[0]
    if pd.isna(top["commit"]):
        say(f"calls rollup {period} as of {args.as_of}: no calls yet -> {out}")
        return 0
    say(f"calls rollup {period} as of {args.as_of}: {top['node']} commit {top['commit']:,.0f}, best case "
        f"{top['best_case']:,.0f} ({int(frame['override'].sum())} overrides, {int(top['missing_calls'])} reps "
        f"without a call) -> {out}")
    return 0


def _accuracy(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..calls.accuracy import call_accuracy, convergence, plot_convergence
    from ..calls.combine import combine, compare_sources
    from ..data import write_csv
    from ..pipeline import PipelineData, parse_periods

    with output_dir(args.out, "calls accuracy", parameters_of(args)) as (out, log):
        team, calls = load_team_calls(args)
        opportunities, history, stages = load_deals(args)
        data = PipelineData.build(opportunities, history, stages)
        log.step("load")
        periods = [str(p) for p in parse_periods(args.periods)] if args.periods else None
        method = None if args.model_method == "none" else args.model_method
        frame = call_accuracy(team, calls, periods=periods, model_method=method, model_weeks=args.model_weeks,
                              n_sims=args.sims, seed=args.seed, data=data)
        combined = combine(frame, team)
        backtest = compare_sources(frame, combined, team)
        log.step("accuracy")
        everything = pd.concat([frame, combined[frame.columns.intersection(combined.columns)]], ignore_index=True)
        table = convergence(everything)
        log.outputs["accuracy"] = str(write_csv(frame, out / "accuracy.csv"))
        log.outputs["combined"] = str(write_csv(combined, out / "combined.csv"))
        log.outputs["backtest"] = str(write_csv(backtest.reset_index(), out / "backtest.csv"))
        log.outputs["convergence"] = str(write_csv(table.reset_index(), out / "convergence.csv"))
        plot_convergence(everything, path=out / "convergence.png")
        log.outputs["figure"] = str(out / "convergence.png")
        log.extra["periods"] = sorted(frame["period"].unique().tolist())
        log.extra["exact_snapshot"] = data.exact
    say("mean absolute error by week of quarter (combined: walk-forward backtest, periods with 2+ past periods)")
    shown = backtest.drop(columns=[c for c in backtest.columns if c.startswith("combined_wins")])
    say(shown.map(lambda v: f"{v:.1%}" if v == v else "").to_string())
    say(f"combined <= best single source at {int(backtest['combined_wins'].sum())} of {len(backtest)} weeks; "
        f"<= every component (debiased calls too) at {int(backtest['combined_wins_all'].sum())}")
    say(f"calls accuracy: {frame['period'].nunique()} periods, {len(frame)} forecasts -> {out}")
    return 0

