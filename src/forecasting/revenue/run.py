"""One call from a revenue table to a forecast, its backtest and a summary in words.

:func:`run_forecast` is what ``forecasting revenue forecast`` and the revenue
report both run, so they share the defaults (:data:`DEFAULT_HORIZON`,
:data:`DEFAULT_MODEL`, :data:`DEFAULT_FOLDS`, :data:`DEFAULT_MODELS`), the
policies of :func:`~forecasting.revenue.forecast` (short series fall back to
SeasonalNaive or Naive, outliers are adjusted, collapsed forecasts replaced,
non-negative series get no negative bound) and the text: the summary is
computed from the results, never written for one data set.

:func:`load_revenue` reads a revenue table the way the CLI does: a series too
short for its season is a warning (it is forecast with a simpler model), not
an error.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pandas as pd

from forecasting.formatting import money, percent
from forecasting.revenue.backtest import (
    DEFAULT_FOLDS,
    DEFAULT_MODELS,
    _badness,
    _name,
    backtest_metrics,
    outlier_periods,
    select_model,
)
from forecasting.revenue.backtest import backtest as _backtest
from forecasting.revenue.forecast import (
    DEFAULT_HORIZON,
    DEFAULT_MODEL,
    TOTAL,
    _warning_class,
    forecast,
    prepare_series,
)

__all__ = ["ForecastRun", "run_forecast", "load_revenue", "outlier_table", "summarize"]

_OUTLIER_COLUMNS = ["series", "date", "value", "expected", "score"]


@dataclass
class ForecastRun:
    """Everything :func:`run_forecast` computed.

    Attributes
    ----------
    forecast : pd.DataFrame
        :func:`~forecasting.revenue.forecast`'s frame (``series, date, mean, lo_80, ...,
        model, flag, outliers``).
    model : str
        Class name of the model asked for (``"Ensemble"``), or with ``"auto"`` of the one
        the backtest picked. Series too short for it use a simpler one (the forecast's
        ``model`` column).
    backtest : pd.DataFrame or None
        :func:`~forecasting.revenue.backtest`'s frame; None when not run or no series is
        long enough.
    metrics : pd.DataFrame or None
        :func:`~forecasting.revenue.backtest_metrics`, best first by ``metric``.
    best : str or None
        The most accurate model of the backtest.
    outliers : pd.DataFrame
        ``series, date, value, expected, score``: the outlier periods of every series.
    summary : str
        A few sentences computed from the above, for a report or the terminal.
    no_backtest : str or None
        Why a backtest that was asked for did not run (series too short).
    """

    forecast: pd.DataFrame
    model: str
    backtest: pd.DataFrame | None
    metrics: pd.DataFrame | None
    best: str | None
    outliers: pd.DataFrame
    summary: str
    no_backtest: str | None = None


def load_revenue(source, mapping: dict | None = None, season_length: int | None = None,
                 fill_gaps: str | None = None, **read_options) -> pd.DataFrame:
    """Read and validate a revenue table as ``forecasting revenue`` does.

    Series too short for their season load with a warning (they are forecast
    with a simpler model); gaps are refused unless ``fill_gaps`` says how to fill them.
    ``read_options`` (``date_format``, ``dayfirst``, ``decimal``) settle a column the
    reader finds ambiguous (see :func:`forecasting.data.load_table`).
    """
    from forecasting.data import load_table

    return load_table("revenue", source, mapping or {}, season_length=season_length, allow_short=True,
                      allow_gaps=fill_gaps is not None, **read_options)


def outlier_table(revenue: pd.DataFrame, season_length: int | None = None, fill_gaps: str = "zero",
                  common_end: bool = True) -> pd.DataFrame:
    """The outlier periods of every series of a revenue table, by date.

    Returns
    -------
    pd.DataFrame
        ``series, date, value, expected, score`` (see
        :func:`forecasting.data.outliers.detect_outliers`), oldest first per series.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gap warnings are the forecast's to give
        series = prepare_series(revenue, fill_gaps, common_end)
    parts = [outlier_periods(y, season_length).assign(series=key) for key, y in series.items()]
    found = [p for p in parts if len(p)]
    if not found:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "date" else float)
                             for c in _OUTLIER_COLUMNS}).astype({"series": object})
    return pd.concat(found, ignore_index=True)[_OUTLIER_COLUMNS]


def _too_short(revenue, horizon: int, fill_gaps: str) -> str | None:
    """Why no series can be backtested ``horizon`` periods ahead, or None when one can."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gap warnings are the forecast's to give
        longest = max(len(y) for y in prepare_series(revenue, fill_gaps).values())
    if longest >= horizon + 2:
        return None
    return f"the longest series has {longest} periods; a {horizon}-period backtest needs at least {horizon + 2}"


def run_forecast(revenue: pd.DataFrame, horizon: int = DEFAULT_HORIZON, model=DEFAULT_MODEL, *,
                 backtest: bool = True, backtest_horizon: int | None = None, folds: int = DEFAULT_FOLDS,
                 models=DEFAULT_MODELS, metric: str = "mase", level=(80, 95), season_length: int | None = None,
                 seed: int = 0, fill_gaps: str = "zero", outliers: str = "adjust", n_jobs: int = 1,
                 progress: bool | None = None, engine: str = "local", scheduler=None) -> ForecastRun:
    """Backtest the models, forecast with the chosen one and summarise both in words.

    Parameters
    ----------
    revenue : pd.DataFrame
        Canonical revenue table (``date``, ``amount``, optional ``segment``), e.g. from
        :func:`load_revenue`.
    horizon : int, default :data:`DEFAULT_HORIZON`
        Periods to forecast.
    model : str or forecaster, default :data:`DEFAULT_MODEL`
        The forecast's model, or ``"auto"``: the backtest's most accurate by ``metric``
        (the default model when there is no backtest).
    backtest : bool, default True
        Run the rolling-origin backtest of ``models`` (always run with ``model="auto"``).
    backtest_horizon : int, optional
        Periods forecast from each backtest origin; default ``horizon``.
    folds : int, default :data:`DEFAULT_FOLDS`
        Backtest origins, ``backtest_horizon`` periods apart.
    models : sequence of str, default :data:`DEFAULT_MODELS`
        Models compared by the backtest (``model`` is added when missing).
    metric : str, default "mase"
        Column of :func:`~forecasting.revenue.backtest_metrics` that ranks the models.
    level, season_length, seed, fill_gaps, outliers, n_jobs, progress, engine, scheduler
        As in :func:`~forecasting.revenue.forecast`.

    Returns
    -------
    ForecastRun

    Examples
    --------
    >>> import numpy as np
    >>> dates = pd.date_range("2025-03-01", periods=10, freq="MS")  # too short for a season
    >>> run = run_forecast(pd.DataFrame({"date": dates, "amount": np.arange(10.0) + 100}))
    >>> run.forecast["model"].unique().tolist(), run.backtest is None
    (['Naive'], True)
    >>> print(run.summary.splitlines()[1])
    No backtest: the longest series has 10 periods; a 12-period backtest needs at least 14.
    """
    options = dict(level=level, season_length=season_length, seed=seed, fill_gaps=fill_gaps, outliers=outliers,
                   n_jobs=n_jobs, progress=progress, engine=engine, scheduler=scheduler)
    auto = isinstance(model, str) and model == "auto"
    cv = metrics = best = short = None
    if backtest or auto:
        compared = list(models)
        if not auto and _name(model) not in {_name(m) for m in compared}:
            compared.append(model)
        steps = int(backtest_horizon or horizon)
        short = _too_short(revenue, steps, fill_gaps)
        if short:
            warnings.warn(f"no backtest: {short}", _warning_class(), stacklevel=2)
        else:
            cv = _backtest(revenue, steps, folds=folds, models=compared, **options)
    if cv is not None:
        scored = backtest_metrics(cv)
        metrics = (scored.assign(_bad=_badness(scored, metric)).sort_values("_bad", kind="stable")
                   .drop(columns="_bad").reset_index(drop=True))  # best first, as select_model judges
        best = select_model(metrics, metric)
    chosen = (best or DEFAULT_MODEL) if auto else model
    table = forecast(revenue, horizon, model=chosen, **options)
    found = outlier_table(revenue, season_length, fill_gaps)
    run = ForecastRun(table, _name(chosen), cv, metrics, best, found, "", short)
    run.summary = summarize(run, revenue, metric)
    return run


# ---------------------------------------------------------------- the words

def _period_word(dates: pd.Series) -> str:
    from forecasting.data.validate import infer_frequency

    freq = (infer_frequency(pd.DatetimeIndex(dates.unique()))[0] or "").split("-")[0]
    return {"MS": "month", "ME": "month", "QS": "quarter", "QE": "quarter", "W": "week", "D": "day"}.get(freq, "period")


def _backtest_sentences(run: ForecastRun, metric: str, unit: str) -> list[str]:
    if run.metrics is None:
        return [f"No backtest: {run.no_backtest}."] if run.no_backtest else []
    metrics = run.metrics.set_index("model")
    cv = run.backtest
    origins, steps = cv["cutoff"].nunique(), cv.groupby(["series", "cutoff", "model"]).size().max()
    text = [f"Backtest: {origins} origin(s), {steps}-{unit} forecasts, {len(metrics)} models."]
    best = metrics.loc[run.best]
    others = metrics.drop(index=run.best)
    sentence = f"Most accurate by {metric.upper()}: {run.best} ({best[metric]:.2f})"
    if len(others) and metric in ("mase", "smape", "wape"):
        second = others[metric].idxmin()
        gap = 1 - best[metric] / others.loc[second, metric] if others.loc[second, metric] > 0 else 0.0
        sentence += f", {percent(gap)} lower than the next best, {second} ({others.loc[second, metric]:.2f})"
    text.append(sentence + ".")
    if "SeasonalNaive" in metrics.index and run.best != "SeasonalNaive" and metric == "mase":
        naive = metrics.loc["SeasonalNaive", "mase"]
        if naive > 0:
            text.append(f"It beats same-{unit}-last-season by {percent(1 - best['mase'] / naive)} (MASE {naive:.2f}).")
    used = run.model if run.model in metrics.index else None
    if used and {"coverage_80", "coverage_95"} <= set(metrics.columns):
        row = metrics.loc[used]
        text.append(f"{used}'s 80 % ranges held {percent(row['coverage_80'])} of actual {unit}s, "
                    f"its 95 % ranges {percent(row['coverage_95'])}.")
    fits = cv.drop_duplicates(["series", "cutoff", "model"])
    fell = int((fits["fitted_model"] != fits["model"]).sum())
    if fell:
        text.append(f"{fell} of {len(fits)} backtest fits fell back to a simpler model (short history).")
    return text


def _forecast_sentences(run: ForecastRun, unit: str) -> list[str]:
    fc = run.forecast
    key = TOTAL if TOTAL in set(fc["series"]) else fc["series"].iloc[0]
    part = fc[fc["series"] == key]
    first, last = part["date"].min(), part["date"].max()
    text = [f"Forecast ({run.model}) for {len(part)} {unit}s, {first:%b %Y} to {last:%b %Y}: "
            f"{money(part['mean'].sum())} in total for {key!r}, "
            f"{money(part['mean'].iloc[0])} in the first {unit} "
            f"(80 % range {money(part['lo_80'].iloc[0])} to {money(part['hi_80'].iloc[0])})."]
    simple = fc.drop_duplicates("series")
    simple = simple[simple["model"].isin(["Naive", "SeasonalNaive"]) & (simple["model"] != run.model)]
    if len(simple):
        text.append(f"{len(simple)} series forecast with a simpler model (too short, constant, or a "
                    f"collapsed fit): {', '.join(f'{s} ({m})' for s, m in zip(simple['series'], simple['model']))}.")
    return text


def _outlier_sentences(run: ForecastRun) -> list[str]:
    if run.outliers.empty:
        return []
    parts = [f"{key} ({', '.join(f'{d:%b %Y}' for d in grp['date'])})" for key, grp in run.outliers.groupby("series")]
    adjusted = "outliers_adjusted" in ";".join(run.forecast["flag"])
    what = ("adjusted to their expected value before fitting" if adjusted else "kept as they are")
    return [f"Outlier periods ({len(run.outliers)}), {what}: {'; '.join(parts)}."]


def summarize(run: ForecastRun, revenue: pd.DataFrame, metric: str = "mase") -> str:
    """A few sentences on a :class:`ForecastRun`: history, backtest winner and margin, forecast, outliers."""
    dates = pd.to_datetime(revenue["date"])
    unit = _period_word(dates)
    n_series = run.forecast.loc[run.forecast["series"] != TOTAL, "series"].nunique() or 1
    lines = [f"History: {dates.min():%b %Y} to {dates.max():%b %Y}, {n_series} series."]
    lines += _backtest_sentences(run, metric, unit)
    lines += _forecast_sentences(run, unit)
    lines += _outlier_sentences(run)
    return "\n".join(lines)
