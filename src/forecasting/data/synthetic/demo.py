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

    :func:`~forecasting.data.synthetic.walk.simulate_remaining` re-runs steps 1-3 from a deal's state at any
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
    bring each rep to about ``effort x target`` (about 265,000 rows in all),
    and ``duration_minutes`` (calls median 4, meetings 30, demos 45),
    ``responded`` (22% of emails) and ``completed`` (85% of meetings and demos
    take place; a no-show has no duration); see :mod:`.activities`.

Ids are strings, timestamps ``datetime64[ns]`` rounded to seconds, amounts
``float64``, ``converted`` int 0/1. The default demo takes 0.3-0.6 s to
generate and about 0.3 s more to write to DuckDB (measured on 2 shared cores).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from .activities import activity_details, make_activities
from .common import DAY_NS, to_days
from .company import OWNERS, REPS, SEGMENTS
from .deals import make_opportunities, opportunity_tables
from .leads import make_leads
from .org import ORG_TABLES, ORG_TRUTH, org_tables
from .revenue import make_accounts, make_quotas, make_revenue, make_spend
from .team import SalesOrg
from .terms import deal_terms
from .walk import WON
from .writer import check_formats, write_tables


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
    leads, lead_truth, hidden = make_leads(rngs[0], start_d, cutoff, int(n_leads))
    opps = make_opportunities(rngs[1], hidden, start_d, cutoff, n_opportunities)
    tables = opportunity_tables(rngs[2], opps, leads, cutoff, end_d)
    opp = tables["opportunities"]
    for column, values in deal_terms(rngs[7], opps["segment"], opps["product"], opp["amount"].to_numpy()).items():
        opp[column] = values
    org = SalesOrg.draw(rngs[7], OWNERS, np.repeat(np.arange(len(REPS)), [len(t) for t in REPS.values()]),
                        SEGMENTS)
    activities = make_activities(rngs[3], hidden, opps, tables, leads, cutoff, (rngs[7], org, start_d))
    accounts, churn = make_accounts(rngs[4], opps, tables, cutoff)
    revenue, revenue_truth = make_revenue(rngs[5], opps, tables, churn, start_d, end_d)
    walk = opps["walk"]
    deals = {"owner": opps["owner"], "created": opps["seeds"]["created"].to_numpy(), "closed": walk["time"],
             "won": walk["stage"] == WON, "amount": np.round(walk["amount"], -2)}
    since = accounts["customer_since"].to_numpy().astype("int64") / DAY_NS
    customer = accounts["customer_since"].notna().to_numpy()
    customers = {"account": accounts["account_id"].to_numpy()[customer], "since": since[customer],
                 "churned": churn[customer]}
    org_part = org_tables(rngs[7], org, deals=deals, customers=customers, start=start_d, end=end_d)
    for column, values in activity_details(rngs[7], activities["type"]).items():
        activities[column] = values
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
        "spend": make_spend(rngs[6], leads, hidden, start_d, end_d),
        "quotas": make_quotas(tables, opps, start_d, end_d),
        **{name: org_part[name] for name in ORG_TABLES + ORG_TRUTH},
    }


def generator_fingerprint() -> str:
    """Hash of the generator's source (every module of this package): a demo file made by other code is stale."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
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
    formats = check_formats(formats)
    tables = make_demo(seed=seed, **kwargs)
    meta = pd.DataFrame({"seed": [seed], "generator": [generator_fingerprint()],
                         "parameters": [repr(sorted(kwargs.items()))]})
    return write_tables(Path(out_dir), tables, formats, {"demo_meta": meta})
