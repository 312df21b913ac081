"""``forecasting revenue``: time-series revenue forecasts and rolling-origin backtests."""

from __future__ import annotations

import argparse

from ._common import add_map_option, mapping_from, output_dir, parameters_of, say

_MODELS = "naive, seasonal_naive, drift, ets, arima, theta, ensemble"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SOURCE",
                   help="revenue SOURCE: date, amount, optional segment (one series per segment)")
    p.add_argument("--horizon", type=int, default=12, help="periods to forecast (default 12)")
    p.add_argument("--level", type=float, nargs="+", default=[80, 95], help="interval levels (default 80 95)")
    p.add_argument("--season-length", type=int, help="season length (default: 12 monthly, 4 quarterly, 52 weekly)")
    p.add_argument("--fill-gaps", choices=("zero", "interpolate"),
                   help="fill missing periods instead of refusing the table")
    p.add_argument("--jobs", type=int, default=1, help="worker processes for many series (default 1; -1 all cores)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_map_option(p)
    p.add_argument("--out", required=True, help="output folder")


def register(sub) -> None:
    revenue = sub.add_parser("revenue", help="time-series revenue forecasts (ETS, ARIMA, Theta, baselines)",
                             description="Forecast revenue per segment and in total; backtest the models.")
    cmds = revenue.add_subparsers(dest="revenue_command", metavar="SUBCOMMAND")

    fc = cmds.add_parser(
        "forecast", help="forecast every series and their total",
        description="Fit the model to every series (one per segment) and their total, and write "
        "forecast.csv (series, date, mean, lo_80, hi_80, lo_95, hi_95, model; the total series is "
        "'total', bottom-up coherent with the segments), fan_chart.png (history and forecast per "
        "series) and run.json to --out. --model auto runs a backtest first and uses the most accurate "
        "model (by MASE).",
    )
    _common(fc)
    fc.add_argument("--model", default="ensemble", help=f"model: {_MODELS} or auto (default ensemble)")
    fc.add_argument("--folds", type=int, default=3, help="backtest folds for --model auto (default 3)")
    fc.set_defaults(func=_forecast)

    bt = cmds.add_parser(
        "backtest", help="rolling-origin backtest of the models",
        description="Refit each model at --folds forecast origins (expanding window) and score the "
        "forecasts against what happened: metrics.csv (model, mase, smape, wape, coverage_80, "
        "coverage_95, bias, width_80, width_95; best MASE first), metrics_by_series.csv, cv.csv "
        "(forecasts next to actuals), backtest.png and run.json to --out.",
    )
    _common(bt)
    bt.add_argument("--folds", type=int, default=3, help="forecast origins (default 3)")
    bt.add_argument("--models", default="naive,seasonal_naive,ets,arima,theta,ensemble",
                    help=f"comma-separated models to compare (from {_MODELS})")
    bt.set_defaults(func=_backtest)


def _load(args):
    from ..data import load_table

    return load_table("revenue", args.source, mapping_from(args), season_length=args.season_length,
                      allow_short=True, allow_gaps=args.fill_gaps is not None)


def _options(args) -> dict:
    return dict(level=tuple(args.level), season_length=args.season_length, n_jobs=args.jobs,
                seed=args.seed, fill_gaps=args.fill_gaps or "zero")


def _save_figure(fig, path, log, name: str) -> None:
    """Write a figure as PNG (atomically), record it in run.json and free its memory."""
    import matplotlib.pyplot as plt

    from .._figures import save_figure

    save_figure(fig, path)
    plt.close(fig)
    log.outputs[name] = str(path)


def _forecast(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..data import write_csv
    from ..revenue import backtest, forecast, select_model
    from ..revenue.plots import fan_charts

    with output_dir(args.out, "revenue forecast", parameters_of(args)) as (out, log):
        revenue = _load(args)
        log.step("load")
        model = args.model
        if model == "auto":
            cv = backtest(revenue, args.horizon, folds=args.folds, **_options(args))
            model = select_model(cv, "mase")
            log.extra["selected_model"] = model
            log.step("backtest")
            say(f"revenue forecast: backtest picked {model}")
        table = forecast(revenue, args.horizon, model=model, **_options(args))
        log.step("forecast")
        log.outputs["forecast"] = str(write_csv(table, out / "forecast.csv"))
        _save_figure(fan_charts(table, revenue), out / "fan_chart.png", log, "fan_chart")
    say(f"revenue forecast: {table['series'].nunique()} series x {args.horizon} periods ({model}) -> {out}")
    return 0


def _backtest(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..data import write_csv
    from ..revenue import backtest, backtest_metrics
    from ..revenue.plots import backtest_chart

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    with output_dir(args.out, "revenue backtest", parameters_of(args)) as (out, log):
        revenue = _load(args)
        log.step("load")
        cv = backtest(revenue, args.horizon, folds=args.folds, models=models, **_options(args))
        log.step("backtest")
        metrics = backtest_metrics(cv).sort_values("mase", kind="stable")
        log.outputs["metrics"] = str(write_csv(metrics, out / "metrics.csv"))
        log.outputs["metrics_by_series"] = str(write_csv(backtest_metrics(cv, by_series=True),
                                                         out / "metrics_by_series.csv"))
        log.outputs["cv"] = str(write_csv(cv, out / "cv.csv"))
        _save_figure(backtest_chart(cv, revenue), out / "backtest.png", log, "backtest_chart")
    for row in metrics.itertuples():
        say(f"  {row.model:<15} MASE {row.mase:.3f}  sMAPE {row.smape:5.2f}  "
            f"coverage 80 {row.coverage_80:.2f}  95 {row.coverage_95:.2f}")
    say(f"revenue backtest: {len(models)} models x {args.folds} folds -> {out}")
    return 0
