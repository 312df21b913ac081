"""Figures of revenue forecasts and backtests: fan charts, forecasts against actuals, the
model leaderboard, the blend with the pipeline.

Each function takes frames that :mod:`forecasting.revenue` functions return
(:func:`~forecasting.revenue.forecast`, :func:`~forecasting.revenue.backtest`,
:func:`~forecasting.revenue.backtest_metrics`, :func:`~forecasting.revenue.blend`), plus the
revenue table itself for the history, and gives back a :class:`matplotlib.figure.Figure`; nothing is shown or saved
here (:func:`forecasting.figures.save_figure` writes a PNG).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from forecasting.figures import money_axis, money_text, new_panels
from forecasting.revenue.backtest import select_model
from forecasting.revenue.forecast import TOTAL, _sum_series, prepare_series
from forecasting.revenue.models import make_model, season_length_of

__all__ = ["fan_chart", "fan_charts", "backtest_chart", "leaderboard_chart", "blend_chart"]

_FAN = "tab:blue"
# One colour per model in every figure, so a model is recognised across charts.
_MODEL_COLORS = {"Naive": "#7f7f7f", "SeasonalNaive": "#bcbd22", "Drift": "#8c564b", "ETS": "tab:orange",
                 "ARIMA": "tab:green", "Theta": "tab:purple", "Ensemble": "tab:blue"}
_SPARE_COLORS = ("tab:red", "tab:cyan", "tab:pink", "tab:olive", "tab:brown")
_UNITS = {12: "month", 4: "quarter", 52: "week", 7: "day"}
_FORECAST_COLUMNS = ("series", "date", "mean", "model")
_BACKTEST_COLUMNS = ("series", "cutoff", "date", "actual", "model", "mean")


# ---------------------------------------------------------------- frames

def _check(frame: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the frame is missing column(s) {missing}: pass the frame "
                         f"forecasting.revenue.{what} returns")
    if frame.empty:
        raise ValueError(f"the {what} frame is empty: nothing to draw")


def _levels(frame: pd.DataFrame) -> list[str]:
    """Interval levels with both bounds in ``frame``, widest first (it is drawn underneath)."""
    names = [c[3:] for c in frame.columns if c.startswith("lo_") and f"hi_{c[3:]}" in frame.columns]
    return sorted(names, key=float, reverse=True)


def _histories(history: pd.DataFrame | None) -> dict[str, pd.Series]:
    """The revenue table as the forecast saw it: one series per id, plus their total."""
    if history is None:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the gap warnings were given when forecasting
        series = prepare_series(history)
    if len(series) > 1 and TOTAL not in series:
        series[TOTAL] = _sum_series(list(series.values()))
    return series


def _panels(frame: pd.DataFrame, series, value: str, max_panels: int) -> tuple[list[str], int]:
    """Series to draw: the ones asked for, else the total first and then the largest.

    Returns the names and how many series the frame holds.
    """
    available = list(dict.fromkeys(frame["series"]))
    if series is not None:
        names = [series] if isinstance(series, str) else list(series)
        unknown = [s for s in names if s not in available]
        if unknown:
            raise ValueError(f"series {unknown} not in the frame; available: {available[:10]}")
        return names, len(available)
    size = frame.groupby("series", sort=False)[value].apply(lambda v: float(np.abs(v).sum()))
    names = sorted(available, key=lambda s: (s != TOTAL, -size[s]))
    return names[:max_panels], len(available)


def _unit(dates) -> str:
    """'month', 'quarter', 'week' or 'day' from the dates' frequency, else 'period'."""
    index = pd.DatetimeIndex(sorted(set(pd.to_datetime(dates))))
    return _UNITS.get(season_length_of(index), "period") if len(index) >= 3 else "period"


def _model_name(model) -> str:
    return type(make_model(model)).__name__


def _color(name: str, order: list[str]) -> str:
    if name in _MODEL_COLORS:
        return _MODEL_COLORS[name]
    others = [n for n in order if n not in _MODEL_COLORS]
    return _SPARE_COLORS[others.index(name) % len(_SPARE_COLORS)]


# ---------------------------------------------------------------- axes helpers

def _grid(n: int, ncols: int, width: float, height: float, ax=None):
    import matplotlib.pyplot as plt

    if ax is not None:  # the caller's Axes, one per panel
        return new_panels(ax, n)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, sharex=True)
    axes = axes.ravel()
    for i in range(n, len(axes)):
        axes[i].remove()
        axes[i - ncols].xaxis.set_tick_params(labelbottom=True)  # dates under the panel above the gap
    return fig, list(axes[:n])


def _date_axis(ax) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _floor_at_zero(ax, values) -> None:
    """Start the money axis at $0 when nothing drawn is negative: the true scale of growth."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if len(finite) and finite.min() >= 0:
        ax.set_ylim(bottom=0)


def _figure_legend(fig, ax, ncol: int) -> None:
    """One legend for all panels, in a row under them."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(ncol, len(labels)), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.4 / fig.get_figheight(), 1, 1))  # leave 0.4 inch for the legend


# ---------------------------------------------------------------- fan charts

def _draw_fan(ax, part: pd.DataFrame, history: pd.Series | None, last: int | None) -> None:
    """History in black, the forecast mean in blue and its bands, darker for narrower."""
    fan = part.set_index("date")
    drawn = [fan["mean"].to_numpy()]
    if history is not None:
        shown = history if last is None else history.iloc[-int(last):]
        ax.plot(shown.index, shown.to_numpy(), color="black", linewidth=1.3, label="history")
        ax.axvline(shown.index[-1], color="grey", linestyle=":", linewidth=1)
        drawn.append(shown.to_numpy())
        # The fan opens at the last actual: a zero-width start joins history and forecast.
        start = pd.DataFrame(float(shown.iloc[-1]), index=[shown.index[-1]], columns=fan.columns.drop(
            ["series", "model"]))
        fan = pd.concat([start, fan.drop(columns=["series", "model"])])
    for i, lv in enumerate(_levels(part)):
        ax.fill_between(fan.index, fan[f"lo_{lv}"], fan[f"hi_{lv}"], color=_FAN, linewidth=0,
                        alpha=0.15 + 0.2 * i, label=f"{lv} % interval")
        drawn += [fan[f"lo_{lv}"].to_numpy(), fan[f"hi_{lv}"].to_numpy()]
    ax.plot(fan.index, fan["mean"], color=_FAN, linewidth=2, label="forecast mean")
    model = part["model"].iloc[0]
    ax.set_title(f"{part['series'].iloc[0]} ({'sum of the series' if model == 'bottom-up' else model})",
                 fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    money_axis(ax)
    _date_axis(ax)
    _floor_at_zero(ax, np.concatenate(drawn))


def fan_chart(forecast: pd.DataFrame, history: pd.DataFrame | None = None, series: str | None = None,
              last: int | None = None, ax=None):
    """History and forecast of one series: the mean line and its prediction intervals.

    Parameters
    ----------
    forecast : DataFrame
        :func:`~forecasting.revenue.forecast` (``series, date, mean, lo_*, hi_*, model``).
    history : DataFrame, optional
        The revenue table the forecast was made from (``date, amount``, optional
        ``segment``); the ``total`` series' history is the sum of the series.
    series : str, optional
        Which series; default the ``total`` (else the first series).
    last : int, optional
        Show only the last ``last`` periods of history (default all).
    ax : matplotlib Axes, optional
        Draw into this axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    _check(forecast, _FORECAST_COLUMNS, "forecast")
    (key,), _ = _panels(forecast, series, "mean", 1)
    histories = _histories(history)
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 3.8))
    fig = ax.figure
    part = forecast[forecast["series"] == key]
    _draw_fan(ax, part, histories.get(key), last)
    unit = _unit(history["date"] if history is not None else part["date"])
    ax.set_title(f"Revenue forecast: {ax.get_title()}, next {len(part)} {unit}s")
    ax.set_ylabel(f"revenue per {unit}")
    ax.set_xlabel("date")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def fan_charts(forecast: pd.DataFrame, history: pd.DataFrame | None = None, series=None,
               last: int | None = None, ncols: int = 2, max_panels: int = 9, ax=None):
    """Small multiples: one fan chart per series, the total first, then the largest series.

    Panels have their own money scale (a segment is smaller than the total) and share the dates.

    Parameters
    ----------
    forecast, history, last
        As in :func:`fan_chart`.
    series : list of str, optional
        Series to draw, in this order; default the total and then the series with the
        largest forecast, up to ``max_panels``.
    ncols : int, default 2
        Panels per row.
    max_panels : int, default 9
        Most panels drawn when ``series`` is not given (the title says how many were left out).
    ax : sequence of matplotlib Axes, optional
        One Axes per panel drawn, to draw into instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check(forecast, _FORECAST_COLUMNS, "forecast")
    names, available = _panels(forecast, series, "mean", max_panels)
    histories = _histories(history)
    fig, axes = _grid(len(names), ncols, 5.4, 3.2, ax)
    for ax, key in zip(axes, names):
        _draw_fan(ax, forecast[forecast["series"] == key], histories.get(key), last)
    horizon = int(forecast.groupby("series").size().max())
    unit = _unit(history["date"] if history is not None else forecast["date"])
    for ax in axes[::max(1, min(ncols, len(names)))]:
        ax.set_ylabel(f"revenue per {unit}")
    shown = "" if len(names) == available else f" ({len(names)} of {available} series)"
    levels = " and ".join(f"{lv} %" for lv in _levels(forecast)[::-1])
    fig.suptitle(f"Revenue forecast for the next {horizon} {unit}s{shown}: mean with {levels} intervals")
    _figure_legend(fig, axes[0], 4)
    return fig


# ---------------------------------------------------------------- backtest

def _draw_backtest(ax, part: pd.DataFrame, history: pd.Series | None, models: list[str], highlight: str,
                   level: str | None) -> None:
    """Actuals in black; each model's forecast from each cutoff; the highlighted one thick, with its band."""
    if history is not None:
        ax.plot(history.index, history.to_numpy(), color="black", linewidth=1.3, label="actual")
        drawn = [history.to_numpy()]
    else:
        actual = part.drop_duplicates("date").sort_values("date")
        ax.plot(actual["date"], actual["actual"], color="black", linewidth=1.3, marker=".", label="actual")
        drawn = [actual["actual"].to_numpy()]
    for cutoff in part["cutoff"].unique():
        ax.axvline(cutoff, color="grey", linestyle=":", linewidth=1)
    for name in [*[m for m in models if m != highlight], highlight]:
        rows = part[part["model"] == name]
        color, top = _color(name, models), name == highlight
        for k, (_, window) in enumerate(rows.groupby("cutoff", sort=True)):
            label = name if k == 0 else None
            if top and level is not None:
                ax.fill_between(window["date"], window[f"lo_{level}"], window[f"hi_{level}"], color=color,
                                alpha=0.2, linewidth=0, label=f"{name} {level} % interval" if k == 0 else None)
                drawn += [window[f"lo_{level}"].to_numpy(), window[f"hi_{level}"].to_numpy()]
            ax.plot(window["date"], window["mean"], color=color, linewidth=2.2 if top else 1,
                    alpha=1 if top else 0.8, label=label, zorder=3 if top else 2)
            drawn.append(window["mean"].to_numpy())
    ax.set_title(str(part["series"].iloc[0]), fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    money_axis(ax)
    _date_axis(ax)
    _floor_at_zero(ax, np.concatenate(drawn))


def backtest_chart(cv: pd.DataFrame, history: pd.DataFrame | None = None, series=None, models=None,
                   highlight=None, level: int | None = None, ncols: int = 1, max_panels: int = 6, ax=None):
    """Backtest forecasts against what happened: one panel per series, one line per model and cutoff.

    Dotted lines mark the forecast origins (cutoffs); each model's forecasts start after one.

    Parameters
    ----------
    cv : DataFrame
        :func:`~forecasting.revenue.backtest`.
    history : DataFrame, optional
        The revenue table: draws the whole history in black instead of only the
        backtest's actuals.
    series : list of str, optional
        Series to draw; default the largest, up to ``max_panels``.
    models : list of str, optional
        Models to draw (default all of the backtest).
    highlight : str, optional
        Model drawn thick with its interval; default the best by MASE (:func:`~forecasting.revenue.select_model`).
    level : int, optional
        Interval of the highlighted model; default 80 when the backtest has it.
    ncols : int, default 1
    max_panels : int, default 6
    ax : sequence of matplotlib Axes, optional
        One Axes per panel drawn, to draw into instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check(cv, _BACKTEST_COLUMNS, "backtest")
    present = list(dict.fromkeys(cv["model"]))
    wanted = present if models is None else [_model_name(m) for m in models]
    highlight = _model_name(highlight) if highlight is not None else select_model(cv[cv["model"].isin(wanted)])
    unknown = [m for m in {*wanted, highlight} if m not in present]
    if unknown:
        raise ValueError(f"model(s) {sorted(unknown)} not in the backtest; it has {present}")
    levels = _levels(cv)
    if level is not None and str(level) not in levels:
        raise ValueError(f"level {level} not in the backtest; it has {levels}")
    level = str(level) if level is not None else ("80" if "80" in levels else (levels[-1] if levels else None))
    names, available = _panels(cv, series, "actual", max_panels)
    histories = _histories(history)
    fig, axes = _grid(len(names), ncols, 10 if ncols == 1 else 5.4, 2.9, ax)
    for ax, key in zip(axes, names):
        _draw_backtest(ax, cv[cv["series"] == key], histories.get(key), wanted, highlight, level)
    unit = _unit(history["date"] if history is not None else cv["date"])
    for ax in axes[::max(1, min(ncols, len(names)))]:
        ax.set_ylabel(f"revenue per {unit}")
    folds = cv["cutoff"].nunique()
    horizon = int(cv.groupby(["series", "cutoff", "model"]).size().max())
    shown = "" if len(names) == available else f", {len(names)} of {available} series"
    fig.suptitle(f"Backtest: {horizon}-{unit} forecasts from {folds} origins against what happened{shown}")
    _figure_legend(fig, axes[0], 8)
    return fig


# ---------------------------------------------------------------- leaderboard

def leaderboard_chart(metrics: pd.DataFrame, highlight=None, ax=None):
    """MASE per model (best at the top) and how often its intervals held the actual.

    Parameters
    ----------
    metrics : DataFrame
        :func:`~forecasting.revenue.backtest_metrics` (one row per model, not ``by_series``).
    highlight : str, optional
        Model drawn in its colour (the others grey); default the lowest MASE.
    ax : pair of matplotlib Axes, optional
        Draw the accuracy and the interval panels into these instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.ticker import PercentFormatter

    _check(metrics, ("model", "mase"), "backtest_metrics")
    if "series" in metrics.columns:
        raise ValueError("pass backtest_metrics(cv) with one row per model (by_series=False)")
    rows = metrics.sort_values("mase", kind="stable").reset_index(drop=True)
    best = _model_name(highlight) if highlight is not None else str(rows["model"].iloc[0])
    order = list(rows["model"])
    coverage = sorted((c for c in metrics.columns if c.startswith("coverage_")), key=lambda c: float(c[9:]))
    fig, (left, right) = new_panels(ax, 2, nrows=1, ncols=2, figsize=(10, 1.4 + 0.42 * len(rows)), sharey=True,
                                    width_ratios=[1.3, 1])
    y = np.arange(len(rows))
    left.barh(y, rows["mase"], color=[_color(m, order) if m == best else "#c7c7c7" for m in order], height=0.6)
    for i, value in enumerate(rows["mase"]):
        left.text(value, i, f" {value:.2f}", va="center", fontsize=8)
    left.axvline(1, color="black", linestyle="--", linewidth=1)
    left.set_yticks(y, order)
    left.invert_yaxis()
    left.set_xlim(0, max(1.0, float(np.nanmax(rows["mase"]))) * 1.18)
    left.set_xlabel("MASE: forecast error / in-sample seasonal naive error (dashed: 1)")
    left.set_title("Accuracy: lower is better", fontsize=10)
    markers = ("o", "s", "^", "D")
    for k, column in enumerate(coverage):
        nominal = float(column[9:]) / 100
        color = f"C{k}"
        right.plot(rows[column], y, linestyle="none", marker=markers[k % len(markers)], color=color,
                   label=f"{column[9:]} % interval")
        right.axvline(nominal, color=color, linestyle="--", linewidth=1)
    right.set_xlim(0, 1.05)
    right.xaxis.set_major_formatter(PercentFormatter(1.0))
    right.set_xlabel("share of actuals inside the interval (dashed: nominal)")
    right.set_title("Intervals: honest when on the dashed line", fontsize=10)
    if coverage:
        right.legend(fontsize=8, loc="lower left")
    for ax in (left, right):
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("Backtest leaderboard")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- blend

_BLEND_LABELS = {"pipeline": "pipeline", "time_series": "time series", "blend": "blend"}
_BLEND_COLORS = {"pipeline": "tab:orange", "time_series": "tab:blue", "blend": "tab:green"}


def blend_chart(blended: pd.DataFrame, ax=None):
    """The pipeline, time-series and blended forecasts of each period: P50 bars with P10-P90 ranges.

    Parameters
    ----------
    blended : DataFrame
        :func:`~forecasting.revenue.blend` (``period, method, p10, p50, p90, weight``).
    ax : sequence of matplotlib Axes, optional
        One Axes per period, to draw into instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per period; each method is a bar to its P50 with a black P10-P90
        line, labelled with its weight in the blend and its three figures.
    """
    _check(blended, ("period", "method", "p10", "p50", "p90", "weight"), "blend")
    periods = list(dict.fromkeys(blended["period"].astype(str)))
    fig, axes = new_panels(ax, len(periods), nrows=len(periods), ncols=1,
                           figsize=(9, 0.8 + 1.0 * blended["method"].nunique() * len(periods)))
    for ax, period in zip(axes, periods):
        rows = blended[blended["period"].astype(str) == period].reset_index(drop=True)
        y = np.arange(len(rows))
        colors = [_BLEND_COLORS.get(m, "#7f7f7f") for m in rows["method"]]
        ax.barh(y, rows["p50"], color=colors, alpha=0.75, height=0.55)
        ax.errorbar(rows["p50"], y, xerr=[rows["p50"] - rows["p10"], rows["p90"] - rows["p50"]],
                    fmt="none", ecolor="black", capsize=5, linewidth=1.5)
        for i, row in rows.iterrows():
            ax.text(max(row["p90"], row["p50"]), i, f"  P50 {money_text(row['p50'])}  (P10 {money_text(row['p10'])}"
                    f" to P90 {money_text(row['p90'])})", va="center", fontsize=8)
        labels = [f"{_BLEND_LABELS.get(m, m)}" + ("" if m == "blend" else f" (weight {w:.0%})")
                  for m, w in zip(rows["method"], rows["weight"])]
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlim(min(0.0, float(rows["p10"].min()) * 1.1), float(rows[["p50", "p90"]].max().max()) * 1.5)
        ax.set_title(period, fontsize=10)
        ax.set_xlabel("revenue won in the period")
        ax.grid(axis="x", alpha=0.3)
        money_axis(ax, "x")
    fig.suptitle("Pipeline and time-series forecasts blended by their backtest errors\n"
                 "(bars: P50, black lines: P10 to P90)")
    fig.tight_layout()
    return fig

