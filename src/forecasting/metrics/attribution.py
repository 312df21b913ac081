"""Lead attribution: leads, conversions and won revenue credited to a channel (first or last touch)."""

from __future__ import annotations

import pandas as pd

from ..data.errors import DataError, problem
from ._base import _end_of, _flag
from .kpis import conversion_rate

__all__ = ["lead_attribution"]


def lead_attribution(
    leads: pd.DataFrame,
    activities: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    *,
    by: str = "source",
    touch: str = "first",
    as_of=None,
) -> pd.DataFrame:
    """Lead attribution report: leads, conversions and won revenue credited to a channel.

    First-touch credits each lead to its own ``by`` attribute (the source or campaign
    that brought it in). Last-touch credits it to the ``type`` of the last activity
    on the lead before it converted (or before now, if it did not), so a channel that
    closes leads shows up even if it did not bring them in. Won revenue comes from
    the won opportunities linked to the lead by ``lead_id``.

    Parameters
    ----------
    leads : DataFrame
        ``lead_id``, ``converted`` and, for first touch, the ``by`` column.
    activities : DataFrame, optional
        ``lead_id``, ``type``, ``occurred_at``; needed for last touch.
    opportunities : DataFrame, optional
        ``lead_id``, ``status``, ``amount``: adds ``deals_won`` and ``revenue_won``.
    by : str
        Lead column credited by first touch (``source``, ``campaign``...).
    touch : {"first", "last"}
    as_of : date-like, optional
        Count only the leads created, conversions, activities and wins up to this date (a bare
        date includes its whole day); a lead converted later counts as not converted.

    Returns
    -------
    DataFrame
        ``channel, leads, converted, conversion_rate`` (+ ``deals_won, revenue_won``),
        largest revenue (or conversions) first.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["1", "2", "3", "4"], "source": ["web", "web", "event", "event"],
    ...                       "converted": [1, 0, 1, 1]})
    >>> lead_attribution(leads)[["channel", "leads", "converted", "conversion_rate"]]
      channel  leads  converted  conversion_rate
    0   event      2          2              1.0
    1     web      2          1              0.5
    """
    if touch not in ("first", "last"):
        raise ValueError(f"touch must be 'first' or 'last', got {touch!r}")
    if as_of is not None:
        leads, activities, opportunities = _known_at(leads, activities, opportunities, _end_of(as_of))
    leads = leads.assign(converted=_flag(leads["converted"]).astype(int))
    if touch == "first":
        if by not in leads.columns:
            raise DataError([problem("leads", by, "is missing: first-touch attribution needs it")])
        channel = leads[by].astype(object).where(leads[by].notna(), "(none)")
    else:
        if activities is None or "lead_id" not in activities.columns:
            raise DataError([problem("activities", "lead_id", "is needed for last-touch attribution")])
        ends = leads.set_index("lead_id")["converted_at"] if "converted_at" in leads.columns else None
        touches = activities.dropna(subset=["lead_id"])
        if ends is not None:
            end = touches["lead_id"].map(ends)
            touches = touches[end.isna() | (touches["occurred_at"] <= end)]
        last = touches.sort_values("occurred_at").drop_duplicates("lead_id", keep="last")
        channel = leads["lead_id"].map(last.set_index("lead_id")["type"]).fillna("(no touch)")
    frame = leads.assign(channel=channel.astype(str))
    out = frame.groupby("channel").agg(leads=("lead_id", "size"), converted=("converted", "sum"))
    out["conversion_rate"] = conversion_rate(out["converted"], out["leads"])
    sort = "converted"
    if opportunities is not None and "lead_id" in opportunities.columns:
        won = opportunities[opportunities["status"] == "won"].dropna(subset=["lead_id"])
        won = won.assign(channel=won["lead_id"].map(frame.set_index("lead_id")["channel"]))
        deals = won.groupby("channel").agg(deals_won=("opportunity_id", "size"), revenue_won=("amount", "sum"))
        out = out.join(deals).fillna({"deals_won": 0, "revenue_won": 0.0})
        out["deals_won"] = out["deals_won"].astype(int)
        sort = "revenue_won"
    return out.sort_values([sort, "leads"], ascending=False).reset_index()


def _known_at(leads, activities, opportunities, until):
    """The tables as known at ``until``: later records vanish, later conversions and wins undone."""
    leads = leads[leads["created_at"] <= until]
    if "converted_at" in leads.columns:
        later = (leads["converted_at"] > until).to_numpy()
        converted = _flag(leads["converted"]) if "converted" in leads.columns else leads["converted_at"].notna()
        leads = leads.assign(converted=converted & ~later)
    if activities is not None:
        activities = activities[activities["occurred_at"] <= until]
    if opportunities is not None:
        opportunities = opportunities[opportunities["created_at"] <= until]
        opportunities = opportunities.assign(status=opportunities["status"].mask(opportunities["close_date"] > until,
                                                                                "open"))
    return leads, activities, opportunities
