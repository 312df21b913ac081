"""Forecast many revenue series at once: a long frame in, the contract frame out.

Input is the canonical ``revenue`` table (``date``, ``amount`` and an optional
``segment`` or ``series`` column naming the series). Output is the
``revenue forecast`` contract of DESIGN.md::

    series, date, mean, lo_80, hi_80, lo_95, hi_95, model

Policies (each warns with a :class:`~forecasting.data.validate.DataWarning`
naming the series, so nothing happens silently):

- **Gaps** (periods with no row, or a missing amount) are filled with 0 by
  default: in a revenue table a month with no row is usually a month with no
  booked revenue. ``fill_gaps="interpolate"`` draws a straight line instead
  (for extraction gaps). With ``common_end=True`` (the default) every series
  runs to the last date of the table, so a segment that stopped reporting is
  treated the same way and all forecasts start on the same date; pass
  ``common_end=False`` for a panel of unrelated series that end on different
  dates (each is then forecast from its own end, and no total is added
  unless all ends agree).
- **Zeros** are fine. **Negative values** are fine too; only additive model
  forms are then considered (multiplicative ETS/Theta need positive data).
- **Constant series** (including all-zero) get that constant as forecast with
  zero-width intervals (a :class:`~forecasting.revenue.models.Naive` fit).
- **Too-short series**: ETS, ARIMA, Theta and the Ensemble need two full
  seasons (and at least 8 periods); shorter series fall back to
  SeasonalNaive when one full season exists, else Naive. A model that fails
  to fit (raising one of :data:`~forecasting.revenue.models.FIT_ERRORS`) falls
  back the same way. The ``model`` column names the model used.
- **Outliers**: periods far off their robust expected value (a month keyed
  x100 or x1000, see :func:`forecasting.data.outliers.detect_outliers`) are
  replaced by that expected value before fitting (``outliers="adjust"``, the
  default; ``"keep"`` fits them as they are). They are named by date in a
  warning and in the ``outliers`` column; the ``flag`` column says
  ``outliers_adjusted`` (or ``outliers_kept``).
- **Collapsed forecasts**: a forecast of a positive series that falls below a
  tenth of every value of its last season (a broken fit: ARIMA thrown by one
  outlier forecasts exactly 0) is replaced by the SeasonalNaive/Naive
  fallback, with a warning and the flag ``collapsed``.
- **Non-negative series** (no negative value in the history) get their mean
  and bounds clipped at 0: revenue that cannot be negative gets no negative
  bound. Clipping moves no bound that a non-negative actual could fall below,
  so backtest coverage is unchanged while the ranges shown are honest.
- **Total**: with several series a ``total`` series is added. Its mean is the
  bottom-up sum of the series' means (coherent with them); its interval
  half-widths come from fitting the same model to the summed series directly,
  placed around the bottom-up mean. Its ``model`` is ``"bottom-up"``.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd

from forecasting.data.errors import DataError, problem
from forecasting.data.outliers import adjust_outliers, describe_outliers, detect_outliers
from forecasting.defaults import REVENUE_HORIZON, REVENUE_MODEL
from forecasting.engine import run_tasks
from forecasting.revenue.models import (
    FIT_ERRORS,
    Drift,
    Naive,
    SeasonalNaive,
    _level_name,
    make_model,
    season_length_of,
)

__all__ = ["forecast", "TOTAL", "FILL_GAPS", "OUTLIERS", "DEFAULT_MODEL", "DEFAULT_HORIZON"]

TOTAL = "total"
FILL_GAPS = ("zero", "interpolate")
#: Outlier policies: fit on a copy with outlier periods replaced by their expected value, or as they are.
OUTLIERS = ("adjust", "keep")
#: Defaults shared by the API, the CLI and the report (see :mod:`forecasting.defaults`).
DEFAULT_MODEL = REVENUE_MODEL
DEFAULT_HORIZON = REVENUE_HORIZON
#: A forecast below this share of every value of the last season has collapsed (see ``_collapsed``).
COLLAPSE_SHARE = 0.1
_ID_COLUMNS = ("series", "segment")


def _warning_class():
    try:
        from forecasting.data.validate import DataWarning
    except ImportError:  # pragma: no cover - validate is optional at import time
        return UserWarning
    return DataWarning


# ---------------------------------------------------------------- input

def _id_column(df: pd.DataFrame) -> str | None:
    return next((c for c in _ID_COLUMNS if c in df.columns), None)


def _infer_offset(dates: pd.DatetimeIndex):
    """Frequency of the table's dates; tolerates gaps, rejects irregular dates."""
    from forecasting.data.validate import infer_frequency

    freq, _ = infer_frequency(dates)
    if freq is None:
        raise DataError([problem("revenue", "date", "dates are irregular (need monthly, quarterly, "
                                 "weekly or daily periods, at least 3 distinct dates)",
                                 [str(d.date()) for d in dates[:5]])])
    if freq == "W":  # anchor weeks on the weekday the data uses
        freq = f"W-{dates[0].day_name()[:3].upper()}"
    full = pd.date_range(dates[0], dates[-1], freq=freq)
    off_grid = dates.difference(full)
    if len(off_grid):
        raise DataError([problem("revenue", "date", f"dates do not fall on one {freq} grid",
                                 [str(d.date()) for d in off_grid])])
    return full.freq


def prepare_series(df: pd.DataFrame, fill_gaps: str = "zero", common_end: bool = True) -> dict[str, pd.Series]:
    """Split a long revenue frame into regular series, applying the gap policy.

    Parameters
    ----------
    df : pd.DataFrame
        Columns ``date``, ``amount`` and optionally ``series`` or ``segment``.
    fill_gaps : {"zero", "interpolate"}
        How to fill periods with no row or a missing amount.
    common_end : bool, default True
        Run every series to the table's last date (missing trailing periods
        are gaps); False keeps each series' own last date.

    Returns
    -------
    dict of str to pd.Series
        One series per id, indexed by a ``DatetimeIndex`` with its frequency
        set, each running from its own first date to the table's last date
        (or its own, with ``common_end=False``).
        A table without an id column gives one series named ``"total"``.
    """
    if fill_gaps not in FILL_GAPS:
        raise ValueError(f"fill_gaps must be one of {FILL_GAPS}, found {fill_gaps!r}")
    missing = [c for c in ("date", "amount") if c not in df.columns]
    if missing:
        raise DataError([problem("revenue", c, "is missing (need date, amount and optionally segment)")
                         for c in missing])
    if len(df) == 0:
        raise DataError([problem("revenue", None, "the table is empty")])
    id_col = _id_column(df)
    ids = df[id_col].astype(str) if id_col else pd.Series(TOTAL, index=df.index)
    dates = pd.to_datetime(df["date"], errors="coerce")
    if dates.isna().any():
        raise DataError([problem("revenue", "date", "has missing or unparsable dates",
                                 [f"row {i}" for i in np.flatnonzero(dates.isna().to_numpy())])])
    amounts = pd.to_numeric(df["amount"], errors="coerce")
    # A missing amount is a gap (filled by policy); text that is not a number is an error.
    garbage = (amounts.isna() & df["amount"].notna()).to_numpy()
    if garbage.any():
        raise DataError([problem("revenue", "amount", "is not a number",
                                 [f"row {i}" for i in np.flatnonzero(garbage)])])
    frame = pd.DataFrame({"series": ids.to_numpy(), "date": dates.to_numpy(), "amount": amounts.to_numpy()})
    dup = frame.duplicated(["series", "date"], keep=False).to_numpy()
    if dup.any():
        raise DataError([problem("revenue", "date", "has more than one amount for the same date and "
                                 "series (aggregate to one row per period first)",
                                 [f"row {i}" for i in np.flatnonzero(dup)])])
    offset = _infer_offset(pd.DatetimeIndex(np.unique(frame["date"])))
    last = frame["date"].max()
    series = {}
    for key, part in frame.groupby("series", sort=True):
        end = last if common_end else part["date"].max()
        index = pd.date_range(part["date"].min(), end, freq=offset, name="date")
        y = part.set_index("date")["amount"].reindex(index).astype(float)
        series[str(key)] = _fill(y, str(key), fill_gaps)
    return series


def _fill(y: pd.Series, key: str, how: str) -> pd.Series:
    gaps = y.index[y.isna().to_numpy()]
    if len(gaps) == 0:
        return y
    shown = ", ".join(str(d.date()) for d in gaps[:5]) + (" ..." if len(gaps) > 5 else "")
    warnings.warn(f"series {key!r}: {len(gaps)} missing period(s) ({shown}) filled "
                  f"{'with 0' if how == 'zero' else 'by linear interpolation'}",
                  _warning_class(), stacklevel=3)
    if how == "zero":
        return y.fillna(0.0)
    filled = y.interpolate(method="linear", limit_direction="both")
    return filled.fillna(0.0)  # an all-missing series has nothing to interpolate from


# ---------------------------------------------------------------- one series

class Fitted(NamedTuple):
    """What :func:`fit_predict` did to one series."""

    frame: pd.DataFrame  #: ``mean, lo_80, hi_80, ...`` indexed by the future dates
    model: str  #: the model actually used (after any fallback)
    flags: tuple[str, ...]  #: ``"outliers_adjusted"`` (or ``"outliers_kept"``), ``"collapsed"``
    outliers: pd.DataFrame  #: :func:`~forecasting.data.outliers.detect_outliers` of the series


def _min_length(model, m: int) -> int:
    """Fewest periods for ``model`` before falling back to a simpler one."""
    cls = type(make_model(model))
    if cls is Naive:
        return 1
    if cls is SeasonalNaive:
        return m
    if cls is Drift:
        return 2
    return max(2 * m, 8)  # ETS, ARIMA, Theta, Ensemble: two full seasons


def _fallback(n: int, m: int):
    return SeasonalNaive(season_length=m) if m > 1 and n >= m else Naive(season_length=m)


def _choose(y: pd.Series, model, m: int, seed: int, key: str, horizon: int):
    """The model to fit: the requested one, or a simpler one for constant and short series."""
    values, n = y.to_numpy(), len(y)
    if np.ptp(values) == 0:
        what = "all zero" if values[0] == 0 else f"constant ({values[0]:g})"
        warnings.warn(f"series {key!r} is {what}: forecasting that value", _warning_class(), stacklevel=3)
        return Naive(season_length=m)
    if n < _min_length(model, m):
        chosen = _fallback(n, m)
        warnings.warn(f"series {key!r} has {n} periods, too short for {_display(model)} (needs "
                      f"{_min_length(model, m)}): using {type(chosen).__name__}", _warning_class(), stacklevel=3)
        return chosen
    return make_model(model, season_length=m, seed=seed, horizon=horizon)


def _collapsed(y: np.ndarray, mean: np.ndarray, m: int) -> bool:
    """A forecast of a positive series falling below a tenth of every value of its last season.

    A month-to-month decline that steep is not a forecast but a broken fit (a model
    thrown by an outlier forecasts exactly 0 for a series running at 850k a month).
    """
    recent = y[-max(m, 3):]
    if (y < 0).any() or recent.min() <= 0:
        return False
    return bool((mean < COLLAPSE_SHARE * recent.min()).any())


def _clip_at_zero(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and bounds of a series that cannot be negative, clipped at 0 (nesting is kept)."""
    return frame.clip(lower=0.0)


def fit_predict(y: pd.Series, model, horizon: int, level=(80, 95), season_length: int | None = None,
                seed: int = 0, key: str = "series", outliers: str = "adjust") -> Fitted:
    """Fit one series with the policies of this module and forecast it.

    Outlier periods (:func:`~forecasting.data.outliers.detect_outliers`) are
    replaced by their robust expected value before fitting when ``outliers="adjust"``
    (kept with ``"keep"``); the caller reports them (this function does not warn
    about them: a backtest meets the same outlier in every window). Warns
    instead of raising for short, constant, unfittable and collapsed series.
    A series without negative values gets its mean and bounds clipped at 0.
    """
    if outliers not in OUTLIERS:
        raise ValueError(f"outliers must be one of {OUTLIERS}, found {outliers!r}")
    m = int(season_length) if season_length else season_length_of(y.index)
    found = detect_outliers(y, m)
    adjust = outliers == "adjust" and len(found) > 0
    train = adjust_outliers(y, found) if adjust else y
    flags = (f"outliers_{'adjusted' if adjust else 'kept'}",) if len(found) else ()
    chosen = _choose(train, model, m, seed, key, horizon)
    try:
        frame = chosen.fit(train).predict(horizon, level)
    except FIT_ERRORS as exc:  # policy: a bad fit never stops a batch
        simple = _fallback(len(train), m)
        warnings.warn(f"series {key!r}: {type(chosen).__name__} failed ({exc}); using "
                      f"{type(simple).__name__}", _warning_class(), stacklevel=2)
        chosen = simple
        frame = chosen.fit(train).predict(horizon, level)
    if not isinstance(chosen, (Naive, SeasonalNaive)) and _collapsed(train.to_numpy(), frame["mean"].to_numpy(), m):
        simple = _fallback(len(train), m)
        warnings.warn(f"series {key!r}: the {type(chosen).__name__} forecast collapsed (down to "
                      f"{frame['mean'].min():,.0f}, below a tenth of every value of the last season); "
                      f"using {type(simple).__name__}", _warning_class(), stacklevel=2)
        chosen, flags = simple, flags + ("collapsed",)
        frame = chosen.fit(train).predict(horizon, level)
    if (y.to_numpy() >= 0).all():
        frame = _clip_at_zero(frame)
    return Fitted(frame, type(chosen).__name__, flags, found)


def _display(model) -> str:
    return type(make_model(model)).__name__


def _forecast_task(key, y, model, horizon, level, season_length, seed, outliers="adjust"):
    return key, fit_predict(y, model, horizon, level, season_length, seed, key, outliers)


def _warn_outliers(key: str, found: pd.DataFrame, what: str) -> None:
    if len(found):
        warnings.warn(f"series {key!r} has {len(found)} outlier period(s): {describe_outliers(found)}; "
                      f"{what}", _warning_class(), stacklevel=3)


# ---------------------------------------------------------------- public

def _rows(key: str, fitted: Fitted, frame: pd.DataFrame | None = None, used: str | None = None) -> pd.DataFrame:
    """Contract rows of one series, plus ``flag`` (``;``-separated, ``ok`` when none) and
    ``outliers`` (the outlier dates, ``;``-separated)."""
    out = (fitted.frame if frame is None else frame).rename_axis("date").reset_index()
    out.insert(0, "series", key)
    out["model"] = used or fitted.model
    out["flag"] = ";".join(fitted.flags) or "ok"
    out["outliers"] = ";".join(str(pd.Timestamp(d).date()) for d in fitted.outliers["date"])
    return out


def _sum_series(parts: list[pd.Series]) -> pd.Series:
    """Sum of series that share an end date; a series counts 0 before its first date."""
    index = pd.date_range(min(p.index[0] for p in parts), parts[0].index[-1],
                          freq=parts[0].index.freq, name="date")
    return sum(p.reindex(index, fill_value=0.0) for p in parts).rename(TOTAL)


def _bottom_up_total(parts: list[pd.DataFrame], direct: pd.DataFrame, level, non_negative: bool) -> pd.DataFrame:
    """Sum of the series' means with the direct total fit's half-widths around it."""
    mean = sum(p["mean"].to_numpy() for p in parts)
    total = pd.DataFrame({"mean": mean}, index=direct.index)
    for lv in level:
        lo, hi = f"lo_{_level_name(lv)}", f"hi_{_level_name(lv)}"
        total[lo] = mean - (direct["mean"] - direct[lo]).to_numpy()
        total[hi] = mean + (direct[hi] - direct["mean"]).to_numpy()
    return _clip_at_zero(total) if non_negative else total


def _report_outliers(results, policy: str) -> None:
    what = ("fitted on a copy with them replaced by their expected value (outliers='keep', CLI "
            "--outliers keep, fits them as they are)" if policy == "adjust" else "kept as they are")
    for key, fitted in results:
        _warn_outliers(key, fitted.outliers, what)


def forecast(df: pd.DataFrame, horizon: int, model=DEFAULT_MODEL, level=(80, 95),
             season_length: int | None = None, n_jobs: int = 1, seed: int = 0,
             fill_gaps: str = "zero", common_end: bool = True, total: bool = True,
             progress: bool | None = None, engine: str = "local", scheduler=None,
             outliers: str = "adjust") -> pd.DataFrame:
    """Forecast every revenue series in a long frame.

    Parameters
    ----------
    df : pd.DataFrame
        Canonical revenue table: ``date``, ``amount`` and optionally
        ``segment`` (or ``series``) naming one series per value.
    horizon : int
        Periods to forecast.
    model : str or forecaster, default "ensemble"
        A name in :data:`forecasting.revenue.models.MODELS` or a model instance.
    level : sequence of float, default (80, 95)
        Prediction-interval levels in percent.
    season_length : int, optional
        Override the season length inferred from the dates (12 monthly, 4 quarterly, 52 weekly).
    n_jobs : int, default 1
        Worker processes (joblib) of the local engine; -1 uses every core.
    seed : int, default 0
        Seed for simulated intervals; the same for every series.
    engine : {"local", "dask"}, default "local"
        ``"dask"`` fits the series on a ``dask.distributed`` cluster; the result is
        the same frame as the local engine's.
    scheduler : str or distributed.Client, optional
        Scheduler address for ``engine="dask"``; default: a local cluster of 2 worker
        processes for this call (see :func:`forecasting.engine.dask_client`).
    fill_gaps : {"zero", "interpolate"}, default "zero"
        Gap policy (see the module docstring).
    common_end : bool, default True
        Treat every series as running to the table's last date (see the module docstring).
    total : bool, default True
        Add a coherent ``total`` series when there are several series that end
        on the same date.
    progress : bool, optional
        Force the progress bar on or off (default: on when stderr is a terminal).
    outliers : {"adjust", "keep"}, default "adjust"
        Outlier periods (:func:`forecasting.data.outliers.detect_outliers`) are
        replaced by their robust expected value before fitting, or kept (see the
        module docstring). Either way they are reported in a warning and in the
        ``outliers`` column.

    Returns
    -------
    pd.DataFrame
        ``series, date, mean, lo_80, hi_80, lo_95, hi_95, model``, one row per
        series and future period; the ``total`` series comes last. Two more
        columns: ``flag`` (``ok``, or ``;``-separated ``outliers_adjusted``,
        ``outliers_kept``, ``collapsed``) and ``outliers`` (the series' outlier
        dates, ``;``-separated). The total's flags are those of the model fitted
        to the summed series.

    Examples
    --------
    >>> dates = pd.date_range("2020-01-01", periods=36, freq="MS")
    >>> df = pd.DataFrame({"date": dates, "amount": np.arange(36.0) + 10})
    >>> out = forecast(df, horizon=3, model="drift")
    >>> out[["series", "mean"]].round(1).to_dict("list")
    {'series': ['total', 'total', 'total'], 'mean': [46.0, 47.0, 48.0]}
    """
    horizon = int(horizon)
    if horizon < 1:
        raise ValueError(f"horizon must be a positive integer, found {horizon}")
    level = tuple(level)
    series = prepare_series(df, fill_gaps, common_end)
    add_total = total and len(series) > 1
    if add_total and len({y.index[-1] for y in series.values()}) > 1:
        warnings.warn("series end on different dates: no total is added (use common_end=True to "
                      "treat missing trailing periods as gaps)", _warning_class(), stacklevel=2)
        add_total = False
    if add_total and TOTAL in series:
        raise DataError([problem("revenue", "segment", f"a series is named {TOTAL!r}, which is reserved "
                                 "for the sum of all series (rename it or pass total=False)")])
    if outliers not in OUTLIERS:
        raise ValueError(f"outliers must be one of {OUTLIERS}, found {outliers!r}")
    tasks = [(key, y, model, horizon, level, season_length, seed, outliers) for key, y in series.items()]
    if add_total:
        summed = _sum_series(list(series.values()))
        tasks.append((TOTAL, summed, model, horizon, level, season_length, seed, outliers))
    results = run_tasks(_forecast_task, tasks, n_jobs=n_jobs, desc="revenue forecast", progress=progress,
                        engine=engine, scheduler=scheduler)
    _report_outliers(results, outliers)
    rows = [_rows(key, fitted) for key, fitted in (results[:-1] if add_total else results)]
    if add_total:
        parts = [fitted.frame for _, fitted in results[:-1]]
        non_negative = bool((summed.to_numpy() >= 0).all())
        direct = results[-1][1]
        rows.append(_rows(TOTAL, direct, _bottom_up_total(parts, direct.frame, level, non_negative), "bottom-up"))
    columns = (["series", "date", "mean"] + [f"{s}_{_level_name(lv)}" for lv in level for s in ("lo", "hi")]
               + ["model", "flag", "outliers"])
    return pd.concat(rows, ignore_index=True)[columns]
