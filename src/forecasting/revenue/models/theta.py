"""The classic Theta method (Assimakopoulos & Nikolopoulos 2000) with honest intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.revenue.models.base import Forecaster, _normal_bounds, _quiet

__all__ = ["Theta"]


class Theta(Forecaster):
    """Classic Theta method (Assimakopoulos & Nikolopoulos 2000) via statsmodels ``ThetaModel``.

    Seasonality is tested with the classical 90 % ACF test at the season lag
    and, when present, removed by classical (multiplicative for positive data)
    decomposition; the forecast is SES with half the linear-trend slope as
    drift (theta = 2), re-seasonalised.

    Intervals are computed here rather than by statsmodels 0.15, whose
    ``prediction_intervals`` uses the variance of the *raw* series and the
    factor ``1 + (h-1)(1 + (alpha-1)^2)``. We use the SES equivalent, an
    ARIMA(0,1,1): ``sigma^2 (1 + (h-1) alpha^2)`` with ``sigma`` the one-step
    error of SES on the seasonally adjusted series, re-seasonalised like the mean.

    Attributes
    ----------
    seasonal_ : bool
        Whether the test found seasonality.
    alpha_, drift_ : float
        SES smoothing parameter and trend slope ``b0``.
    sigma_ : float
    result_ : statsmodels ThetaModelResults
    """

    _statsmodels = True

    def __init__(self, *, season_length: int | None = None, deseasonalize: bool = True,
                 method: str = "auto", theta: float = 2.0):
        self.season_length = season_length
        self.deseasonalize = deseasonalize
        self.method = method
        self.theta = theta

    def _min_length(self, m):
        return 3

    def _fit(self, y):
        from statsmodels.tsa.forecasting.theta import ThetaModel

        m = self.season_length_
        deseasonalize = bool(self.deseasonalize) and m > 1 and len(y) >= 2 * m
        with _quiet():
            model = ThetaModel(pd.Series(y), period=max(m, 1), deseasonalize=deseasonalize,
                               method=self.method)
            self.result_ = model.fit()
            # Seasonal factors by position in the season, read back through the public API.
            comp = self.result_.forecast_components(max(m, 1))
        self.multiplicative_ = model.method.startswith("mul")
        factors = np.asarray(comp["seasonal"], dtype=float)
        by_pos = np.empty(len(factors))
        by_pos[(len(y) + np.arange(len(factors))) % max(m, 1)] = factors
        self.seasonal_factors_ = by_pos
        self.seasonal_ = bool(np.any(factors != (1.0 if self.multiplicative_ else 0.0)))
        season = by_pos[np.arange(len(y)) % max(m, 1)]
        adjusted = y / season if self.multiplicative_ else y - season
        self.alpha_ = float(self.result_.params["alpha"])
        self.drift_ = float(self.result_.params["b0"])
        self.sigma_ = self._ses_sigma(adjusted, self.alpha_)

    @staticmethod
    def _ses_sigma(x: np.ndarray, alpha: float) -> float:
        level, errors = x[0], np.empty(len(x) - 1)
        for t in range(1, len(x)):
            errors[t - 1] = x[t] - level
            level += alpha * errors[t - 1]
        # Remove the mean error: the theta drift, not noise, explains a trending series' mean error.
        return float(np.std(errors, ddof=1)) if len(errors) > 1 else 0.0

    def _predict(self, h, levels):
        with _quiet():
            mean = np.asarray(self.result_.forecast(h, theta=self.theta), dtype=float)
        m = max(self.season_length_, 1)
        steps = np.arange(1, h + 1)
        sigma_h = self.sigma_ * np.sqrt(1 + (steps - 1) * self.alpha_**2)
        if self.multiplicative_:
            sigma_h = sigma_h * self.seasonal_factors_[(len(self.y_) + steps - 1) % m]
        return mean, _normal_bounds(mean, sigma_h, levels)

