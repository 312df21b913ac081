"""Benchmark forecasters with closed-form intervals: :class:`Naive`, :class:`SeasonalNaive`, :class:`Drift`.

The intervals are those of Hyndman & Athanasopoulos, *Forecasting: Principles
and Practice* (3rd ed.), section 5.5.
"""

from __future__ import annotations

import numpy as np

from forecasting.revenue.models.base import Forecaster, _normal_bounds, _residual_sd

__all__ = ["Naive", "SeasonalNaive", "Drift"]


class Naive(Forecaster):
    """Last value carried forward; interval sd grows as ``sigma * sqrt(h)``.

    Examples
    --------
    >>> import pandas as pd
    >>> y = pd.Series([1.0, 2.0, 3.0], index=pd.period_range("2024-01", periods=3, freq="M"))
    >>> Naive().fit(y).predict(2)["mean"].tolist()
    [3.0, 3.0]
    """

    def __init__(self, *, season_length: int | None = None):
        self.season_length = season_length

    def _fit(self, y):
        self.last_ = float(y[-1])
        self.sigma_ = _residual_sd(np.diff(y))

    def _predict(self, h, levels):
        mean = np.full(h, self.last_)
        return mean, _normal_bounds(mean, self.sigma_ * np.sqrt(np.arange(1, h + 1)), levels)


class SeasonalNaive(Forecaster):
    """Value of the same period last season; sd ``sigma * sqrt(k + 1)``, ``k = (h - 1) // m``.

    Needs at least one full season.
    """

    def __init__(self, *, season_length: int | None = None):
        self.season_length = season_length

    def _min_length(self, m):
        return m

    def _fit(self, y):
        m = self.season_length_
        self.last_season_ = y[-m:].astype(float)
        self.sigma_ = _residual_sd(y[m:] - y[:-m])

    def _predict(self, h, levels):
        m = self.season_length_
        steps = np.arange(h)
        mean = self.last_season_[steps % m]
        return mean, _normal_bounds(mean, self.sigma_ * np.sqrt(steps // m + 1), levels)


class Drift(Forecaster):
    """Straight line through the first and last values; sd ``sigma * sqrt(h (1 + h / (T - 1)))``."""

    def __init__(self, *, season_length: int | None = None):
        self.season_length = season_length

    def _min_length(self, m):
        return 2

    def _fit(self, y):
        self.n_ = len(y)
        self.last_ = float(y[-1])
        self.slope_ = float((y[-1] - y[0]) / (len(y) - 1))
        self.sigma_ = _residual_sd(np.diff(y) - self.slope_, n_params=1)

    def _predict(self, h, levels):
        steps = np.arange(1, h + 1)
        mean = self.last_ + steps * self.slope_
        sigma_h = self.sigma_ * np.sqrt(steps * (1 + steps / (self.n_ - 1)))
        return mean, _normal_bounds(mean, sigma_h, levels)

