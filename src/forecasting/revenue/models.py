"""Revenue forecasters with one small API: ``fit(y)`` then ``predict(h, level)``.

Every model follows the scikit-learn contract: the constructor only stores
parameters, :meth:`fit` takes a ``pd.Series`` indexed by a regular
``DatetimeIndex`` or ``PeriodIndex`` (a plain integer index also works) and
returns ``self``; learned attributes end in ``_``. :meth:`predict` returns a
frame with ``mean, lo_80, hi_80, lo_95, hi_95`` indexed by the next ``h``
periods, continuing the input's index type and frequency.

Baselines (:class:`Naive`, :class:`SeasonalNaive`, :class:`Drift`) use the
closed-form intervals of Hyndman & Athanasopoulos, *Forecasting: Principles
and Practice* (3rd ed.), section 5.5. :class:`ETS`, :class:`ARIMA` and
:class:`Theta` wrap statsmodels with small automatic searches, and
:class:`Ensemble` (the default model) combines the three.

statsmodels is imported inside the methods that need it, so importing this
module stays cheap.
"""

from __future__ import annotations

import inspect
import warnings
from contextlib import contextmanager, nullcontext
from statistics import NormalDist

import numpy as np
import pandas as pd

from forecasting.data.errors import DataError, problem

__all__ = [
    "Naive",
    "SeasonalNaive",
    "Drift",
    "ETS",
    "ARIMA",
    "Theta",
    "Ensemble",
    "MODELS",
    "make_model",
    "season_length_of",
    "future_index",
    "FIT_ERRORS",
]

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
# forecast::ets refuses seasonal ETS beyond 24 periods: too many initial states to estimate.
_MAX_ETS_SEASON = 24


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

class _Forecaster:
    """Shared fit/predict plumbing; subclasses implement ``_fit`` and ``_predict``.

    ``_predict(h, levels)`` returns ``(mean, {level: (lo, hi)})`` as arrays.
    """

    #: statsmodels-backed models run their numerics with one BLAS thread.
    _statsmodels = False

    def _min_length(self, m: int) -> int:
        """Fewest observations ``fit`` accepts for season length ``m``."""
        return 1

    # -- scikit-learn style parameter handling (so models can be cloned)
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameters of this model."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> "_Forecaster":
        """Set constructor parameters; returns ``self``."""
        for name, value in params.items():
            if name not in self._param_names():
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p: v.default for p, v in inspect.signature(type(self).__init__).parameters.items()}
        args = [f"{k}={v!r}" for k, v in self.get_params().items() if defaults.get(k) != v]
        return f"{type(self).__name__}({', '.join(args)})"

    # -- the public API
    def fit(self, y: pd.Series) -> "_Forecaster":
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
        """
        if not hasattr(self, "y_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit(y) first")
        h = int(h)
        if h < 1:
            raise ValueError(f"h must be a positive integer, found {h}")
        levels = _check_levels(level)
        with _one_blas_thread() if self._statsmodels else nullcontext():
            mean, bounds = self._predict(h, levels)
        return _frame(np.asarray(mean, dtype=float), bounds, future_index(self.index_, h))

    def _chosen(self) -> "_Forecaster":
        """An unfitted copy with the specification this fit chose fixed, so refits skip the search."""
        return make_model(self)

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


# ---------------------------------------------------------------- baselines

class Naive(_Forecaster):
    """Last value carried forward; interval sd grows as ``sigma * sqrt(h)``.

    Examples
    --------
    >>> y = pd.Series([1.0, 2.0, 3.0], index=pd.period_range("2024-01", periods=3, freq="M"))
    >>> Naive().fit(y).predict(2)["mean"].tolist()
    [3.0, 3.0]
    """

    def __init__(self, season_length: int | None = None):
        self.season_length = season_length

    def _fit(self, y):
        self.last_ = float(y[-1])
        self.sigma_ = _residual_sd(np.diff(y))

    def _predict(self, h, levels):
        mean = np.full(h, self.last_)
        return mean, _normal_bounds(mean, self.sigma_ * np.sqrt(np.arange(1, h + 1)), levels)


class SeasonalNaive(_Forecaster):
    """Value of the same period last season; sd ``sigma * sqrt(k + 1)``, ``k = (h - 1) // m``.

    Needs at least one full season.
    """

    def __init__(self, season_length: int | None = None):
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


class Drift(_Forecaster):
    """Straight line through the first and last values; sd ``sigma * sqrt(h (1 + h / (T - 1)))``."""

    def __init__(self, season_length: int | None = None):
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


# ---------------------------------------------------------------- ETS

def _ets_forms(spec: str, damped, positive: bool, seasonal_ok: bool) -> list[tuple[str, str, bool, str]]:
    """Candidate (error, trend, damped, season) forms for an ETS spec like ``"ZZZ"``.

    The automatic search covers the stable forms of Hyndman et al. (2008):
    additive error with additive or no season; multiplicative error (positive
    data only) with multiplicative or no season; no trend or a trend that is
    undamped or damped (``damped=None``, the default), only damped (True) or
    only undamped (False). By default that is 12 forms for positive seasonal
    data and 3 for non-seasonal data with zeros or negatives. Both trend forms
    are kept because statsmodels' optimiser sometimes stalls on the damped
    form where the undamped one (its phi = 1 special case) fits well.
    """
    spec = spec.upper()
    if len(spec) != 3 or any(c not in "ANMZ" for c in spec) or spec[0] == "N" or spec[1] == "M":
        raise ValueError(f"ETS model must be 3 letters: error A/M/Z, trend N/A/Z, season N/A/M/Z; found {spec!r}")
    err, trend, season = spec
    if "M" in (err, season) and not positive:
        raise DataError([problem("revenue", "amount", f"ETS {spec}: multiplicative forms need "
                                 "strictly positive values")])
    errors = [err] if err != "Z" else (["A", "M"] if positive else ["A"])
    trends = [trend] if trend != "Z" else ["N", "A"]
    forms = []
    for e in errors:
        seasons = [season] if season != "Z" else ["N", e] if seasonal_ok else ["N"]
        for t in trends:
            damps = [False] if t == "N" else ([False, True] if damped is None else [bool(damped)])
            for s in seasons:
                if s != "N" and not seasonal_ok:
                    continue
                if err == "Z" and e == "A" and s == "M":
                    continue  # unstable: infinite forecast variance
                forms.extend((e, t, d, s) for d in damps)
    return forms


def _form_name(form) -> str:
    e, t, d, s = form
    return f"{e}{t}{'d' if d else ''}{s}"


class ETS(_Forecaster):
    """Exponential smoothing state-space model (statsmodels ``ETSModel``), chosen by AICc.

    Parameters
    ----------
    season_length : int, optional
        Inferred from the index frequency when None.
    model : str, default "ZZZ"
        Error, trend and season letters: ``A`` additive, ``M`` multiplicative,
        ``N`` none, ``Z`` choose automatically (see :func:`_ets_forms`).
        Multiplicative forms are only considered for strictly positive data.
    damped : bool or None, default None
        Trended forms are damped (True), undamped (False) or both are tried (None).
    seed : int, default 0
        Seed of the simulation that gives intervals for multiplicative forms.

    Attributes
    ----------
    form_ : str
        Chosen form, e.g. ``"MAdM"``.
    aicc_ : float
    result_ : statsmodels ETSResults
    """

    _statsmodels = True

    def __init__(self, season_length: int | None = None, model: str = "ZZZ",
                 damped: bool | None = None, seed: int = 0):
        self.season_length = season_length
        self.model = model
        self.damped = damped
        self.seed = seed

    def _min_length(self, m):
        return 3

    def _fit(self, y):
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        m = self.season_length_
        seasonal_ok = 1 < m <= _MAX_ETS_SEASON and len(y) >= 2 * m + 2
        forms = _ets_forms(self.model, self.damped, bool(y.min() > 0), seasonal_ok)
        # A pd.Series, not an array: get_prediction fails on arrays in statsmodels 0.15.
        endog = pd.Series(y)
        best = None
        for form in forms:
            e, t, d, s = form
            n_params = 1 + (t != "N") * (2 + d) + (s != "N") * m + 2  # smoothing + initial states
            if len(y) <= n_params + 1:
                continue  # AICc is undefined
            try:
                with _quiet():
                    res = ETSModel(
                        endog, error="add" if e == "A" else "mul",
                        trend=None if t == "N" else "add", damped_trend=d,
                        seasonal=None if s == "N" else ("add" if s == "A" else "mul"),
                        seasonal_periods=m if s != "N" else None,
                    ).fit(disp=False)
            except (ValueError, np.linalg.LinAlgError):
                continue
            if np.isfinite(res.aicc) and (best is None or res.aicc < best[0]):
                best = (res.aicc, form, res)
        if best is None:
            raise DataError([problem("revenue", "amount", f"ETS: no form could be fitted to "
                                     f"{len(y)} observations")])
        self.aicc_, form, self.result_ = best
        self.form_ = _form_name(form)

    def _chosen(self):
        form = self.form_
        return ETS(self.season_length_, model=form[0] + form[1] + form[-1], damped="d" in form, seed=self.seed)

    def _predict(self, h, levels):
        n = len(self.y_)
        with _quiet():
            pred = self.result_.get_prediction(
                start=n, end=n + h - 1, simulate_repetitions=1000,
                rng=np.random.default_rng(self.seed))
        mean = np.asarray(pred.predicted_mean, dtype=float)
        bounds = {}
        for lv in levels:
            pi = np.asarray(pred.pred_int(alpha=1 - lv / 100), dtype=float)
            bounds[lv] = (pi[:, 0], pi[:, 1])
        return mean, bounds


# ---------------------------------------------------------------- ARIMA

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


class ARIMA(_Forecaster):
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

    def __init__(self, season_length: int | None = None, order=None, seasonal_order=None,
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
        return ARIMA(m, order=self.order_, seasonal_order=self.seasonal_order_[:3] if m > 1 else None,
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


# ---------------------------------------------------------------- Theta

class Theta(_Forecaster):
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

    def __init__(self, season_length: int | None = None, deseasonalize: bool = True,
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


# ---------------------------------------------------------------- Ensemble

def _combine(frames: list[pd.DataFrame], how: str) -> pd.DataFrame:
    """Element-wise median or mean of member forecast frames (same index and columns)."""
    stack = np.stack([f.to_numpy() for f in frames])
    values = np.median(stack, axis=0) if how == "median" else stack.mean(axis=0)
    return pd.DataFrame(values, index=frames[0].index, columns=frames[0].columns)


class Ensemble(_Forecaster):
    """Median (or mean) of ETS, ARIMA and Theta forecasts: the default revenue model.

    Parameters
    ----------
    season_length : int, optional
        Inferred from the index frequency when None.
    members : tuple of str, default ("ets", "arima", "theta")
        Names in :data:`MODELS`.
    combine : {"median", "mean"}, default "median"
    intervals : {"conformal", "members"}, default "conformal"
        ``"conformal"`` refits the members at ``n_windows`` earlier origins
        (``h // 2`` periods apart), scores each backtest error by the members'
        own interval scale (their combined 95 % half-width / 1.96), and
        rescales that scale by the conformal quantile of the scores
        (normalised split-conformal). It costs ``n_windows`` extra fits but is
        the better calibrated: on 100 M3 monthly series (h = 18) it covered
        78.8 % / 94.2 % at 80 % / 95 % against 75.0 % / 90.3 % for
        ``"members"``, which combines the members' bounds like the means.
        Series too short for any window use ``"members"`` (with a warning).
    n_windows : int, default 3
        Backtest origins for conformal intervals.
    conformal_fit : {"chosen", "search"}, default "chosen"
        How the members are refitted at the earlier origins: ``"chosen"``
        keeps the form each member chose on the full series (ETS form, ARIMA
        orders) and only re-estimates its parameters, each refit about 10x
        cheaper than with ``"search"``, which repeats the members' whole model
        search. On 200 M3 monthly series (h = 18) ``"chosen"`` covered 78.6 % /
        93.7 % against 79.8 % / 94.0 % for ``"search"``, in 40 % of the time.
    seed : int, default 0

    Attributes
    ----------
    members_ : list of fitted models
        Members that fitted; one that fails is dropped with a warning.
    """

    _statsmodels = True

    def __init__(self, season_length: int | None = None, members=("ets", "arima", "theta"),
                 combine: str = "median", intervals: str = "conformal", n_windows: int = 3,
                 conformal_fit: str = "chosen", seed: int = 0):
        self.season_length = season_length
        self.members = members
        self.combine = combine
        self.intervals = intervals
        self.n_windows = n_windows
        self.conformal_fit = conformal_fit
        self.seed = seed

    def _min_length(self, m):
        return 4

    def _fit(self, y):
        if self.combine not in ("median", "mean"):
            raise ValueError(f"combine must be 'median' or 'mean', found {self.combine!r}")
        if self.intervals not in ("members", "conformal"):
            raise ValueError(f"intervals must be 'members' or 'conformal', found {self.intervals!r}")
        if self.conformal_fit not in ("chosen", "search"):
            raise ValueError(f"conformal_fit must be 'chosen' or 'search', found {self.conformal_fit!r}")
        self.members_ = self._fit_members(pd.Series(y, index=self.index_))
        self._conformal_cache = {}

    def _fit_members(self, y: pd.Series, chosen: bool = False) -> list:
        """Fit the members to ``y``; ``chosen`` refits the fitted members' forms without a search."""
        templates = ([mb._chosen() for mb in self.members_] if chosen else
                     [make_model(name, season_length=self.season_length_, seed=self.seed) for name in self.members])
        fitted = []
        for member in templates:
            try:
                fitted.append(member.fit(y))
                continue
            except FIT_ERRORS as exc:
                error = exc
            if chosen:  # the form no longer fits the shorter series: search again
                try:
                    fitted.append(make_model(type(member).__name__, season_length=self.season_length_,
                                             seed=self.seed).fit(y))
                    continue
                except FIT_ERRORS as exc:
                    error = exc
            warnings.warn(f"Ensemble: member {type(member).__name__} failed and is left out: {error}",
                          UserWarning, stacklevel=3)
        if not fitted:
            raise DataError([problem("revenue", "amount", "Ensemble: no member could be fitted")])
        return fitted

    def _predict(self, h, levels):
        # Always ask for 95 %: its half-width is the scale of the conformal scores.
        wanted = tuple(dict.fromkeys((*levels, 95)))
        combined = _combine([mb.predict(h, wanted) for mb in self.members_], self.combine)
        mean = combined["mean"].to_numpy()
        if self.intervals == "conformal":
            scores = self._conformal_scores(h)
            if scores is not None:
                scale = _scale(combined)
                return mean, {lv: (mean - _conformal_q(scores, lv) * scale,
                                   mean + _conformal_q(scores, lv) * scale) for lv in levels}
        return mean, {lv: (combined[f"lo_{_level_name(lv)}"].to_numpy(),
                           combined[f"hi_{_level_name(lv)}"].to_numpy()) for lv in levels}

    def _conformal_scores(self, h: int) -> np.ndarray | None:
        """``|actual - mean| / scale`` over backtest windows ending ``h`` before the end."""
        if h in self._conformal_cache:
            return self._conformal_cache[h]
        n, m = len(self.y_), self.season_length_
        step = max(1, h // 2)
        scores = []
        for k in range(self.n_windows):
            cut = n - h - k * step
            if cut < max(2 * m, 8):
                break
            train = pd.Series(self.y_[:cut], index=self.index_[:cut])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    members = self._fit_members(train, chosen=self.conformal_fit == "chosen")
                except DataError:
                    break
            frame = _combine([mb.predict(h, (95,)) for mb in members], self.combine)
            scale = _scale(frame)
            err = np.abs(self.y_[cut:cut + h] - frame["mean"].to_numpy())
            scores.append(np.divide(err, scale, out=np.zeros_like(err), where=scale > 0))
        result = np.concatenate(scores) if scores else None
        if result is None:
            warnings.warn("Ensemble: series too short for conformal intervals; using the members' "
                          "intervals", UserWarning, stacklevel=3)
        self._conformal_cache[h] = result
        return result


def _scale(frame: pd.DataFrame) -> np.ndarray:
    """A pseudo standard deviation per step: the 95 % half-width over z(95)."""
    return (frame["hi_95"] - frame["lo_95"]).to_numpy() / (2 * _z(95))


def _conformal_q(scores: np.ndarray, level: float) -> float:
    """Finite-sample conformal quantile: the ``ceil((n + 1) p)``-th smallest score.

    With too few scores for the level (rank beyond ``n``) the largest score is
    used, which no longer guarantees the coverage.
    """
    n = len(scores)
    rank = int(np.ceil((n + 1) * level / 100 - 1e-9))
    return float(np.sort(scores)[min(rank, n) - 1])


# ---------------------------------------------------------------- registry

MODELS: dict[str, type[_Forecaster]] = {
    "naive": Naive,
    "seasonal_naive": SeasonalNaive,
    "snaive": SeasonalNaive,
    "drift": Drift,
    "ets": ETS,
    "arima": ARIMA,
    "theta": Theta,
    "ensemble": Ensemble,
}


def make_model(model, season_length: int | None = None, seed: int | None = None) -> _Forecaster:
    """A fresh, unfitted forecaster from a name or a template instance.

    Parameters
    ----------
    model : str or forecaster instance
        A key of :data:`MODELS` (case-insensitive, e.g. ``"ets"``, ``"SeasonalNaive"``)
        or an instance whose parameters are copied (like ``sklearn.clone``).
    season_length : int, optional
        Used when the model's own ``season_length`` is None.
    seed : int, optional
        Used when the model has a ``seed`` parameter.

    Examples
    --------
    >>> make_model("ETS", season_length=12)
    ETS(season_length=12)
    """
    if isinstance(model, _Forecaster):
        cls, params = type(model), model.get_params()
    else:
        key = str(model).lower().replace("-", "_")
        key = {"seasonalnaive": "seasonal_naive"}.get(key, key)
        if key not in MODELS:
            raise ValueError(f"unknown model {model!r}; choose from {sorted(MODELS)}")
        cls, params = MODELS[key], {}
    names = cls._param_names()
    if params.get("season_length") is None and season_length:
        params["season_length"] = int(season_length)
    if seed is not None and "seed" in names and "seed" not in params:
        params["seed"] = seed
    return cls(**params)
