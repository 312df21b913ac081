"""Activity KPIs: lead response time, activities per period and rep, activity targets."""

from __future__ import annotations

import pandas as pd

from ..data.errors import DataError, problem
from ._base import _end_of, _flag, _freq, _group_key, _ids, _table, by_columns
from .kpis import activity_completion_rate, activity_response_rate, attainment

__all__ = ["lead_response_times", "activity_report", "spread_targets"]


def lead_response_times(leads: pd.DataFrame, activities: pd.DataFrame) -> pd.Series:
    """Lead response time: minutes from each lead's creation to its first activity.

    Activities are matched on ``lead_id``; those before the lead was created are
    ignored (they cannot be a response).

    Parameters
    ----------
    leads : DataFrame
        ``lead_id``, ``created_at``.
    activities : DataFrame
        ``lead_id``, ``occurred_at``.

    Returns
    -------
    Series
        Named ``lead_response_minutes``, indexed by ``lead_id`` in the order of
        ``leads``; NaN for a lead never touched.

    Examples
    --------
    >>> import pandas as pd
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"],
    ...                       "created_at": pd.to_datetime(["2025-01-01 09:00", "2025-01-01 10:00"])})
    >>> acts = pd.DataFrame({"lead_id": ["a", "a"],
    ...                      "occurred_at": pd.to_datetime(["2025-01-01 09:30", "2025-01-02 09:00"])})
    >>> lead_response_times(leads, acts).tolist()
    [30.0, nan]
    """
    leads = _table(leads, "leads", ["lead_id", "created_at"], ("created_at",), "lead_id")
    activities = _table(activities, "activities", ["lead_id", "occurred_at"], ("occurred_at",), "activity_id")
    touches = activities.loc[activities["lead_id"].notna(), ["lead_id", "occurred_at"]]
    touches = touches.assign(lead_id=touches["lead_id"].astype(str))
    created = leads[["lead_id", "created_at"]].assign(lead_id=leads["lead_id"].astype(str))
    joined = touches.merge(created.drop_duplicates("lead_id"), on="lead_id")
    joined = joined[joined["occurred_at"] >= joined["created_at"]]
    first = joined.groupby("lead_id")["occurred_at"].min()
    response = pd.Series(first.reindex(created["lead_id"]).to_numpy(), index=created["lead_id"])
    minutes = (response - created["created_at"].to_numpy()).dt.total_seconds() / 60
    return minutes.rename("lead_response_minutes")


def activity_report(activities: pd.DataFrame, *, freq: str = "M", by: str | None = "owner",
                    targets: pd.DataFrame | None = None, as_of=None) -> pd.DataFrame:
    """Activity report: activities per period and rep, by type, against the reps' targets.

    Parameters
    ----------
    activities : DataFrame
        Canonical activities (``activity_id, owner, type, occurred_at``; optional
        ``duration_minutes`` and ``responded``).
    freq : {"D", "W", "M", "Q", "Y"}
        Period length.
    by : str or None
        Column to split by (default ``owner``); None for one row per period.
    targets : DataFrame, optional
        ``owner, type, freq`` (D, W or M) ``, target``: adds ``target_<type>`` and
        ``attainment_<type>`` (count / target) for ``by="owner"`` or ``None`` (all reps); the
        last period counts the target of its working days up to ``as_of`` (or the last activity).
    as_of : date-like, optional
        Count only activities up to this date (a bare date includes its whole day).

    Returns
    -------
    DataFrame
        ``period``, the ``by`` column, one count column per activity type (sorted by
        name) and ``total``; every period from the first to the last activity for
        every group, with 0 where nothing happened. With the columns,
        ``duration_minutes_mean``, ``response_rate`` (:func:`activity_response_rate`) and
        ``completion_rate`` (:func:`activity_completion_rate`).

    Examples
    --------
    >>> import pandas as pd
    >>> acts = pd.DataFrame({"activity_id": ["1", "2", "3"], "owner": ["ann", "ann", "bob"],
    ...                      "type": ["call", "email", "call"],
    ...                      "occurred_at": pd.to_datetime(["2025-01-05", "2025-02-07", "2025-01-09"])})
    >>> activity_report(acts)
        period owner  call  email  total
    0  2025-01   ann     1      0      1
    1  2025-01   bob     1      0      1
    2  2025-02   ann     0      1      1
    3  2025-02   bob     0      0      0

    Ann must make 2 calls a week; she made 1 in the week of 6 January:

    >>> goals = pd.DataFrame({"owner": ["ann"], "type": ["call"], "freq": ["W"], "target": [2]})
    >>> week = activity_report(acts, freq="W", targets=goals)
    >>> week.loc[week["owner"] == "ann", ["period", "call", "target_call", "attainment_call"]].head(1)
                      period  call  target_call  attainment_call
    0  2024-12-30/2025-01-05     1          2.0              0.5
    """
    freq = _freq(freq)
    if by is not None and by_columns(by) != (by,):
        raise ValueError(f"activity_report splits by one column, got {by!r}; use kpi_table for combinations")
    required = ["activity_id", "type", "occurred_at"] + ([by] if by else [])
    activities = _table(activities, "activities", required, ("occurred_at",), "activity_id",
                        numbers=[c for c in ("duration_minutes",) if c in activities])
    if as_of is not None:
        activities = activities[activities["occurred_at"] <= _end_of(as_of)]
    when = activities["occurred_at"].dropna()
    if when.empty:
        raise DataError([problem("activities", "occurred_at", "has no dated activities")])
    periods = pd.period_range(when.min().to_period(freq), when.max().to_period(freq), freq=freq, name="period")
    period = activities["occurred_at"].dt.to_period(freq).rename("period")
    keys = [period] + ([_group_key(activities, by).rename(by)] if by else [])
    types = activities["type"].astype(object).where(activities["type"].notna(), "unknown").astype(str)
    counts = pd.crosstab(keys, types.rename(None))
    if by:
        full = pd.MultiIndex.from_product([periods, sorted(keys[1].unique())], names=["period", by])
    else:
        full = periods
    counts = counts.reindex(full, fill_value=0).reindex(columns=sorted(types.unique()), fill_value=0)
    counts = counts.astype("int64").assign(total=lambda t: t.sum(axis=1))
    counts.columns.name = None
    if "duration_minutes" in activities.columns:
        counts["duration_minutes_mean"] = activities.groupby(keys)["duration_minutes"].mean().reindex(full)
    for flag, name, rate in (("responded", "response_rate", activity_response_rate),
                             ("completed", "completion_rate", activity_completion_rate)):
        if flag in activities.columns:
            known = activities[flag].notna()
            grouped = [k[known] for k in keys]
            done = (_flag(activities[flag]) & known)[known]
            counts[name] = rate(done.groupby(grouped).sum().reindex(full),
                                known[known].groupby(grouped).size().reindex(full))
    if targets is not None:
        if by not in (None, "owner"):
            raise ValueError("activity targets are per owner: use by='owner' or by=None")
        counts = _with_targets(counts, spread_targets(targets, periods, until=when.max() if as_of is None
                                                      else _end_of(as_of)), by, types.unique())
    out = counts.reset_index()
    out["period"] = out["period"].astype(str)
    return out


def _with_targets(counts, goals, by, kinds) -> pd.DataFrame:
    keys = ["_period"] + ([by] if by else [])
    wide = goals.pivot_table(index=keys, columns="type", values="target", aggfunc="sum")
    wide.index = wide.index.set_names(counts.index.names)
    for kind in wide.columns:
        goal = wide[kind].reindex(counts.index)
        done = counts[kind] if kind in counts.columns else pd.Series(0, index=counts.index)
        counts[f"target_{kind}"] = goal
        counts[f"attainment_{kind}"] = attainment(done, goal)
    return counts


def spread_targets(targets: pd.DataFrame, periods: pd.PeriodIndex, *, until=None) -> pd.DataFrame:
    """Activity targets per owner, type and period of ``periods``.

    A target per day (``D``, Monday to Friday), week (``W``) or month (``M``) is spread
    over the working days it covers, so 10 calls a day is 50 a week and a monthly target
    is split by the working days of each week.

    Parameters
    ----------
    targets : DataFrame
        ``owner, type, freq, target``.
    periods : PeriodIndex
        The periods to spread to.
    until : Timestamp, optional
        Working days after this instant get no target, so the period still running is
        measured against the target of its days so far.

    Returns
    -------
    DataFrame
        ``owner, type, _period, target``.

    Examples
    --------
    >>> goals = pd.DataFrame({"owner": ["ann"], "type": ["call"], "freq": ["D"], "target": [10]})
    >>> weeks = pd.period_range("2025-01-06", periods=1, freq="W")
    >>> spread_targets(goals, weeks)["target"].tolist()
    [50.0]
    """
    targets = _table(targets, "targets", ["owner", "type", "freq", "target"], numbers=("target",))
    kinds = targets["freq"].astype(str).str.strip().str.upper()
    bad = ~kinds.isin(["D", "W", "M"])
    if bad.any():
        raise DataError([problem("targets", "freq", "must be D (per day), W (per week) or M (per month)",
                                 _ids(targets, bad, None))])
    days = pd.bdate_range(periods[0].start_time, periods[-1].end_time.normalize())
    if until is not None:
        days = days[days <= until]
    day_period = days.to_period(periods.freqstr)
    rows = []
    for kind, part in targets.assign(freq=kinds).groupby("freq", sort=False):
        own = days.to_period(kind)
        workdays = {p: len(pd.bdate_range(p.start_time, p.end_time.normalize())) for p in own.unique()}
        per_day = 1 / own.map(workdays).to_numpy(dtype=float)  # each working day's share of its period
        share = pd.Series(per_day).groupby(day_period).sum()
        for row in part.itertuples(index=False):
            rows.append(pd.DataFrame({"owner": str(row.owner), "type": str(row.type), "_period": share.index,
                                      "target": share.to_numpy() * float(row.target)}))
    if not rows:
        return pd.DataFrame({"owner": [], "type": [], "_period": pd.PeriodIndex([], freq=periods.freq), "target": []})
    return pd.concat(rows, ignore_index=True)
