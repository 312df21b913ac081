"""Accuracy of every forecast source by week of quarter ("convergence").

For each past period and each week of it, every source is taken as it stood at
the end of that week and compared with the revenue actually won in the period:

- ``call``: each node's call (:func:`~forecasting.calls.rollup`), per person;
  person ``all`` is the sum of the top nodes' calls;
- ``weighted``: the CRM's weighted pipeline, closed won so far plus each open deal
  expected in the period times its stage's default probability (person ``all``);
- ``model``: the pipeline model's P50 (:func:`~forecasting.pipeline.forecast_period`
  from the as-of snapshot, person ``all``); it costs one model forecast per week, so
  it is computed at ``model_weeks`` only.

``error`` is the absolute percentage error ``|forecast - actual| / actual``;
``bias`` is ``(forecast - actual) / actual`` (negative: sandbagging, positive:
optimism); ``ratio`` is ``forecast / actual``. Both are NaN when nothing was won.
The actual of a person is what the deals owned by them and everyone below them won.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ..data.validate import DataWarning
from ..metrics.sales import TOTAL_GROUP
from ..pipeline import PipelineData, forecast_period, weighted_pipeline
from ..pipeline.snapshot import DAY, period_bounds
from .rollup import rollup
from .team import Hierarchy, hierarchy

__all__ = ["ACCURACY_COLUMNS", "week_ends", "call_forecasts", "pipeline_forecasts", "actuals", "score",
           "call_accuracy", "convergence", "plot_convergence", "track_record", "week_of", "forecasts_as_of",
           "MODEL_WEEKS"]

ACCURACY_COLUMNS = ("source", "person", "period", "week", "forecast", "actual", "error", "bias")
MODEL_WEEKS = (1, 5, 9, 13)
_FORECAST_COLUMNS = ["source", "person", "period", "week", "as_of", "forecast"]


def week_ends(period) -> list[pd.Timestamp]:
    """The last day of each week of a period (week 1: its first 7 days; the last week may be short).

    Examples
    --------
    >>> ends = week_ends("2026Q3")
    >>> len(ends), str(ends[0].date()), str(ends[-1].date())
    (14, '2026-07-07', '2026-09-30')
    """
    _, begin, end = period_bounds(period)
    n = int(np.ceil((end - begin).days / 7))
    return [min(begin + pd.Timedelta(days=7 * k - 1), end - DAY) for k in range(1, n + 1)]


def week_of(as_of, period) -> int:
    """Week of ``period`` that ``as_of`` falls in (1 before the period starts, the last one after it).

    Examples
    --------
    >>> week_of("2026-07-07", "2026Q3"), week_of("2026-07-08", "2026Q3"), week_of("2026-06-30", "2026Q3")
    (1, 2, 1)
    """
    _, begin, end = period_bounds(period)
    n = len(week_ends(period))
    return int(np.clip(np.ceil(((pd.Timestamp(as_of).normalize() - begin).days + 1) / 7), 1, n))


def forecasts_as_of(team: pd.DataFrame | Hierarchy, calls: pd.DataFrame, data: PipelineData, *, as_of,
                    period) -> pd.DataFrame:
    """Every node's call and the weighted pipeline of a (current) period as of a date, ``actual`` NaN.

    Labelled with :func:`week_of`, to be combined with the accuracy of past periods
    (:func:`~forecasting.calls.combine`).
    """
    h = team if isinstance(team, Hierarchy) else hierarchy(team)
    p = period_bounds(period)[0]
    as_of = pd.Timestamp(as_of).normalize()
    frame = rollup(h, calls, as_of=as_of, period=p, checked=True)
    called = frame[frame["commit"].notna()]
    rows = [("call", n, str(p), c) for n, c in zip(called["node"], called["commit"])]
    top = frame.loc[frame["level"] == 0, "commit"]
    if top.notna().any():
        rows.append(("call", TOTAL_GROUP, str(p), float(top.sum())))
    rows.append(("weighted", TOTAL_GROUP, str(p), weighted_pipeline(as_of=as_of, period=p, data=data)))
    out = pd.DataFrame(rows, columns=["source", "person", "period", "forecast"])
    out.insert(3, "week", week_of(as_of, p))
    return out.assign(as_of=as_of, actual=np.nan)


def call_forecasts(team: pd.DataFrame | Hierarchy, calls: pd.DataFrame, *, periods) -> pd.DataFrame:
    """Each node's call (commit) at the end of every week of each period; ``all``: the top nodes summed.

    ``calls`` must be validated (:func:`~forecasting.calls.check_calls`). Nodes without
    any call yet are left out.
    """
    h = team if isinstance(team, Hierarchy) else hierarchy(team)
    rows = []
    for period in periods:
        p = str(period_bounds(period)[0])
        for week, as_of in enumerate(week_ends(p), start=1):
            frame = rollup(h, calls, as_of=as_of, period=p, checked=True)
            top = frame.loc[frame["level"] == 0, "commit"]
            called = frame[frame["commit"].notna()]
            rows += [("call", n, p, week, as_of, c) for n, c in zip(called["node"], called["commit"])]
            if top.notna().any():
                rows.append(("call", TOTAL_GROUP, p, week, as_of, float(top.sum())))
    return pd.DataFrame(rows, columns=_FORECAST_COLUMNS)


def pipeline_forecasts(data: PipelineData, *, periods, model_method: str = "historical",
                       model_weeks=MODEL_WEEKS, n_sims: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The weighted pipeline (every week) and the model's P50 (at ``model_weeks``) for the total."""
    rows = []
    for period in periods:
        p = period_bounds(period)[0]
        for week, as_of in enumerate(week_ends(p), start=1):
            if as_of + DAY <= data.first_date:
                continue  # nothing was known yet
            with warnings.catch_warnings():
                # Model fallbacks and a last week past the data's last record: the error shows them.
                warnings.simplefilter("ignore", DataWarning)
                rows.append(("weighted", TOTAL_GROUP, str(p), week, as_of,
                             weighted_pipeline(as_of=as_of, period=p, data=data)))
                if week in model_weeks:
                    fc, _ = forecast_period(as_of=as_of, period=p, method=model_method, n_sims=n_sims, seed=seed,
                                            ranges="independent", range_periods=0, data=data)
                    rows.append(("model", TOTAL_GROUP, str(p), week, as_of, float(fc["p50"].iloc[0])))
    return pd.DataFrame(rows, columns=_FORECAST_COLUMNS)


def actuals(data: PipelineData, team: pd.DataFrame | Hierarchy, *, periods) -> pd.DataFrame:
    """Revenue won in each period by each node's deals and everyone's below it; ``all``: every deal.

    Raises
    ------
    DataError
        No person of the team owns a deal (the names do not match ``opportunities.owner``).
    """
    h = team if isinstance(team, Hierarchy) else hierarchy(team)
    owner = data.attribute("owner")
    if not owner.isin(h.nodes).any():
        names = sorted(owner.unique())
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise DataError([problem("team", "owner", f"names nobody who owns a deal (opportunities.owner has {shown}):"
                                 " use the same names in both tables", list(h.nodes))])
    rows = []
    for period in periods:
        p, begin, end = period_bounds(period)
        won = data.won_between(begin, end)
        by_owner = won.groupby(won["opportunity_id"].map(owner).to_numpy())["amount"].sum()
        rows.append((TOTAL_GROUP, str(p), float(won["amount"].sum())))
        rows += [(n, str(p), float(by_owner.reindex([n, *h.below(n)]).sum())) for n in h.nodes]
    return pd.DataFrame(rows, columns=["person", "period", "actual"])


def score(forecasts: pd.DataFrame, actual: pd.DataFrame) -> pd.DataFrame:
    """Forecasts next to actuals: ``error`` (absolute % error), ``bias`` (signed), ``ratio``.

    Examples
    --------
    >>> fc = pd.DataFrame({"source": ["call"], "person": ["ava"], "period": ["2026Q1"], "week": [3],
    ...                    "as_of": [pd.Timestamp("2026-01-21")], "forecast": [80.0]})
    >>> score(fc, pd.DataFrame({"person": ["ava"], "period": ["2026Q1"], "actual": [100.0]}))[
    ...     ["forecast", "actual", "error", "bias", "ratio"]]
       forecast  actual  error  bias  ratio
    0      80.0   100.0    0.2  -0.2    0.8
    """
    out = forecasts.merge(actual, on=["person", "period"], how="inner")
    base = out["actual"].where(out["actual"] > 0)
    out["error"] = (out["forecast"] - out["actual"]).abs() / base
    out["bias"] = (out["forecast"] - out["actual"]) / base
    out["ratio"] = out["forecast"] / base
    return out[[*ACCURACY_COLUMNS, "ratio", "as_of"]]


def _complete_periods(data: PipelineData, calls: pd.DataFrame, as_of=None) -> list[str]:
    """Periods called that were over by ``as_of`` (default: the data's last record), in order."""
    last = (data.last_date if as_of is None else pd.Timestamp(as_of)).normalize() + DAY
    return sorted({p for p in calls["period"].unique() if period_bounds(p)[2] <= last},
                  key=lambda p: pd.Period(p))


def call_accuracy(
    team: pd.DataFrame | Hierarchy,
    calls: pd.DataFrame,
    opportunities: pd.DataFrame | None = None,
    stage_history: pd.DataFrame | None = None,
    *,
    periods=None,
    as_of=None,
    last: int | None = None,
    stages=None,
    model_method: str | None = "historical",
    model_weeks=MODEL_WEEKS,
    n_sims: int = 1000,
    seed: int = 0,
    data: PipelineData | None = None,
) -> pd.DataFrame:
    """Every source's forecast at the end of each week of past periods against the actual.

    Parameters
    ----------
    team, calls : DataFrame
        The ``team`` table (or a hierarchy) and the validated ``forecast_calls``.
    opportunities, stage_history : DataFrame, optional
        The deals (not needed with ``data``); actuals are their won amounts.
    periods : list of str, optional
        Past periods (default: every called period over by ``as_of``).
    as_of : date-like, optional
        Default periods end by this day (default: the data's last record), so that
        a report as of a past date uses no period that was still running then.
    last : int, optional
        Keep only the last ``last`` default periods (each costs a snapshot per week).
    model_method : {"historical", "learned", "default"} or None
        Method of the model source (None: no model source).
    model_weeks : sequence of int
        Weeks at which the model is forecast (each costs one forecast).
    n_sims, seed : int
        Monte Carlo simulations and seed of the model.

    Returns
    -------
    DataFrame
        ``source, person, period, week, forecast, actual, error, bias`` then
        ``ratio, as_of``; see the module docs.

    Raises
    ------
    DataError
        No complete period with calls, or a team whose names own no deal.
    """
    data = data if data is not None else PipelineData.build(opportunities, stage_history, stages)
    h = team if isinstance(team, Hierarchy) else hierarchy(team)
    if periods is None:
        periods = _complete_periods(data, calls, as_of)[-last if last else None:]
    periods = [str(period_bounds(p)[0]) for p in periods]
    if not periods:
        until = data.last_date if as_of is None else pd.Timestamp(as_of)
        raise DataError([problem("forecast_calls", "period", f"has no period that is over by {until.date()}: "
                                 "accuracy needs past periods")])
    forecasts = [call_forecasts(h, calls, periods=periods)]
    forecasts.append(pipeline_forecasts(data, periods=periods, model_method=model_method or "historical",
                                        model_weeks=model_weeks if model_method else (), n_sims=n_sims, seed=seed))
    return score(pd.concat(forecasts, ignore_index=True), actuals(data, h, periods=periods))


def convergence(accuracy: pd.DataFrame, *, person: str = TOTAL_GROUP) -> pd.DataFrame:
    """Mean absolute % error of each source by week of quarter for one person (rows: week).

    Examples
    --------
    >>> acc = pd.DataFrame({"source": ["call", "call", "weighted"], "person": "all", "week": [1, 1, 1],
    ...                     "error": [0.2, 0.4, 0.1]})
    >>> convergence(acc)
    source  call  weighted
    week
    1        0.3       0.1
    """
    rows = accuracy[accuracy["person"] == person]
    return rows.pivot_table(index="week", columns="source", values="error", aggfunc="mean")


def track_record(accuracy: pd.DataFrame, *, source: str = "call") -> pd.DataFrame:
    """Each person's record with one source over past periods: mean bias, forecast/actual, error.

    Returns
    -------
    DataFrame
        ``person, periods, bias, ratio, error`` (means over every period and week), most
        optimistic first; ``bias < 0`` is sandbagging.

    Examples
    --------
    >>> acc = pd.DataFrame({"source": "call", "person": ["ava", "ava", "bo"], "period": ["2026Q1", "2026Q2",
    ...     "2026Q1"], "error": [0.2, 0.2, 0.1], "bias": [-0.2, -0.2, 0.1], "ratio": [0.8, 0.8, 1.1]})
    >>> track_record(acc)
      person  periods  bias  ratio  error
    0     bo        1   0.1    1.1    0.1
    1    ava        2  -0.2    0.8    0.2
    """
    rows = accuracy[accuracy["source"] == source]
    out = rows.groupby("person").agg(periods=("period", "nunique"), bias=("bias", "mean"), ratio=("ratio", "mean"),
                                     error=("error", "mean"))
    return out.sort_values("bias", ascending=False).reset_index()


def plot_convergence(accuracy: pd.DataFrame, *, person: str = TOTAL_GROUP, path=None, ax=None):
    """Error by week of quarter, one line per source (the convergence figure).

    Returns the matplotlib Axes; writes a PNG atomically when ``path`` is given;
    ``ax`` draws into your own subplot.
    """
    import matplotlib.pyplot as plt

    from ..figures import finish, new_axes, save_figure

    table = convergence(accuracy, person=person)
    fig, axes = new_axes(ax, figsize=(7, 3.5))
    for source in table.columns:
        line = table[source].dropna()
        axes.plot(line.index, line.to_numpy() * 100, marker="o", label=source)
    axes.set_xlabel("week of quarter")
    axes.set_ylabel("absolute error (% of actual)")
    axes.set_title(f"Forecast error by week of quarter ({person})")
    axes.set_ylim(bottom=0)
    axes.legend(frameon=False)
    finish(fig, ax)
    if path is not None:
        save_figure(fig, path)
        plt.close(fig)
    return axes
