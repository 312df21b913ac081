"""``forecasting revenue``: time-series revenue forecasts and rolling-origin backtests."""

from __future__ import annotations

import argparse
import contextlib

from ._common import (add_engine_option, add_map_option, add_read_options, engine_from, mapping_from, output_dir,
                      parameters_of, read_options_from, say)

# One place for the defaults of the CLI, the API and the report (a module without imports: --help stays fast).
from ..defaults import REVENUE_FOLDS as DEFAULT_FOLDS
from ..defaults import REVENUE_HORIZON as DEFAULT_HORIZON
from ..defaults import REVENUE_MODEL as DEFAULT_MODEL
from ..defaults import REVENUE_MODELS as DEFAULT_MODELS

_MODELS = "naive, seasonal_naive, drift, ets, arima, theta, ensemble"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SOURCE",
                   help="revenue SOURCE: date, amount, optional segment (one series per segment)")
    p.add_argument("--horizon", type=int, default=DEFAULT_HORIZON,
                   help=f"periods to forecast (default {DEFAULT_HORIZON})")
    p.add_argument("--outliers", choices=("adjust", "keep"), default="adjust",
                   help="outlier periods (a month keyed x100): fit on a copy with them replaced by their "
                   "expected value (adjust, the default) or as they are (keep); either way they are "
                   "reported by date in outliers.csv and run.json")
    p.add_argument("--level", type=float, nargs="+", default=[80, 95], help="interval levels (default 80 95)")
    p.add_argument("--season-length", type=int, help="season length (default: 12 monthly, 4 quarterly, 52 weekly)")
    p.add_argument("--fill-gaps", choices=("zero", "interpolate"),
                   help="fill missing periods instead of refusing the table")
    p.add_argument("--jobs", type=int, default=1, help="worker processes for many series (default 1; -1 all cores)")
    add_engine_option(p)
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_map_option(p)
    add_read_options(p)
    p.add_argument("--out", required=True, help="output folder")


def register(sub) -> None:
    revenue = sub.add_parser("revenue", help="time-series revenue forecasts (ETS, ARIMA, Theta, baselines)",
                             description="Forecast revenue per segment and in total; backtest the models.")
    cmds = revenue.add_subparsers(dest="revenue_command", metavar="SUBCOMMAND")

    fc = cmds.add_parser(
        "forecast", help="forecast every series and their total",
        description="Fit the model to every series (one per segment) and their total, and write "
        "forecast.csv (series, date, mean, lo_80, hi_80, lo_95, hi_95, model; the total series is "
        "'total', bottom-up coherent with the segments; plus flag and outliers), outliers.csv (series, "
        "date, value, expected, score), fan_chart.png (history and forecast per series) and run.json "
        "to --out. --model auto runs a backtest first and uses the most accurate model (by MASE).",
    )
    _common(fc)
    fc.add_argument("--model", default=DEFAULT_MODEL, help=f"model: {_MODELS} or auto (default {DEFAULT_MODEL})")
    fc.add_argument("--folds", type=int, default=DEFAULT_FOLDS,
                    help=f"backtest folds for --model auto (default {DEFAULT_FOLDS})")
    fc.set_defaults(func=_forecast)

    bt = cmds.add_parser(
        "backtest", help="rolling-origin backtest of the models",
        description="Refit each model at --folds forecast origins (expanding window) and score the "
        "forecasts against what happened: metrics.csv (model, mase, smape, wape, coverage_80, "
        "coverage_95, bias, width_80, width_95; best MASE first), metrics_by_series.csv, cv.csv "
        "(forecasts next to actuals), outliers.csv (the outlier periods by date: not scored), "
        "backtest.png and run.json to --out.",
    )
    _common(bt)
    bt.add_argument("--folds", type=int, default=DEFAULT_FOLDS, help=f"forecast origins (default {DEFAULT_FOLDS})")
    bt.add_argument("--models", default=",".join(DEFAULT_MODELS),
                    help=f"comma-separated models to compare (from {_MODELS})")
    bt.set_defaults(func=_backtest)

    bl = cmds.add_parser(
        "blend", help="blend the pipeline forecast with the time-series forecast of bookings",
        description="Forecast a period with the pipeline (as in `pipeline forecast`) and with a time-series "
        "model of the monthly bookings (revenue won), backtest both on past periods (as of each period's "
        "first day) and blend them with weights from their backtest errors. Writes blend.csv (period, "
        "method: pipeline/time_series/blend, p10, p50, p90, weight), blend_backtest.csv (the blend "
        "replayed on the past periods with weights from earlier periods only), blend_metrics.csv "
        "(method, wape, bias, coverage_80, ...: does the blend beat both?), blend.png and run.json to --out.",
    )
    _blend_options(bl)
    bl.set_defaults(func=_blend)


def _load(args):
    from ..revenue import load_revenue

    return load_revenue(args.source, mapping_from(args), season_length=args.season_length, fill_gaps=args.fill_gaps,
                        **read_options_from(args))


def _options(args) -> dict:
    return dict(level=tuple(args.level), season_length=args.season_length, n_jobs=args.jobs,
                seed=args.seed, fill_gaps=args.fill_gaps or "zero", outliers=args.outliers, **engine_from(args))


def _record_outliers(log, out, found) -> None:
    """outliers.csv, and the outlier dates per series in run.json."""
    from ..data import write_csv

    log.outputs["outliers"] = str(write_csv(found, out / "outliers.csv"))
    log.extra["outliers"] = {str(key): [f"{d:%Y-%m-%d}" for d in part["date"]]
                             for key, part in found.groupby("series", sort=True)}


def _save_figure(fig, path, log, name: str) -> None:
    """Write a figure as PNG (atomically), record it in run.json and free its memory."""
    import matplotlib.pyplot as plt

    from .._figures import save_figure

    save_figure(fig, path)
    plt.close(fig)
    log.outputs[name] = str(path)


@contextlib.contextmanager
def _one_cluster(args: argparse.Namespace):
    """With ``--model auto --engine dask``, the backtest and the forecast share one cluster."""
    if args.engine != "dask" or args.model != "auto":
        yield
        return
    from ..engine import dask_client

    with dask_client(args.scheduler) as client:
        args.scheduler = client
        yield


def _forecast(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..data import write_csv
    from ..revenue import run_forecast
    from ..revenue.plots import fan_charts

    with output_dir(args.out, "revenue forecast", parameters_of(args)) as (out, log), _one_cluster(args):
        revenue = _load(args)
        log.step("load")
        run = run_forecast(revenue, args.horizon, args.model, backtest=args.model == "auto", folds=args.folds,
                           **_options(args))
        if args.model == "auto":
            log.extra["selected_model"] = run.model
            say(f"revenue forecast: backtest picked {run.model}")
        log.step("forecast")
        table = run.forecast
        log.outputs["forecast"] = str(write_csv(table, out / "forecast.csv"))
        _record_outliers(log, out, run.outliers)
        log.extra["flags"] = {str(k): f for k, f in table.drop_duplicates("series")[["series", "flag"]].values
                              if f != "ok"}
        log.extra["summary"] = run.summary
        _save_figure(fan_charts(table, revenue), out / "fan_chart.png", log, "fan_chart")
    say(f"revenue forecast: {table['series'].nunique()} series x {args.horizon} periods ({run.model}) -> {out}")
    return 0


def _backtest(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..data import write_csv
    from ..revenue import backtest, backtest_metrics, outlier_table
    from ..revenue.plots import backtest_chart

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    with output_dir(args.out, "revenue backtest", parameters_of(args)) as (out, log):
        revenue = _load(args)
        log.step("load")
        cv = backtest(revenue, args.horizon, folds=args.folds, models=models, **_options(args))
        log.step("backtest")
        found = outlier_table(revenue, args.season_length, args.fill_gaps or "zero")
        _record_outliers(log, out, found)
        metrics = backtest_metrics(cv).sort_values("mase", kind="stable")
        log.outputs["metrics"] = str(write_csv(metrics, out / "metrics.csv"))
        log.outputs["metrics_by_series"] = str(write_csv(backtest_metrics(cv, by_series=True),
                                                         out / "metrics_by_series.csv"))
        log.outputs["cv"] = str(write_csv(cv, out / "cv.csv"))
        _save_figure(backtest_chart(cv, revenue), out / "backtest.png", log, "backtest_chart")
    for row in metrics.itertuples():
        say(f"  {row.model:<15} MASE {row.mase:.3f}  sMAPE {row.smape:5.2f}  "
            f"coverage 80 {row.coverage_80:.2f}  95 {row.coverage_95:.2f}")
    for row in found.itertuples():
        say(f"  outlier {row.series}: {row.date:%Y-%m-%d} ({row.value:,.0f}, expected about {row.expected:,.0f})")
    say(f"revenue backtest: {len(models)} models x {args.folds} folds -> {out}")
    return 0


def _blend_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("opportunities", metavar="SOURCE", nargs="?", default="demo",
                   help="opportunities SOURCE (default demo; file.duckdb reads table 'opportunities')")
    p.add_argument("--stage-history", metavar="SRC",
                   help="stage_history SOURCE for exact as-of snapshots (file.duckdb reads 'stage_history')")
    p.add_argument("--stages", metavar="YAML", help="stages YAML (open: [...] with probabilities, won, lost)")
    p.add_argument("--as-of", metavar="DATE", help="forecast date (inclusive); default the data's last record")
    p.add_argument("--period", help="period to blend, e.g. 2026Q3; default the quarter of the day after --as-of "
                   "(the quarter still open at the end of that day)")
    p.add_argument("--backtest-periods", metavar="FIRST:LAST",
                   help="past periods that weight the blend, e.g. 2024Q3:2026Q2, complete by --as-of; "
                   "default the last 8 complete periods of --period's length")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"time-series model: {_MODELS} (default {DEFAULT_MODEL})")
    p.add_argument("--pipeline-method", choices=("learned", "historical", "default"), default="learned",
                   help="pipeline open-deal probability (default learned)")
    p.add_argument("--metric", choices=("mse", "wape"), default="mse",
                   help="weights: inverse MSE (default) or inverse WAPE of the backtest P50s")
    p.add_argument("--pipeline-backtest", metavar="DIR",
                   help="--out folder of `pipeline backtest` on the same inputs and --seed: its rows of "
                   "--backtest-periods are read instead of backtested again (refused when made otherwise)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_map_option(p)
    add_read_options(p)
    p.add_argument("--out", required=True, help="output folder")


def _blend_periods(args, last_record) -> tuple[str, str, str, list]:
    """As-of date, period and backtest periods with their defaults; backtest periods complete by as-of."""
    import pandas as pd

    from ..data.errors import DataError, problem
    from ..pipeline import cutoff_of, parse_periods, period_bounds
    from ..pipeline.snapshot import resolve_backtest_periods, resolve_period

    cutoff = cutoff_of(args.as_of or last_record.date())
    as_of = str((cutoff - pd.Timedelta(days=1)).date())
    period = period_bounds(resolve_period(args.period or "", as_of))[0]
    past = parse_periods(resolve_backtest_periods(args.backtest_periods or "", as_of, period=str(period)))
    late = [str(p) for p in past if period_bounds(p)[2] > cutoff]
    if late:
        raise DataError([problem("backtest_periods", None, f"end after the as-of date {as_of}: their actual "
                                 "is not known yet", late)])
    return as_of, str(period), f"{past[0]}:{past[-1]}", past


def _blend(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..data import write_csv
    from ..pipeline import PipelineData, backtest, forecast_period
    from ..reports.context import library_default
    from ..revenue import make_model
    from ..revenue.blend import blend_with_pipeline
    from ..revenue.plots import blend_chart
    from .pipeline import load_inputs as load_pipeline_inputs

    make_model(args.model)  # an unknown model fails now, not after the pipeline backtest
    with output_dir(args.out, "revenue blend", parameters_of(args)) as (out, log):
        opportunities, history, stages = load_pipeline_inputs(args)
        data = PipelineData.build(opportunities, history, stages)
        as_of, period, periods, past = _blend_periods(args, data.last_date)
        log.extra.update(as_of=as_of, period=period, backtest_periods=periods, exact_snapshot=data.exact)
        log.step("load")
        forecast, _ = forecast_period(as_of=as_of, period=period, method=args.pipeline_method, seed=args.seed,
                                      data=data)
        if args.pipeline_backtest:  # `forecasting demo`: the rows its `pipeline backtest` step saved
            from ..reports.saved import load_pipeline_backtest

            pipeline_past, _ = load_pipeline_backtest(
                args.pipeline_backtest, inputs=parameters_of(args), periods=past, methods=[args.pipeline_method],
                n_sims=library_default(backtest, "n_sims"), seed=args.seed, instead="drop --pipeline-backtest")
        else:
            pipeline_past, _ = backtest(periods=past, methods=[args.pipeline_method], seed=args.seed, data=data)
        log.step("pipeline")
        blended, frame, metrics = blend_with_pipeline(opportunities, forecast, pipeline_past, as_of,
                                                      model=args.model, metric=args.metric, seed=args.seed)
        log.step("blend")
        for name, table in (("blend", blended), ("blend_backtest", frame), ("blend_metrics", metrics)):
            log.outputs[name] = str(write_csv(table, out / f"{name}.csv"))
        _save_figure(blend_chart(blended), out / "blend.png", log, "blend_chart")
    say(f"revenue blend {period} as of {as_of} (weights from {periods}, inverse {args.metric}):")
    for row in blended.itertuples():
        say(f"  {row.method:<12} P10 {row.p10:>14,.0f}  P50 {row.p50:>14,.0f}  P90 {row.p90:>14,.0f}  "
            f"weight {row.weight:.2f}")
    for row in metrics.itertuples():
        say(f"  backtest {row.method:<12} WAPE {row.wape:.3f}  bias {row.bias:+.3f}  "
            f"P10-P90 coverage {row.coverage_80:.2f}")
    say(f"revenue blend -> {out}")
    return 0
