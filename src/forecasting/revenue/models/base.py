"""The forecaster contract shared by every revenue model, and the helpers behind it.

:class:`Forecaster` is a scikit-learn ``BaseEstimator``: the constructor only
stores its keyword-only parameters (so ``clone``, ``get_params`` and
``set_params`` work), :meth:`~Forecaster.fit` does all the fitting and returns
``self``, learned attributes end in ``_``, and :meth:`~Forecaster.predict`
raises ``sklearn.exceptions.NotFittedError`` before ``fit`` and never refits.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager, nullcontext
from statistics import NormalDist

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from forecasting.data.errors import DataError, problem

__all__ = ["Forecaster", "FIT_ERRORS", "season_length_of", "future_index"]

#: What a model fit is expected to raise on data it cannot fit (DataError is a ValueError; overflow
#: and division errors are ArithmeticErrors). Anything else is a bug and must surface.
FIT_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError)

# Season length by the base of a pandas frequency alias (pandas 2.2 and 3.x spellings).
_SEASONS = {
    "M": 12, "MS": 12, "ME": 12, "BMS": 12, "BME": 12, "BM": 12,
    "Q": 4, "QS": 4, "QE": 4, "BQS": 4, "BQE": 4, "BQ": 4,
    "W": 52, "D": 7, "B": 5, "H": 24, "h": 24,
    "Y": 1, "YS": 1, "YE": 1, "A": 1, "AS": 1, "BYS": 1, "BYE": 1,
}


# ---------------------------------------------------------------- index helpers

def _freq_of(index: pd.Index):
    """The frequency of a DatetimeIndex or PeriodIndex, or None when irregular."""
    if isinstance(index, pd.PeriodIndex):
        return index.freq
    if isinstance(index, pd.DatetimeIndex):
        if index.freq is not None:
            return index.freq
        if len(index) >= 3:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pandas 3 deprecates the str return value
                alias = pd.infer_freq(index)
            return pd.tseries.frequencies.to_offset(alias) if alias else None
    return None


def season_length_of(index: pd.Index) -> int:
    """Season length implied by an index's frequency: monthly 12, quarterly 4, weekly 52.

    Daily data gets 7 (weekly cycle), hourly 24, yearly and integer indexes 1.

    Examples
    --------
    >>> season_length_of(pd.period_range("2024-01", periods=6, freq="M"))
    12
    >>> season_length_of(pd.date_range("2024-01-01", periods=6, freq="QS"))
    4
    """
    freq = _freq_of(index)
    if freq is None:
        return 1
    code = getattr(freq, "rule_code", None) or freq.freqstr
    return _SEASONS.get(code.split("-")[0], 1)


def future_index(index: pd.Index, h: int) -> pd.Index:
    """The ``h`` periods after ``index``, with the same index type and frequency.

    Examples
    --------
    >>> future_index(pd.period_range("2024-01", periods=3, freq="M"), 2)
    PeriodIndex(['2024-04', '2024-05'], dtype='period[M]')
    """
    if isinstance(index, pd.PeriodIndex):
        return pd.period_range(index[-1] + 1, periods=h, freq=index.freq, name=index.name)
    if isinstance(index, pd.DatetimeIndex):
        freq = _freq_of(index)
        return pd.date_range(index[-1], periods=h + 1, freq=freq, name=index.name)[1:]
    start = int(index[-1]) + 1 if len(index) else 0
    return pd.RangeIndex(start, start + h, name=index.name)


def _check_series(y, model: str) -> pd.Series:
    """Validate a training series: 1-d, numeric, complete, with a regular index."""
    if not isinstance(y, pd.Series):
        if isinstance(y, pd.DataFrame) and y.shape[1] == 1:
            y = y.iloc[:, 0]
        else:
            y = pd.Series(np.asarray(y, dtype=float).ravel())
    if len(y) == 0:
        raise DataError([problem("revenue", "amount", f"{model}: the series is empty")])
    values = pd.to_numeric(y, errors="coerce").astype(float)
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError([problem(
            "revenue", "amount", f"{model}: the series has missing or non-numeric values "
            "(fill gaps first; `forecast` does this for you)", y.index[missing])])
    index = y.index
    if isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex)):
        if _freq_of(index) is None:
            raise DataError([problem(
                "revenue", "date", f"{model}: the dates are not regular periods (set a freq, "
                "e.g. y.asfreq('MS'), or fill the gaps)", index[:5])])
    elif not pd.api.types.is_integer_dtype(index):
        raise DataError([problem("revenue", "date", f"{model}: expected a DatetimeIndex or "
                                 f"PeriodIndex, found {type(index).__name__}")])
    return pd.Series(values.to_numpy(), index=index, name=y.name)


def _z(level: float) -> float:
    """Two-sided standard-normal quantile for a central interval of ``level`` percent."""
    return NormalDist().inv_cdf(0.5 + level / 200.0)


def _check_levels(level) -> tuple[float, ...]:
    levels = (level,) if np.isscalar(level) else tuple(level)
    for lv in levels:
        if not 0 < float(lv) < 100:
            raise ValueError(f"level must be in (0, 100), found {lv}")
    return tuple(levels)


def _level_name(level) -> str:
    return f"{float(level):g}"


@contextmanager
def _quiet():
    """Silence statsmodels' convergence / start-parameter chatter inside a fit."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _one_blas_thread():
    """Limit BLAS to one thread: statsmodels' small Kalman-filter matrices run several
    times slower with threads fighting over shared cores (measured 8x on 2 cores)."""
    try:
        from threadpoolctl import threadpool_limits  # ships with scikit-learn
    except ImportError:  # pragma: no cover
        return nullcontext()
    return threadpool_limits(1)


# ---------------------------------------------------------------- base class

class Forecaster(BaseEstimator):
    """Base class of the revenue forecasters: ``fit(y)`` then ``predict(h, level)``.

    Subclasses take keyword-only constructor parameters and implement
    ``_fit(values)`` and ``_predict(h, levels)``, which returns
    ``(mean, {level: (lo, hi)})`` as arrays.

    Examples
    --------
    >>> from sklearn.base import clone
    >>> from forecasting.revenue.models import ETS
    >>> model = ETS(season_length=12, damped=True)
    >>> clone(model).get_params()["damped"], model
    (True, ETS(damped=True, season_length=12))
    """

    #: statsmodels-backed models run their numerics with one BLAS thread.
    _statsmodels = False

    def _min_length(self, m: int) -> int:
        """Fewest observations ``fit`` accepts for season length ``m``."""
        return 1

    def fit(self, y: pd.Series) -> "Forecaster":
        """Fit the model to a series.

        Parameters
        ----------
        y : pd.Series
            Values indexed by a regular ``DatetimeIndex`` or ``PeriodIndex``
            (or an integer index), oldest first, no missing values.

        Returns
        -------
        self
        """
        y = _check_series(y, type(self).__name__)
        season = getattr(self, "season_length", None)
        self.season_length_ = int(season) if season else season_length_of(y.index)
        need = self._min_length(self.season_length_)
        if len(y) < need:
            raise DataError([problem(
                "revenue", "amount", f"{type(self).__name__}: series too short: {len(y)} periods, "
                f"need at least {need} (season length {self.season_length_})")])
        self.index_ = y.index
        values = y.to_numpy()
        with _one_blas_thread() if self._statsmodels else nullcontext():
            self._fit(values)
        self.y_ = values  # set last: its presence marks a fitted model
        return self

    def predict(self, h: int, level=(80, 95)) -> pd.DataFrame:
        """Forecast the next ``h`` periods with prediction intervals.

        Parameters
        ----------
        h : int
            Forecast horizon (number of periods, >= 1).
        level : sequence of float, default (80, 95)
            Central prediction-interval levels in percent.

        Returns
        -------
        pd.DataFrame
            Columns ``mean`` then ``lo_L, hi_L`` for each level ``L``, indexed by
            the ``h`` periods after the training data. Bounds are nested:
            ``lo_95 <= lo_80 <= mean <= hi_80 <= hi_95``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        check_is_fitted(self, "y_")
        h = int(h)
        if h < 1:
            raise ValueError(f"h must be a positive integer, found {h}")
        levels = _check_levels(level)
        with _one_blas_thread() if self._statsmodels else nullcontext():
            mean, bounds = self._predict(h, levels)
        return _frame(np.asarray(mean, dtype=float), bounds, future_index(self.index_, h))

    def _chosen(self) -> "Forecaster":
        """An unfitted copy with the specification this fit chose fixed, so refits skip the search."""
        return clone(self)

    def _fit(self, y: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, h: int, levels) -> tuple[np.ndarray, dict]:  # pragma: no cover - abstract
        raise NotImplementedError


def _frame(mean: np.ndarray, bounds: dict, index: pd.Index) -> pd.DataFrame:
    """The contract frame, with bounds forced to nest around the mean.

    Simulated intervals (multiplicative ETS) can, by sampling noise, put a
    bound a hair on the wrong side of the mean; clipping keeps the contract.
    """
    out = {"mean": mean}
    inner_lo, inner_hi = mean, mean
    for level in sorted(bounds, key=float):
        lo, hi = (np.asarray(b, dtype=float) for b in bounds[level])
        inner_lo, inner_hi = np.minimum(lo, inner_lo), np.maximum(hi, inner_hi)
        out[f"lo_{_level_name(level)}"] = inner_lo
        out[f"hi_{_level_name(level)}"] = inner_hi
    ordered = ["mean"] + [f"{side}_{_level_name(lv)}" for lv in bounds for side in ("lo", "hi")]
    return pd.DataFrame(out, index=index)[ordered]


def _normal_bounds(mean: np.ndarray, sigma_h: np.ndarray, levels) -> dict:
    return {lv: (mean - _z(lv) * sigma_h, mean + _z(lv) * sigma_h) for lv in levels}


def _residual_sd(resid: np.ndarray, n_params: int = 0) -> float:
    """Residual standard deviation, ``sqrt(sum e^2 / (T - K))`` as in FPP3 5.5."""
    dof = len(resid) - n_params
    return float(np.sqrt(np.sum(resid**2) / dof)) if dof > 0 else 0.0

