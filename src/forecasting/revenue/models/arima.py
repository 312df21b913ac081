"""Seasonal ARIMA with a small stepwise order search (Hyndman & Khandakar 2008 in miniature)."""

from __future__ import annotations

import numpy as np

from forecasting.data.errors import DataError, problem
from forecasting.revenue.models.base import Forecaster, _quiet

__all__ = ["ARIMA"]


def _seasonal_strength(y: np.ndarray, m: int) -> float:
    """STL seasonal strength ``max(0, 1 - var(R) / var(S + R))`` (Wang, Smith & Hyndman 2006)."""
    from statsmodels.tsa.seasonal import STL

    res = STL(y, period=m).fit()
    remainder, seasonal = np.asarray(res.resid), np.asarray(res.seasonal)
    denom = np.var(seasonal + remainder)
    return float(max(0.0, 1 - np.var(remainder) / denom)) if denom > 0 else 0.0


def _ndiffs(x: np.ndarray, max_d: int, alpha: float = 0.05) -> int:
    """Number of first differences by repeated KPSS tests, as ``forecast::ndiffs``."""
    from statsmodels.tsa.stattools import kpss

    d = 0
    while d < max_d and len(x) > 4 and np.ptp(x) > 0:
        nlags = max(1, int(3 * np.sqrt(len(x)) / 13))  # lshort=TRUE in forecast::ndiffs
        with _quiet():
            p_value = kpss(x, regression="c", nlags=nlags)[1]
        if p_value >= alpha:
            break
        x = np.diff(x)
        d += 1
    return d


def _difference(y: np.ndarray, d: int, D: int, m: int) -> np.ndarray:
    for _ in range(D):
        y = y[m:] - y[:-m]
    for _ in range(d):
        y = np.diff(y)
    return y


def _fit_arma(w: np.ndarray, m: int, key: tuple) -> tuple[float, object]:
    """AICc and parameters of an ARMA ``(p, q)(P, Q)_m`` (+ constant) on a differenced series."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    p, q, P, Q, constant = key
    n_free = p + q + P + Q + constant
    if len(w) <= n_free + 3:
        return np.inf, None  # AICc undefined
    try:
        with _quiet():
            res = SARIMAX(w, order=(p, 0, q), seasonal_order=(P, 0, Q, m) if P + Q else (0, 0, 0, 0),
                          trend="c" if constant else "n",
                          # the variance is concentrated out, unless it is the only parameter
                          concentrate_scale=n_free > 0).fit(disp=False)
    except (ValueError, np.linalg.LinAlgError):
        return np.inf, None
    return (float(res.aicc), res.params) if np.isfinite(res.aicc) else (np.inf, None)


class ARIMA(Forecaster):
    """Seasonal ARIMA (statsmodels ``SARIMAX``) with a small, fast stepwise order search.

    The search follows Hyndman & Khandakar (2008) in miniature: seasonal
    differencing when the STL seasonal strength exceeds 0.64, first
    differences by KPSS tests, then a stepwise walk by AICc over
    ``p <= max_p``, ``q <= max_q``, ``P, Q <= 1`` and with or without a
    constant (drift when differenced once; never after two differences),
    fitting at most ``max_models`` models. Candidates are fitted on the
    already differenced series (a smaller state space, so several times
    faster, and with the variance concentrated out); the winner is re-used on
    the original series without re-estimation.

    Parameters
    ----------
    season_length : int, optional
        Inferred from the index frequency when None.
    order, seasonal_order : tuple, optional
        Fix ``(p, d, q)`` and ``(P, D, Q)`` instead of searching.
    max_p, max_q, max_d, max_D : int
        Bounds of the search.
    max_models : int, default 10
        Most candidate models fitted by the stepwise search.
    constant : bool, optional
        With a fixed ``order``: include the constant (drift) or not; by
        default it is included where allowed (at most one difference).

    Attributes
    ----------
    order_, seasonal_order_ : tuple
    trend_ : {"c", "n"}
        Constant (drift) or none.
    aicc_ : float
    result_ : statsmodels SARIMAXResults
    """

    _statsmodels = True

    def __init__(self, *, season_length: int | None = None, order=None, seasonal_order=None,
                 max_p: int = 2, max_q: int = 2, max_d: int = 2, max_D: int = 1, max_models: int = 10,
                 constant: bool | None = None):
        self.season_length = season_length
        self.order = order
        self.seasonal_order = seasonal_order
        self.max_p = max_p
        self.max_q = max_q
        self.max_d = max_d
        self.max_D = max_D
        self.max_models = max_models
        self.constant = constant

    def _min_length(self, m):
        return 4

    def _differences(self, y, m):
        if self.order is not None:
            D = self.seasonal_order[1] if self.seasonal_order is not None and m > 1 else 0
            return self.order[1], D
        D = 0
        if m > 1 and self.max_D > 0 and len(y) >= 2 * m + 1 and np.ptp(y) > 0:
            D = int(_seasonal_strength(y, m) > 0.64)
        return _ndiffs(_difference(y, 0, D, m), self.max_d), D

    def _fit(self, y):
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        m = self.season_length_
        d, D = self._differences(y, m)
        w = _difference(y, d, D, m)
        # Seasonal ARMA terms need a few seasons of differenced data; a constant
        # after two differences would be a quadratic trend.
        seasonal = m > 1 and len(w) >= 3 * m
        allow_constant = d + D <= 1
        tried = {}

        def score(key):
            if key not in tried:
                tried[key] = _fit_arma(w, m, key)
            return tried[key][0]

        if self.order is not None:
            P, Q = (self.seasonal_order[0], self.seasonal_order[2]) if self.seasonal_order and m > 1 else (0, 0)
            best = (self.order[0], self.order[2], P, Q,
                    int(allow_constant and (self.constant is None or bool(self.constant))))
            score(best)
        else:
            best = self._stepwise(score, seasonal, allow_constant, tried)
        aicc, params = tried[best]
        if params is None:
            raise DataError([problem("revenue", "amount", f"ARIMA: no model could be fitted to "
                                     f"{len(y)} observations")])
        p, q, P, Q, constant = best
        self.order_ = (p, d, q)
        self.seasonal_order_ = (P, D, Q, m) if m > 1 and P + D + Q else (0, 0, 0, 0)
        self.trend_, self.aicc_ = ("c" if constant else "n"), aicc
        with _quiet():
            # Same parametrisation as in the search, so the parameters carry over unchanged.
            self.result_ = SARIMAX(y, order=self.order_, seasonal_order=self.seasonal_order_, trend=self.trend_,
                                   concentrate_scale=sum(best) > 0).filter(params)

    def _chosen(self):
        m = self.season_length_
        return ARIMA(season_length=m, order=self.order_, seasonal_order=self.seasonal_order_[:3] if m > 1 else None,
                     constant=self.trend_ == "c")

    def _stepwise(self, score, seasonal: bool, allow_constant: bool, tried: dict) -> tuple:
        """Hyndman-Khandakar stepwise walk over ``(p, q, P, Q, constant)``."""
        bounds = (self.max_p, self.max_q, int(seasonal), int(seasonal), int(allow_constant))

        def clip(key):
            return tuple(min(max(k, 0), b) for k, b in zip(key, bounds))

        c = int(allow_constant)
        starts = [(0, 0, 0, 0, c), (1, 0, 1, 0, c), (0, 1, 0, 1, c), (1, 1, 1, 1, c), (0, 0, 0, 0, 0)]
        best = min(dict.fromkeys(clip(s) for s in starts), key=score)
        moves = [(1, 0, 0, 0, 0), (-1, 0, 0, 0, 0), (0, 1, 0, 0, 0), (0, -1, 0, 0, 0), (1, 1, 0, 0, 0),
                 (-1, -1, 0, 0, 0), (0, 0, 1, 0, 0), (0, 0, -1, 0, 0), (0, 0, 0, 1, 0), (0, 0, 0, -1, 0),
                 (0, 0, 0, 0, 1), (0, 0, 0, 0, -1)]
        improved = True
        while improved and len(tried) < self.max_models:
            improved = False
            for move in moves:
                cand = clip(tuple(b + mv for b, mv in zip(best, move)))
                if cand in tried:
                    continue
                if len(tried) >= self.max_models:
                    break
                if score(cand) < score(best):
                    best, improved = cand, True
                    break
        return best

    def _predict(self, h, levels):
        with _quiet():
            fc = self.result_.get_forecast(h)
            mean = np.asarray(fc.predicted_mean, dtype=float)
            bounds = {}
            for lv in levels:
                ci = np.asarray(fc.conf_int(alpha=1 - lv / 100), dtype=float)
                bounds[lv] = (ci[:, 0], ci[:, 1])
        return mean, bounds

