"""Forecast-accuracy metrics: point errors, bias and prediction-interval quality.

Pure functions of numpy arrays (or anything array-like): no fitting, no I/O.
Conventions, chosen to match the forecasting literature so numbers can be
compared with published results:

- :func:`smape` is in percent, 0..200, as in the M3/M4 competitions.
- :func:`wape`, :func:`bias`, :func:`coverage` and a scaled
  :func:`interval_width` are fractions (0.12 means 12 %).
- :func:`mase` is unit-free: 1.0 means "as good in-sample as the seasonal naive".

Missing values (NaN) in ``actual`` or ``forecast`` are ignored pairwise.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "mase",
    "mase_scale",
    "smape",
    "wape",
    "bias",
    "coverage",
    "interval_width",
]


def _pair(*arrays) -> list[np.ndarray]:
    """Float arrays of one length with positions missing in any array dropped."""
    arrays = [np.asarray(a, dtype=float).ravel() for a in arrays]
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"Found arrays of inconsistent lengths: {[len(a) for a in arrays]}")
    keep = np.ones(len(arrays[0]), dtype=bool)
    for a in arrays:
        keep &= ~np.isnan(a)
    return [a[keep] for a in arrays]


def mase_scale(insample, season_length: int = 1) -> float:
    """In-sample mean absolute error of the seasonal naive forecast (the MASE denominator).

    Parameters
    ----------
    insample : array-like
        Training values, oldest first.
    season_length : int, default 1
        Lag of the naive forecast (1 = naive, 12 = seasonal naive for monthly data).
        When the series is not longer than ``season_length``, lag 1 is used.

    Returns
    -------
    float
        ``mean(|y[t] - y[t - m]|)``; NaN when it cannot be computed.

    Examples
    --------
    >>> mase_scale([1, 2, 4, 7])
    2.0
    """
    y = np.asarray(insample, dtype=float).ravel()
    m = season_length if len(y) > season_length else 1
    if len(y) <= m:
        return float("nan")
    diffs = np.abs(y[m:] - y[:-m])
    diffs = diffs[~np.isnan(diffs)]
    return float(diffs.mean()) if len(diffs) else float("nan")


def mase(actual, forecast, insample=None, season_length: int = 1, scale: float | None = None) -> float:
    """Mean absolute scaled error (Hyndman & Koehler, 2006).

    Parameters
    ----------
    actual, forecast : array-like
        Out-of-sample actual values and point forecasts.
    insample : array-like, optional
        Training values used to compute the scale; not needed when ``scale`` is given.
    season_length : int, default 1
        Season of the naive forecast that defines the scale.
    scale : float, optional
        A precomputed :func:`mase_scale`.

    Returns
    -------
    float
        ``mean(|actual - forecast|) / scale``; NaN when the scale is 0 or unknown
        (a constant training series has no scale).

    Examples
    --------
    >>> mase([3, 4], [3, 4], insample=[1, 2])
    0.0
    >>> mase([3, 5], [4, 4], insample=[1, 3])
    0.5
    """
    a, f = _pair(actual, forecast)
    if scale is None:
        if insample is None:
            raise ValueError("mase needs `insample` or `scale`")
        scale = mase_scale(insample, season_length)
    if not len(a) or not np.isfinite(scale) or scale <= 0:
        return float("nan")
    return float(np.mean(np.abs(a - f)) / scale)


def smape(actual, forecast) -> float:
    """Symmetric mean absolute percentage error in percent (0..200), the M3/M4 definition.

    ``200 * mean(|a - f| / (|a| + |f|))``; a term where both are 0 counts as 0
    (a perfect forecast of zero).

    Examples
    --------
    >>> smape([100, 200], [110, 180])
    10.025062656641603
    """
    a, f = _pair(actual, forecast)
    if not len(a):
        return float("nan")
    denom = np.abs(a) + np.abs(f)
    terms = np.divide(np.abs(a - f), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(200.0 * terms.mean())


def wape(actual, forecast) -> float:
    """Weighted absolute percentage error as a fraction: ``sum|a - f| / sum|a|``.

    Examples
    --------
    >>> wape([100, 300], [110, 270])
    0.1
    """
    a, f = _pair(actual, forecast)
    total = np.abs(a).sum()
    return float(np.abs(a - f).sum() / total) if total > 0 else float("nan")


def bias(actual, forecast) -> float:
    """Signed forecast bias as a fraction of actuals: ``sum(f - a) / sum|a|``.

    Positive means over-forecasting.

    Examples
    --------
    >>> bias([100, 300], [110, 270])
    -0.05
    """
    a, f = _pair(actual, forecast)
    total = np.abs(a).sum()
    return float((f - a).sum() / total) if total > 0 else float("nan")


def coverage(actual, lo, hi) -> float:
    """Share of actual values inside the closed interval ``[lo, hi]``.

    Examples
    --------
    >>> coverage([1, 2, 3, 4], [0, 0, 0, 0], [2, 2, 2, 2])
    0.5
    """
    a, lo, hi = _pair(actual, lo, hi)
    if not len(a):
        return float("nan")
    return float(np.mean((a >= lo) & (a <= hi)))


def interval_width(lo, hi, scale: float | None = None) -> float:
    """Mean width of prediction intervals, optionally divided by a scale.

    Parameters
    ----------
    lo, hi : array-like
        Interval bounds.
    scale : float, optional
        Divide by this, e.g. the mean absolute actual, to compare series of
        different size. ``None`` returns the width in the data's units.

    Examples
    --------
    >>> interval_width([0, 2], [4, 4])
    3.0
    >>> interval_width([0, 2], [4, 4], scale=6.0)
    0.5
    """
    lo, hi = _pair(lo, hi)
    if not len(lo):
        return float("nan")
    width = float(np.mean(hi - lo))
    if scale is None:
        return width
    return width / scale if scale > 0 else float("nan")
