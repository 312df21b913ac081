"""Combine judgment and model: the calls and the pipeline forecasts weighted by their track record.

For a period and a week of quarter, each source's forecast of the total is
first *debiased* by its past log forecast/actual ratio at that week (steadied
by the neighbouring weeks when they show the same bias), shrunk toward no
correction when the record is short or noisy. One more source joins: ``calls (debiased)``, the sum of each
rep's call divided by that rep's own shrunk track record at that week, so a rep
who always calls 80% of what they win is read as 1 / 0.8 of their call.

The debiased sources are then averaged on the log scale with the weights of
least variance (non-negative, summing to one) under the covariance of their
past log errors, shrunk toward its diagonal. The covariance matters: the team's
call and the debiased calls share most of their errors, so weighing them as
independent (inverse variance) gives the calls twice the say and dilutes the
best source; the minimum-variance weights count what each source adds.

Only periods before the one combined are used (a walk-forward backtest), so
the combined rows of past periods are honest out-of-sample forecasts. The
P10-P90 range is lognormal with the sd of the combination's past log error.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from ..metrics.sales import TOTAL_GROUP
from .team import Hierarchy

__all__ = ["combine", "debias_reps", "compare_sources", "COMBINED", "DEBIASED", "PRIOR_SD"]

COMBINED = "combined"
DEBIASED = "calls (debiased)"
_Z90 = 1.2815515655446004  # standard normal 90th percentile
PRIOR_SD = 0.3  # log-error sd assumed for a source with no track record


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


def combine(forecasts: pd.DataFrame, team: Hierarchy | None = None, *, strength: float = 5.0, window: int = 6,
            diagonal: float = 0.8) -> pd.DataFrame:
    """The combined forecast of the total for every period and week, from past accuracy around the same week.

    Parameters
    ----------
    forecasts : DataFrame
        ``source, person, period, week, forecast, actual`` (e.g.
        :func:`~forecasting.calls.accuracy.call_accuracy`, plus the current period's
        rows with ``actual`` NaN). Sources of person ``all`` are combined.
    team : Hierarchy, optional
        Adds the ``calls (debiased)`` source (each rep's call debiased by their record).
    strength : float, default 5
        Shrinkage of each source's bias: ``n`` past periods count ``n / (n + strength)``
        (less when the record is noisy).
    window : int, default 6
        Past errors of the weeks this many either side of the week inform its weights
        (more periods per estimate), and its bias as far as their biases agree.
    diagonal : float, default 0.8
        Shrinkage of the error covariance toward its diagonal (1: sources treated as independent).

    Returns
    -------
    DataFrame
        ``source`` (``combined``), ``person, period, week, forecast`` (P50), ``actual``,
        ``error, bias`` (as in accuracy), ``p10, p90``, ``sources`` (how many weighted),
        ``history`` (past periods behind the weights) and ``weight_<source>`` columns.

    Examples
    --------
    A source that is always 20% low is read as its forecast / 0.8 once it has a record;
    the other source, noisier, gets less weight:

    >>> fc = pd.DataFrame({"source": ["call", "model"] * 4, "person": "all", "week": 1,
    ...     "period": ["2026Q1", "2026Q1", "2026Q2", "2026Q2", "2026Q3", "2026Q3", "2026Q4", "2026Q4"],
    ...     "forecast": [80.0, 100.0, 80.0, 130.0, 80.0, 90.0, 80.0, 115.0], "actual": [100.0] * 6 + [np.nan] * 2})
    >>> out = combine(fc, strength=0.5)
    >>> out[["period", "forecast", "history", "weight_call"]].round(2)
       period  forecast  history  weight_call
    0  2026Q1     89.44        0         0.50
    1  2026Q2    114.02        1         0.50
    2  2026Q3     92.60        2         0.65
    3  2026Q4    102.46        3         0.74
    """
    rows = forecasts[forecasts["person"] == TOTAL_GROUP][["source", "person", "period", "week", "forecast",
                                                          "actual"]]
    if team is not None:
        rows = pd.concat([rows, debias_reps(forecasts, team, strength=2.0)], ignore_index=True)
    order = sorted(rows["period"].unique(), key=pd.Period)
    sources = sorted(rows["source"].unique())
    logs = _log_cube(rows, order, sources, "forecast")
    actual = rows.drop_duplicates("period").set_index("period")["actual"].reindex(order).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        errors = logs - np.log(np.where(actual > 0, actual, np.nan))[:, None, None]
    out = []
    for (period, week), _ in rows.groupby(["period", "week"], sort=False):
        t, w = order.index(period), int(week) - 1
        lo, hi = max(0, w - window), w + window + 1
        one = _combine_one(logs[t, w], errors[:t, lo:hi], w - lo, strength=strength, diagonal=diagonal)
        out.append(one | {f"weight_{s}": v for s, v in zip(sources, one.pop("weights"))}
                   | {"period": period, "week": week})
    frame = pd.DataFrame(out)
    frame["actual"] = frame["period"].map(dict(zip(order, actual)))
    base = frame["actual"].where(frame["actual"] > 0)
    frame["error"] = (frame["forecast"] - frame["actual"]).abs() / base
    frame["bias"] = (frame["forecast"] - frame["actual"]) / base
    frame.insert(0, "person", TOTAL_GROUP)
    frame.insert(0, "source", COMBINED)
    frame["_order"] = frame["period"].map(pd.Period)
    frame = frame.sort_values(["_order", "week"], ignore_index=True).drop(columns="_order")
    first = ["source", "person", "period", "week", "forecast", "actual", "error", "bias", "p10", "p90"]
    return frame[first + [c for c in frame.columns if c not in first]]


def _log_cube(rows: pd.DataFrame, order: list, sources: list, column: str) -> np.ndarray:
    """``log(column)`` as an array [period, week, source]; NaN where missing or not positive."""
    weeks = int(rows["week"].max())
    cube = np.full((len(order), weeks, len(sources)), np.nan)
    values = rows[column].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        logged = np.where(values > 0, np.log(values), np.nan)
    cube[rows["period"].map({p: i for i, p in enumerate(order)}).to_numpy(),
         rows["week"].to_numpy(dtype=int) - 1, rows["source"].map({s: i for i, s in enumerate(sources)}).to_numpy()] = logged
    return cube


def _week_biases(errors: np.ndarray, strength: float) -> np.ndarray:
    """A source's bias at each week of a window, from its past log errors [period, week].

    Each week's mean is shrunk toward the window's mean as far as the weeks' means differ
    by chance only (empirical Bayes): the calls' bias is about the same all quarter, so
    the neighbouring weeks steady it; the weighted pipeline's shrinks week by week (it
    misses fewer deals not yet created) and is zero once the quarter is over, so each
    week keeps its own. The result is shrunk toward no correction by
    ``n / (n + strength * v / (v + m**2))`` (``n`` past periods, ``v`` the spread):
    a consistent bias is trusted sooner than a noisy one.
    """
    ok = np.isfinite(errors)
    n = ok.sum(axis=0)
    if not n.any():
        return np.zeros(errors.shape[1])
    filled = np.where(ok, errors, 0.0)
    means = np.divide(filled.sum(axis=0), n, out=np.zeros(len(n)), where=n > 0)
    spread = np.where(ok, errors - means, 0.0) ** 2
    v = float(spread.sum() / max(n.sum() - (n > 0).sum(), 1))  # within-week variance, pooled
    pooled = float(filled.sum() / n.sum())
    noise = np.divide(v, n, out=np.full(len(n), np.inf), where=n > 0)
    between = max(float(means[n > 0].var()) - float(noise[n > 0].mean()), 0.0) if (n > 0).sum() > 1 else 0.0
    keep = np.divide(between, between + noise, out=np.zeros(len(n)), where=np.isfinite(noise) & (between + noise > 0))
    m = pooled + keep * (means - pooled)
    if v == 0:
        return m  # a bias without spread is trusted as it is
    return m * n / (n + strength * v / (v + m ** 2))


def _min_variance(cov: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to 1 of least ``w' cov w`` (every subset of sources tried: there are few)."""
    k = len(cov)
    best, weights = np.inf, np.full(k, 1 / k)
    for size in range(1, k + 1):
        for subset in combinations(range(k), size):
            sub = np.ix_(subset, subset)
            try:
                x = np.linalg.solve(cov[sub], np.ones(size))
            except np.linalg.LinAlgError:
                continue
            w = x / x.sum()
            variance = float(w @ cov[sub] @ w)
            if (w >= 0).all() and variance < best:
                best, weights = variance, np.zeros(k)
                weights[list(subset)] = w
    return weights


def _exact_source(errors: np.ndarray, min_periods: int = 2, tol: float = 1e-9) -> int | None:
    """The source that was exact at this week in every past period it has (at least ``min_periods``), if any.

    Pooled weights and a prior variance would still mix other sources into it.
    """
    seen = np.isfinite(errors)
    exact = (seen.sum(axis=0) >= min_periods) & (np.where(seen, np.abs(errors), 0.0) <= tol).all(axis=0)
    return int(np.flatnonzero(exact)[0]) if exact.any() else None


def _combine_one(now: np.ndarray, past: np.ndarray, now_at: int, *, strength: float, diagonal: float) -> dict:
    """Weights, debiased log forecast and range for one period and week.

    ``now``: the sources' log forecasts; ``past``: their log errors [period, week, source]
    in the earlier periods at the neighbouring weeks, the week itself at index ``now_at``.
    """
    present = np.flatnonzero(np.isfinite(now))
    weights = np.zeros(len(now))
    if not len(present):
        return {"forecast": np.nan, "p10": np.nan, "p90": np.nan, "sources": 0, "history": 0, "weights": weights}
    errors = past[:, :, present]
    exact = _exact_source(errors[:, now_at, :]) if now_at < errors.shape[1] else None
    if exact is not None:  # e.g. the weighted pipeline once the quarter is over: it is the actual
        weights[present[exact]] = 1.0
        value = float(np.exp(now[present[exact]]))
        return {"forecast": value, "p10": value, "p90": value, "sources": 1,
                "history": int(np.isfinite(errors[:, now_at, exact]).sum()), "weights": weights}
    bias = np.stack([_week_biases(errors[:, :, j], strength) for j in range(len(present))], axis=1)
    residuals = (errors - bias).reshape(-1, len(present))
    complete = residuals[np.isfinite(residuals).all(axis=1)]
    bias = bias[now_at] if len(bias) else np.zeros(len(present))
    # The prior (independent sources, each with the mean squared past error of all) counts as one more row.
    prior = _prior_var(pd.Series(errors.ravel()))
    cov = (complete.T @ complete + prior * np.eye(len(present))) / (len(complete) + 1)
    w = _min_variance((1 - diagonal) * cov + diagonal * np.diag(np.diag(cov)))
    center = float(w @ (now[present] - bias))
    sd = float(np.sqrt(w @ cov @ w))
    weights[present] = w
    history = int(np.isfinite(errors).all(axis=2).any(axis=1).sum())
    return {"forecast": np.exp(center), "p10": np.exp(center - _Z90 * sd), "p90": np.exp(center + _Z90 * sd),
            "sources": int((w > 0).sum()), "history": history, "weights": weights}


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
