"""Period totals (P10 / P50 / P90 per quarter) of a monthly revenue forecast, now and as of past periods.

:func:`period_forecast` totals a forecast's months by period, counting months already in the
history as actuals; :func:`forecast_periods` fits a model and does it in one call;
:func:`time_series_backtest` replays it as of each past period's first day, with the columns
of ``pipeline backtest``, so :mod:`forecasting.revenue.blend` can weigh both methods.

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
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.data.errors import DataError, problem
from forecasting.periods import dates_in, parse_periods, period_bounds
from forecasting.revenue.forecast import forecast
from forecasting.revenue.models import _z

__all__ = ["TIME_SERIES", "period_forecast", "forecast_periods", "time_series_backtest"]

TIME_SERIES = "time_series"
_QUANTILES = ("p10", "p50", "p90")
_TOTAL = "total"


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
    for p in parse_periods(periods, table="period"):
        wanted = dates_in(p, offset)
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
    dates = _revenue_dates(revenue)
    offset = _offset(pd.DatetimeIndex(dates.dropna()), "revenue")
    periods = parse_periods(periods, table="period")
    last_needed = max(dates_in(p, offset)[-1] for p in periods)
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
    for p in parse_periods(periods, table="period"):
        wanted = dates_in(p, offset)
        absent = wanted.difference(actuals.index)
        if len(absent):
            raise DataError([problem("revenue", "date", f"period {p} is not complete in the revenue table: "
                                     "no actual for", [str(d.date()) for d in absent])])
        train = revenue[(dates < period_bounds(p)[1]).to_numpy()]
        row = forecast_periods(train, [p], model, series, correlation, **forecast_options).iloc[0]
        rows.append({"period": str(p), "method": TIME_SERIES, "actual": float(actuals.reindex(wanted).sum()),
                     **{q: float(row[q]) for q in _QUANTILES}})
    return pd.DataFrame(rows, columns=["period", "method", "actual", *_QUANTILES])
