"""Maven CRM: B2B opportunities with a sales pipeline, accounts, products and sales teams."""

from __future__ import annotations

import os

import pandas as pd

from ..errors import DataError, problem
from ..schema import DEFAULT_STAGES, Stages
from .base import Adapted, canonical, fixed_format_dates, locate, read_csv


_MAVEN_STATUS = {"Won": "won", "Lost": "lost", "Prospecting": "open", "Engaging": "open"}
_MAVEN_SECTOR_FIXES = {"technolgy": "technology"}
_MAVEN_NOTES = """\
Maven Analytics CRM Sales Opportunities (synthetic B2B hardware seller), 8,800 deals, 2016-10 ..
2017-12; one row per deal in its CURRENT state: no stage history, so as-of snapshots in the past
are approximate (a deal is taken as open from created_at until close_date).
- as_of (the extraction date) = the last date in the file, 2017-12-31.
- amount: close_value for won deals; products.sales_price (list price) for lost (close_value is
  always 0) and open deals (no value yet). list_price holds the list price for every deal.
- product "GTXPro" is matched to products.csv "GTX Pro" (names compared without spaces) and
  renamed to "GTX Pro". Sector "technolgy" -> "technology".
- account_id = account name; 1,425 deals have no account -> "unknown" (segment "unknown" too).
- created_at = engage_date; the 500 Prospecting deals have none and get as_of (they are not yet
  engaged at extraction).
- close_date of open deals (missing in the file) is an EXPECTED date: created_at + the median
  won-deal sales cycle (57 days), pushed to as_of + 1 day when that is already past, i.e. stale
  Engaging deals are expected to close right after the extraction.
- stages: open stages Prospecting -> Engaging. Engaging's probability is the closed-deal win
  rate (0.63; every closed deal was engaged); Prospecting keeps the package default 0.10 (no
  data to estimate it)."""


def maven_crm(*, root: str | os.PathLike | None = None) -> Adapted:
    """Maven Analytics "CRM Sales Opportunities" as a canonical opportunities table.

    Parameters
    ----------
    root : path, optional
        Shared data folder or the dataset folder.

    Returns
    -------
    Adapted
        ``tables["opportunities"]`` with ``opportunity_id, account_id, owner, amount,
        created_at, stage, close_date, status`` and ``product, product_series, segment
        (sector), region (regional office), manager, list_price``; ``stages`` (open:
        Prospecting, Engaging); ``as_of`` = 2017-12-31.

    Notes
    -----
    No stage history: past snapshots are approximate. Open deals' close dates are estimated
    (created_at + median won cycle, at least ``as_of`` + 1 day: 1,547 stale Engaging deals
    land on 2018-01-01); Prospecting deals' created_at is ``as_of``; lost/open amounts are
    list prices. "GTXPro" -> "GTX Pro", "technolgy" -> "technology", missing account ->
    "unknown" (see ``notes``). A column named ``product`` shadows ``DataFrame.product``:
    use ``frame["product"]``.
    """
    folder = "maven_crm_pipeline"
    pipe_path = locate(root, folder, "sales_pipeline.csv")
    paths = {name: locate(root, folder, f"{name}.csv") for name in ("accounts", "products", "sales_teams")}
    pipe = read_csv(pipe_path, ("opportunity_id", "sales_agent", "product", "account", "deal_stage",
                                 "engage_date", "close_date", "close_value"))
    accounts = read_csv(paths["accounts"], ("account", "sector"))
    products = read_csv(paths["products"], ("product", "series", "sales_price"))
    teams = read_csv(paths["sales_teams"], ("sales_agent", "manager", "regional_office"))

    ids = pipe["opportunity_id"]
    status = pipe["deal_stage"].map(_MAVEN_STATUS)
    if status.isna().any():
        raise DataError(problem(pipe_path.name, "deal_stage",
                                f"has stages other than {', '.join(_MAVEN_STATUS)}", ids[status.isna()]))
    key = pipe["product"].str.replace(" ", "", regex=False).str.lower()
    catalog = products.assign(key=products["product"].str.replace(" ", "", regex=False).str.lower())
    catalog = catalog.drop_duplicates("key").set_index("key")
    if not key.isin(catalog.index).all():
        raise DataError(problem(pipe_path.name, "product", f"is not in {paths['products'].name}",
                                ids[~key.isin(catalog.index)]))
    engage = fixed_format_dates(pipe["engage_date"], pipe_path, "engage_date", "%Y-%m-%d", ids)
    closed_on = fixed_format_dates(pipe["close_date"], pipe_path, "close_date", "%Y-%m-%d", ids)
    as_of = max(engage.max(), closed_on.max())
    won = status.eq("won")
    if not won.any():
        raise DataError(problem(pipe_path.name, "deal_stage", "has no Won deals: cannot estimate the sales cycle"))
    cycle = pd.Timedelta(days=round((closed_on - engage)[won].dt.days.median()))
    created = engage.fillna(as_of)
    expected = (created + cycle).clip(lower=as_of + pd.Timedelta(days=1))
    list_price = key.map(catalog["sales_price"]).astype(float)
    sector = accounts.set_index("account")["sector"].replace(_MAVEN_SECTOR_FIXES)
    team = teams.drop_duplicates("sales_agent").set_index("sales_agent")

    opportunities = pd.DataFrame({
        "opportunity_id": ids,
        "account_id": pipe["account"].fillna("unknown"),
        "owner": pipe["sales_agent"],
        "amount": pipe["close_value"].astype(float).where(won, list_price),
        "created_at": created,
        "stage": pipe["deal_stage"].where(status.eq("open"), status.map({"won": DEFAULT_STAGES.won,
                                                                       "lost": DEFAULT_STAGES.lost})),
        "close_date": closed_on.where(status.ne("open"), expected),
        "status": status,
        "product": key.map(catalog["product"]),
        "product_series": key.map(catalog["series"]),
        "segment": pipe["account"].map(sector).fillna("unknown"),
        "region": pipe["sales_agent"].map(team["regional_office"]),
        "manager": pipe["sales_agent"].map(team["manager"]),
        "list_price": list_price,
    })
    win_rate = won.sum() / status.isin(["won", "lost"]).sum()
    stages = Stages(open=("Prospecting", "Engaging"),
                    probabilities={"Prospecting": DEFAULT_STAGES.probabilities["Prospecting"],
                                   "Engaging": round(float(win_rate), 2)})
    return Adapted(
        name=folder,
        tables={"opportunities": canonical("opportunities", opportunities, pipe_path, stages=stages)},
        notes=_MAVEN_NOTES,
        stages=stages,
        as_of=as_of,
        columns={"opportunity_id": "opportunity_id", "account": "account_id", "sales_agent": "owner",
                 "close_value": "amount", "engage_date": "created_at", "deal_stage": "stage",
                 "close_date": "close_date", "product": "product", "sector": "segment",
                 "regional_office": "region", "manager": "manager", "sales_price": "list_price"},
        files=(pipe_path, *paths.values()),
    )
