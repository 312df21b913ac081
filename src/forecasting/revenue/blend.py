"""Blend the pipeline forecast with the time-series forecast of the same period.

The weighted-pipeline forecast (``pipeline forecast``: ``period, group, p10,
p50, p90``) knows this quarter's deals; the time-series forecast (``revenue
forecast``: monthly ``mean, lo_80, hi_80, ...``) knows the history's trend and
season. For the current and next period this module puts both on the same
footing and combines them, weighted by how accurate each has been:

1. :func:`period_forecast` turns a monthly revenue forecast into period
   totals (``p10, p50, p90`` per quarter): months already in the history
   count as they are, the rest contribute their forecast means to the P50
   and their 80 % half-widths to the range (see *Period ranges* below).
   :func:`forecast_periods` fits a model and does this in one call.
2. :func:`time_series_backtest` does the same for past periods, as of each
   period's first day, so the time series gets a backtest with the columns
   of ``pipeline backtest`` (``period, method, actual, p10, p50, p90``).
3. :func:`blend_weights` turns such backtests into inverse-error weights,
   :func:`blend` combines the forecasts, and :func:`blend_backtest` replays
   the blend over the past periods (weights from earlier periods only) so
   its accuracy can be compared with both methods'.
4. :func:`blend_with_pipeline` does all of it from the opportunities table and
   the pipeline's forecast and backtest frames (what ``revenue blend`` runs).

Both forecasts must be of the **same quantity**. The pipeline forecasts
bookings (revenue won in the period); :func:`bookings` builds that monthly
series from the opportunities table, ready for :func:`~forecasting.revenue.forecast`.
A recognised-revenue table (MRR) is a different quantity and must not be
blended with the pipeline.

Period ranges
-------------
A month's forecast error is described by its 80 % interval, read as the
half-widths ``mean - lo_80`` and ``hi_80 - mean`` (other levels are rescaled to
80 % with normal quantiles). Errors of the months of one period are assumed
normal with one common correlation ``rho``; the period's half-width is then
``sqrt((1 - rho) * sum(w_i ** 2) + rho * sum(w_i) ** 2)``, computed separately
below and above the P50 so skewed monthly intervals stay skewed. The default
``rho = 1`` (errors move together, as when the level is misjudged) makes the
period's P10 / P90 the sum of the months' bounds: the widest normal case, and
exact for comonotone errors of any distribution. ``rho = 0`` treats the months
as independent (narrower). Forecast errors of consecutive months share the
level error, so the truth lies in between; the backtest's ``coverage_80``
shows which is better calibrated on your data.

Weights and the blended range
-----------------------------
``metric="mse"`` gives each method the weight ``1 / MSE`` of its P50 over the
backtest periods both methods forecast (Bates & Granger 1969, ignoring the
covariance of the errors); ``"wape"`` uses ``1 / WAPE``. A method without error
gets all the weight (shared equally if several). The blend's P10 / P50 / P90
are the weighted averages of the methods' P10 / P50 / P90 (quantile
averaging), which keeps asymmetric ranges and gives a range between the two.

This module works on frames only and never imports :mod:`forecasting.pipeline`
(imports go cli -> pipeline, revenue -> metrics, data); the caller passes the
pipeline's ``forecast.csv`` / ``backtest.csv`` frames.

Examples
--------
>>> pipe = pd.DataFrame({"period": ["2026Q3"], "group": ["all"], "p10": [80.0], "p50": [100.0], "p90": [120.0]})
>>> ts = pd.DataFrame({"period": ["2026Q3"], "p10": [90.0], "p50": [110.0], "p90": [150.0]})
>>> past = pd.DataFrame({"period": ["2026Q1", "2026Q1", "2026Q2", "2026Q2"],
...                      "method": ["pipeline", "time_series"] * 2,
...                      "actual": [100.0, 100.0, 100.0, 100.0], "p50": [110.0, 80.0, 90.0, 120.0]})
>>> blend(pipe, ts, past)[["method", "p50", "weight"]].to_dict("list")
{'method': ['pipeline', 'time_series', 'blend'], 'p50': [100.0, 110.0, 102.0], 'weight': [0.8, 0.2, 1.0]}
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from forecasting.data.errors import DataError, problem
from forecasting.metrics.accuracy import bias, coverage, interval_width, wape
from forecasting.revenue.models import _z

__all__ = [
    "PIPELINE",
    "TIME_SERIES",
    "BLEND",
    "METHODS",
    "BLEND_COLUMNS",
    "bookings",
    "period_forecast",
    "forecast_periods",
    "time_series_backtest",
    "blend_weights",
    "blend",
    "blend_backtest",
    "blend_metrics",
    "blend_with_pipeline",
]

PIPELINE, TIME_SERIES, BLEND = "pipeline", "time_series", "blend"
METHODS = (PIPELINE, TIME_SERIES)
BLEND_COLUMNS = ("period", "method", "p10", "p50", "p90", "weight")
_QUANTILES = ("p10", "p50", "p90")
_METRICS = ("mse", "wape")
_TOTAL = "total"


def _warn(message: str) -> None:
    from forecasting.data.validate import DataWarning

    warnings.warn(message, DataWarning, stacklevel=3)


# ---------------------------------------------------------------- periods

def _as_periods(periods) -> list[pd.Period]:
    """``"2024Q1:2025Q4"`` (inclusive), one period, or a sequence of periods."""
    def one(p) -> pd.Period:
        try:
            return p if isinstance(p, pd.Period) else pd.Period(str(p))
        except (TypeError, ValueError):
            raise DataError([problem("period", None, f"{p!r} is not a period (expected e.g. 2026Q3 or "
                                     "2026-07)")]) from None

    if isinstance(periods, str) and ":" in periods:
        first, _, last = periods.partition(":")
        a, b = one(first), one(last)
        if a.freqstr != b.freqstr or b < a:
            raise DataError([problem("period", None, f"range {periods!r} must go from an earlier to a later "
                                     "period of the same length")])
        return list(pd.period_range(a, b, freq=a.freq))
    if isinstance(periods, (str, pd.Period)):
        return [one(periods)]
    return [one(p) for p in periods]


def _bounds(p: pd.Period) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``[start, end)`` of a period as midnight timestamps."""
    return p.start_time.normalize(), p.end_time.normalize() + pd.Timedelta(days=1)


def _offset(dates: pd.DatetimeIndex, table: str):
    """The data's own frequency (monthly, quarterly, weekly...) from its dates."""
    from forecasting.data.validate import infer_frequency

    dates = pd.DatetimeIndex(dates).unique().sort_values()
    freq, _ = infer_frequency(dates)
    if freq is None and len(dates) and (dates.day == 1).all():
        freq = "MS"  # too few dates to infer: month starts are the canonical revenue dates
    if freq is None:
        raise DataError([problem(table, "date", "cannot tell the frequency of the dates (need at least 3 "
                                 "regular dates)", [str(d.date()) for d in dates[:5]])])
    if freq == "W":
        freq = f"W-{dates[0].day_name()[:3].upper()}"
    return pd.tseries.frequencies.to_offset(freq)


def _dates_in(p: pd.Period, offset) -> pd.DatetimeIndex:
    start, end = _bounds(p)
    return pd.date_range(start, end, freq=offset, inclusive="left")


# ---------------------------------------------------------------- bookings

def bookings(opportunities: pd.DataFrame, by: str | None = None, as_of=None, freq: str = "MS") -> pd.DataFrame:
    """Monthly revenue won (bookings): the quantity the pipeline forecasts, as a revenue table.

    Parameters
    ----------
    opportunities : pd.DataFrame
        Canonical opportunities: ``amount``, ``close_date``, ``status`` (won deals count).
    by : str, optional
        Column naming one series per value (e.g. ``"segment"``); it becomes ``segment``.
    as_of : date-like, optional
        Keep only periods complete by this date (a period ending on ``as_of`` counts).
        Default: up to the last won deal's period.
    freq : str, default "MS"
        Period of the series (``"MS"`` monthly, ``"QS"`` quarterly).

    Returns
    -------
    pd.DataFrame
        ``date, amount`` (plus ``segment`` with ``by``), one row per period from
        the first won deal to the end, periods without wins as 0: a canonical
        revenue table for :func:`~forecasting.revenue.forecast`.

    Examples
    --------
    >>> opps = pd.DataFrame({"amount": [10.0, 5.0, 7.0], "status": ["won", "won", "lost"],
    ...                      "close_date": pd.to_datetime(["2026-01-15", "2026-03-02", "2026-02-01"])})
    >>> bookings(opps)["amount"].tolist()
    [10.0, 0.0, 5.0]
    """
    need = ["amount", "close_date", "status"] + ([by] if by else [])
    missing = [c for c in need if c not in opportunities.columns]
    if missing:
        raise DataError([problem("opportunities", c, "is a required column but is missing") for c in missing])
    won = opportunities[opportunities["status"] == "won"]
    dates = pd.to_datetime(won["close_date"], errors="coerce")
    if dates.isna().any():
        raise DataError([problem("opportunities", "close_date", "is missing or unparsable for won deals",
                                 won.get("opportunity_id", won.index.to_series()).astype(str)[dates.isna()])])
    if won.empty:
        raise DataError([problem("opportunities", "status", "has no won deals: no bookings to forecast")])
    offset = pd.tseries.frequencies.to_offset(freq)
    starts = dates.dt.to_period(freq.rstrip("S")).dt.start_time
    last = dates.max() if as_of is None else pd.Timestamp(as_of)
    grid = pd.date_range(starts.min(), last, freq=offset)
    if as_of is not None:  # complete periods only: one that ends after as_of is still open
        grid = grid[(grid + offset) <= last.normalize() + pd.Timedelta(days=1)]
    keys = {"date": starts}
    if by:
        keys["segment"] = won[by].astype(str)
    sums = won["amount"].astype(float).groupby([keys[k] for k in keys]).sum()
    sums.index.names = list(keys)
    if by:
        full = pd.MultiIndex.from_product([grid, sorted(keys["segment"].unique())], names=["date", "segment"])
        out = sums.reindex(full, fill_value=0.0).reset_index()
        return out[["date", "segment", "amount"]].sort_values(["segment", "date"], ignore_index=True)
    return sums.reindex(grid, fill_value=0.0).rename_axis("date").rename("amount").reset_index()


# ---------------------------------------------------------------- period totals

def _one_series(frame: pd.DataFrame, series: str, table: str) -> pd.DataFrame:
    """Rows of one series of a long frame (``series`` or ``segment`` column), or all rows."""
    id_col = next((c for c in ("series", "segment") if c in frame.columns), None)
    if id_col is None:
        return frame
    names = frame[id_col].astype(str)
    if (names == series).any():
        return frame[(names == series).to_numpy()]
    if series == _TOTAL and names.nunique() == 1:
        return frame  # a single series stands for the total
    raise DataError([problem(table, id_col, f"has no series {series!r}; series are: "
                             + ", ".join(sorted(names.unique())[:10]))])


def _half_widths(fc: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper 80 % half-widths around the mean, from lo/hi_80 or another level."""
    levels = [c[3:] for c in fc.columns if c.startswith("lo_") and f"hi_{c[3:]}" in fc.columns]
    if not levels:
        raise DataError([problem("revenue_forecast", "lo_80", "is missing: need an interval (lo_80/hi_80 "
                                 "or another lo_L/hi_L pair) to give the period a range")])
    level = "80" if "80" in levels else levels[0]
    factor = _z(80) / _z(float(level))
    mean = fc["mean"].to_numpy(dtype=float)
    lower = (mean - fc[f"lo_{level}"].to_numpy(dtype=float)) * factor
    upper = (fc[f"hi_{level}"].to_numpy(dtype=float) - mean) * factor
    return np.clip(lower, 0, None), np.clip(upper, 0, None)


def _combine_widths(widths: np.ndarray, correlation: float) -> float:
    """Half-width of a sum of normal errors with one common correlation (see module docs)."""
    return float(np.sqrt((1 - correlation) * np.sum(widths**2) + correlation * np.sum(widths) ** 2))


def _check_correlation(correlation: float) -> float:
    correlation = float(correlation)
    if not 0 <= correlation <= 1:
        raise ValueError(f"correlation must be in [0, 1], found {correlation}")
    return correlation


def period_forecast(revenue_forecast: pd.DataFrame, periods, series: str = _TOTAL,
                    history: pd.DataFrame | None = None, correlation: float = 1.0) -> pd.DataFrame:
    """Period totals (P10 / P50 / P90) from a monthly revenue forecast.

    Parameters
    ----------
    revenue_forecast : pd.DataFrame
        Output of :func:`~forecasting.revenue.forecast` (``series, date, mean,
        lo_80, hi_80, ...``; the ``revenue forecast`` CLI's ``forecast.csv``).
    periods : str, Period or sequence
        Periods to total, e.g. ``["2026Q3", "2026Q4"]`` or ``"2026Q3:2026Q4"``.
    series : str, default "total"
        Which series of the forecast (``"total"``, or a segment to match a
        pipeline group).
    history : pd.DataFrame, optional
        The revenue table the forecast was made from (``date, amount``, optional
        ``segment``); months of a period already in it count as actuals with no
        uncertainty. It must hold complete months only.
    correlation : float, default 1.0
        Common correlation of the monthly forecast errors, in [0, 1] (see the
        module docs): 1 sums the monthly bounds, 0 treats months as independent.

    Returns
    -------
    pd.DataFrame
        ``period, method, p10, p50, p90`` with method ``"time_series"``, plus
        ``actual_to_date`` (the history part of the total) and ``n_forecast``
        (months forecast). P50 is the sum of the monthly means.

    Raises
    ------
    DataError
        When a month of a period is in neither the history nor the forecast.

    Examples
    --------
    >>> fc = pd.DataFrame({"series": "total", "date": pd.date_range("2026-07-01", periods=3, freq="MS"),
    ...                    "mean": [10.0, 20.0, 30.0], "lo_80": [9.0, 18.0, 28.0], "hi_80": [11.0, 22.0, 32.0]})
    >>> period_forecast(fc, "2026Q3")[["p10", "p50", "p90"]].to_dict("records")
    [{'p10': 55.0, 'p50': 60.0, 'p90': 65.0}]
    """
    correlation = _check_correlation(correlation)
    fc = _one_series(revenue_forecast, series, "revenue_forecast")
    missing = [c for c in ("date", "mean") if c not in fc.columns]
    if missing:
        raise DataError([problem("revenue_forecast", c, "is a required column but is missing") for c in missing])
    dates = pd.DatetimeIndex(pd.to_datetime(fc["date"]))
    if dates.duplicated().any():
        raise DataError([problem("revenue_forecast", "date", f"has more than one row per date for series "
                                 f"{series!r}", [str(d.date()) for d in dates[dates.duplicated()]])])
    lower, upper = _half_widths(fc)
    mean = pd.Series(fc["mean"].to_numpy(dtype=float), index=dates)
    lower, upper = pd.Series(lower, index=dates), pd.Series(upper, index=dates)
    known = _history_totals(history, series)
    offset = _offset(dates.append(known.index), "revenue_forecast")
    rows = []
    for p in _as_periods(periods):
        wanted = _dates_in(p, offset)
        done = wanted.intersection(known.index)
        todo = wanted.difference(done)
        absent = todo.difference(dates)
        if len(absent) or not len(wanted):
            raise DataError([problem("revenue_forecast", "date", f"period {p}: these dates are in neither the "
                                     "history nor the forecast (forecast further ahead)",
                                     [str(d.date()) for d in absent])])
        to_date = float(known.reindex(done).sum())
        p50 = to_date + float(mean.reindex(todo).sum())
        rows.append({
            "period": str(p), "method": TIME_SERIES,
            "p10": p50 - _combine_widths(lower.reindex(todo).to_numpy(), correlation),
            "p50": p50,
            "p90": p50 + _combine_widths(upper.reindex(todo).to_numpy(), correlation),
            "actual_to_date": to_date, "n_forecast": len(todo),
        })
    return pd.DataFrame(rows, columns=["period", "method", *_QUANTILES, "actual_to_date", "n_forecast"])


def _history_totals(history: pd.DataFrame | None, series: str) -> pd.Series:
    """Actual amount per date of one series (all series summed for ``"total"``)."""
    if history is None:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([]))
    id_col = next((c for c in ("series", "segment") if c in history.columns), None)
    frame = history
    # "total" of a table without a total row is the sum of its segments.
    if id_col is not None and (series != _TOTAL or (history[id_col].astype(str) == _TOTAL).any()):
        frame = _one_series(history, series, "revenue")
    amounts = pd.to_numeric(frame["amount"], errors="coerce").astype(float)
    return amounts.groupby(pd.to_datetime(frame["date"]).to_numpy()).sum(min_count=1).dropna()


def _revenue_dates(revenue: pd.DataFrame) -> pd.Series:
    missing = [c for c in ("date", "amount") if c not in revenue.columns]
    if missing:
        raise DataError([problem("revenue", c, "is a required column but is missing") for c in missing])
    return pd.to_datetime(revenue["date"], errors="coerce")


def forecast_periods(revenue: pd.DataFrame, periods, model="ensemble", series: str = _TOTAL,
                     correlation: float = 1.0, **forecast_options) -> pd.DataFrame:
    """Fit a revenue model to the whole table and forecast period totals (the current and next period).

    The horizon runs from the month after the history to the end of the last
    period; months of a period already in the table count as actuals (see
    :func:`period_forecast`).

    Parameters
    ----------
    revenue : pd.DataFrame
        Revenue table (``date, amount``, optional ``segment``) of complete
        months only; for a blend with the pipeline, :func:`bookings`.
    periods : str or sequence
        E.g. ``["2026Q3", "2026Q4"]``.
    model : str or forecaster, default "ensemble"
    series : str, default "total"
    correlation : float, default 1.0
        As in :func:`period_forecast`.
    **forecast_options
        Passed to :func:`~forecasting.revenue.forecast` (``season_length``,
        ``seed``, ``fill_gaps``, ``n_jobs``...).

    Returns
    -------
    pd.DataFrame
        :func:`period_forecast`'s ``period, method, p10, p50, p90, actual_to_date, n_forecast``.
    """
    from forecasting.revenue.forecast import forecast

    dates = _revenue_dates(revenue)
    offset = _offset(pd.DatetimeIndex(dates.dropna()), "revenue")
    periods = _as_periods(periods)
    last_needed = max(_dates_in(p, offset)[-1] for p in periods)
    # At least one step, so a period already complete in the history still goes through period_forecast.
    horizon = max(len(pd.date_range(dates.max(), last_needed, freq=offset)) - 1, 1)
    forecast_options.setdefault("progress", False)
    fc = forecast(revenue, horizon=horizon, model=model, **forecast_options)
    return period_forecast(fc, periods, series=series, history=revenue, correlation=correlation)


def time_series_backtest(revenue: pd.DataFrame, periods, model="ensemble", series: str = _TOTAL,
                         correlation: float = 1.0, **forecast_options) -> pd.DataFrame:
    """Forecast each past period as of its first day with a revenue model, like ``pipeline backtest``.

    For every period, :func:`forecast_periods` fits the model on the revenue
    before the period starts and totals the forecast of the period's months.
    The result lines up with the pipeline's ``backtest.csv``.

    Parameters
    ----------
    revenue : pd.DataFrame
        Revenue table (``date, amount``, optional ``segment``); for a blend with the
        pipeline, :func:`bookings`. Must cover every month of the periods.
    periods : str or sequence
        ``"2024Q1:2025Q4"`` (inclusive) or a list of periods.
    model, series, correlation, **forecast_options
        As in :func:`forecast_periods`.

    Returns
    -------
    pd.DataFrame
        ``period, method, actual, p10, p50, p90`` (method ``"time_series"``), one row per period.
    """
    dates = _revenue_dates(revenue)
    actuals = _history_totals(revenue, series)
    offset = _offset(pd.DatetimeIndex(dates.dropna()), "revenue")
    rows = []
    for p in _as_periods(periods):
        wanted = _dates_in(p, offset)
        absent = wanted.difference(actuals.index)
        if len(absent):
            raise DataError([problem("revenue", "date", f"period {p} is not complete in the revenue table: "
                                     "no actual for", [str(d.date()) for d in absent])])
        train = revenue[(dates < _bounds(p)[0]).to_numpy()]
        row = forecast_periods(train, [p], model, series, correlation, **forecast_options).iloc[0]
        rows.append({"period": str(p), "method": TIME_SERIES, "actual": float(actuals.reindex(wanted).sum()),
                     **{q: float(row[q]) for q in _QUANTILES}})
    return pd.DataFrame(rows, columns=["period", "method", "actual", *_QUANTILES])


# ---------------------------------------------------------------- weights

def _period_key(values: pd.Series) -> pd.Series:
    return values.map(lambda p: str(_as_periods(p)[0]))


def _aligned(backtest: pd.DataFrame, methods) -> pd.DataFrame:
    """Periods every method forecast (index, oldest first) with ``actual`` and ``p50_<method>`` etc."""
    missing = [c for c in ("period", "method", "actual", "p50") if c not in backtest.columns]
    if missing:
        raise DataError([problem("backtest", c, "is a required column but is missing (need period, method, "
                                 "actual, p50; p10, p90 for ranges)") for c in missing])
    absent = [m for m in methods if not (backtest["method"] == m).any()]
    if absent:
        found = ", ".join(map(str, backtest["method"].unique()[:10]))
        raise DataError([problem("backtest", "method", f"has no rows for {', '.join(map(repr, absent))} "
                                 f"(methods found: {found}); relabel the pipeline method you use, e.g. "
                                 "learned, as 'pipeline'")])
    frame = backtest[backtest["method"].isin(methods)]
    frame = frame.assign(period=_period_key(frame["period"]))
    dup = frame.duplicated(["period", "method"], keep=False).to_numpy()
    if dup.any():
        raise DataError([problem("backtest", "period", "has more than one row for the same period and method",
                                 (frame["period"] + " " + frame["method"].astype(str))[dup])])
    values = ["actual", *(q for q in _QUANTILES if q in frame.columns)]
    parts = {m: frame[frame["method"] == m].set_index("period")[values].astype(float) for m in methods}
    common = None
    for part in parts.values():
        ok = part.index[part[["actual", "p50"]].notna().all(axis=1).to_numpy()]
        common = ok if common is None else common.intersection(ok)
    common = sorted(common, key=pd.Period)
    actual = pd.DataFrame({m: parts[m].loc[common, "actual"] for m in methods}, index=common)
    differ = ~np.isclose(actual.min(axis=1), actual.max(axis=1), rtol=5e-3)
    if differ.any():
        _warn(f"the methods' actuals differ for period(s) {', '.join(actual.index[differ][:5])}: do they "
              f"forecast the same quantity (bookings)? Using {methods[0]}'s actuals")
    out = pd.DataFrame({"actual": actual[methods[0]]}, index=pd.Index(common, name="period", dtype=object))
    for m in methods:
        for q in values[1:]:
            out[f"{q}_{m}"] = parts[m].loc[common, q].to_numpy()
    return out


def _errors(aligned: pd.DataFrame, methods, metric: str) -> pd.Series:
    """Each method's P50 error over the aligned periods (NaN without periods)."""
    a = aligned["actual"].to_numpy(dtype=float)
    out = {}
    for m in methods:
        f = aligned[f"p50_{m}"].to_numpy(dtype=float)
        if not len(a):
            out[m] = float("nan")
        else:
            out[m] = float(np.mean((a - f) ** 2)) if metric == "mse" else wape(a, f)
    return pd.Series(out, dtype=float)


def _inverse_weights(errors: pd.Series) -> pd.Series:
    """Weights proportional to 1 / error; all of it to error-free methods; equal when unknown."""
    if errors.isna().any() or errors.empty:
        return pd.Series(1.0 / len(errors), index=errors.index)
    perfect = errors == 0
    if perfect.any():
        return perfect.astype(float) / perfect.sum()
    inverse = 1.0 / errors
    return inverse / inverse.sum()


def _check_metric(metric: str) -> None:
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, found {metric!r}")


def blend_weights(backtest: pd.DataFrame, metric: str = "mse", methods=METHODS) -> pd.Series:
    """Inverse-error weights of the methods from a backtest of their period forecasts.

    Parameters
    ----------
    backtest : pd.DataFrame
        ``period, method, actual, p50`` rows (the ``pipeline backtest`` columns),
        with ``method`` in ``methods``; only periods every method forecast count.
        The pipeline's own backtest names its methods ``default`` / ``historical``
        / ``learned``: relabel the one you use as ``"pipeline"``.
    metric : {"mse", "wape"}, default "mse"
        Inverse mean squared error of the P50 (Bates-Granger) or inverse WAPE.
    methods : sequence of str, default ("pipeline", "time_series")

    Returns
    -------
    pd.Series
        Weight per method, summing to 1. A method with zero error gets all the
        weight; without any common period the weights are equal (with a warning).

    Examples
    --------
    >>> bt = pd.DataFrame({"period": ["2026Q1", "2026Q1"], "method": ["pipeline", "time_series"],
    ...                    "actual": [100.0, 100.0], "p50": [101.0, 98.0]})
    >>> blend_weights(bt).round(3).to_dict()
    {'pipeline': 0.8, 'time_series': 0.2}
    """
    _check_metric(metric)
    methods = tuple(methods)
    aligned = _aligned(backtest, methods)
    if aligned.empty:
        _warn(f"no period with a backtest of every method ({', '.join(methods)}): weighting them equally")
        return pd.Series(1.0 / len(methods), index=list(methods))
    return _inverse_weights(_errors(aligned, methods, metric)).rename("weight")


# ---------------------------------------------------------------- blend

def _period_rows(frame: pd.DataFrame, method: str, group: str | None, table: str) -> pd.DataFrame:
    """One row per period with ``p10, p50, p90``, keyed by the period's text."""
    missing = [c for c in ("period", *_QUANTILES) if c not in frame.columns]
    if missing:
        raise DataError([problem(table, c, "is a required column but is missing") for c in missing])
    if group is not None and "group" in frame.columns:
        frame = frame[frame["group"].astype(str) == group]
        if frame.empty:
            raise DataError([problem(table, "group", f"has no rows for group {group!r}")])
    if "method" in frame.columns and method == TIME_SERIES:
        frame = frame[frame["method"] == TIME_SERIES]
    out = frame.assign(period=_period_key(frame["period"]))
    dup = out["period"].duplicated().to_numpy()
    if dup.any():
        raise DataError([problem(table, "period", "has more than one row for the same period",
                                 out["period"][dup])])
    return out.set_index("period")[list(_QUANTILES)].astype(float)


def _blend_rows(period: str, forecasts: dict[str, pd.Series], weights: pd.Series) -> list[dict]:
    rows = [{"period": period, "method": m, **forecasts[m][list(_QUANTILES)].to_dict(), "weight": float(weights[m])}
            for m in forecasts]
    mixed = {q: float(sum(weights[m] * forecasts[m][q] for m in forecasts)) for q in _QUANTILES}
    rows.append({"period": period, "method": BLEND, **mixed, "weight": 1.0})
    return rows


def blend(pipeline: pd.DataFrame, time_series: pd.DataFrame, backtest: pd.DataFrame | None = None,
          metric: str = "mse", weights=None, group: str = "all") -> pd.DataFrame:
    """Combine the pipeline and time-series forecasts of the same periods, weighted by backtest errors.

    Parameters
    ----------
    pipeline : pd.DataFrame
        The pipeline's ``forecast.csv``: ``period, group, p10, p50, p90`` (one
        row per period and group; several periods may be concatenated).
    time_series : pd.DataFrame
        :func:`period_forecast` output: ``period, p10, p50, p90``.
    backtest : pd.DataFrame, optional
        Past forecasts of both methods (see :func:`blend_weights`); used unless
        ``weights`` is given.
    metric : {"mse", "wape"}, default "mse"
    weights : mapping or pd.Series, optional
        Fixed weights per method (normalised to sum to 1).
    group : str, default "all"
        Pipeline group to blend; with ``period_forecast(series=...)`` of the
        matching revenue series ("all" pairs with the "total" series).

    Returns
    -------
    pd.DataFrame
        ``period, method, p10, p50, p90, weight``: per period common to both
        inputs, a ``pipeline``, a ``time_series`` and a ``blend`` row (weight 1).
        The blend's quantiles are the weighted averages of the methods' quantiles.
    """
    pipe = _period_rows(pipeline, PIPELINE, group, "pipeline_forecast")
    ts = _period_rows(time_series, TIME_SERIES, None, "time_series_forecast")
    common = [p for p in pipe.index if p in ts.index]
    if not common:
        raise DataError([problem("pipeline_forecast", "period", "has no period in common with the time-series "
                                 f"forecast ({', '.join(ts.index[:5])})", pipe.index)])
    dropped = sorted(set(pipe.index).symmetric_difference(ts.index))
    if dropped:
        _warn(f"period(s) {', '.join(dropped)} are forecast by one method only and are not blended")
    if weights is None:
        if backtest is None:
            raise ValueError("pass a backtest (to weight by error) or explicit weights")
        weights = blend_weights(backtest, metric)
    weights = pd.Series(weights, dtype=float).reindex(list(METHODS))
    if weights.isna().any() or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"weights must be non-negative numbers for {METHODS}, found {weights.to_dict()}")
    weights = weights / weights.sum()
    rows = []
    for period in common:
        rows += _blend_rows(period, {PIPELINE: pipe.loc[period], TIME_SERIES: ts.loc[period]}, weights)
    return pd.DataFrame(rows, columns=list(BLEND_COLUMNS))


def blend_backtest(backtest: pd.DataFrame, metric: str = "mse",
                   min_periods: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replay the blend over past periods and score it next to both methods.

    Each period's weights come from the periods **before** it only (an
    expanding window), so the blend is scored out of sample; periods with
    fewer than ``min_periods`` earlier periods use equal weights.

    Parameters
    ----------
    backtest : pd.DataFrame
        Aligned past forecasts: ``period, method, actual, p10, p50, p90`` with
        method ``pipeline`` and ``time_series`` (the pipeline's ``backtest.csv``
        rows of one method relabelled, plus :func:`time_series_backtest`).
    metric : {"mse", "wape"}, default "mse"
    min_periods : int, default 1

    Returns
    -------
    frame : pd.DataFrame
        ``period, method, actual, p10, p50, p90, weight`` for pipeline,
        time_series and blend, oldest period first.
    metrics : pd.DataFrame
        :func:`blend_metrics` of ``frame``: does the blend beat both?
    """
    _check_metric(metric)
    aligned = _aligned(backtest, METHODS)
    if aligned.empty:
        raise DataError([problem("backtest", "period", "has no period forecast by both pipeline and "
                                 "time_series")])
    missing = [q for q in ("p10", "p90") if f"{q}_{PIPELINE}" not in aligned.columns]
    if missing:
        raise DataError([problem("backtest", q, "is a required column but is missing") for q in missing])
    rows = []
    for i, period in enumerate(aligned.index):
        past = aligned.iloc[:i]
        weights = (_inverse_weights(_errors(past, METHODS, metric)) if i >= max(min_periods, 1)
                   else pd.Series(1.0 / len(METHODS), index=list(METHODS)))
        forecasts = {m: pd.Series({q: aligned.loc[period, f"{q}_{m}"] for q in _QUANTILES}) for m in METHODS}
        for row in _blend_rows(period, forecasts, weights):
            rows.append({**row, "actual": float(aligned.loc[period, "actual"])})
    frame = pd.DataFrame(rows, columns=["period", "method", "actual", *_QUANTILES, "weight"])
    return frame, blend_metrics(frame)


def blend_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """Accuracy of each method's period forecasts, in the ``pipeline backtest`` metrics' terms.

    Returns
    -------
    pd.DataFrame
        ``method, wape, bias, coverage_80, width_80, rmse, n_periods``: WAPE and
        bias of the P50 (fractions of the total actual; bias > 0 over-forecasts),
        the share of actuals inside [P10, P90], the mean P10-P90 width over the
        mean actual, the root mean squared error of the P50, and the number of
        periods. Methods keep their order in ``frame``.

    Examples
    --------
    >>> frame = pd.DataFrame({"method": ["m", "m"], "actual": [100.0, 200.0], "p10": [90.0, 100.0],
    ...                       "p50": [110.0, 180.0], "p90": [120.0, 190.0]})
    >>> blend_metrics(frame).round(4).to_dict("records")[0]["wape"]
    0.1
    """
    out = []
    for method, part in frame.groupby("method", sort=False):
        a, f = part["actual"].to_numpy(dtype=float), part["p50"].to_numpy(dtype=float)
        out.append({
            "method": method,
            "wape": wape(a, f),
            "bias": bias(a, f),
            "coverage_80": coverage(a, part["p10"], part["p90"]),
            "width_80": interval_width(part["p10"], part["p90"], scale=float(np.mean(np.abs(a)))),
            "rmse": float(np.sqrt(np.mean((a - f) ** 2))),
            "n_periods": int(len(part)),
        })
    return pd.DataFrame(out, columns=["method", "wape", "bias", "coverage_80", "width_80", "rmse", "n_periods"])


# ---------------------------------------------------------------- end to end

def _pipeline_rows(backtest: pd.DataFrame, forecast: pd.DataFrame) -> pd.DataFrame:
    """The pipeline backtest rows of the forecast's method, relabelled ``pipeline``."""
    if "method" not in backtest.columns:
        raise DataError([problem("pipeline_backtest", "method", "is a required column but is missing")])
    found = list(dict.fromkeys(backtest["method"].astype(str)))
    named = list(dict.fromkeys(forecast["method"].astype(str))) if "method" in forecast.columns else []
    method = named[0] if len(named) == 1 else (found[0] if len(found) == 1 else None)
    if method not in found:
        raise DataError([problem("pipeline_backtest", "method", f"has no rows for the pipeline forecast's "
                                 f"method ({', '.join(named) or 'not named'}); methods found: "
                                 f"{', '.join(found[:10]) or 'none'}")])
    rows = backtest[(backtest["method"].astype(str) == method).to_numpy()]
    return rows.assign(method=PIPELINE)[["period", "method", "actual", *_QUANTILES]]


def blend_with_pipeline(opportunities: pd.DataFrame, pipeline_forecast: pd.DataFrame,
                        pipeline_backtest: pd.DataFrame, as_of, model="ensemble", metric: str = "mse",
                        correlation: float = 1.0,
                        **forecast_options) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Blend the pipeline forecast with a time-series forecast of bookings, start to finish.

    Builds the monthly bookings known on ``as_of`` (:func:`bookings`), forecasts
    the pipeline forecast's periods with ``model`` (:func:`forecast_periods`),
    backtests the model on the pipeline backtest's periods
    (:func:`time_series_backtest`), then weights both methods by their backtest
    errors (:func:`blend`) and replays the blend out of sample (:func:`blend_backtest`).
    Only the total (pipeline group ``all``) is blended.

    Parameters
    ----------
    opportunities : pd.DataFrame
        Canonical opportunities (won deals make the bookings).
    pipeline_forecast : pd.DataFrame
        :func:`forecasting.pipeline.forecast_period`'s forecast (``forecast.csv``):
        ``period, group, p10, p50, p90, method``.
    pipeline_backtest : pd.DataFrame
        :func:`forecasting.pipeline.backtest`'s frame (``backtest.csv``); the rows
        of the forecast's method are used. Its periods must be complete on ``as_of``.
    as_of : date-like
        The forecast date: bookings of months complete by then are the history.
    model : str or forecaster, default "ensemble"
    metric : {"mse", "wape"}, default "mse"
    correlation : float, default 1.0
        As in :func:`period_forecast`.
    **forecast_options
        Passed to :func:`~forecasting.revenue.forecast` (``seed``, ``season_length``...).

    Returns
    -------
    blended : pd.DataFrame
        :func:`blend`'s ``period, method, p10, p50, p90, weight`` (``blend.csv``).
    backtest : pd.DataFrame
        :func:`blend_backtest`'s ``period, method, actual, p10, p50, p90, weight``.
    metrics : pd.DataFrame
        :func:`blend_metrics` of the backtest: ``method, wape, bias, coverage_80, ...``.
    """
    _check_metric(metric)
    past_pipeline = _pipeline_rows(pipeline_backtest, pipeline_forecast)
    periods = list(_period_rows(pipeline_forecast, PIPELINE, "all", "pipeline_forecast").index)
    books = bookings(opportunities, as_of=as_of)
    options = dict(model=model, correlation=correlation, **forecast_options)
    ahead = forecast_periods(books, periods, **options)
    past = pd.concat([past_pipeline, time_series_backtest(books, list(past_pipeline["period"]), **options)],
                     ignore_index=True)
    blended = blend(pipeline_forecast, ahead, past, metric=metric)
    frame, metrics = blend_backtest(past, metric=metric)
    return blended, frame, metrics
