"""Olist marketing funnel: marketing-qualified leads and the sellers they became."""

from __future__ import annotations

import os

from ..errors import DataError, problem
from .base import Adapted, canonical, fixed_format_dates, locate, read_csv


_OLIST_MQL = "olist_marketing_qualified_leads_dataset.csv"
_OLIST_DEALS = "olist_closed_deals_dataset.csv"
_OLIST_NOTES = """\
Olist marketing funnel (Brazil, 2017-06 .. 2018-05): marketing-qualified leads and the sellers
they became. converted = 1 when the mql_id is in the closed-deals file; converted_at = won_date.
- The closed-deals file here is a REDUCED copy (380 of the original 842 deals): many real
  conversions are labelled 0 (4.75% here vs 10.5% in the original). Use for plumbing, not for
  absolute conversion rates.
- Only `source` (origin; 60 missing, plus an explicit "unknown") and created_at are known at MQL
  time. Closed-deal attributes (seller_id, business_segment, lead_type, lead_behaviour_profile,
  business_type) are post-conversion: they are in tables["closed_deals"], never in leads.
- One won_date is 2 days before its first_contact_date (converted_at < created_at; kept as is).
- Right-censored: leads from May 2018 had at most ~2 months to convert before the data ends."""


def olist_funnel(*, root: str | os.PathLike | None = None) -> Adapted:
    """Olist marketing-qualified leads as a canonical leads table.

    Parameters
    ----------
    root : path, optional
        Shared data folder or the dataset folder.

    Returns
    -------
    Adapted
        ``tables["leads"]``: ``lead_id`` (mql_id), ``created_at`` (first_contact_date),
        ``source`` (origin), ``landing_page_id`` when the file has it, ``converted``,
        ``converted_at``. ``tables["closed_deals"]``: the post-conversion deal attributes
        keyed by ``lead_id`` (leaky: never join them onto leads as features).

    Notes
    -----
    The closed-deals copy is partial (380 of 842 deals): the label misses true conversions
    (4.75% here, 10.5% originally). One converted_at is 2 days before its created_at. Leads
    from the last months are right-censored.
    """
    mql_path = locate(root, "olist_marketing_funnel", _OLIST_MQL)
    deals_path = locate(root, "olist_marketing_funnel", _OLIST_DEALS)
    mql = read_csv(mql_path, ("mql_id", "first_contact_date", "origin"))
    deals = read_csv(deals_path, ("mql_id", "won_date"))
    columns = {"mql_id": "lead_id", "first_contact_date": "created_at", "origin": "source"}
    if "landing_page_id" in mql.columns:
        columns["landing_page_id"] = "landing_page_id"
    leads = mql[list(columns)].rename(columns=columns)
    leads["created_at"] = fixed_format_dates(leads["created_at"], mql_path, "first_contact_date", "%m/%d/%Y",
                                 leads["lead_id"])
    deals = deals.rename(columns={"mql_id": "lead_id"})
    deals["won_date"] = fixed_format_dates(deals["won_date"], deals_path, "won_date", "%m/%d/%Y %H:%M",
                               deals["lead_id"])
    orphans = ~deals["lead_id"].isin(leads["lead_id"])
    if orphans.any():
        raise DataError(problem(deals_path.name, "mql_id", f"is not in {mql_path.name}",
                                deals.loc[orphans, "lead_id"]))
    won = deals.drop_duplicates("lead_id").set_index("lead_id")["won_date"]
    leads["converted"] = leads["lead_id"].isin(won.index).astype(int)
    leads["converted_at"] = leads["lead_id"].map(won).astype("datetime64[ns]")
    return Adapted(
        name="olist_marketing_funnel",
        tables={"leads": canonical("leads", leads, mql_path, require_label=True),
                "closed_deals": deals},
        target="converted",
        notes=_OLIST_NOTES,
        columns=columns,
        files=(mql_path, deals_path),
    )
