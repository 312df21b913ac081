"""Combine judgment and model: the calls and the pipeline forecasts weighted by their track record.

For a period and a week of quarter, each source's forecast of the total is
first *debiased* by its past log forecast/actual ratio at the same week, shrunk
toward no correction when few past periods exist (``n / (n + strength)``), then
the debiased sources are averaged on the log scale with weights ``1 / variance``
of their past log errors (also shrunk toward a prior variance). One more source
joins: ``calls (debiased)``, the sum of each rep's call divided by that rep's own
shrunk track record at that week, so a rep who always calls 80% of what they
win is read as 1 / 0.8 of their call.

Only periods before the one combined are used (a walk-forward backtest), so
the combined rows of past periods are honest out-of-sample forecasts. The
P10-P90 range is lognormal with the weighted average of the sources' past log
error sd.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics.sales import TOTAL_GROUP
from .team import Hierarchy

__all__ = ["combine", "debias_reps", "compare_sources", "COMBINED", "DEBIASED", "PRIOR_SD", "TRIM"]

COMBINED = "combined"
DEBIASED = "calls (debiased)"
_Z90 = 1.2815515655446004  # standard normal 90th percentile
PRIOR_SD = 0.3  # log-error sd assumed for a source with no track record
TRIM = 2.0  # sources with a past error sd over TRIM x the best source's get no weight


def _log_ratio(frame: pd.DataFrame) -> pd.Series:
    ok = (frame["forecast"] > 0) & (frame["actual"] > 0)
    return np.log(frame["forecast"].where(ok) / frame["actual"].where(ok))


def _prior_var(history: pd.Series) -> float:
    """Prior variance of a log error: the mean squared log error of every source in ``history``."""
    r = history.dropna().to_numpy(dtype=float)
    return float((r ** 2).mean()) if len(r) else PRIOR_SD ** 2


def _track(history: pd.Series, strength: float, prior_var: float) -> tuple[float, float, int]:
    """Shrunk bias (mean log ratio), sd of the debiased log errors and count of a source's record.

    The bias is shrunk by ``n / (n + strength * v / (v + m**2))`` (``m`` the mean, ``v`` the
    spread around it): a consistent bias is trusted after a few periods, a noisy one less.
    ``prior_var`` counts as one extra observation of the spread.
    """
    r = history.dropna().to_numpy(dtype=float)
    n = len(r)
    if n == 0:
        return 0.0, float(np.sqrt(prior_var)), 0
    m = float(r.mean())
    v = (float(((r - m) ** 2).sum()) + prior_var) / (n + 1)
    bias = m * n / (n + strength * v / (v + m ** 2)) if v > 0 else m
    var = (float(((r - bias) ** 2).sum()) + prior_var) / (n + 1)
    return bias, float(np.sqrt(var)), n


def debias_reps(forecasts: pd.DataFrame, team: Hierarchy, *, strength: float = 2.0) -> pd.DataFrame:
    """The ``calls (debiased)`` source: each rep's call over their own shrunk past forecast/actual ratio, summed.

    ``forecasts`` has ``source, person, period, week, forecast`` and ``actual`` (NaN
    for a period not over yet). Only periods before each period inform its correction.

    Examples
    --------
    >>> from forecasting.calls import hierarchy
    >>> team = hierarchy(pd.DataFrame({"owner": ["ava", "mia"], "manager": ["mia", None]}))
    >>> fc = pd.DataFrame({"source": "call", "person": "ava", "period": ["2026Q1", "2026Q2", "2026Q3"],
    ...     "week": 1, "forecast": [80.0, 80.0, 80.0], "actual": [100.0, 100.0, np.nan]})
    >>> debias_reps(fc, team, strength=0.0)["forecast"].round(1).tolist()
    [80.0, 100.0, 100.0]
    """
    leaves = [n for n in team.nodes if team.is_leaf(n)]
    calls = forecasts[(forecasts["source"] == "call") & forecasts["person"].isin(leaves)].copy()
    calls["log_ratio"] = _log_ratio(calls)
    order = sorted(calls["period"].unique(), key=pd.Period)
    rows = []
    for (person, week), part in calls.groupby(["person", "week"], sort=False):
        part = part.set_index("period")
        for period in order:
            if period not in part.index:
                continue
            earlier = order[:order.index(period)]
            past = part.loc[[p for p in earlier if p in part.index], "log_ratio"]
            pooled = calls.loc[(calls["week"] == week) & calls["period"].isin(earlier), "log_ratio"]
            bias, _, _ = _track(past, strength, _prior_var(pooled))
            rows.append((period, week, float(part.loc[period, "forecast"]) * np.exp(-bias)))
    out = pd.DataFrame(rows, columns=["period", "week", "forecast"]).groupby(["period", "week"], as_index=False).sum()
    totals = forecasts[forecasts["person"] == TOTAL_GROUP].drop_duplicates("period").set_index("period")["actual"]
    out["actual"] = out["period"].map(totals)
    out.insert(0, "person", TOTAL_GROUP)
    out.insert(0, "source", DEBIASED)
    return out


def combine(forecasts: pd.DataFrame, team: Hierarchy | None = None, *, strength: float = 2.0) -> pd.DataFrame:
    """The combined forecast of the total for every period and week, from past accuracy at the same week.

    Parameters
    ----------
    forecasts : DataFrame
        ``source, person, period, week, forecast, actual`` (e.g.
        :func:`~forecasting.calls.accuracy.call_accuracy`, plus the current period's
        rows with ``actual`` NaN). Sources of person ``all`` are combined.
    team : Hierarchy, optional
        Adds the ``calls (debiased)`` source (each rep's call debiased by their record).
    strength : float, default 2
        Shrinkage: a track record of ``n`` periods counts ``n / (n + strength)``.

    Returns
    -------
    DataFrame
        ``source`` (``combined``), ``person, period, week, forecast`` (P50), ``actual``,
        ``error, bias`` (as in accuracy), ``p10, p90``, ``sources`` (how many),
        ``history`` (past periods behind the weights) and ``weight_<source>`` columns.

    Examples
    --------
    >>> fc = pd.DataFrame({"source": ["call", "model"] * 3, "person": "all", "week": 1,
    ...     "period": ["2026Q1", "2026Q1", "2026Q2", "2026Q2", "2026Q3", "2026Q3"],
    ...     "forecast": [80.0, 100.0, 80.0, 130.0, 80.0, 90.0], "actual": [100.0] * 4 + [np.nan] * 2})
    >>> out = combine(fc, strength=0.5)
    >>> out[["period", "forecast", "history"]].round(1)
       period  forecast  history
    0  2026Q1      89.4        0
    1  2026Q2     113.0        1
    2  2026Q3      91.8        2
    """
    rows = forecasts[forecasts["person"] == TOTAL_GROUP][["source", "person", "period", "week", "forecast",
                                                          "actual"]]
    if team is not None:
        rows = pd.concat([rows, debias_reps(forecasts, team, strength=strength)], ignore_index=True)
    rows = rows.assign(log_ratio=_log_ratio(rows))
    order = sorted(rows["period"].unique(), key=pd.Period)
    sources = sorted(rows["source"].unique())
    out = []
    for (period, week), now in rows.groupby(["period", "week"], sort=False):
        past = rows[(rows["week"] == week) & rows["period"].isin(order[:order.index(period)])]
        out.append(_combine_one(now, past, sources, strength) | {"period": period, "week": week})
    frame = pd.DataFrame(out)
    frame["actual"] = frame["period"].map(rows.drop_duplicates("period").set_index("period")["actual"])
    base = frame["actual"].where(frame["actual"] > 0)
    frame["error"] = (frame["forecast"] - frame["actual"]).abs() / base
    frame["bias"] = (frame["forecast"] - frame["actual"]) / base
    frame.insert(0, "person", TOTAL_GROUP)
    frame.insert(0, "source", COMBINED)
    frame["_order"] = frame["period"].map(pd.Period)
    frame = frame.sort_values(["_order", "week"], ignore_index=True).drop(columns="_order")
    first = ["source", "person", "period", "week", "forecast", "actual", "error", "bias", "p10", "p90"]
    return frame[first + [c for c in frame.columns if c not in first]]


def _combine_one(now: pd.DataFrame, past: pd.DataFrame, sources: list[str], strength: float) -> dict:
    """Weights, debiased log forecasts and the range for one period and week."""
    now = now[now["forecast"] > 0]
    prior_var = _prior_var(past["log_ratio"])
    logs, weights, sds, histories = [], [], [], []
    for source, forecast in zip(now["source"], now["forecast"]):
        bias, sd, n = _track(past.loc[past["source"] == source, "log_ratio"], strength, prior_var)
        logs.append(np.log(forecast) - bias)
        weights.append(1 / max(sd, 1e-6) ** 2)
        sds.append(sd)
        histories.append(n)
    if not logs:
        return {"forecast": np.nan, "p10": np.nan, "p90": np.nan, "sources": 0, "history": 0}
    # A source whose past errors are over TRIM times the best one's only dilutes it.
    keep = np.asarray(sds) <= TRIM * min(sds)
    weights = np.where(keep, weights, 0.0)
    w = np.asarray(weights) / np.sum(weights)
    center = float(np.dot(w, logs))
    sd = float(np.dot(w, sds))
    out = {"forecast": np.exp(center), "p10": np.exp(center - _Z90 * sd), "p90": np.exp(center + _Z90 * sd),
           "sources": int(keep.sum()), "history": int(max(histories))}
    weight = dict(zip(now["source"], w))
    out |= {f"weight_{s}": float(weight.get(s, 0.0)) for s in sources}
    return out


def compare_sources(accuracy: pd.DataFrame, combined: pd.DataFrame, team: Hierarchy | None = None, *,
                    min_history: int = 2, strength: float = 2.0) -> pd.DataFrame:
    """Backtest table: mean error by week of the combined forecast and of each single source of the total.

    Only periods where the combination had at least ``min_history`` past periods count,
    for every source alike. ``best_single`` is the lowest error of the week among the
    sources as they come (calls, weighted pipeline, model), ``combined_wins`` whether the
    combined error is at most that. With ``team`` the ``calls (debiased)`` component is
    shown too, ``best_component`` is the lowest error including it and
    ``combined_wins_all`` compares with that.
    """
    scored = combined[(combined["history"] >= min_history) & combined["error"].notna()]
    keys = scored[["period", "week"]]
    singles = accuracy[accuracy["person"] == TOTAL_GROUP]
    raw = sorted(singles["source"].unique())
    if team is not None:
        debiased = debias_reps(accuracy, team, strength=strength)
        base = debiased["actual"].where(debiased["actual"] > 0)
        singles = pd.concat([singles, debiased.assign(error=(debiased["forecast"] - debiased["actual"]).abs() / base)])
    singles = singles.merge(keys, on=["period", "week"])
    table = singles.pivot_table(index="week", columns="source", values="error", aggfunc="mean")
    components = list(table.columns)
    table[COMBINED] = scored.groupby("week")["error"].mean()
    table["best_single"] = table[[c for c in components if c in raw]].min(axis=1)
    table["combined_wins"] = table[COMBINED] <= table["best_single"] + 1e-12
    if team is not None:
        table["best_component"] = table[components].min(axis=1)
        table["combined_wins_all"] = table[COMBINED] <= table["best_component"] + 1e-12
    return table
