"""Accounts, recognised revenue, spend and quotas of the synthetic CRMs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import DAY_NS, make_ids, month_index, month_start, text_column, timestamp_of, to_datetime
from .company import FLOW_GROWTH, OWNERS, SEGMENTS
from .leads import SOURCES
from .process import WorldProcess
from .zoo import SEASONS


_REVENUE = {  # base level per month, growth per month, monthly seasonal factors (normalised)
    "SMB": (250_000.0, 0.002, [0.97, 0.98, 1.03, 1.00, 1.01, 1.00, 0.92, 0.90, 1.02, 1.05, 1.06, 1.06]),
    "Mid-Market": (400_000.0, 0.003, [0.95, 0.97, 1.04, 0.98, 1.00, 1.03, 0.94, 0.93, 1.03, 1.02, 1.03, 1.08]),
    "Enterprise": (700_000.0, 0.004, [0.90, 0.94, 1.05, 0.95, 0.98, 1.06, 0.92, 0.93, 1.07, 0.98, 1.02, 1.20]),
}


_REVENUE_NOISE = 0.02


_ANNUAL_CHURN = 0.10


_SPEND = {  # cost per lead, fixed monthly cost
    "web": (40.0, 15_000.0), "paid_search": (120.0, 5_000.0), "referral": (60.0, 2_000.0),
    "event": (250.0, 10_000.0), "outbound": (200.0, 30_000.0), "partner": (150.0, 4_000.0),
}


def make_accounts(rng, opps: dict, tables: dict, cutoff: float) -> tuple[pd.DataFrame, np.ndarray]:
    """Accounts with their first win and churn; returns the churn time per account too."""
    account, seeds = opps["account"], opps["seeds"]
    n_acc = account.max() + 1
    won = tables["_status"] == "won"
    close = tables["opportunities"]["close_date"].to_numpy().astype("int64") / DAY_NS
    first_win = np.full(n_acc, np.inf)
    last_win = np.full(n_acc, -np.inf)
    np.minimum.at(first_win, account[won], close[won])
    np.maximum.at(last_win, account[won], close[won])
    hazard = -np.log(1.0 - _ANNUAL_CHURN) / 365.25
    churn = first_win + np.ceil(rng.exponential(1.0 / hazard, n_acc))  # whole days, after the first win
    # A deal won after the churn date is a win-back: the account stays a customer.
    churn = np.where((churn < cutoff) & (last_win <= churn), churn, np.nan)
    first_deal = np.full(n_acc, len(account))
    np.minimum.at(first_deal, account, np.arange(len(account)))
    accounts = pd.DataFrame({
        "account_id": text_column(make_ids("ACC", n_acc, 5)),
        "segment": text_column(np.array(SEGMENTS)[opps["segment"][first_deal]]),
        "industry": text_column(seeds["industry"].to_numpy()[first_deal]),
        "country": text_column(seeds["country"].to_numpy()[first_deal]),
        "customer_since": to_datetime(np.where(np.isfinite(first_win), first_win, np.nan)),
        "churned_at": to_datetime(churn),
    })
    return accounts, churn


def _mrr(segment, begin, stop, monthly, n_segments: int, n_months: int) -> np.ndarray:
    """Monthly recurring revenue per segment and month: each deal's ``monthly`` from month ``begin`` until ``stop``."""
    mrr = np.zeros((n_segments, max(n_months, int(np.max(stop, initial=0))) + 1))
    np.add.at(mrr, (segment, begin), monthly)
    np.add.at(mrr, (segment, stop), -monthly)
    return np.cumsum(mrr, axis=1)[:, :n_months]


def month_grid(start: float, end: float) -> np.ndarray:
    return np.arange(month_index(np.array([start]))[0], month_index(np.array([end]))[0] + 1)


def make_revenue(rng, opps: dict, tables: dict, churn: np.ndarray, start: float, end: float):
    """Monthly recognised revenue per segment: legacy base + won-deal MRR, times a season."""
    months = month_grid(start, end)
    n_m = len(months)
    opp = tables["opportunities"]
    won = np.flatnonzero(tables["_status"] == "won")
    close = opp["close_date"].to_numpy()[won].astype("int64") / DAY_NS
    acc = opps["account"][won]
    begin = np.clip(month_index(close) + 1 - months[0], 0, n_m)
    churned = np.isfinite(churn[acc])
    stop = np.where(churned, month_index(np.nan_to_num(churn[acc])) + 1 - months[0], n_m)
    stop = np.clip(stop, begin, n_m)
    mrr = _mrr(opps["segment"][won], begin, stop, opp["amount"].to_numpy()[won] / 12.0, len(SEGMENTS), n_m)
    t = np.arange(n_m)
    rows, truth = [], []
    for s, (name, (level, growth, season)) in enumerate(_REVENUE.items()):
        factor = np.asarray(season) / np.mean(season)
        noise = np.exp(rng.normal(0.0, _REVENUE_NOISE, n_m))
        amount = (level * (1 + growth) ** t + mrr[s]) * factor[months % 12] * noise
        rows.append(pd.DataFrame({"date": to_datetime(month_start(months)), "segment": text_column(np.full(n_m, name)),
                                  "amount": np.round(amount, 2)}))
        truth.append(pd.DataFrame({"segment": text_column(np.full(12, name)), "month_of_year": np.arange(1, 13),
                                   "seasonal_factor": factor, "base_level": level,
                                   "base_growth_per_month": growth, "noise_sd": _REVENUE_NOISE}))
    revenue = pd.concat(rows, ignore_index=True).sort_values(["date", "segment"], kind="stable")
    return revenue.reset_index(drop=True), pd.concat(truth, ignore_index=True)


def make_spend(rng, leads: pd.DataFrame, hidden: dict, start: float, end: float) -> pd.DataFrame:
    """Spend per month and source, split over the segments in proportion to the leads each one got."""
    months = month_grid(start, end)
    lead_month = month_index(leads["created_at"].to_numpy().astype("int64") / DAY_NS) - months[0]
    src = pd.Categorical(leads["source"], categories=list(SOURCES)).codes
    counts = np.zeros((len(months), len(SOURCES)))
    np.add.at(counts, (lead_month, src), 1.0)
    cost = np.array(list(_SPEND.values()))
    growth = np.exp(FLOW_GROWTH * np.arange(len(months)) / 12.0)[:, None]
    noise = np.exp(rng.normal(0.0, 0.12, counts.shape))
    # Cost per lead goes to the segment each lead is routed to; fixed costs by the segments' lead shares.
    segment = np.searchsorted([200, 1000], hidden["size"], side="right")
    by_segment = np.zeros(counts.shape + (len(SEGMENTS),))
    np.add.at(by_segment, (lead_month, src, segment), 1.0)
    overall = np.bincount(segment, minlength=len(SEGMENTS)) / len(segment)
    amount = (by_segment * cost[:, 0, None] + (cost[:, 1] * growth)[..., None] * overall) * noise[..., None]
    n_s, n_seg = len(SOURCES), len(SEGMENTS)
    return pd.DataFrame({
        "month": np.repeat(to_datetime(month_start(months)), n_s * n_seg),
        "source": text_column(np.tile(np.repeat(list(SOURCES), n_seg), len(months))),
        "segment": text_column(np.tile(SEGMENTS, len(months) * n_s)),
        "amount": np.round(amount.ravel(), 2),
    })


def make_quotas(tables: dict, opps: dict, start: float, end: float) -> pd.DataFrame:
    """Quarterly quotas: 1.2 x the rep's average won amount per quarter, following growth."""
    quarters = pd.period_range(timestamp_of(start), timestamp_of(end), freq="Q")
    opp = tables["opportunities"]
    won = (tables["_status"] == "won")
    total = np.bincount(opps["owner"][won], weights=opp["amount"].to_numpy()[won], minlength=len(OWNERS))
    per_quarter = total / len(quarters)
    periods = pd.period_range(quarters[0], quarters[-1] + 1, freq="Q")
    mid = (np.arange(len(periods)) - (len(quarters) - 1) / 2) / 4.0  # years from the window's middle
    quota = 1.2 * per_quarter[None, :] * np.exp(FLOW_GROWTH * mid)[:, None]
    return pd.DataFrame({
        "period": text_column(np.repeat(periods.astype(str), len(OWNERS))),
        "owner": text_column(np.tile(OWNERS, len(periods))),
        "quota": np.round(quota.ravel(), -3),
    })


def world_revenue(rng, hidden: dict, proc: WorldProcess, start: float, end: float) -> pd.DataFrame:
    """Monthly revenue per segment: a base plus 1/12 of each won deal for the 12 months after its close."""
    months = month_grid(start, end)
    n_m, n_s = len(months), len(proc.seg_share)
    won = np.flatnonzero(hidden["status"] == "won")
    begin = np.clip(month_index(hidden["close"][won]) + 1 - months[0], 0, n_m)
    mrr = _mrr(hidden["segment"][won], begin, begin + 12, hidden["true_amount"][won] / 12.0, n_s, n_m)
    season = np.asarray(SEASONS[proc.spec.season])
    season = 1.0 + 0.3 * (season / season.mean() - 1.0)
    base = np.maximum(mrr.mean(axis=1, keepdims=True), 1_000.0)
    t = np.arange(n_m)
    amount = (base * (1 + proc.spec.growth) ** (t / 12) * 0.5 + mrr) * season[months % 12]
    amount = amount * np.exp(rng.normal(0.0, 0.03, amount.shape))
    return pd.DataFrame({
        "date": np.tile(to_datetime(month_start(months)), n_s),
        "segment": text_column(np.repeat(list(proc.spec.segments), n_m)),
        "amount": np.round(amount.ravel(), 2),
    }).sort_values(["date", "segment"], kind="stable").reset_index(drop=True)
