"""The KPI table: every glossary KPI per period (day to year) and per group, as of a date."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ._base import _end_of, _freq, _ids, _splits, _table, _with_groups, by_columns
from .activity import spread_targets
from .columns import (_account_kpis, _activity_kpis, _customer_kpis, _deal_kpis, _gap_coverage, _lead_kpis,
                      _recurring_kpis, _reps, _survey_kpis, _targets, _value_kpis)
from .customers import cac
from .kpis import attainment, commission, pipeline_coverage
from .panel import _finish, _panel, _periods, _tally, spread_by_period

__all__ = ["kpi_table"]


def _prepare_opportunities(opportunities) -> pd.DataFrame:
    required = ["opportunity_id", "amount", "created_at", "close_date", "status"]
    opps = _table(opportunities, "opportunities", required, ("created_at", "close_date"), "opportunity_id",
                  numbers=[c for c in ("quantity", "contract_months", "cost", "profit") if c in opportunities])
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
        return _end_of(as_of)
    events = [opps["created_at"], opps.loc[opps["status"] != "open", "close_date"]]
    events += [leads["created_at"]] if leads is not None else []
    events += [activities["occurred_at"]] if activities is not None else []
    return max(e.max() for e in events if e.notna().any())


def _prepare_accounts(accounts, until) -> pd.DataFrame:
    accounts = _table(accounts, "accounts", ["account_id", "customer_since"],
                      ("customer_since", "churned_at"), "account_id")
    if "churned_at" not in accounts.columns:
        accounts = accounts.assign(churned_at=pd.NaT)
    accounts = accounts[~(accounts["customer_since"] > until)]
    return accounts.assign(churned_at=accounts["churned_at"].where(~(accounts["churned_at"] > until)))


def kpi_table(
    opportunities: pd.DataFrame,
    leads: pd.DataFrame | None = None,
    activities: pd.DataFrame | None = None,
    *,
    freq: str = "Q",
    by: str | list[str] | None = None,
    spend: pd.DataFrame | None = None,
    quotas: pd.DataFrame | None = None,
    accounts: pd.DataFrame | None = None,
    target: float | Mapping | pd.Series | None = None,
    as_of=None,
    commission_rate: float | None = None,
    team: pd.DataFrame | None = None,
    targets: pd.DataFrame | None = None,
    survey: pd.DataFrame | None = None,
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
    - ``gap_coverage`` (the period holding ``as_of`` only): the deals still open at ``as_of`` and
      due by P's end (overdue ones included) over target - revenue_won so far (:func:`gap_coverage`);
    - ``pipeline_velocity``: open_opportunities x avg_deal_size x win_rate / sales_cycle_days,
      with P's deal size, win rate and cycle: revenue per day (:func:`pipeline_velocity`);
    - ``acv`` (when opportunities have ``contract_months``): mean amount per contract year of
      the deals won in P (:func:`acv`);
    - ``profit_won``, ``profit_margin`` (when opportunities have ``profit`` or ``cost``): profit of
      the deals won in P and its share of revenue_won (:func:`profit_margin`);
    - ``sales_volume`` (when opportunities have ``quantity``): units of the deals won in P;
    - ``mrr``, ``arr`` (with ``contract_months``): monthly fee (amount / contract_months) of every won
      contract running at P's end (or at ``as_of``), and 12 x mrr (:func:`mrr`, :func:`arr`);
    - ``upsell_rate``, ``cross_sell_rate`` (with ``account_id`` and ``product``): of the opportunities
      created in P, those on accounts that won a deal before, for a product they had won / not won;
    - ``revenue_growth``: revenue_won over the same group's previous period, minus 1;
    - ``reps``, ``revenue_per_rep``, ``revenue_per_activity``: owners who created, won or logged an
      activity in P, and revenue_won per rep and per activity (:func:`sales_productivity`);
    - ``commission`` (with ``commission_rate``): revenue_won x rate (:func:`commission`).

    From the other tables, when given:

    - ``leads_created``, ``leads_converted``, ``conversion_rate``: leads created in P, those of
      them converted (by ``as_of`` when ``converted_at`` is known), and their ratio;
    - ``lead_response_minutes_mean``, ``lead_response_minutes_median`` (leads and activities with
      ``lead_id``): mean and median, over the leads created in P that were touched, of minutes to
      the first activity (:func:`lead_response_times`);
    - ``persistence``: **mean** activities per lead created in P, up to its conversion (or ``as_of``);
    - ``activities``, ``activities_<type>``: activities that occurred in P, in all and per type;
    - ``target_<type>``, ``attainment_<type>`` (``targets``): the reps' activity targets spread over
      P (a daily target counts Monday to Friday; the period holding ``as_of`` gets the target of
      its working days so far) and activities / target;
    - ``activity_duration_minutes_mean`` (``duration_minutes``), ``activity_response_rate``
      (``responded``), ``activity_completion_rate`` (``completed``): mean duration and the share
      of activities answered / held;
    - ``new_customers``: accounts whose ``customer_since`` is in P; without ``accounts``, accounts
      whose first won deal (in the data) closed in P, which overcounts the first periods;
    - ``active_customers``, ``churned_customers``, ``churn_rate`` (``accounts``): customers at the
      start of P, those of them whose ``churned_at`` is in P, and their ratio (:func:`churn_rate`);
    - ``spend``, ``cac`` (``spend``): spend dated in P and spend / new_customers (:func:`cac`);
    - ``quota``, ``attainment`` (``quotas``): the quotas of P and revenue_won / quota (:func:`attainment`);
    - ``clv`` (``accounts``): revenue_won per active customer x margin (profit_margin, else 1) / churn_rate;
      ``clv_cac_ratio`` = clv / cac; ``cac_payback_months`` (with ``contract_months``) = cac / (mean
      monthly fee of the deals won in P x margin);
    - ``nps``, ``enps`` (``survey``): 100 x (promoters - detractors) / answers given in P by customers
      and employees (:func:`nps`).

    With ``team`` (owner, manager, team, territory), every table with an ``owner`` gets its owner's
    team columns, so ``by="team"`` or ``by=["territory", "owner"]`` split all of them.

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
    freq : {"D", "W", "M", "Q", "Y"}
        Period length (pandas periods). Labels are "2025-07-14", "2025-07-14/2025-07-20",
        "2025-07", "2025Q3" or "2025".
    by : str or list of str, optional
        Columns to split by (``"owner"``, ``"segment"``, ``"owner,segment"``...); the group label
        joins their values with " / ".
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
    team : DataFrame, optional
        ``owner`` and its ``manager``, ``team``, ``territory``: joined on owner.
    targets : DataFrame, optional
        Activity targets: ``owner, type, freq`` (D, W or M) ``, target``.
    survey : DataFrame, optional
        ``respondent_id, answered_at, score`` (0-10) and ``kind`` (customer or employee).

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
    by = by_columns(by)
    team = None if team is None else _prepare_team(team)
    opps = _join_team(_prepare_opportunities(opportunities), team)
    if leads is not None:
        leads = _table(leads, "leads", ["lead_id", "created_at"], ("created_at", "converted_at"), "lead_id")
        if "converted" not in leads.columns and "converted_at" not in leads.columns:
            raise DataError([problem("leads", "converted", "is missing: conversion needs the converted label")])
    if activities is not None:
        activities = _table(activities, "activities", ["activity_id", "occurred_at"], ("occurred_at",),
                            "activity_id", numbers=[c for c in ("duration_minutes",) if c in activities])
    if spend is not None:
        spend_when = next((c for c in ("month", "date", "period") if c in spend.columns), "month")
        spend = _table(spend, "spend", [spend_when, "amount"], numbers=("amount",))
    if quotas is not None:
        quotas = _table(quotas, "quotas", ["period", "quota"], numbers=("quota",))
    if survey is not None:
        survey = _table(survey, "survey", ["answered_at", "score"], ("answered_at",), "respondent_id",
                        numbers=("score",))
        outside = (survey["score"] < 0) | (survey["score"] > 10)
        if outside.any():
            raise DataError([problem("survey", "score", "must be 0 to 10 (would you recommend us?)",
                                     _ids(survey, outside, "respondent_id"))])

    until = _until(as_of, opps, leads, activities)
    # Forget what happened after as_of: later records vanish, later closes are still open.
    opps = opps[opps["created_at"] <= until]
    opps = opps.assign(status=opps["status"].mask(opps["close_date"] > until, "open"))
    leads = None if leads is None else leads[leads["created_at"] <= until]
    activities = None if activities is None else activities[activities["occurred_at"] <= until]
    accounts = None if accounts is None else _prepare_accounts(accounts, until)
    survey = None if survey is None else survey[survey["answered_at"] <= until]
    leads, activities, accounts, survey, spend, quotas = (
        _with_groups(_join_team(f, team), by) for f in (leads, activities, accounts, survey, spend, quotas))
    opps = _with_groups(opps, by)
    frames = [opps, leads, activities, accounts, quotas, spend, survey]
    if by is not None and not any(_splits(f, by) for f in frames):
        missing = next(c for c in by if c not in opps.columns)
        raise DataError([problem("opportunities", missing, "is not a column of any table given: cannot split by it "
                                 "(pass --team for team or territory)")])
    periods = _periods(freq, until, opps, leads, activities)
    panel = _panel(periods, by, frames)

    cols = _deal_kpis(opps, panel, by, freq)
    if leads is not None:
        cols.update(_lead_kpis(leads, activities, panel, by, until))
    if activities is not None:
        goals = None if targets is None else spread_targets(targets, periods, until=until)
        goals = None if goals is None else _with_groups(_join_team(goals, team), by)
        cols.update(_activity_kpis(activities, goals, panel, by))
    cols["reps"] = _reps([(opps, "created_at"), (opps[opps["status"] == "won"], "close_date"),
                          (activities, "occurred_at")], panel, by)
    cols.update(_customer_kpis(opps, accounts, panel, by, freq))
    cols.update(_account_kpis(opps, panel, by))
    if "contract_months" in opps.columns:
        cols.update(_recurring_kpis(opps, panel, by, until))
    if spend is not None:
        spread = spread_by_period(spend, column=spend_when, value="amount", freq=freq, table="spend")
        cols["spend"] = _tally(spread, "_period", panel, by, value="amount", how="sum")
        cols["cac"] = cac(cols["spend"], cols["new_customers"]) if "new_customers" in cols else np.nan * cols["spend"]
    if quotas is not None:
        spread = spread_by_period(quotas, column="period", value="quota", freq=freq, table="quotas")
        cols["quota"] = _tally(spread, "_period", panel, by, value="quota", how="sum")
        cols["attainment"] = attainment(cols["revenue_won"], cols["quota"])
    if survey is not None:
        cols.update(_survey_kpis(survey, panel, by))
    goal = _targets(target, panel)
    if "quota" in cols:
        goal = goal.fillna(cols["quota"])
    cols["pipeline_coverage"] = pipeline_coverage(cols["open_pipeline"], goal)
    cols["gap_coverage"] = _gap_coverage(opps, until, goal, cols["revenue_won"], panel, by)
    if commission_rate is not None:
        cols["commission"] = commission(cols["revenue_won"], commission_rate)
    cols.setdefault("conversion_rate", pd.Series(np.nan, index=panel))
    cols.update(_value_kpis(cols, panel))
    cols.pop("_new_monthly_fee", None)
    return _finish(cols, panel)


def _prepare_team(team) -> pd.DataFrame:
    team = _table(team, "team", ["owner"])
    twice = team["owner"].duplicated(keep=False) & team["owner"].notna()
    if twice.any():
        raise DataError([problem("team", "owner", "lists an owner more than once", _ids(team, twice, "owner"))])
    return team.assign(owner=team["owner"].astype(str))


def _join_team(frame, team):
    """``frame`` with the team table's columns (manager, team, territory...) of its owner."""
    if frame is None or team is None or "owner" not in frame.columns:
        return frame
    extra = team[["owner"] + [c for c in team.columns if c not in frame.columns]]
    joined = frame.assign(_owner=frame["owner"].astype(str)).merge(
        extra.rename(columns={"owner": "_owner"}), on="_owner", how="left")
    return joined.drop(columns="_owner").set_axis(frame.index)
