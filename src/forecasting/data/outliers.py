"""Outlier periods of a revenue series: one robust detector for ``data check`` and the forecasts.

A mis-keyed month (an amount typed x100 or x1000, or with digits missing) is
enough to make ARIMA or ETS forecast nonsense, down to exactly 0 for a series
running at 850k a month. :func:`detect_outliers` finds such periods so that
``data check revenue`` can report them by date and the revenue forecasts can
fit on an adjusted copy (:func:`adjust_outliers`).

Method
------
1. Strictly positive series are examined on the log scale (a mis-key
   multiplies an amount); series with zeros or negatives on their own scale.
2. A robust fit gives each period its expected value: with two full seasons,
   a running median over one season (the trend) plus, for each position in
   the season, the median of the detrended values (the seasonal pattern);
   else a centred running median of 5 periods. Medians, because one wild
   period must not move its own expected value (robust STL does not qualify:
   with three seasons its seasonal smoother absorbs a x1000 month whole).
3. The residuals are scaled by their median absolute deviation (x 1.4826,
   a standard deviation for normal noise) into a robust z-score.
4. A period is an outlier when ``|z| >= threshold`` **and** it is far from its
   expected value: at least ``min_ratio`` times above or below it (log scale),
   or, without the log scale, off by ``(GROSS_RATIO - 1)`` typical amounts
   (the median absolute non-zero amount: a series with zeros has intermittent
   or lumpy sales, whose spikes are real; on the Tourism data, adjusting
   5x spikes there cut the 95 % coverage from 93 % to 88 %). The second test leaves ordinary busy or quiet
   months alone in a very regular series, where ``|z|`` alone would flag them.
   It must also be as far from the median of its 5-period neighbourhood: a
   mis-key stands out from its neighbours whatever the fit, while a fit gone
   wrong (at the sharp bend of a smooth series) does not make one.
5. A seasonal series shorter than two seasons has no outliers: without a
   season to compare with, a seasonal low cannot be told from a mis-key.
6. Outliers are rare: when more than one period per two years passes both
   tests, the series is spiky by nature (intermittent or lumpy sales) and
   only gross errors, :data:`GROSS_RATIO` times off, remain outliers.
7. The expected values of the outliers come from a second fit that leaves
   them out (what :func:`adjust_outliers` puts in their place).

Examples
--------
>>> y = pd.Series([100.0, 102, 98, 101, 99, 100_000, 100, 103, 97, 100],
...               index=pd.date_range("2024-01-01", periods=10, freq="MS"))
>>> found = detect_outliers(y, season_length=1)
>>> [str(d.date()) for d in found["date"]], found["expected"].round().tolist()
(['2024-06-01'], [100.0])
>>> float(adjust_outliers(y, found).iloc[5].round())
100.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .calendar import infer_frequency
from .errors import Problem, problem

__all__ = ["detect_outliers", "adjust_outliers", "describe_outliers", "outlier_problems", "THRESHOLD",
           "MIN_RATIO", "GROSS_RATIO"]

#: Robust z-score from which a period can be an outlier.
THRESHOLD = 5.0
#: How many times above (or below) its expected value an outlier must at least be.
MIN_RATIO = 5.0
#: In a spiky series (more candidates than one per two years) only periods this far off count.
GROSS_RATIO = 20.0
_MIN_PERIODS = 6  # fewer periods give no credible robust scale
_MAD_TO_SD = 1.4826


def _robust_fit(x: np.ndarray, m: int) -> np.ndarray:
    """Expected value of every period: running-median trend plus median seasonal pattern.

    Medians throughout, so one wild period moves neither its trend nor its season (robust STL
    does not: with three seasons its seasonal smoother absorbs a x1000 month whole). Missing
    values (outliers left out) are skipped.
    """
    if m <= 1 or len(x) < 2 * m:
        return _running_median(x)
    trend = pd.Series(x).rolling(m + 1 - m % 2, center=True, min_periods=1).median().to_numpy()
    position = np.arange(len(x)) % m
    detrended = x - trend
    season = np.array([np.nanmedian(detrended[position == p]) for p in range(m)])
    return trend + (season - np.median(season))[position]


def _running_median(x: np.ndarray) -> np.ndarray:
    """Centred median of 5 periods (3 at the ends): one or two outliers in a row cannot move it."""
    return pd.Series(x).rolling(5, center=True, min_periods=1).median().to_numpy()


def _robust_z(resid: np.ndarray) -> np.ndarray:
    """Residuals over their scaled MAD; with a zero MAD any non-zero residual is infinitely far."""
    centred = resid - np.median(resid)
    scale = _MAD_TO_SD * np.median(np.abs(centred))
    if scale > 0:
        return centred / scale
    return np.where(np.abs(centred) > 1e-12, np.copysign(np.inf, centred), 0.0)


def detect_outliers(y: pd.Series, season_length: int | None = None, threshold: float = THRESHOLD,
                    min_ratio: float = MIN_RATIO) -> pd.DataFrame:
    """Outlier periods of one regular series (see the module docstring for the method).

    Parameters
    ----------
    y : pd.Series
        Amounts indexed by their dates, oldest first, no missing values.
    season_length : int, optional
        12 for monthly, 4 quarterly...; inferred from the dates when None.
    threshold : float, default :data:`THRESHOLD`
        Smallest robust z-score of an outlier.
    min_ratio : float, default :data:`MIN_RATIO`
        Smallest factor between an outlier and its expected value.

    Returns
    -------
    pd.DataFrame
        ``date`` (the index label), ``value``, ``expected`` (the robust fit's
        value, what :func:`adjust_outliers` puts in its place) and ``score``
        (the robust z-score), one row per outlier, oldest first. Empty for
        series shorter than 6 periods or, when seasonal, than two seasons.
    """
    values = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
    none = np.zeros(len(values), dtype=bool)
    if len(values) < _MIN_PERIODS or not np.isfinite(values).all():
        return _frame(y.index, none, values, values, values)
    m = int(season_length) if season_length else _season_of(y.index)
    if m > 1 and len(values) < 2 * m:
        # Without two seasons to compare, a seasonal low looks like a mis-key (Superstore's Home
        # Office sold 168 in February 2014 against 5,608 in January, and 117 a year later).
        return _frame(y.index, none, values, values, values)
    positive = bool((values > 0).all())
    x = np.log(values) if positive else values
    if not positive:
        # Zeros mean intermittent or lumpy sales, whose spikes are real: only gross errors count.
        min_ratio = max(min_ratio, GROSS_RATIO)
    fitted = _robust_fit(x, m)
    score = _robust_z(x - fitted)
    expected = np.exp(fitted) if positive else fitted
    if not positive and (values >= 0).all():
        expected = np.maximum(expected, 0.0)  # a series that cannot be negative is not expected to be
    hit = (np.abs(score) >= threshold) & _far(values, expected, x - fitted, positive, min_ratio)
    # ... and far from its neighbours too, so a fit gone wrong (at a sharp bend) flags nothing.
    local = _running_median(x)
    hit &= _far(values, np.exp(local) if positive else local, x - local, positive, min_ratio)
    if hit.sum() > max(1, len(values) // 24):
        # Outliers are rare: a series with more far-off periods than one per two years is spiky
        # by nature, and only gross errors (a mis-keyed order of magnitude) count there.
        hit &= _far(values, expected, x - fitted, positive, GROSS_RATIO)
    if hit.any():  # refit without them: an outlier still nudges the medians around it
        fitted = _robust_fit(np.where(hit, np.nan, x), m)
        expected = np.exp(fitted) if positive else fitted
        if not positive and (values >= 0).all():
            expected = np.maximum(expected, 0.0)
    return _frame(y.index, hit, values, expected, score)


def _frame(index: pd.Index, hit: np.ndarray, values, expected, score) -> pd.DataFrame:
    return pd.DataFrame({"date": index[hit], "value": values[hit], "expected": expected[hit], "score": score[hit]})


def _far(values, expected, log_resid, positive: bool, ratio: float) -> np.ndarray:
    """At least ``ratio`` times above or below the expected value (or ``ratio - 1`` typical amounts off)."""
    if positive:
        return np.abs(log_resid) >= np.log(ratio)
    nonzero = np.abs(values[values != 0])
    typical = np.median(nonzero) if len(nonzero) else 0.0  # intermittent sales: a typical sale month
    return np.abs(values - expected) >= (ratio - 1) * typical


def _season_of(index: pd.Index) -> int:
    if not isinstance(index, pd.DatetimeIndex):
        return 1
    return infer_frequency(index)[1]


def adjust_outliers(y: pd.Series, outliers: pd.DataFrame) -> pd.Series:
    """A copy of ``y`` with each outlier period replaced by its expected value.

    Parameters
    ----------
    y : pd.Series
    outliers : pd.DataFrame
        :func:`detect_outliers` of ``y``.
    """
    adjusted = y.astype(float).copy()
    if len(outliers):
        adjusted.loc[outliers["date"].to_numpy()] = outliers["expected"].to_numpy()
    return adjusted


def describe_outliers(outliers: pd.DataFrame, limit: int = 5) -> str:
    """``"2024-06-01 (100,000, expected about 100)"``, the first ``limit`` outliers, for messages."""
    def when(d):
        return str(d.date()) if isinstance(d, pd.Timestamp) else str(d)

    parts = [f"{when(r.date)} ({r.value:,.0f}, expected about {r.expected:,.0f})"
             for r in outliers.head(limit).itertuples()]
    more = f" and {len(outliers) - limit} more" if len(outliers) > limit else ""
    return ", ".join(parts) + more


def outlier_problems(y: pd.Series, season_length: int | None, label: str, table: str = "revenue") -> list[Problem]:
    """A warning :class:`~forecasting.data.errors.Problem` naming the outlier periods of ``y``, if any.

    What ``data check revenue`` (and every revenue load) reports; the rows are the dates.
    """
    found = detect_outliers(y, season_length)
    if found.empty:
        return []
    rows = [f"{pd.Timestamp(r.date).date()} ({r.value:,.0f}, expected about {r.expected:,.0f})"
            for r in found.itertuples()]
    return [problem(table, "amount", f"{label} has {len(found)} outlier period(s), far from their expected "
                    "value (a mis-keyed amount?); revenue forecasts fit them as their expected value "
                    "(--outliers keep fits them as they are)", rows, severity="warning")]
