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
bookings (revenue won in the period); :func:`bookings` (in :mod:`forecasting.revenue.bookings`)
builds that monthly series from the opportunities table, ready for :func:`~forecasting.revenue.forecast`.
A recognised-revenue table (MRR) is a different quantity and must not be
blended with the pipeline.

Period ranges
-------------
How the months' intervals add up to a period's P10 / P90 (the ``correlation``
between the months' errors) is described in :mod:`forecasting.revenue.period_totals`.

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
from forecasting.periods import parse_period
from forecasting.revenue.bookings import bookings
from forecasting.revenue.period_totals import (
    _QUANTILES,
    TIME_SERIES,
    forecast_periods,
    period_forecast,
    time_series_backtest,
)

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

PIPELINE, BLEND = "pipeline", "blend"
METHODS = (PIPELINE, TIME_SERIES)
BLEND_COLUMNS = ("period", "method", "p10", "p50", "p90", "weight")
_METRICS = ("mse", "wape")


def _warn(message: str) -> None:
    from forecasting.data.validate import DataWarning

    warnings.warn(message, DataWarning, stacklevel=3)


# ---------------------------------------------------------------- weights

def _period_key(values: pd.Series) -> pd.Series:
    return values.map(lambda p: str(parse_period(p, table="period")))


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
