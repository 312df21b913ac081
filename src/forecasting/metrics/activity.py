"""Activity KPIs: lead response time and activities per period and rep."""

from __future__ import annotations

import pandas as pd

from ..data.errors import DataError, problem
from ._base import _freq, _group_key, _table

__all__ = ["lead_response_times", "activity_report"]


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


def activity_report(activities: pd.DataFrame, *, freq: str = "M", by: str | None = "owner") -> pd.DataFrame:
    """Activity report: activities per period and rep, by type.

    Parameters
    ----------
    activities : DataFrame
        Canonical activities (``activity_id, owner, type, occurred_at``).
    freq : {"M", "Q", "Y"}
        Period length.
    by : str or None
        Column to split by (default ``owner``); None for one row per period.

    Returns
    -------
    DataFrame
        ``period``, the ``by`` column, one count column per activity type (sorted by
        name) and ``total``; every period from the first to the last activity for
        every group, with 0 where nothing happened.

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
    """
    freq = _freq(freq)
    required = ["activity_id", "type", "occurred_at"] + ([by] if by else [])
    activities = _table(activities, "activities", required, ("occurred_at",), "activity_id")
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
    out = counts.reset_index()
    out["period"] = out["period"].astype(str)
    return out
