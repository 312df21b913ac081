"""The KPI table: every glossary KPI per period (day to year) and per group, as of a date."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ._base import _ALL, _DAY, _flag, _freq, _ids, _table, _with_groups
from .activity import lead_response_times
from .customers import cac, churn_rate
from .kpis import (acv, attainment, average_deal_size, close_ratio, commission, conversion_rate, gap_coverage,
                   pipeline_coverage, pipeline_velocity, profit_margin, win_rate)
from .panel import _before_period, _finish, _panel, _periods, _stock, _tally, spread_by_period

__all__ = ["kpi_table"]


def _prepare_opportunities(opportunities, by) -> pd.DataFrame:
    required = ["opportunity_id", "amount", "created_at", "close_date", "status"] + ([by] if by else [])
    opps = _table(opportunities, "opportunities", required, ("created_at", "close_date"), "opportunity_id")
    if opps.empty:
        raise DataError([problem("opportunities", None, "is empty: no rows")])
    status = opps["status"].astype(str).str.strip().str.lower()
    checks = [
        ("status", ~status.isin(["open", "won", "lost"]), "has values other than open / won / lost"),
        ("amount", opps["amount"].isna() | (opps["amount"] < 0), "is missing or negative"),
        ("created_at", opps["created_at"].isna(), "is missing a date"),
        ("close_date", status.isin(["won", "lost"]) & opps["close_date"].isna(), "is missing for closed deals"),
        ("close_date", status.isin(["won", "lost"]) & (opps["close_date"] < opps["created_at"]),
         "is before created_at"),
    ]
    problems = [problem("opportunities", col, msg, _ids(opps, bad, "opportunity_id"))
                for col, bad, msg in checks if bad.any()]
    if problems:
        raise DataError(problems)
    return opps.assign(status=status, amount=opps["amount"].astype(float))


def _until(as_of, opps, leads, activities) -> pd.Timestamp:
    """The last instant counted: ``as_of`` (a bare date counts its whole day) or else
    the latest event in the data (expected closes of open deals are not events)."""
    if as_of is not None:
        stamp = pd.Timestamp(as_of)
        return stamp + _DAY - pd.Timedelta(1, "ns") if stamp == stamp.normalize() else stamp
    events = [opps["created_at"], opps.loc[opps["status"] != "open", "close_date"]]
    events += [leads["created_at"]] if leads is not None else []
    events += [activities["occurred_at"]] if activities is not None else []
    return max(e.max() for e in events if e.notna().any())


def _deal_kpis(opps, panel, by, freq) -> dict[str, pd.Series]:
    won = opps[opps["status"] == "won"]
    lost = opps[opps["status"] == "lost"]
    cycle = (won["close_date"] - won["created_at"]).dt.total_seconds() / 86_400
    closed_end = opps["close_date"].where(opps["status"] != "open")
    ahead = opps[_before_period(opps, "created_at", "close_date", freq)]
    cols = {
        "deals_won": _tally(won, "close_date", panel, by),
        "deals_lost": _tally(lost, "close_date", panel, by),
        "revenue_won": _tally(won, "close_date", panel, by, value="amount", how="sum"),
        "sales_cycle_days": _tally(won.assign(_cycle=cycle), "close_date", panel, by, value="_cycle", how="mean"),
        "pipeline_created": _tally(opps, "created_at", panel, by, value="amount", how="sum"),
        "opportunities_created": _tally(opps, "created_at", panel, by),
        "cohort_won": _tally(won, "created_at", panel, by),
        "open_opportunities": _stock(opps.assign(_end=closed_end), "created_at", "_end", panel, by),
        "open_pipeline": _tally(ahead, "close_date", panel, by, value="amount", how="sum"),
    }
    if "contract_months" in opps.columns:
        per_deal = acv(won["amount"], won["contract_months"].astype(float) / 12)
        cols["acv"] = _tally(won.assign(_acv=per_deal), "close_date", panel, by, value="_acv", how="mean")
    if "profit" in opps.columns or "cost" in opps.columns:
        profit = won["profit"] if "profit" in won.columns else won["amount"] - won["cost"]
        cols["profit_won"] = _tally(won.assign(_profit=profit.astype(float)), "close_date", panel, by,
                                    value="_profit", how="sum")
        cols["profit_margin"] = profit_margin(cols["profit_won"], cols["revenue_won"])
    cols["win_rate"] = win_rate(cols["deals_won"], cols["deals_lost"])
    cols["close_ratio"] = close_ratio(cols.pop("cohort_won"), cols["opportunities_created"])
    cols["avg_deal_size"] = average_deal_size(cols["revenue_won"], cols["deals_won"])
    cols["pipeline_velocity"] = pipeline_velocity(cols["open_opportunities"], cols["avg_deal_size"],
                                                  cols["win_rate"], cols["sales_cycle_days"])
    return cols


def _lead_kpis(leads, activities, panel, by, until) -> dict[str, pd.Series]:
    converted = _flag(leads["converted"]) if "converted" in leads.columns else leads["converted_at"].notna()
    if "converted_at" in leads.columns:
        converted &= ~(leads["converted_at"] > until)  # converted after as_of: not yet
    cols = {
        "leads_created": _tally(leads, "created_at", panel, by),
        "leads_converted": _tally(leads[converted.to_numpy()], "created_at", panel, by),
    }
    cols["conversion_rate"] = conversion_rate(cols["leads_converted"], cols["leads_created"])
    if activities is not None and "lead_id" in activities.columns:
        minutes = lead_response_times(leads, activities).to_numpy()
        cols["lead_response_minutes"] = _tally(leads.assign(_minutes=minutes), "created_at", panel, by,
                                               value="_minutes", how="median")
    return cols


def _customer_kpis(opps, accounts, panel, by, freq) -> dict[str, pd.Series]:
    if accounts is None:
        if "account_id" not in opps.columns:
            return {}
        # Without an accounts table a new customer is an account's first won deal.
        first = opps[opps["status"] == "won"].sort_values("close_date").drop_duplicates("account_id")
        return {"new_customers": _tally(first, "close_date", panel, by)}
    stayed = accounts[accounts["customer_since"].notna()]
    churned = stayed[stayed["churned_at"].notna()]
    # Churn counts only customers there at the start, so it stays within 0..1.
    churned = churned[_before_period(churned, "customer_since", "churned_at", freq)]
    cols = {
        "new_customers": _tally(stayed, "customer_since", panel, by),
        "active_customers": _stock(stayed, "customer_since", "churned_at", panel, by),
        "churned_customers": _tally(churned, "churned_at", panel, by),
    }
    cols["churn_rate"] = churn_rate(cols["churned_customers"], cols["active_customers"])
    return cols


def _prepare_accounts(accounts, until) -> pd.DataFrame:
    accounts = _table(accounts, "accounts", ["account_id", "customer_since"],
                      ("customer_since", "churned_at"), "account_id")
    if "churned_at" not in accounts.columns:
        accounts = accounts.assign(churned_at=pd.NaT)
    accounts = accounts[~(accounts["customer_since"] > until)]
    return accounts.assign(churned_at=accounts["churned_at"].where(~(accounts["churned_at"] > until)))


def _targets(target, panel) -> pd.Series:
    """The coverage target of the total rows: a number for every period or a mapping
    ``{"2026Q3": 1e6}``; group rows (and everything, without a target) get NaN."""
    if target is None:
        return pd.Series(np.nan, index=panel)
    periods = panel.get_level_values("period")
    is_total = panel.get_level_values("group") == _ALL
    if isinstance(target, (Mapping, pd.Series)):
        labels = {str(k): float(v) for k, v in dict(target).items()}
        values = np.array([labels.get(str(p), np.nan) for p in periods])
    else:
        values = np.full(len(panel), float(target))
    return pd.Series(np.where(is_total, values, np.nan), index=panel)


def _gap_coverage(opps, until, goal, revenue_won, panel, by) -> pd.Series:
    """Gap coverage of the period holding ``until`` (NaN in the others): the deals still open
    then and due by the period's end (overdue ones included) over the quota left to win."""
    freq = panel.levels[0].freq
    now = until.to_period(freq)
    due = opps[(opps["status"] == "open") & (opps["close_date"].dt.to_period(freq) <= now)]
    pipeline = _tally(due.assign(_now=now), "_now", panel, by, value="amount", how="sum")
    current = panel.get_level_values("period") == now
    return gap_coverage(pipeline, goal, revenue_won).where(current)


def kpi_table(
    opportunities: pd.DataFrame,
    leads: pd.DataFrame | None = None,
    activities: pd.DataFrame | None = None,
    *,
    freq: str = "Q",
    by: str | None = None,
    spend: pd.DataFrame | None = None,
    quotas: pd.DataFrame | None = None,
    accounts: pd.DataFrame | None = None,
    target: float | Mapping | pd.Series | None = None,
    as_of=None,
    commission_rate: float | None = None,
) -> pd.DataFrame:
    """Sales KPIs per period (and per owner or segment) from canonical tables.

    One row per period for the total (``group == "all"``) and, with ``by``, one
    row per period and group value. A period P runs from its first instant to the
    next period's; "at the start of P" means before that first instant.

    Definitions, from the opportunities:

    - ``deals_won``, ``deals_lost``: deals with status won / lost whose close_date is in P;
    - ``win_rate``: deals_won / (deals_won + deals_lost), deals closed in P (:func:`win_rate`);
    - ``close_ratio``: of the opportunities created in P, the share won by ``as_of``
      (a cohort: recent periods rise as their open deals close) (:func:`close_ratio`);
    - ``revenue_won``: sum of amount of the deals won in P;
    - ``avg_deal_size``: revenue_won / deals_won (:func:`average_deal_size`);
    - ``sales_cycle_days``: **mean** days from created_at to close_date of the deals won in P;
    - ``opportunities_created``, ``pipeline_created``: number and amount of opportunities created in P;
    - ``open_opportunities``: deals open at the start of P (created before it, not closed before it);
    - ``open_pipeline``: amount of the deals open at the start of P whose close_date is in P.
      Without stage history the expected close of a deal closed since is its actual close_date;
    - ``pipeline_coverage``: open_pipeline / target, the target being ``target`` (total rows)
      or else the summed quotas of P; NaN without either (:func:`pipeline_coverage`);
    - ``pipeline_velocity``: open_opportunities x avg_deal_size x win_rate / sales_cycle_days,
      with P's deal size, win rate and cycle: revenue per day (:func:`pipeline_velocity`);
    - ``acv`` (when opportunities have ``contract_months``): mean amount per contract year of
      the deals won in P (:func:`acv`);
    - ``profit_won``, ``profit_margin`` (when opportunities have ``profit`` or ``cost``): profit of
      the deals won in P and its share of revenue_won (:func:`profit_margin`);
    - ``commission`` (with ``commission_rate``): revenue_won x rate (:func:`commission`).

    From the other tables, when given:

    - ``leads_created``, ``leads_converted``, ``conversion_rate``: leads created in P, those of
      them converted (by ``as_of`` when ``converted_at`` is known), and their ratio;
    - ``lead_response_minutes`` (leads and activities with ``lead_id``): median, over the leads
      created in P that were touched, of minutes to the first activity (:func:`lead_response_times`);
    - ``activities``: activities that occurred in P;
    - ``new_customers``: accounts whose ``customer_since`` is in P; without ``accounts``, accounts
      whose first won deal (in the data) closed in P, which overcounts the first periods;
    - ``active_customers``, ``churned_customers``, ``churn_rate`` (``accounts``): customers at the
      start of P, those of them whose ``churned_at`` is in P, and their ratio (:func:`churn_rate`);
    - ``spend``, ``cac`` (``spend``): spend dated in P and spend / new_customers (:func:`cac`);
    - ``quota``, ``attainment`` (``quotas``): the quotas of P and revenue_won / quota (:func:`attainment`).

    A side table without the ``by`` column cannot be split, so its columns are NaN in
    the group rows (e.g. spend by owner). Counts and sums are 0 where nothing happened;
    a ratio with a zero denominator is NaN.

    Parameters
    ----------
    opportunities : DataFrame
        Canonical opportunities (``opportunity_id, amount, created_at, close_date, status``
        at least; ``account_id`` for new customers).
    leads : DataFrame, optional
        Canonical leads with ``converted`` (or ``converted_at``).
    activities : DataFrame, optional
        Canonical activities.
    freq : {"Q", "M", "Y"}
        Period length. Labels are "2025Q3", "2025-07" or "2025".
    by : str, optional
        A column to split by, usually ``"owner"`` or ``"segment"``.
    spend : DataFrame, optional
        ``amount`` and a ``month`` / ``date`` / ``period`` column (dates or labels like 2026Q3).
    quotas : DataFrame, optional
        ``period`` (labels like "2026Q3", or dates), ``quota`` and usually ``owner``. A quota
        longer than ``freq`` is split evenly over its periods; shorter ones are summed.
    accounts : DataFrame, optional
        ``account_id``, ``customer_since``, optional ``churned_at`` and segment.
    target : float or mapping, optional
        Coverage target of the total rows: one number for every period or ``{"2026Q3": 1e6}``.
    as_of : date-like, optional
        Count only events up to this instant (a bare date includes the whole day); deals
        closed later count as open. Default: the latest event in the data.
    commission_rate : float, optional
        Commission paid on won revenue (0.15 for 15 %): adds a ``commission`` column.

    Returns
    -------
    DataFrame
        ``period, group``, then :data:`KPI_COLUMNS`, then the extra columns above;
        sorted by period, then group with ``"all"`` first. Periods run from the first
        created opportunity, lead or activity to ``as_of``.

    Raises
    ------
    DataError
        When a table misses a column it needs, or holds unusable values.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({
    ...     "opportunity_id": ["1", "2", "3"], "owner": ["ann", "bob", "bob"],
    ...     "amount": [100.0, 300.0, 50.0],
    ...     "created_at": pd.to_datetime(["2025-01-10", "2025-02-01", "2025-03-01"]),
    ...     "close_date": pd.to_datetime(["2025-03-01", "2025-03-20", "2025-05-01"]),
    ...     "status": ["won", "lost", "open"]})
    >>> kpis = kpi_table(opps, by="owner", as_of="2025-03-31")
    >>> kpis[["period", "group", "deals_won", "win_rate", "close_ratio"]]
       period group  deals_won  win_rate  close_ratio
    0  2025Q1   all          1       0.5     0.333333
    1  2025Q1   ann          1       1.0     1.000000
    2  2025Q1   bob          0       0.0     0.000000
    """
    freq = _freq(freq)
    opps = _with_groups(_prepare_opportunities(opportunities, by), by)
    if leads is not None:
        leads = _table(leads, "leads", ["lead_id", "created_at"], ("created_at", "converted_at"), "lead_id")
        if "converted" not in leads.columns and "converted_at" not in leads.columns:
            raise DataError([problem("leads", "converted", "is missing: conversion needs the converted label")])
    if activities is not None:
        activities = _table(activities, "activities", ["activity_id", "occurred_at"], ("occurred_at",),
                            "activity_id")
    if spend is not None:
        spend_when = next((c for c in ("month", "date", "period") if c in spend.columns), "month")
        spend = _table(spend, "spend", [spend_when, "amount"], numbers=("amount",))
    if quotas is not None:
        quotas = _table(quotas, "quotas", ["period", "quota"], numbers=("quota",))

    until = _until(as_of, opps, leads, activities)
    # Forget what happened after as_of: later records vanish, later closes are still open.
    opps = opps[opps["created_at"] <= until]
    opps = opps.assign(status=opps["status"].mask(opps["close_date"] > until, "open"))
    leads = None if leads is None else leads[leads["created_at"] <= until]
    activities = None if activities is None else activities[activities["occurred_at"] <= until]
    accounts = None if accounts is None else _prepare_accounts(accounts, until)
    leads, activities, accounts = (_with_groups(f, by) for f in (leads, activities, accounts))
    periods = _periods(freq, until, opps, leads, activities)
    panel = _panel(periods, by, [opps, leads, activities, accounts, quotas, spend])

    cols = _deal_kpis(opps, panel, by, freq)
    if leads is not None:
        cols.update(_lead_kpis(leads, activities, panel, by, until))
    if activities is not None:
        cols["activities"] = _tally(activities, "occurred_at", panel, by)
    cols.update(_customer_kpis(opps, accounts, panel, by, freq))
    if spend is not None:
        spread = spread_by_period(spend, column=spend_when, value="amount", freq=freq, table="spend")
        cols["spend"] = _tally(spread, "_period", panel, by, value="amount", how="sum")
        cols["cac"] = cac(cols["spend"], cols["new_customers"])
    if quotas is not None:
        spread = spread_by_period(quotas, column="period", value="quota", freq=freq, table="quotas")
        cols["quota"] = _tally(spread, "_period", panel, by, value="quota", how="sum")
        cols["attainment"] = attainment(cols["revenue_won"], cols["quota"])
    goal = _targets(target, panel)
    if "quota" in cols:
        goal = goal.fillna(cols["quota"])
    cols["pipeline_coverage"] = pipeline_coverage(cols["open_pipeline"], goal)
    cols["gap_coverage"] = _gap_coverage(opps, until, goal, cols["revenue_won"], panel, by)
    if commission_rate is not None:
        cols["commission"] = commission(cols["revenue_won"], commission_rate)
    cols.setdefault("conversion_rate", pd.Series(np.nan, index=panel))
    return _finish(cols, panel)
