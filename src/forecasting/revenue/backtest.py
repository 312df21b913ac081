"""Rolling-origin backtests of revenue models, their accuracy, and model selection.

:func:`backtest` refits each model at ``folds`` forecast origins (expanding
window) and returns forecasts next to actuals, like statsforecast's
``cross_validation``; :func:`backtest_metrics` scores them per model (and
optionally per series); :func:`select_model` picks the best.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from forecasting.data.errors import DataError, problem
from forecasting.metrics.accuracy import bias, coverage, interval_width, mase_scale, smape, wape
from forecasting.data.outliers import adjust_outliers, detect_outliers
from forecasting.defaults import REVENUE_FOLDS, REVENUE_MODELS
from forecasting.engine import run_tasks
from forecasting.revenue.forecast import OUTLIERS, _warn_outliers, _warning_class, fit_predict, prepare_series
from forecasting.revenue.models import Ensemble, _combine, make_model, season_length_of

__all__ = ["backtest", "backtest_metrics", "select_model", "outlier_periods", "DEFAULT_MODELS", "DEFAULT_FOLDS"]

#: Defaults shared by the API, the CLI and the report (see :mod:`forecasting.defaults`).
DEFAULT_MODELS = REVENUE_MODELS
DEFAULT_FOLDS = REVENUE_FOLDS


def _name(model) -> str:
    return type(make_model(model)).__name__


def _cutoffs(n: int, horizon: int, folds: int, step: int) -> list[int]:
    """Training lengths of the folds, oldest first; folds leaving < 2 points are dropped."""
    return [c for c in (n - horizon - k * step for k in range(folds - 1, -1, -1)) if c >= 2]


def _reusable_ensemble(model) -> bool:
    """A median ensemble of ETS, ARIMA and Theta with the members' intervals is the
    element-wise median of those members' forecast frames."""
    ens = make_model(model)
    return (isinstance(ens, Ensemble) and tuple(ens.members) == ("ets", "arima", "theta")
            and ens.combine == "median" and ens.intervals == "members")


def _backtest_task(key, y, cut, horizon, models, level, season_length, seed, outliers="adjust",
                   outlier_dates=()):
    """Fit every model on ``y[:cut]`` and forecast the next ``horizon`` periods."""
    train, test = y.iloc[:cut], y.iloc[cut:cut + horizon]
    m = int(season_length) if season_length else season_length_of(y.index)
    fits = {}
    members = ("ETS", "ARIMA", "Theta")
    plain = {_name(mdl) for mdl in models if isinstance(mdl, str)}  # fitted with default parameters
    for model in models:
        name = _name(model)
        if _reusable_ensemble(model) and all(n in fits and fits[n].model == n and n in plain for n in members):
            # Same numbers as refitting the ensemble, at no extra cost.
            first = fits[members[0]]
            fits[name] = first._replace(frame=_combine([fits[n].frame for n in members], "median"), model=name)
            continue
        fits[name] = fit_predict(train, model, len(test), level, m, seed, key, outliers)
    # The MASE scale of a window whose outliers were adjusted comes from the adjusted history.
    found = next(iter(fits.values())).outliers
    scale = mase_scale((adjust_outliers(train, found) if outliers == "adjust" else train).to_numpy(), m)
    rows = []
    for name, fitted in fits.items():
        part = fitted.frame.rename_axis("date").reset_index()
        part.insert(0, "series", key)
        part.insert(1, "cutoff", train.index[-1])
        part.insert(3, "actual", test.to_numpy())
        part.insert(4, "model", name)
        part["fitted_model"] = fitted.model
        part["flag"] = ";".join(fitted.flags) or "ok"
        part["outlier"] = part["date"].isin(pd.DatetimeIndex(list(outlier_dates)))
        part["mase_scale"] = scale
        rows.append(part)
    return pd.concat(rows, ignore_index=True)


def backtest(df: pd.DataFrame, horizon: int, folds: int = DEFAULT_FOLDS, models=DEFAULT_MODELS, step: int | None = None,
             level=(80, 95), season_length: int | None = None, n_jobs: int = 1, seed: int = 0,
             fill_gaps: str = "zero", common_end: bool = True, progress: bool | None = None,
             engine: str = "local", scheduler=None, outliers: str = "adjust") -> pd.DataFrame:
    """Rolling-origin backtest with an expanding window.

    For each series, fold ``k`` trains on everything up to a cutoff and
    forecasts the next ``horizon`` periods; cutoffs are ``step`` periods apart
    (default ``horizon``: non-overlapping test windows), the last one
    ``horizon`` periods before the end. Folds that would leave fewer than 2
    training periods are skipped. The policies of
    :func:`~forecasting.revenue.forecast.forecast` (gaps, short, constant
    series) apply to every training window.

    Parameters
    ----------
    df : pd.DataFrame
        Canonical revenue table (``date``, ``amount``, optional ``segment``/``series``).
    horizon : int
        Periods forecast from each cutoff.
    folds : int, default 3
        Number of forecast origins.
    models : sequence of str or forecaster
        Models to compare (names of :data:`~forecasting.revenue.models.MODELS`).
    step : int, optional
        Periods between cutoffs; default ``horizon``.
    level, season_length, n_jobs, seed, fill_gaps, common_end, progress, engine, scheduler, outliers
        As in :func:`~forecasting.revenue.forecast.forecast`. Outliers are
        detected in each training window (what a forecast made then would have
        seen) and adjusted there with ``outliers="adjust"``; the outlier periods
        of the whole series are named by date in one warning per series.

    Returns
    -------
    pd.DataFrame
        ``series, cutoff, date, actual, model, mean, lo_80, hi_80, lo_95, hi_95``
        plus ``fitted_model`` (the model actually used after any fallback),
        ``flag`` (as in :func:`~forecasting.revenue.forecast.forecast`'s output),
        ``outlier`` (True when the actual is an outlier period of the whole series:
        :func:`backtest_metrics` leaves those out) and ``mase_scale`` (in-sample
        seasonal-naive MAE of the training window, outliers adjusted, the MASE
        denominator).
    """
    horizon, folds = int(horizon), int(folds)
    if horizon < 1 or folds < 1:
        raise ValueError(f"horizon and folds must be positive, found {horizon} and {folds}")
    step = int(step) if step else horizon
    level = tuple(level)
    models = tuple(models)
    if not models:
        raise ValueError("models must name at least one model")
    names = [_name(mdl) for mdl in models]  # raises early on an unknown name
    if len(set(names)) != len(names):
        raise ValueError(f"models must be distinct, found {names}")
    if outliers not in OUTLIERS:
        raise ValueError(f"outliers must be one of {OUTLIERS}, found {outliers!r}")
    series = prepare_series(df, fill_gaps, common_end)
    tasks, skipped = [], []
    for key, y in series.items():
        cuts = _cutoffs(len(y), horizon, folds, step)
        if len(cuts) < folds:
            skipped.append(key)
        found = outlier_periods(y, season_length)
        _warn_outliers(key, found, "the backtest scores no forecast against them" +
                       (" and fits each window on a copy with them replaced by their expected value"
                        if outliers == "adjust" else ""))
        dates = tuple(found["date"])
        tasks += [(key, y, cut, horizon, models, level, season_length, seed, outliers, dates) for cut in cuts]
    if skipped:
        warnings.warn(f"{len(skipped)} series too short for {folds} folds of {horizon} periods got "
                      f"fewer folds: {', '.join(map(repr, skipped[:5]))}", _warning_class(), stacklevel=2)
    if not tasks:
        raise DataError([problem("revenue", "date", f"no series is long enough to backtest {horizon} "
                                 "periods ahead (need at least horizon + 2 periods)")])
    results = run_tasks(_backtest_task, tasks, n_jobs=n_jobs, desc="revenue backtest", progress=progress,
                        engine=engine, scheduler=scheduler)
    cv = pd.concat(results, ignore_index=True)
    order = {name: i for i, name in enumerate(names)}
    return cv.sort_values(["series", "cutoff", "model", "date"], key=lambda c: c.map(order) if c.name == "model"
                          else c, kind="stable").reset_index(drop=True)


def outlier_periods(y: pd.Series, season_length: int | None = None) -> pd.DataFrame:
    """:func:`~forecasting.data.outliers.detect_outliers` with the revenue models' season length."""
    m = int(season_length) if season_length else season_length_of(y.index)
    return detect_outliers(y, m)


# ---------------------------------------------------------------- metrics

def _levels(cv: pd.DataFrame) -> list[str]:
    return [c[3:] for c in cv.columns if c.startswith("lo_") and f"hi_{c[3:]}" in cv.columns]


def _window_mase(cv: pd.DataFrame) -> float:
    """Mean over (series, cutoff) windows of that window's MASE, as in the M competitions."""
    windows = [cv["series"], cv["cutoff"]]
    mae = (cv["actual"] - cv["mean"]).abs().groupby(windows).mean()
    per_window = mae / cv["mase_scale"].groupby(windows).first()
    per_window = per_window.replace([np.inf, -np.inf], np.nan).dropna()
    return float(per_window.mean()) if len(per_window) else float("nan")


def _scores(cv: pd.DataFrame) -> dict:
    a, f = cv["actual"].to_numpy(), cv["mean"].to_numpy()
    out = {
        "mase": _window_mase(cv) if "mase_scale" in cv.columns else float("nan"),
        "smape": smape(a, f),
        "wape": wape(a, f),
        "bias": bias(a, f),
    }
    scale = float(np.mean(np.abs(a))) if len(a) else float("nan")
    for lv in _levels(cv):
        out[f"coverage_{lv}"] = coverage(a, cv[f"lo_{lv}"], cv[f"hi_{lv}"])
    for lv in _levels(cv):
        out[f"width_{lv}"] = interval_width(cv[f"lo_{lv}"], cv[f"hi_{lv}"], scale=scale)
    return out


def backtest_metrics(cv: pd.DataFrame, by_series: bool = False) -> pd.DataFrame:
    """Accuracy of each model in a :func:`backtest` frame.

    Parameters
    ----------
    cv : pd.DataFrame
        Output of :func:`backtest`.
    by_series : bool, default False
        One row per (model, series) instead of per model.

    Returns
    -------
    pd.DataFrame
        ``model`` (and ``series``), ``mase, smape, wape, bias, coverage_80,
        coverage_95, width_80, width_95`` (one coverage/width per level).
        ``mase`` averages each window's MASE; ``smape`` (percent, 0..200) averages
        points; ``wape`` and ``bias`` pool absolute and signed errors over sum|actual|;
        ``coverage_L`` is the share of actuals inside the L % interval and
        ``width_L`` its mean width over mean |actual|. Models keep the backtest's order.
        Rows whose actual is an outlier period (column ``outlier``) are left out.
    """
    keys = ["model", "series"] if by_series else ["model"]
    if "outlier" in cv.columns:  # an actual that is a data error scores nothing
        cv = cv[~cv["outlier"].astype(bool)]
    rows = [{**dict(zip(keys, k if isinstance(k, tuple) else (k,))), **_scores(part)}
            for k, part in cv.groupby(keys, sort=False)]
    return pd.DataFrame(rows)


def _badness(metrics: pd.DataFrame, metric: str) -> pd.Series:
    """Lower is better: errors as they are, |bias|, and coverage's distance from nominal."""
    if metric not in metrics.columns:
        raise ValueError(f"unknown metric {metric!r}; choose from "
                         f"{[c for c in metrics.columns if c not in ('model', 'series')]}")
    values = metrics[metric].astype(float)
    if metric == "bias":
        return values.abs()
    if metric.startswith("coverage_"):
        return (values - float(metric.split("_", 1)[1]) / 100).abs()
    return values


def select_model(cv: pd.DataFrame, metric: str = "mase", by_series: bool = False):
    """The best model of a backtest by one metric.

    Parameters
    ----------
    cv : pd.DataFrame
        A :func:`backtest` frame, or a :func:`backtest_metrics` frame.
    metric : str, default "mase"
        Column of :func:`backtest_metrics`. Lower is better for errors and
        widths; ``bias`` is judged by its size; ``coverage_L`` by its distance
        from ``L`` %. Ties go to the model listed first.
    by_series : bool, default False
        Pick a model per series.

    Returns
    -------
    str or pd.Series
        The model name, or a Series mapping each series to its model.
    """
    metrics = backtest_metrics(cv, by_series=by_series) if "actual" in cv.columns else cv
    metrics = metrics.assign(_bad=_badness(metrics, metric)).dropna(subset=["_bad"])
    if metrics.empty:
        raise ValueError(f"no model has a finite {metric!r}")
    if not by_series:
        return str(metrics.loc[metrics["_bad"].idxmin(), "model"])
    best = metrics.loc[metrics.groupby("series", sort=True)["_bad"].idxmin()]
    return best.set_index("series")["model"].rename("model")

