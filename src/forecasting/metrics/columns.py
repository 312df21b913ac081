"""The columns of the KPI table, one builder per source table.

Each builder takes the rows known as of the table's date and its ``(period, group)``
panel and returns ``{column: Series}``; every rate is the glossary function of
:mod:`.kpis` or :mod:`.customers` applied to the counts beside it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ._base import _ALL, _flag
from .activity import lead_response_times
from .customers import arr, cac_payback_months, churn_rate, clv, clv_cac_ratio, mrr, nps, nps_groups, revenue_growth
from .kpis import (activity_completion_rate, activity_response_rate, acv, attainment, average_deal_size,
                   close_ratio, conversion_rate, cross_sell_rate, gap_coverage, persistence, pipeline_velocity,
                   profit_margin, sales_productivity, upsell_rate, win_rate)
from .panel import _before_period, _stock, _tally

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
    if "quantity" in opps.columns:
        cols["sales_volume"] = _tally(won, "close_date", panel, by, value="quantity", how="sum")
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
        timed = leads.assign(_minutes=lead_response_times(leads, activities).to_numpy())
        for how in ("mean", "median"):
            cols[f"lead_response_minutes_{how}"] = _tally(timed, "created_at", panel, by, value="_minutes", how=how)
        touched = leads.assign(_touches=_touches_before_end(leads, activities, converted, until))
        cols["touches"] = _tally(touched, "created_at", panel, by, value="_touches", how="sum")
        cols["persistence"] = persistence(cols.pop("touches"), cols["leads_created"])
    return cols


def _touches_before_end(leads, activities, converted, until) -> np.ndarray:
    """Activities on each lead from its creation to its conversion (or to ``until``)."""
    end = leads["converted_at"] if "converted_at" in leads.columns else pd.Series(pd.NaT, index=leads.index)
    end = end.where(converted & end.notna(), until)
    spans = pd.DataFrame({"lead_id": leads["lead_id"].astype(str), "_start": leads["created_at"], "_end": end})
    acts = activities.loc[activities["lead_id"].notna(), ["lead_id", "occurred_at"]]
    joined = acts.assign(lead_id=acts["lead_id"].astype(str)).merge(spans.drop_duplicates("lead_id"), on="lead_id")
    inside = joined[(joined["occurred_at"] >= joined["_start"]) & (joined["occurred_at"] <= joined["_end"])]
    counts = inside.groupby("lead_id").size()
    return spans["lead_id"].map(counts).fillna(0).to_numpy(dtype=float)


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


def _activity_kpis(activities, targets, panel, by) -> dict[str, pd.Series]:
    """Activities in P, per type (``activities_<type>``), against the reps' targets
    (``target_<type>``, ``attainment_<type>``), their mean duration and response rate."""
    cols = {"activities": _tally(activities, "occurred_at", panel, by)}
    if "type" in activities.columns:
        kinds = activities["type"].astype(object).where(activities["type"].notna(), "unknown").astype(str)
        for kind in sorted(kinds.unique()):
            cols[f"activities_{_snake(kind)}"] = _tally(activities[kinds == kind], "occurred_at", panel, by)
    if targets is not None:
        for kind, rows in targets.groupby(targets["type"].astype(str)):
            done = cols.get(f"activities_{_snake(kind)}", pd.Series(0.0, index=panel))
            goal = _tally(rows, "_period", panel, by, value="target", how="sum")
            cols[f"target_{_snake(kind)}"] = goal
            cols[f"attainment_{_snake(kind)}"] = attainment(done, goal)
    if "duration_minutes" in activities.columns:
        cols["activity_duration_minutes_mean"] = _tally(activities, "occurred_at", panel, by,
                                                        value="duration_minutes", how="mean")
    for flag, name, rate in (("responded", "activity_response_rate", activity_response_rate),
                             ("completed", "activity_completion_rate", activity_completion_rate)):
        if flag in activities.columns:
            known = activities[activities[flag].notna()]
            done = known[_flag(known[flag]).to_numpy()]
            cols[name] = rate(_tally(done, "occurred_at", panel, by), _tally(known, "occurred_at", panel, by))
    return cols


def _snake(name: str) -> str:
    return "_".join(str(name).strip().lower().replace("-", " ").split()) or "unknown"


def _account_kpis(opps, panel, by) -> dict[str, pd.Series]:
    """Upsell and cross-sell: opportunities created on accounts that had already won a deal,
    for a product they had won before (upsell) or not (cross-sell)."""
    if not {"account_id", "product"} <= set(opps.columns):
        return {}
    won = opps.loc[opps["status"] == "won", ["account_id", "product", "close_date"]].dropna()
    pairs = opps[["opportunity_id", "account_id", "product", "created_at"]].dropna(subset=["account_id"]).merge(
        won.rename(columns={"product": "_had"}), on="account_id")
    pairs = pairs[pairs["close_date"] < pairs["created_at"]]
    existing = set(pairs["opportunity_id"])
    same = set(pairs.loc[pairs["_had"].astype(str) == pairs["product"].astype(str), "opportunity_id"])
    ids = opps["opportunity_id"]
    created = _tally(opps, "created_at", panel, by)
    upsells = _tally(opps[ids.isin(same)], "created_at", panel, by)
    cross = _tally(opps[ids.isin(existing - same)], "created_at", panel, by)
    return {"upsell_rate": upsell_rate(upsells, created), "cross_sell_rate": cross_sell_rate(cross, created)}


def _recurring_kpis(opps, panel, by, until) -> dict[str, pd.Series]:
    """MRR at the end of P (or at ``until``): the monthly fee (amount / contract_months) of every
    won contract running then; ARR is twelve times it."""
    won = opps[(opps["status"] == "won") & opps["contract_months"].notna()]
    months = won["contract_months"].astype(float)
    won = won.assign(_fee=won["amount"] / months.where(months > 0),
                     _end=[d + pd.DateOffset(months=int(round(m))) for d, m in zip(won["close_date"], months)])
    periods = pd.PeriodIndex(panel.get_level_values("period").unique())
    ends = np.minimum(periods.end_time.to_numpy(), np.datetime64(until))
    parts = [(_ALL, won)] + (list(won.groupby("_group", sort=False)) if "_group" in won.columns else [])
    values = {}
    for name, part in parts:
        part = part.dropna(subset=["_fee"])
        running = [(part["close_date"].to_numpy() <= e) & (part["_end"].to_numpy() > e) for e in ends]
        values[name] = [(mrr(r.sum(), part["_fee"].to_numpy()[r].mean()) if r.any() else 0.0) for r in running]
    index = pd.MultiIndex.from_tuples([(p, n) for n in values for p in periods], names=["period", "group"])
    monthly = pd.Series(np.concatenate([values[n] for n in values]), index=index).reindex(panel)
    if "_group" in won.columns:
        monthly = monthly.fillna(0.0)
    per_new = won.assign(_fee=won["_fee"])
    fee = _tally(per_new, "close_date", panel, by, value="_fee", how="mean")
    return {"mrr": monthly, "arr": arr(monthly), "_new_monthly_fee": fee}


def _survey_kpis(survey, panel, by) -> dict[str, pd.Series]:
    """NPS of customers and eNPS of employees from the answers given in P."""
    group = nps_groups(survey["score"])
    kind = survey["kind"].astype(str).str.strip().str.lower() if "kind" in survey.columns else "customer"
    cols = {}
    for name, who in (("nps", "customer"), ("enps", "employee")):
        mine = survey[np.asarray(kind == who) & group.notna().to_numpy()]
        if mine.empty:
            continue
        g = group[mine.index]
        counts = [_tally(mine[(g == k).to_numpy()], "answered_at", panel, by) for k in ("promoter", "detractor")]
        cols[name] = nps(*counts, _tally(mine, "answered_at", panel, by))
    return cols


def _value_kpis(cols: dict[str, pd.Series], panel) -> dict[str, pd.Series]:
    """KPIs built from other columns: growth, productivity, CLV, CLV:CAC, CAC payback."""
    out = {"revenue_growth": revenue_growth(cols["revenue_won"], _previous(cols["revenue_won"], panel))}
    if "reps" in cols:
        out["revenue_per_rep"] = sales_productivity(cols["revenue_won"], cols["reps"])
    if "activities" in cols:
        out["revenue_per_activity"] = sales_productivity(cols["revenue_won"], cols["activities"])
    margin = cols.get("profit_margin", pd.Series(1.0, index=panel))
    margin = margin.where((margin >= 0) & (margin <= 1))  # a loss has no lifetime value
    if "churn_rate" in cols:
        per_customer = _ratio(cols["revenue_won"], cols["active_customers"])
        out["clv"] = clv(per_customer, margin, cols["churn_rate"])
        if "cac" in cols:
            out["clv_cac_ratio"] = clv_cac_ratio(out["clv"], cols["cac"])
    if "cac" in cols and "_new_monthly_fee" in cols:
        out["cac_payback_months"] = cac_payback_months(cols["cac"], cols["_new_monthly_fee"], margin)
    return out


def _previous(series: pd.Series, panel) -> pd.Series:
    """The value of the same group in the period before."""
    return series.reindex(panel).groupby(level="group", sort=False).shift(1)


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return numerator / denominator.where(denominator != 0)


def _reps(frames, panel, by) -> pd.Series:
    """Reps (distinct owners) who created, won or logged an activity in P."""
    events = [f[[when, "owner"] + (["_group"] if "_group" in f.columns else [])].rename(columns={when: "_when"})
              for f, when in frames if f is not None and "owner" in f.columns]
    if not events:
        return pd.Series(np.nan, index=panel)
    events = pd.concat(events, ignore_index=True).dropna(subset=["owner"])
    return _tally(events, "_when", panel, by, value="owner", how="nunique")
