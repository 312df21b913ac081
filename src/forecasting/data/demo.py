"""A deterministic demo CRM whose truth is known.

:func:`make_demo` simulates four years of a B2B software company's CRM: leads
that convert (or not) through a known non-linear model, opportunities that walk
the sales stages, the activities of twelve reps, the accounts that become (and
stop being) customers, monthly recognized revenue built from the won deals,
marketing spend and quotas. Same ``seed``, same frames; a different seed gives
a different company with the same properties. :func:`write_demo` writes the
tables to ``crm.duckdb`` (and optionally CSV / Parquet).

"Today" is the ``end`` day: the observation cut-off is the end of that day
(``end + 1 day``, exclusive). Nothing that happens later is in the tables; a
deal still unresolved then is ``open``.

Tables (default arguments; figures measured on seeds 0-4)
----------------------------------------------------------
``leads`` (24,000 rows, 2022-07-01 .. 2026-06-30)
    ``lead_id`` ("L000001", in order of creation), ``created_at``, features
    ``source`` (web, paid_search, referral, event, outbound, partner),
    ``campaign`` (40 levels, Zipf long tail within each source), ``industry``
    (12 levels, 5% missing), ``company_size`` (employees, lognormal with median
    80, 10% missing), ``seniority`` (ic, manager, director, vp, c_level),
    ``country`` (12 levels), ``web_visits``, ``email_opens``, ``email_clicks``
    (counts), ``response_minutes`` (minutes from ``created_at`` to the lead's
    first activity, exactly as in ``activities``: a CRM's "time to first
    engagement"; missing for the few leads of the last days not yet touched),
    ``budget`` / ``authority`` / ``need`` / ``timeline`` (BANT booleans),
    ``note`` (one to eight short sentences of free text),
    ``lead_status`` (a **leaky** post-outcome CRM field: "Converted" for 97% of
    converted leads and 0.5% of the others, else "Disqualified", "Nurture" or,
    for leads younger than 30 days, mostly "Open"), the label ``converted``
    (0/1) and ``converted_at``. Lead flow grows 30% a year with a yearly
    season (Q4 and quarter-end months high, July-August low) and quiet weekends.

``lead_truth``: ``lead_id``, ``p_true``
    The true probability that ``converted == 1`` in the table. A lead converts
    eventually with ``p_eventual = sigmoid(b0 + eta)`` where ``eta`` is::

        0.90 * log1p(web_visits)
      + 0.20 * min(email_opens, 4)              # saturation
      + 0.90 * (email_clicks >= 2)              # threshold
      + 0.35 * bant + 0.60 * (bant == 4)        # bant = budget + authority + need + timeline
      + seniority[s] + slope[s] * (log10(size) - 2)   # seniority x size: c-levels decide in
      - 0.40 * (log10(size) - 2.3) ** 2          #   small firms, ICs in large ones
      + 0.80 * exp(-response_minutes / 60)      # fast first touch helps
      + source, industry, country and campaign effects

    (constants in ``_LEAD_MODEL``; campaign effects are drawn per seed with
    sd 0.3; ``size`` is the true company size, also where the column is
    missing) and ``b0`` is solved so that ``mean(p_eventual) = 0.16``. The lead
    converts ``1 + response + Gamma(2, 6 days)`` after creation, so recent
    leads are censored: ``p_true = p_eventual * P(conversion before the
    cut-off)``. Observed conversion rate 15-16% (documented range 12-18%);
    AUC of ``p_true`` 0.82-0.84 (documented range 0.80-0.88). Learnable:
    only size and industry where their columns are missing are hidden (the
    best score the columns allow is 0.001-0.002 AUC short of ``p_true``). A
    gradient boosting model on the lead columns (without ``lead_status``)
    gets within 0.014-0.023 of it on a random 30% of the leads (0.018-0.031
    without ``response_minutes``). ``forecasting.leads.compare_models`` (5
    forward-chaining folds, ``min_age_days=45``) ranks the logistic
    regression first, 0.003-0.009 short on the final fold and 0.009-0.013
    pooled over the folds, whose first ones train on few leads (seeds 0-5).

``opportunities`` (about 4,700 rows, 200-260 of them open at ``end``)
    One deal per converted lead (``lead_id``, created at ``converted_at``)
    plus 25% outbound deals without a lead (``lead_id`` missing; with
    ``n_opportunities`` given, 80% come from leads when enough converted).
    ``opportunity_id`` ("O000001", by creation), ``account_id``, ``owner``
    (12 reps in three segment teams), ``segment`` (SMB < 200 employees <=
    Mid-Market < 1000 <= Enterprise), ``product`` (CRM Cloud, Analytics
    Add-on, Data Platform), ``source`` (the lead's, or "outbound"),
    ``amount`` (lognormal: SMB median 9k, Mid-Market 40k, Enterprise 160k,
    times a product factor; revised at stage changes), ``created_at``,
    ``stage``, ``close_date``, ``status``. 20% of lead deals and 35% of
    outbound deals are repeat business on an earlier deal's account.
    Closed deals: ``close_date`` is the day of the closing row; open deals:
    the current expected close date, pushed to a month end after ``end`` if it
    had passed. Win rate of closed deals 29-31% (documented range 25-35%);
    every Q4 closes 10-25% more deals than the Q1 after it, despite the
    growth (quarter-end pull-in, strongest at year end).

``stage_history``: ``opportunity_id``, ``stage``, ``entered_at``, ``amount``, ``close_date``
    A row at ``created_at`` in Prospecting, one per stage reached, and a
    closing row ("Closed Won" / "Closed Lost") at the actual close; amount
    and expected close date as they stood when the row was entered. Stages
    never go backwards.

``opportunity_truth``: the hidden process of each deal
    ``opportunity_id``, ``quality`` (latent, about N(0, 1); from the lead's
    true conversion logit, the rep's skill and the segment), ``p_win`` (true
    probability of winning, from creation), ``days_scale`` (multiplies every
    stage duration) and ``p_advance_<stage>`` for the five open stages. The
    process, with the module constants :data:`STAGE_DAYS`,
    :data:`QUARTER_END_PULL` and :data:`AMOUNT_REVISION`:

    1. In open stage ``k`` a deal stays ``1 + Gamma(shape_k, (mean_k - 1) /
       shape_k * days_scale)`` days, then advances with probability
       ``p_advance_k`` or is lost (the outcome does not depend on the time).
    2. A closing (lost from any stage, or won from Negotiation) whose natural
       time falls within ``window`` days after a quarter start is pulled back
       into the last three days of the previous quarter with probability
       ``prob`` (year end: ``q4_window``, ``q4_prob``) if the deal entered
       the stage at least ``lead_days`` before that quarter end.
    3. The amount is multiplied by ``exp(N(mu, sd))`` on entering Proposal and
       Negotiation.
    4. Expected close dates (month ends) are set at creation from the mean
       cycle and pushed at stage changes: when overdue, and at random with
       probability ``sigmoid(-1.3 - 0.8 * quality)`` (low quality slips more).

    :func:`simulate_remaining` re-runs steps 1-3 from a deal's state at any
    date, so a benchmark can compare a forecast with the true distribution.

``activities`` (about 135,000 lead and deal touches)
    ``activity_id`` ("A0000001", by time), ``owner``, ``type`` (call, email,
    meeting, demo), ``occurred_at``, ``lead_id``, ``opportunity_id``. Each
    lead's first touch is at ``created_at`` + response time (lognormal,
    median 90 minutes, from a minute to two weeks; ``leads.response_minutes``),
    then Poisson(1.8) more touches within 30 days; deals get activities at
    0.25-0.35 a day while in each open stage, and a "demo" soon after
    entering Demo.

``accounts``: ``account_id``, ``segment``, ``industry``, ``country``, ``customer_since``, ``churned_at``
    ``customer_since`` is the first won close; customers churn at a constant
    hazard of 10% a year unless a later deal is won (measured 9-10% per
    customer-year; documented range 8-12%).

``revenue``: ``date`` (month start), ``segment``, ``amount``; 48 months per segment
    ``amount = (base_level * (1 + base_growth_per_month) ** t + mrr(t)) *
    seasonal_factor[month] * exp(N(0, noise_sd))``, where ``mrr(t)`` sums
    ``amount / 12`` of every won deal of the segment from the month after
    its close (annual contracts renewed each year) up to and including the
    month its account churns. ``revenue_truth`` has one row per segment and
    month of year with ``seasonal_factor`` (mean 1), ``base_level``,
    ``base_growth_per_month`` and ``noise_sd``.

``spend``: ``month``, ``source``, ``amount``
    Marketing and sales spend per lead source: leads of the month times a
    cost per lead, plus a fixed monthly cost, with 12% noise.

``quotas``: ``period`` ("2022Q3" .. one quarter after ``end``), ``owner``, ``quota``
    1.2 times the rep's average won amount per quarter, scaled by the 30%
    yearly growth of lead flow, rounded to thousands.

``opportunities`` also carry ``contract_months`` (12/24/36), ``cost`` (margin
20-60%) and ``quantity`` (units); see :mod:`forecasting.data.synthetic.terms`.
Repeat deals on an account buy the product it had (upsell) or another one
(cross-sell). ``spend`` is split by ``segment`` (the team its leads go to).

The sales organisation (:mod:`forecasting.data.synthetic.org`)
    ``team`` (12 reps -> 3 managers -> a VP), ``targets`` (calls and emails a
    day, meetings a week), ``forecast_calls`` (every Monday of every quarter:
    each rep's commit and best case, converging to what they win; managers'
    haircuts, the VP's reserve), ``survey`` (customer NPS and employee eNPS),
    with the truth in ``call_truth`` (each rep's ``behaviour``, ``bias``,
    ``noise_sd``) and ``activity_truth`` (``effort``: attainment of the
    targets). ``activities`` gain prospecting touches (no lead, no deal) that
    bring each rep to about ``effort x target`` (about 265,000 rows in all).

Ids are strings, timestamps ``datetime64[ns]`` rounded to seconds, amounts
``float64``, ``converted`` int 0/1. The default demo takes 0.3-0.6 s to
generate and about 0.3 s more to write to DuckDB (measured on 2 shared cores).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from .io import write_csv, write_duckdb, write_parquet
from .schema import DEFAULT_STAGES
from .synthetic.common import (
    DAY_NS as _DAY_NS,
    WEEKDAY as _WEEKDAY,
    make_ids,
    month_end,
    month_index,
    month_start,
    sigmoid,
    solve_shift,
    text_column,
    timestamp_of,
    to_datetime,
    to_days,
)
from .synthetic.org import ORG_TABLES, ORG_TRUTH, org_tables
from .synthetic.team import SalesOrg, with_prospecting
from .synthetic.terms import PRODUCTS, deal_terms, pick_products

__all__ = [
    "make_demo",
    "write_demo",
    "simulate_remaining",
    "DEMO_TABLES",
    "STAGE_DAYS",
    "QUARTER_END_PULL",
    "AMOUNT_REVISION",
]

DEMO_TABLES = (
    "leads",
    "lead_truth",
    "opportunities",
    "stage_history",
    "opportunity_truth",
    "activities",
    "accounts",
    "revenue",
    "revenue_truth",
    "spend",
    "quotas",
    *ORG_TABLES,
    *ORG_TRUTH,
)

_days = to_days  # the name benchmarks/pipeline.py uses

OPEN_STAGES = DEFAULT_STAGES.open
_WON, _LOST = 5, 6  # stage codes after the five open stages
_STAGE_NAMES = np.array(list(OPEN_STAGES) + [DEFAULT_STAGES.won, DEFAULT_STAGES.lost])

STAGE_DAYS = {  # open stage: (gamma shape, mean days including the 1-day minimum)
    "Prospecting": (2.0, 12.0),
    "Qualification": (2.0, 16.0),
    "Demo": (2.5, 18.0),
    "Proposal": (2.0, 22.0),
    "Negotiation": (2.0, 20.0),
}
QUARTER_END_PULL = {"window": 14.0, "prob": 0.3, "q4_window": 45.0, "q4_prob": 0.75, "lead_days": 4.0}
AMOUNT_REVISION = {"Proposal": (0.03, 0.15), "Negotiation": (-0.06, 0.08)}  # (mu, sd) of log factor


_REPS = {
    "SMB": ("Ava Chen", "Liam Patel", "Sofia Garcia", "Noah Kim", "Mia Johnson"),
    "Mid-Market": ("Ethan Brown", "Olivia Rossi", "Lucas Martin", "Emma Nguyen"),
    "Enterprise": ("Mateo Silva", "Isabella Cohen", "James Okafor"),
}
_SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
_OWNERS = tuple(name for team in _REPS.values() for name in team)

# Yearly season of lead and deal flow: Q4 and quarter-end months high, summer low.
_FLOW_SEASON = np.array([0.85, 0.95, 1.10, 0.95, 1.00, 1.08, 0.82, 0.80, 1.10, 1.15, 1.18, 1.02])
_FLOW_GROWTH = np.log(1.30)  # per year

_SOURCES = {  # share of leads, effect on the conversion logit, shift of log web visits
    "web": (0.34, 0.0, 0.2),
    "paid_search": (0.20, -0.3, 0.1),
    "referral": (0.10, 0.9, -0.1),
    "event": (0.10, 0.2, -0.2),
    "outbound": (0.16, -0.7, -0.5),
    "partner": (0.10, 0.5, 0.0),
}
_CAMPAIGNS = {
    "web": ("Organic Search", "Pricing Page", "Free Trial", "Product Tour", "Blog Newsletter",
            "ROI Calculator", "Forecasting Guide", "Chatbot"),
    "paid_search": ("Google Brand", "Google Generic", "Bing Brand", "LinkedIn Ads",
                    "Competitor Keywords", "Capterra Listing", "G2 Listing", "Retargeting"),
    "referral": ("Customer Referral", "Employee Referral", "Advocate Program", "Investor Intro",
                 "Community Slack"),
    "event": ("SaaStr", "Dreamforce Booth", "Regional Roadshow", "Webinar: Pipeline 101",
              "Webinar: Forecast Accuracy", "RevOps Summit", "Partner Dinner"),
    "outbound": ("Cold Sequence A", "Cold Sequence B", "ABM Tier 1", "ABM Tier 2",
                 "Intent Data Plays", "Trigger Events"),
    "partner": ("Reseller North", "Reseller South", "Agency Program", "Marketplace",
                "SI Alliance", "Tech Partner Co-sell"),
}
_INDUSTRIES = {  # share, logit effect
    "Software": (0.20, 0.30), "Financial Services": (0.12, 0.15), "Healthcare": (0.10, -0.10),
    "Manufacturing": (0.10, -0.15), "Retail": (0.09, -0.20), "Education": (0.06, -0.30),
    "Media": (0.06, 0.05), "Logistics": (0.06, -0.05), "Professional Services": (0.08, 0.20),
    "Telecom": (0.05, 0.0), "Energy": (0.04, -0.10), "Public Sector": (0.04, -0.40),
}
_COUNTRIES = {
    "US": (0.38, 0.0), "UK": (0.12, 0.05), "DE": (0.09, -0.10), "FR": (0.07, -0.15),
    "CA": (0.06, 0.05), "AU": (0.05, 0.0), "NL": (0.05, 0.10), "SE": (0.04, 0.10),
    "ES": (0.04, -0.20), "IN": (0.04, -0.30), "BR": (0.03, -0.25), "JP": (0.03, -0.20),
}
_SENIORITY = {  # share, logit effect at 100 employees, slope per decade of company size
    "ic": (0.35, -0.6, 0.6),
    "manager": (0.30, -0.1, 0.25),
    "director": (0.18, 0.3, 0.0),
    "vp": (0.10, 0.5, -0.35),
    "c_level": (0.07, 0.6, -0.75),
}
_LEAD_MODEL = {
    "log_visits": 0.9, "opens": 0.2, "opens_cap": 4, "clicks_threshold": 0.9, "bant": 0.35,
    "bant_all": 0.6, "size_curvature": -0.4, "size_peak": 2.3, "response": 0.8,
    "response_minutes": 60.0, "campaign_sd": 0.3, "target_rate": 0.16,
}
_CONVERSION_LAG_DAYS = 6.0  # scale of the Gamma(2) lag after 1 day + the response time

_SEGMENT_DEALS = {  # amount median, amount log sd, duration scale, quality offset, outbound share
    "SMB": (9_000.0, 0.6, 0.7, 0.15, 0.25),
    "Mid-Market": (40_000.0, 0.7, 1.2, 0.0, 0.40),
    "Enterprise": (160_000.0, 0.9, 2.0, -0.25, 0.35),
}
_ADVANCE = (np.array([1.0, 0.9, 1.1, 1.3, 1.8]), np.array([0.5, 0.6, 0.6, 0.5, 0.4]))  # base, slope
_TARGET_WIN = 0.31

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


# --------------------------------------------------------------------------- time helpers
# (float days since 1970-01-01, ids and text columns: see synthetic.common)


def _choice(rng, table: dict, size: int, column: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw keys of ``table`` by the share in ``column``; return names and indices."""
    names = np.array(list(table))
    p = np.array([v[column] for v in table.values()], dtype=float)
    idx = rng.choice(len(names), size=size, p=p / p.sum())
    return names[idx], idx


def _sample_times(rng, start: float, cutoff: float, n: int, quarter_end_boost: float = 1.0) -> np.ndarray:
    """``n`` sorted times with growing, seasonal, weekday-shaped intensity."""
    day = np.arange(np.floor(start), np.floor(cutoff))
    dt = day.astype("int64").astype("datetime64[D]")
    month = dt.astype("datetime64[M]").astype("int64")
    weekday = (day.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday
    w = np.exp(_FLOW_GROWTH * (day - start) / 365.25) * _FLOW_SEASON[month % 12] * _WEEKDAY[weekday]
    if quarter_end_boost != 1.0:
        to_quarter_end = month_start(month - month % 3 + 3) - day
        w = w * np.where(to_quarter_end <= 14, quarter_end_boost, 1.0)
    picked = day[rng.choice(len(day), size=n, p=w / w.sum())]
    hour = np.where(rng.random(n) < 0.85, np.clip(rng.normal(13.0, 2.8, n), 0, 23.9), rng.uniform(0, 24, n))
    return np.sort(picked + hour / 24.0)



# --------------------------------------------------------------------------- leads


def _make_leads(rng, start: float, cutoff: float, n: int) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Leads, their truth, and hidden columns the other tables need."""
    created = _sample_times(rng, start, cutoff, n)
    f = _lead_features(rng, n)
    eta = _lead_logit(f)
    b0 = solve_shift(lambda b: sigmoid(b + eta).mean(), _LEAD_MODEL["target_rate"])
    p_eventual = sigmoid(b0 + eta)
    # Conversion takes 1 day + the response time + Gamma(2, scale): recent leads are censored.
    reply_days = f["response"] / 1440.0
    lag = 1.0 + reply_days + rng.gamma(2.0, _CONVERSION_LAG_DAYS, n)
    converted = (rng.random(n) < p_eventual) & (created + lag < cutoff)
    x = np.maximum(cutoff - created - 1.0 - reply_days, 0.0) / _CONVERSION_LAG_DAYS
    p_true = p_eventual * (1.0 - np.exp(-x) * (1.0 + x))  # Gamma(2) CDF in closed form

    lead_id = make_ids("L", n, 6)
    leads = pd.DataFrame({
        "lead_id": text_column(lead_id),
        "created_at": to_datetime(created),
        **{c: text_column(f[c]) for c in ("source", "campaign")},
        "industry": text_column(f["industry"], rng.random(n) < 0.05),
        "company_size": np.where(rng.random(n) < 0.10, np.nan, f["size"]),
        **{c: text_column(f[c]) for c in ("seniority", "country")},
        **{c: f[c].astype("int64") for c in ("web_visits", "email_opens", "email_clicks")},
        "response_minutes": _response_minutes(created, f["response"], cutoff),
        **{c: f[c] for c in ("budget", "authority", "need", "timeline")},
        "note": _lead_notes(rng, f),
        "lead_status": _lead_status(rng, converted, cutoff - created, f["bant"]),
        "converted": converted.astype("int64"),
        "converted_at": to_datetime(np.where(converted, created + lag, np.nan)),
    })
    truth = pd.DataFrame({"lead_id": text_column(lead_id), "p_true": p_true})
    hidden = {"created": created, "converted_at": created + lag, "converted": converted,
              "logit": b0 + eta, **{k: f[k] for k in ("size", "industry", "country", "source", "response")}}
    return leads, truth, hidden


def _first_touch(created: np.ndarray, response: np.ndarray) -> np.ndarray:
    """Time (float days) of each lead's first activity: ``response`` minutes after creation."""
    return created + response / 1440.0


def _response_minutes(created: np.ndarray, response: np.ndarray, cutoff: float) -> np.ndarray:
    """Minutes from ``created_at`` to the first activity, from the stored (second-rounded) times.

    Exactly what the ``activities`` table gives; missing for a lead not touched by the cut-off.
    """
    first = _first_touch(created, response)
    seconds = np.round(first * 86_400) - np.round(created * 86_400)
    return np.where(first < cutoff, seconds / 60.0, np.nan)


def _lead_features(rng, n: int) -> dict[str, np.ndarray]:
    """Lead attributes; latent engagement and intent drive the signals, not the label directly."""
    f: dict[str, np.ndarray] = {}
    for name, table in (("source", _SOURCES), ("industry", _INDUSTRIES), ("country", _COUNTRIES),
                        ("seniority", _SENIORITY)):
        f[name], f[name + "_i"] = _choice(rng, table, n)
    f["campaign"], f["campaign_effect"] = _campaigns(rng, f["source_i"])
    f["size"] = np.clip(np.round(np.exp(rng.normal(np.log(80.0), 1.8, n))), 1.0, 300_000.0)
    large = np.log10(f["size"]) > 2.3
    engagement = rng.normal(size=n)
    intent = 0.6 * engagement + 0.8 * rng.normal(size=n)
    visit_shift = np.array([v[2] for v in _SOURCES.values()])[f["source_i"]]
    f["web_visits"] = rng.poisson(np.exp(0.9 + 0.6 * engagement + visit_shift))
    f["email_opens"] = rng.poisson(np.exp(0.7 + 0.45 * engagement))
    f["email_clicks"] = rng.binomial(f["email_opens"], np.where(engagement > 0, 0.3, 0.15))
    says_authority = np.array([-0.8, -0.2, 0.3, 0.7, 1.0])[f["seniority_i"]]
    f["budget"] = rng.random(n) < sigmoid(-0.4 + 0.9 * intent + 0.3 * large)
    f["authority"] = rng.random(n) < sigmoid(-0.3 + 0.5 * intent + says_authority)
    f["need"] = rng.random(n) < sigmoid(0.2 + 0.9 * intent)
    f["timeline"] = rng.random(n) < sigmoid(-0.6 + 0.8 * intent)
    f["bant"] = f["budget"].astype(int) + f["authority"] + f["need"] + f["timeline"]
    f["response"] = np.clip(np.exp(rng.normal(np.log(90.0), 1.7, n)), 1.0, 14 * 1440.0)  # minutes
    return f


def _lead_logit(f: dict) -> np.ndarray:
    """The true conversion logit without its intercept (module docstring)."""
    m = _LEAD_MODEL
    sen = np.array(list(_SENIORITY.values()))[f["seniority_i"]]
    log_size = np.log10(f["size"])
    return (
        m["log_visits"] * np.log1p(f["web_visits"])
        + m["opens"] * np.minimum(f["email_opens"], m["opens_cap"])
        + m["clicks_threshold"] * (f["email_clicks"] >= 2)
        + m["bant"] * f["bant"] + m["bant_all"] * (f["bant"] == 4)
        + sen[:, 1] + sen[:, 2] * (log_size - 2.0)
        + m["size_curvature"] * (log_size - m["size_peak"]) ** 2
        + m["response"] * np.exp(-f["response"] / m["response_minutes"])
        + np.array([v[1] for v in _SOURCES.values()])[f["source_i"]]
        + np.array([v[1] for v in _INDUSTRIES.values()])[f["industry_i"]]
        + np.array([v[1] for v in _COUNTRIES.values()])[f["country_i"]]
        + f["campaign_effect"]
    )


def _campaigns(rng, src_i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Campaign of each lead (Zipf within its source) and the campaign's logit effect."""
    names = np.array([c for cs in _CAMPAIGNS.values() for c in cs])
    effect = rng.normal(0.0, _LEAD_MODEL["campaign_sd"], len(names))
    out = np.empty(len(src_i), dtype=np.int64)
    first = 0
    for s, cs in enumerate(_CAMPAIGNS.values()):
        rows = np.flatnonzero(src_i == s)
        p = 1.0 / np.arange(1, len(cs) + 1) ** 2.5  # a long tail of rare campaigns
        out[rows] = first + rng.choice(len(cs), size=len(rows), p=p / p.sum())
        first += len(cs)
    return names[out], effect[out]


_OPENERS = {
    "web": ("Filled in the contact form.", "Signed up for a free trial."),
    "paid_search": ("Clicked a search ad.", "Came in through a comparison site."),
    "referral": ("Referred by a happy customer.", "Intro from a former colleague."),
    "event": ("Met at our booth.", "Attended the webinar and asked questions."),
    "outbound": ("Replied to a cold email.", "Picked up a cold call."),
    "partner": ("Introduced by a partner.", "Passed on by a reseller."),
}
_PAINS = np.array(["better forecasting", "pipeline visibility", "lead scoring", "a CRM cleanup",
                   "quota planning", "faster reporting", "territory planning", "a board dashboard"])
_CLOSERS = np.array(["Asked for a case study.", "Requested pricing.", "Call back next week.",
                     "Prefers email.", "Evaluating a competitor.", "Wants references.", ""])


def _lead_notes(rng, f: dict) -> pd.Series:
    """Short free-text notes whose sentences echo the lead's BANT answers."""
    src_i, budget, authority, need, timeline = (f[k] for k in ("source_i", "budget", "authority", "need", "timeline"))
    visits, n = f["web_visits"], len(f["source_i"])
    openers = np.array([o for pair in _OPENERS.values() for o in pair], dtype=object)
    text = openers[2 * src_i + rng.integers(0, 2, n)]

    def sentence(mask, values) -> np.ndarray:
        return np.where(mask, " " + np.asarray(values, dtype=object), "")

    quarter = rng.integers(1, 5, n).astype(str).astype(object)
    months = rng.integers(1, 7, n).astype(str).astype(object)
    seats = (5 * rng.integers(1, 41, n)).astype(str).astype(object)
    text = text + sentence(budget, "Budget approved for Q" + quarter + ".")
    text = text + sentence(~budget & (rng.random(n) < 0.3), "No budget yet.")
    text = text + sentence(need, "Needs " + _PAINS[rng.integers(0, len(_PAINS), n)].astype(object) + ".")
    text = text + sentence(timeline, "Wants to buy within " + months + " months.")
    text = text + sentence(~authority & (rng.random(n) < 0.5), "Not the decision maker.")
    text = text + sentence(rng.random(n) < 0.4, "Team of " + seats + " reps.")
    text = text + sentence(visits >= 8, "Keeps visiting the pricing page.")
    text = text + sentence(True, _CLOSERS[rng.integers(0, len(_CLOSERS), n)].astype(object))
    return text_column(np.char.strip(text.astype(str)))


def _lead_status(rng, converted, age_days, signals) -> pd.Series:
    """A CRM status set after the outcome: near-perfect, not exactly the label."""
    n = len(converted)
    u = rng.random(n)
    disqualify = rng.random(n) < 0.75 - 0.12 * signals
    other = np.where(age_days < 30, np.where(u < 0.8, "Open", "Nurture"),
                     np.where(disqualify, "Disqualified", "Nurture"))
    status = np.where(converted, np.where(u < 0.97, "Converted", "Nurture"),
                      np.where(u < 0.005, "Converted", other))
    return text_column(status)


# --------------------------------------------------------------------------- opportunities


def _deal_seeds(rng, hidden: dict, start: float, cutoff: float, n_opportunities: int | None) -> pd.DataFrame:
    """Creation time and origin of every deal, in order of creation."""
    conv = np.flatnonzero(hidden["converted"])
    if n_opportunities is None:
        n_lead, n_out = len(conv), int(round(0.25 * len(conv)))
    else:
        n_lead = min(len(conv), int(round(0.8 * n_opportunities)))
        n_out = max(int(n_opportunities) - n_lead, 0)
        conv = np.sort(rng.choice(conv, size=n_lead, replace=False))
    lead_size = hidden["size"][conv]
    seg_lead = np.searchsorted([200, 1000], lead_size, side="right")
    seg_out = rng.choice(3, size=n_out, p=[v[4] for v in _SEGMENT_DEALS.values()])
    logit = hidden["logit"][conv]
    seeds = pd.DataFrame({
        "created": np.concatenate([hidden["converted_at"][conv], _sample_times(rng, start, cutoff, n_out, 1.6)]),
        "lead": np.concatenate([conv, np.full(n_out, -1)]),
        "segment": np.concatenate([seg_lead, seg_out]),
        # Lead deals inherit the lead's (standardised) true conversion logit.
        "signal": np.concatenate([(logit - logit.mean()) / (logit.std() + 1e-9) * 0.5, np.full(n_out, -0.4)]),
        "industry": np.concatenate([hidden["industry"][conv], _choice(rng, _INDUSTRIES, n_out)[0]]),
        "country": np.concatenate([hidden["country"][conv], _choice(rng, _COUNTRIES, n_out)[0]]),
        "source": np.concatenate([hidden["source"][conv], np.full(n_out, "outbound")]),
    })
    return seeds.sort_values("created", kind="stable").reset_index(drop=True)


def _assign_accounts(rng, seeds: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Account index, segment and owner of each deal; repeat deals reuse an earlier account."""
    n = len(seeds)
    repeat = rng.random(n) < np.where(seeds["lead"].to_numpy() >= 0, 0.20, 0.35)
    earlier = np.floor(rng.random(n) * np.arange(n)).astype(np.int64)
    team_pick = rng.random(n)
    account = np.empty(n, dtype=np.int64)
    segment = seeds["segment"].to_numpy().copy()
    owner = np.empty(n, dtype=np.int64)
    offsets = np.cumsum([0] + [len(t) for t in _REPS.values()])
    n_accounts = 0
    for i in range(n):  # ~4k deals: a plain loop keeps the chain of repeat accounts simple
        if repeat[i] and i > 0:
            j = earlier[i]
            account[i], segment[i], owner[i] = account[j], segment[j], owner[j]
        else:
            account[i] = n_accounts
            n_accounts += 1
            s = segment[i]
            owner[i] = offsets[s] + int(team_pick[i] * (offsets[s + 1] - offsets[s]))
    return account, segment, owner


def _make_opportunities(rng, hidden: dict, start: float, cutoff: float, n_opportunities: int | None) -> dict:
    """Deals with their accounts, owners, hidden quality and walk through the stages."""
    seeds = _deal_seeds(rng, hidden, start, cutoff, n_opportunities)
    n = len(seeds)
    account, segment, owner = _assign_accounts(rng, seeds)
    seg = np.array(list(_SEGMENT_DEALS.values()))
    product = pick_products(rng, segment)
    factor = np.array([v[0] for v in PRODUCTS.values()])[product]
    amount = np.round(np.exp(rng.normal(np.log(seg[segment, 0]), seg[segment, 1])) * factor, -2)
    skill = rng.normal(0.0, 0.3, len(_OWNERS))
    quality = seeds["signal"].to_numpy() + 0.85 * rng.normal(size=n) + skill[owner] + seg[segment, 3]
    base, slope = _ADVANCE
    shift = solve_shift(lambda s: np.prod(sigmoid(base + s + slope * quality[:, None]), axis=1).mean(),
                         _TARGET_WIN)
    p_adv = sigmoid(base + shift + slope * quality[:, None])
    days_scale = seg[segment, 2] * np.exp(-0.15 * quality)
    created = seeds["created"].to_numpy()
    mean_cycle = sum(mean for _, mean in STAGE_DAYS.values())
    close0 = month_end(created + mean_cycle * days_scale * rng.uniform(0.5, 1.0, n))
    walk = _walk(rng, np.zeros(n, dtype=np.int64), created, np.full(n, -np.inf), p_adv, days_scale,
                 amount, close0=close0, quality=quality)
    return {"seeds": seeds, "account": account, "segment": segment, "owner": owner, "product": product,
            "quality": quality, "p_adv": p_adv, "days_scale": days_scale, "walk": walk}


# --------------------------------------------------------------------------- the stage walk


def _gamma_above(rng, shape: float, theta: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Gamma(shape, theta) draws conditioned to exceed ``lower`` (no condition where lower <= 0)."""
    out = rng.gamma(shape, theta)
    cond = lower > 0
    if cond.any():
        from scipy import stats  # only needed to re-simulate deals from a date

        sf = stats.gamma.sf(lower[cond] / theta[cond], shape)
        u = rng.uniform(size=cond.sum()) * sf
        draw = stats.gamma.isf(np.maximum(u, 1e-300), shape) * theta[cond]
        out[cond] = np.maximum(draw, lower[cond] + 1e-6)
    return out


def _quarter_end_pull(rng, entry: np.ndarray, exit_: np.ndarray) -> np.ndarray:
    """Pull closes that fall just after a quarter start back to the last days of the quarter before."""
    c = QUARTER_END_PULL
    month = month_index(exit_)
    q_start = month_start(month - month % 3)
    q4 = month % 12 < 3  # the quarter before is Q4: the year-end push is stronger
    window = np.where(q4, c["q4_window"], c["window"])
    prob = np.where(q4, c["q4_prob"], c["prob"])
    eligible = (exit_ - q_start < window) & (entry < q_start - c["lead_days"])
    pull = eligible & (rng.random(len(exit_)) < prob)
    return np.where(pull, q_start - rng.uniform(0.05, 3.0, len(exit_)), exit_)


def _stage_exit(rng, k: int, entry, days_scale, not_before, p_advance) -> tuple[np.ndarray, np.ndarray]:
    """When deals leave open stage ``k`` and whether they advance, given they leave after ``not_before``.

    Closings (a loss, or a win from the last stage) may be pulled back to a
    quarter end; a draw whose exit is not after ``not_before`` is rejected and
    redrawn whole (outcome, time and pull), which conditions exactly.
    """
    shape, mean = STAGE_DAYS[OPEN_STAGES[k]]
    theta = (mean - 1.0) / shape * days_scale
    last = k == len(OPEN_STAGES) - 1
    exit_, adv = np.empty(len(entry)), np.zeros(len(entry), dtype=bool)
    todo = np.arange(len(entry))
    for attempt in range(50):
        e, nb = entry[todo], not_before[todo]
        natural = e + 1.0 + _gamma_above(rng, shape, theta[todo], nb - e - 1.0)
        advance = rng.random(len(todo)) < p_advance[todo]
        closing = ~advance | last
        out = np.where(closing, _quarter_end_pull(rng, e, natural), natural)
        ok = out > nb if attempt < 49 else np.ones(len(todo), dtype=bool)
        out = np.where(out > nb, out, natural)  # last attempt: keep the unpulled time
        exit_[todo[ok]], adv[todo[ok]] = out[ok], advance[ok]
        todo = todo[~ok]
        if not len(todo):
            break
    return exit_, adv


def _update_close(rng, close, t, k: int, days_scale, quality) -> np.ndarray:
    """Expected close date on entering stage ``k`` at ``t``: pushed when overdue or at random."""
    remaining = sum(STAGE_DAYS[s][1] for s in OPEN_STAGES[k:]) * days_scale
    fresh = month_end(t + remaining * rng.uniform(0.6, 1.1, len(t)))
    slip = rng.random(len(t)) < sigmoid(-1.3 - 0.8 * quality)
    return np.where(close < t + 3.0, fresh, np.where(slip, month_end(close + 20.0), close))


def _walk(rng, stage, entry, not_before, p_adv, days_scale, amount, close0=None, quality=None) -> dict:
    """Run deals from their current open ``stage`` (entered at ``entry``) to won or lost.

    Stages are processed in funnel order, so deals starting in different stages
    are handled in one pass; only the first stage of each deal is conditioned
    on ``not_before``. With ``close0`` the expected close dates are tracked and
    every stage entry is recorded (the generator); without, only the outcomes
    are returned (re-simulation).
    """
    last = len(OPEN_STAGES) - 1
    pos, t = stage.copy(), entry.astype(float).copy()
    amount, nb = amount.astype(float).copy(), not_before.astype(float).copy()
    track = close0 is not None
    close = close0.copy() if track else None
    rows = [(np.arange(len(pos)), pos.copy(), t.copy(), amount.copy(), close0)] if track else []
    for k in range(len(OPEN_STAGES)):
        idx = np.flatnonzero(pos == k)
        if not len(idx):
            continue
        t[idx], adv = _stage_exit(rng, k, t[idx], days_scale[idx], nb[idx], p_adv[idx, k])
        nb[idx] = -np.inf
        pos[idx] = np.where(adv, _WON if k == last else k + 1, _LOST)
        moved, done = (idx[:0], idx) if k == last else (idx[adv], idx[~adv])
        if k < last and OPEN_STAGES[k + 1] in AMOUNT_REVISION:
            amount[moved] *= np.exp(rng.normal(*AMOUNT_REVISION[OPEN_STAGES[k + 1]], len(moved)))
        if track:
            close[moved] = _update_close(rng, close[moved], t[moved], k + 1, days_scale[moved], quality[moved])
            rows.append((moved, pos[moved], t[moved], amount[moved], close[moved]))
            rows.append((done, pos[done], t[done], amount[done], np.floor(t[done])))
    out = {"stage": pos, "time": t, "amount": amount}
    if track:
        out["history"] = {name: np.concatenate([r[i] for r in rows])
                          for i, name in enumerate(("deal", "stage", "time", "amount", "close"))}
    return out


def _opportunity_tables(rng, opps: dict, leads: pd.DataFrame, cutoff: float, end: float) -> dict:
    """Opportunities, stage history and truth as seen at the cut-off."""
    seeds, h = opps["seeds"], opps["walk"]["history"]
    n = len(seeds)
    keep = h["time"] < cutoff
    order = np.lexsort((h["stage"][keep], h["time"][keep], h["deal"][keep]))
    hist = {k: v[keep][order] for k, v in h.items()}
    last = np.r_[hist["deal"][1:] != hist["deal"][:-1], True]  # last row per deal (all deals have one)
    stage, close = hist["stage"][last], hist["close"][last].copy()
    created = seeds["created"].to_numpy()
    status = np.select([stage == _WON, stage == _LOST], ["won", "lost"], "open")
    overdue = (status == "open") & (close < np.maximum(end, created))
    close[overdue] = month_end(end + rng.uniform(5.0, 40.0, overdue.sum()))
    opp_id = make_ids("O", n, 6)
    lead = seeds["lead"].to_numpy()
    lead_ids = np.where(lead >= 0, leads["lead_id"].to_numpy()[np.maximum(lead, 0)], None)
    opportunities = pd.DataFrame({
        "opportunity_id": text_column(opp_id),
        "account_id": text_column(make_ids("ACC", opps["account"].max() + 1, 5)[opps["account"]]),
        "owner": text_column(np.array(_OWNERS)[opps["owner"]]),
        "segment": text_column(np.array(_SEGMENTS)[opps["segment"]]),
        "product": text_column(np.array(list(PRODUCTS))[opps["product"]]),
        "source": text_column(seeds["source"].to_numpy()),
        "lead_id": text_column(lead_ids, lead < 0),
        "amount": np.round(hist["amount"][last], -2),
        "created_at": to_datetime(created),
        "stage": text_column(_STAGE_NAMES[stage]),
        "close_date": to_datetime(close),
        "status": text_column(status),
    })
    stage_history = pd.DataFrame({
        "opportunity_id": text_column(opp_id[hist["deal"]]),
        "stage": text_column(_STAGE_NAMES[hist["stage"]]),
        "entered_at": to_datetime(hist["time"]),
        "amount": np.round(hist["amount"], -2),
        "close_date": to_datetime(hist["close"]),
    })
    truth = pd.DataFrame({
        "opportunity_id": text_column(opp_id),
        "quality": opps["quality"],
        "p_win": np.prod(opps["p_adv"], axis=1),
        "days_scale": opps["days_scale"],
        **{f"p_advance_{s.lower()}": opps["p_adv"][:, k] for k, s in enumerate(OPEN_STAGES)},
    })
    return {"opportunities": opportunities, "stage_history": stage_history, "opportunity_truth": truth,
            "_hist": hist, "_status": status}


# --------------------------------------------------------------------------- activities


def _make_activities(rng, hidden: dict, opps: dict, tables: dict, leads: pd.DataFrame, cutoff: float,
                     prospects: tuple) -> pd.DataFrame:
    """Lead and deal touches, plus prospecting (``prospects``: rng, SalesOrg, start) up to the targets."""
    lead_parts = _lead_touches(rng, hidden)
    deal_parts = _deal_touches(rng, opps, tables, cutoff)
    when = np.concatenate([lead_parts[0], deal_parts[0]])
    keep = when < cutoff
    frame = {k: np.concatenate([a, b])[keep] for k, a, b in zip(
        ("when", "owner", "type", "lead", "deal"), lead_parts, deal_parts)}
    org_rng, org, start = prospects
    frame = with_prospecting(org_rng, org, frame, start, cutoff)
    order = np.lexsort((frame["deal"], frame["lead"], frame["when"]))
    frame = {k: v[order] for k, v in frame.items()}
    opp_ids = tables["opportunities"]["opportunity_id"].to_numpy()
    lead_ids = leads["lead_id"].to_numpy()
    return pd.DataFrame({
        "activity_id": text_column(make_ids("A", len(order), 7)),
        "owner": text_column(np.array(_OWNERS)[frame["owner"]]),
        "type": text_column(np.array(["call", "email", "meeting", "demo"])[frame["type"]]),
        "occurred_at": to_datetime(frame["when"]),
        "lead_id": text_column(lead_ids[np.maximum(frame["lead"], 0)], frame["lead"] < 0),
        "opportunity_id": text_column(opp_ids[np.maximum(frame["deal"], 0)], frame["deal"] < 0),
    })


def _lead_touches(rng, hidden: dict):
    """First touch after the response time, then a few more within 30 days."""
    n = len(hidden["created"])
    # Leads are routed to the team of their (true) company size.
    team = np.searchsorted([200, 1000], hidden["size"], side="right")
    offsets = np.cumsum([0] + [len(t) for t in _REPS.values()])
    owner = offsets[team] + (rng.random(n) * np.diff(offsets)[team]).astype(np.int64)
    first = _first_touch(hidden["created"], hidden["response"])
    extra = rng.poisson(1.8, n)
    lead = np.concatenate([np.arange(n), np.repeat(np.arange(n), extra)])
    when = np.concatenate([first, np.repeat(first, extra) + rng.uniform(0.05, 30.0, extra.sum())])
    kind = np.concatenate([(rng.random(n) < 0.45).astype(np.int64),  # call or email first
                           rng.choice(3, size=extra.sum(), p=[0.35, 0.60, 0.05])])
    return when, owner[lead], kind, lead, np.full(len(lead), -1)


_DEAL_TOUCH_RATE = np.array([0.25, 0.30, 0.35, 0.30, 0.35])  # per day in each open stage
_DEAL_TOUCH_TYPES = np.array([  # call, email, meeting, demo
    [0.50, 0.45, 0.05, 0.0], [0.40, 0.40, 0.20, 0.0], [0.30, 0.40, 0.20, 0.10],
    [0.30, 0.50, 0.20, 0.0], [0.35, 0.45, 0.20, 0.0],
])


def _deal_touches(rng, opps: dict, tables: dict, cutoff: float):
    """Activities while a deal sits in each open stage; a demo soon after entering Demo."""
    hist = tables["_hist"]
    spell_end = np.r_[hist["time"][1:], cutoff]
    same_deal = np.r_[hist["deal"][1:] == hist["deal"][:-1], False]
    spell_end = np.where(same_deal, spell_end, cutoff)
    is_open = hist["stage"] < _WON
    deal, stage, t0 = hist["deal"][is_open], hist["stage"][is_open], hist["time"][is_open]
    length = np.minimum(spell_end[is_open], cutoff) - t0
    count = rng.poisson(_DEAL_TOUCH_RATE[stage] * length)
    rep = np.repeat(np.arange(len(deal)), count)
    when = t0[rep] + rng.random(len(rep)) * length[rep]
    cdf = np.cumsum(_DEAL_TOUCH_TYPES, axis=1)[stage[rep]]
    kind = (rng.random(len(rep))[:, None] > cdf).sum(axis=1)
    demo = np.flatnonzero(stage == OPEN_STAGES.index("Demo"))
    when = np.concatenate([when, t0[demo] + rng.random(len(demo)) * np.minimum(length[demo], 3.0)])
    kind = np.concatenate([kind, np.full(len(demo), 3)])
    deal_of = np.concatenate([deal[rep], deal[demo]])
    return when, opps["owner"][deal_of], kind, np.full(len(deal_of), -1), deal_of


# --------------------------------------------------------------------------- accounts, revenue, spend, quotas


def _make_accounts(rng, opps: dict, tables: dict, cutoff: float) -> tuple[pd.DataFrame, np.ndarray]:
    """Accounts with their first win and churn; returns the churn time per account too."""
    account, seeds = opps["account"], opps["seeds"]
    n_acc = account.max() + 1
    won = tables["_status"] == "won"
    close = tables["opportunities"]["close_date"].to_numpy().astype("int64") / _DAY_NS
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
        "segment": text_column(np.array(_SEGMENTS)[opps["segment"][first_deal]]),
        "industry": text_column(seeds["industry"].to_numpy()[first_deal]),
        "country": text_column(seeds["country"].to_numpy()[first_deal]),
        "customer_since": to_datetime(np.where(np.isfinite(first_win), first_win, np.nan)),
        "churned_at": to_datetime(churn),
    })
    return accounts, churn


def _month_grid(start: float, end: float) -> np.ndarray:
    return np.arange(month_index(np.array([start]))[0], month_index(np.array([end]))[0] + 1)


def _make_revenue(rng, opps: dict, tables: dict, churn: np.ndarray, start: float, end: float):
    """Monthly recognised revenue per segment: legacy base + won-deal MRR, times a season."""
    months = _month_grid(start, end)
    n_m = len(months)
    opp = tables["opportunities"]
    won = np.flatnonzero(tables["_status"] == "won")
    close = opp["close_date"].to_numpy()[won].astype("int64") / _DAY_NS
    acc = opps["account"][won]
    begin = np.clip(month_index(close) + 1 - months[0], 0, n_m)
    churned = np.isfinite(churn[acc])
    stop = np.where(churned, month_index(np.nan_to_num(churn[acc])) + 1 - months[0], n_m)
    stop = np.clip(stop, begin, n_m)
    mrr = np.zeros((3, n_m + 1))
    seg = opps["segment"][won]
    monthly = opp["amount"].to_numpy()[won] / 12.0
    np.add.at(mrr, (seg, begin), monthly)
    np.add.at(mrr, (seg, stop), -monthly)
    mrr = np.cumsum(mrr, axis=1)[:, :n_m]
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


def _make_spend(rng, leads: pd.DataFrame, hidden: dict, start: float, end: float) -> pd.DataFrame:
    """Spend per month and source, split over the segments in proportion to the leads each one got."""
    months = _month_grid(start, end)
    lead_month = month_index(leads["created_at"].to_numpy().astype("int64") / _DAY_NS) - months[0]
    src = pd.Categorical(leads["source"], categories=list(_SOURCES)).codes
    counts = np.zeros((len(months), len(_SOURCES)))
    np.add.at(counts, (lead_month, src), 1.0)
    cost = np.array(list(_SPEND.values()))
    growth = np.exp(_FLOW_GROWTH * np.arange(len(months)) / 12.0)[:, None]
    noise = np.exp(rng.normal(0.0, 0.12, counts.shape))
    # Cost per lead goes to the segment each lead is routed to; fixed costs by the segments' lead shares.
    segment = np.searchsorted([200, 1000], hidden["size"], side="right")
    by_segment = np.zeros(counts.shape + (len(_SEGMENTS),))
    np.add.at(by_segment, (lead_month, src, segment), 1.0)
    overall = np.bincount(segment, minlength=len(_SEGMENTS)) / len(segment)
    amount = (by_segment * cost[:, 0, None] + (cost[:, 1] * growth)[..., None] * overall) * noise[..., None]
    n_s, n_seg = len(_SOURCES), len(_SEGMENTS)
    return pd.DataFrame({
        "month": np.repeat(to_datetime(month_start(months)), n_s * n_seg),
        "source": text_column(np.tile(np.repeat(list(_SOURCES), n_seg), len(months))),
        "segment": text_column(np.tile(_SEGMENTS, len(months) * n_s)),
        "amount": np.round(amount.ravel(), 2),
    })


def _make_quotas(tables: dict, opps: dict, start: float, end: float) -> pd.DataFrame:
    """Quarterly quotas: 1.2 x the rep's average won amount per quarter, following growth."""
    quarters = pd.period_range(timestamp_of(start), timestamp_of(end), freq="Q")
    opp = tables["opportunities"]
    won = (tables["_status"] == "won")
    total = np.bincount(opps["owner"][won], weights=opp["amount"].to_numpy()[won], minlength=len(_OWNERS))
    per_quarter = total / len(quarters)
    periods = pd.period_range(quarters[0], quarters[-1] + 1, freq="Q")
    mid = (np.arange(len(periods)) - (len(quarters) - 1) / 2) / 4.0  # years from the window's middle
    quota = 1.2 * per_quarter[None, :] * np.exp(_FLOW_GROWTH * mid)[:, None]
    return pd.DataFrame({
        "period": text_column(np.repeat(periods.astype(str), len(_OWNERS))),
        "owner": text_column(np.tile(_OWNERS, len(periods))),
        "quota": np.round(quota.ravel(), -3),
    })


# --------------------------------------------------------------------------- public API


def make_demo(
    seed: int = 0,
    start="2022-07-01",
    end="2026-06-30",
    n_leads: int = 24_000,
    n_opportunities: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Simulate a CRM whose true conversion, win and revenue processes are known.

    Parameters
    ----------
    seed : int
        Same seed, identical frames.
    start, end : str or Timestamp
        First and last day (the demo's "today") of the window.
    n_leads : int
        Number of leads (at least 200).
    n_opportunities : int, optional
        Number of deals; by default one per converted lead plus 25% outbound.

    Returns
    -------
    dict of str to DataFrame
        The tables named in :data:`DEMO_TABLES`; see the module docstring for
        their columns, sizes and the processes behind them.

    Examples
    --------
    >>> demo = make_demo(seed=1, n_leads=2_000)
    >>> sorted(demo["opportunities"]["status"].unique())
    ['lost', 'open', 'won']
    >>> bool(demo["leads"]["converted"].between(0, 1).all())
    True
    """
    start_d, end_d = to_days(pd.Timestamp(start).normalize()), to_days(pd.Timestamp(end).normalize())
    if end_d - start_d < 180:
        raise ValueError(f"the demo window needs at least 180 days; got start={start}, end={end}")
    if int(n_leads) < 200:
        raise ValueError(f"n_leads must be at least 200; got {n_leads}")
    if n_opportunities is not None and int(n_opportunities) < 1:
        raise ValueError(f"n_opportunities must be positive; got {n_opportunities}")
    cutoff = end_d + 1.0
    # Streams 0-6 make the original tables; stream 7 the deal terms and the sales organisation.
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    leads, lead_truth, hidden = _make_leads(rngs[0], start_d, cutoff, int(n_leads))
    opps = _make_opportunities(rngs[1], hidden, start_d, cutoff, n_opportunities)
    tables = _opportunity_tables(rngs[2], opps, leads, cutoff, end_d)
    opp = tables["opportunities"]
    for column, values in deal_terms(rngs[7], opps["segment"], opps["product"], opp["amount"].to_numpy()).items():
        opp[column] = values
    org = SalesOrg.draw(rngs[7], _OWNERS, np.repeat(np.arange(len(_REPS)), [len(t) for t in _REPS.values()]),
                        _SEGMENTS)
    activities = _make_activities(rngs[3], hidden, opps, tables, leads, cutoff, (rngs[7], org, start_d))
    accounts, churn = _make_accounts(rngs[4], opps, tables, cutoff)
    revenue, revenue_truth = _make_revenue(rngs[5], opps, tables, churn, start_d, end_d)
    walk = opps["walk"]
    deals = {"owner": opps["owner"], "created": opps["seeds"]["created"].to_numpy(), "closed": walk["time"],
             "won": walk["stage"] == _WON, "amount": np.round(walk["amount"], -2)}
    since = accounts["customer_since"].to_numpy().astype("int64") / _DAY_NS
    customer = accounts["customer_since"].notna().to_numpy()
    customers = {"account": accounts["account_id"].to_numpy()[customer], "since": since[customer],
                 "churned": churn[customer]}
    org_part = org_tables(rngs[7], org, deals=deals, customers=customers, start=start_d, end=end_d)
    return {
        "leads": leads,
        "lead_truth": lead_truth,
        "opportunities": tables["opportunities"],
        "stage_history": tables["stage_history"],
        "opportunity_truth": tables["opportunity_truth"],
        "activities": activities,
        "accounts": accounts,
        "revenue": revenue,
        "revenue_truth": revenue_truth,
        "spend": _make_spend(rngs[6], leads, hidden, start_d, end_d),
        "quotas": _make_quotas(tables, opps, start_d, end_d),
        **{name: org_part[name] for name in ORG_TABLES + ORG_TRUTH},
    }


def generator_fingerprint() -> str:
    """Hash of the generator's source (this module and the synthetic package): a demo file made by other code is stale."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted((Path(__file__).parent / "synthetic").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def write_demo(out_dir, seed: int = 0, formats=("duckdb",), **kwargs) -> Path:
    """Make the demo CRM and write it to ``out_dir/crm.duckdb`` (one table per name).

    Parameters
    ----------
    out_dir : str or path
        Folder to write into (created if needed).
    seed : int
        Passed to :func:`make_demo`.
    formats : sequence of {"duckdb", "csv", "parquet"}
        The DuckDB file is always written; "csv" / "parquet" add
        ``out_dir/<table>.csv`` / ``.parquet``.
    **kwargs
        Other arguments of :func:`make_demo` (``start``, ``end``, ``n_leads``...).

    Returns
    -------
    pathlib.Path
        Path of ``crm.duckdb``. Every file is written under a temporary name
        and renamed, so readers never see a half-written database.
    """
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    unknown = sorted(set(formats) - {"duckdb", "csv", "parquet"})
    if unknown:
        raise ValueError(f"unknown demo formats {unknown}; choose from duckdb, csv, parquet")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = make_demo(seed=seed, **kwargs)
    path = out / "crm.duckdb"
    meta = pd.DataFrame({"seed": [seed], "generator": [generator_fingerprint()],
                         "parameters": [repr(sorted(kwargs.items()))]})
    write_duckdb({**tables, "demo_meta": meta}, path)
    for name, frame in tables.items():
        if "csv" in formats:
            write_csv(frame, out / f"{name}.csv")
        if "parquet" in formats:
            write_parquet(frame, out / f"{name}.parquet")
    return path


def simulate_remaining(
    truth: pd.DataFrame,
    stage,
    as_of,
    rng=None,
    *,
    entered_at=None,
    amount=None,
    n_sims: int = 1,
) -> pd.DataFrame:
    """Re-simulate how open deals end, from their state at ``as_of``, with the true process.

    Parameters
    ----------
    truth : DataFrame
        Rows of ``opportunity_truth`` for the open deals.
    stage : str or sequence of str
        Each deal's open stage at ``as_of``.
    as_of : str or Timestamp
        Date of the snapshot; simulated closes are after it.
    rng : numpy Generator or int, optional
    entered_at : sequence of timestamps, optional
        When each deal entered its stage (from ``stage_history``); the time
        already spent is conditioned on. Default: entered at ``as_of``.
    amount : sequence of float, optional
        Amount at ``as_of``; default 1.0 (the result is then a multiplier).
    n_sims : int
        Paths per deal.

    Returns
    -------
    DataFrame
        ``opportunity_id``, ``sim``, ``status`` (won / lost), ``closed_at``
        and ``amount`` at close; ``n_sims`` rows per deal, deal by deal.

    Examples
    --------
    >>> demo = make_demo(seed=0, n_leads=2_000)
    >>> truth = demo["opportunity_truth"].head(3)
    >>> paths = simulate_remaining(truth, "Proposal", "2026-06-30", rng=0, n_sims=100)
    >>> len(paths), bool((paths["closed_at"] > "2026-06-30").all())
    (300, True)
    """
    rng = np.random.default_rng(rng)
    n = len(truth)
    needed = ["opportunity_id", "days_scale"] + [f"p_advance_{s.lower()}" for s in OPEN_STAGES]
    missing = [c for c in needed if c not in truth.columns]
    if missing:
        raise ValueError(f"truth needs the opportunity_truth columns {', '.join(missing)}")
    stages = np.broadcast_to(np.asarray(stage, dtype=object), (n,))
    unknown = sorted({str(s) for s in stages if s not in OPEN_STAGES})
    if unknown:
        raise ValueError(f"stage must be an open stage ({', '.join(OPEN_STAGES)}); got {', '.join(unknown)}")
    as_of_d = to_days(as_of)
    entry = np.full(n, as_of_d)
    if entered_at is not None:
        stamps = pd.to_datetime(pd.Series(np.broadcast_to(np.asarray(entered_at), (n,))))
        entry = stamps.fillna(pd.Timestamp(as_of)).astype("datetime64[ns]").to_numpy().astype("int64") / _DAY_NS
    amt = np.ones(n) if amount is None else np.broadcast_to(np.asarray(amount, dtype=float), (n,))
    rep = np.repeat(np.arange(n), n_sims)
    p_adv = truth[[f"p_advance_{s.lower()}" for s in OPEN_STAGES]].to_numpy(dtype=float)[rep]
    pos = np.array([OPEN_STAGES.index(s) for s in stages], dtype=np.int64)[rep]
    out = _walk(rng, pos, np.minimum(entry, as_of_d)[rep], np.full(len(rep), as_of_d), p_adv,
                truth["days_scale"].to_numpy(dtype=float)[rep], amt[rep])
    return pd.DataFrame({
        "opportunity_id": text_column(truth["opportunity_id"].to_numpy()[rep]),
        "sim": np.tile(np.arange(n_sims), n),
        "status": text_column(np.where(out["stage"] == _WON, "won", "lost")),
        "closed_at": to_datetime(out["time"]),
        "amount": out["amount"],
    })
