"""A zoo of simulated CRM worlds whose truth is known.

The demo CRM (:mod:`forecasting.data.demo`) is one world among many: nothing in
the package may work only because the data came from it. Each world here is a
company with its own funnel (stage names and count), sales cycle, win rate,
deal-size tail, seasonality of new deals, close-date slippage, correlated
quarter-level shocks, rep bias, stage history or not, and its own lead process
(non-linearities, interactions, high-cardinality categories, missingness,
label drift), all with known truth:

- ``World.lead_truth``: the true probability that each lead's ``converted`` is 1;
- ``World.oracle(as_of, period)``: draws of the revenue won in ``period`` from
  the true process, given the state of every deal at the end of ``as_of``, so a
  benchmark can score the oracle's P10/P50/P90 next to a forecaster's.

>>> from forecasting.data.worlds import WORLDS, make_world
>>> sorted(WORLDS)[:3]
['demo', 'enterprise_whales', 'hubspot_slippage']
>>> world = make_world("velocity_smb", seed=1, size=0.2)
>>> world.stages.open
('New', 'Demo Booked', 'Contract Sent')
>>> draws = world.oracle("2026-03-31", "2026Q2", n_sims=200)
>>> draws.shape, bool((draws >= 0).all())
((200,), True)

The process behind the generated worlds (every world but ``demo``)
-------------------------------------------------------------------
Time runs from ``START`` to ``END`` (16 quarters); "today" is ``END`` and a
deal still unresolved at the end of that day is ``open``.

1. **New deals** arrive as a Poisson process: ``deals_per_month`` (times
   ``size``) growing ``growth`` a year, times the month's ``season`` factor and a
   weekday shape. Each gets a segment, an owner of that segment, a latent
   ``quality ~ N(0, 1) + skill[owner]``, and a true amount (lognormal, or Pareto
   with a few whales).
2. **Stages**: in open stage ``k`` a deal stays ``1 + Gamma(2, (days[k] - 1) / 2
   * scale)`` days (``scale`` from the segment and quality), then advances with
   probability ``sigmoid(base[k] + shift + 0.5 * quality + shock[quarter])`` or
   is lost; advancing from the last open stage is a win. ``shift`` is solved so
   the mean win probability is ``win_rate`` (shocks counted as if all of a
   deal's decisions fell in one quarter).
3. **Shocks**: each quarter, with probability ``shock_prob``, every advance
   decision taken in it has ``shock_logit`` added (at least one shocked quarter
   in the window when ``shock_prob > 0``).
4. **Recorded values**: optimistic reps (``rep_bias``) enter amounts times a
   factor and close dates sooner; a won deal books its true amount. Expected
   close dates (month ends) are set at creation and pushed when overdue or, with
   probability ``slip_prob`` at each stage change, by a month.
5. **Leads** arrive with the same season; a lead converts eventually with a
   world-specific true probability (:data:`LEAD_PROCESSES`), after ``1 +
   Gamma(2, 5)`` days, so recent leads are censored: ``lead_truth = p_eventual *
   P(converted by the cut-off)``.

6. **The sales organisation**, as in the demo (:mod:`forecasting.data.synthetic.org`):
   ``team``, ``targets``, ``forecast_calls`` and ``survey``, activities topped
   up by prospecting (and with ``duration_minutes``, ``responded``,
   ``completed``); opportunities gain ``product``, ``contract_months``,
   ``cost`` and ``quantity``; 30% of deals buy again at a recent account of
   their segment (upsell or cross-sell); ``spend`` per month, source
   (marketing, sales) and segment. The reps of ``rep_bias`` who inflate amounts
   also call optimistically. The truth is in ``World.truth``.

Measured at size 1 (seeds 0-2; win rate and median days to a win of the deals
created in the first half of the window, all closed by ``END``; AUC of
``lead_truth``)::

    world              leads  conversion  AUC   deals  open  win rate     cycle days
    demo               24000  .154-.158   .83   4,700  240   .303-.315     65-72
    velocity_smb       10000  .213-.225   .68  10,500  125   .428-.479     13-14
    enterprise_whales   8000  .119-.120   .68   3,300  290   .142-.163    258-274
    hubspot_slippage    9000  .173-.180   .74   5,600  150   .289-.296     49-50
    shock_quarters     10000  .147-.149   .77   6,300  160   .241-.283     35-36
    rep_bias            8000  .173-.182   .78   5,000  255   .334-.357     76-77
    no_history         12000  .037-.042   .83   7,700  270   .074-.085     89-108
    lead_drift         10000  .147-.150   .73   5,700   68   .186-.206     25-26

Each world takes 0.2-0.7 s to generate (demo 0.5 s) and its oracle about 1 s
for 2,000 simulations (demo 2-3 s), on 2 shared cores.

The oracle knows the true state of every deal at ``as_of`` (stage, time in
stage, true amount, quality) and the realized shocks of quarters begun by then
(``shocks="drawn"``: only of quarters already over);
later quarters' shocks, the remaining stage walks and the deals not yet created
are drawn from the true process. For ``demo`` the open deals are re-simulated
with :func:`forecasting.data.demo.simulate_remaining`, and the deals not yet
created are resampled from the deals of the year before ``as_of`` (an
approximation: the demo creates deals from lead conversions).

This module holds the worlds' specifications; :mod:`.world` builds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..schema import DEFAULT_STAGES


START, END = pd.Timestamp("2022-07-01"), pd.Timestamp("2026-06-30")


SEASONS = {  # monthly factor of new deals and leads, January first
    "none": (1.0,) * 12,
    "year_end_rush": (0.9, 0.9, 1.0, 0.9, 0.9, 1.0, 0.9, 0.9, 1.0, 1.1, 1.4, 1.7),  # peak December
    "summer_dip": (1.05, 1.1, 1.15, 1.1, 1.05, 0.95, 0.6, 0.55, 1.1, 1.25, 1.1, 1.0),  # peak October
}


@dataclass(frozen=True)
class DealProcess:
    """Parameters of a world's opportunity process (module docstring, steps 1-4).

    Attributes
    ----------
    stages : tuple of str
        Open stages in funnel order.
    days : tuple of float
        Mean days in each open stage (including the one-day minimum).
    won, lost : str
        Names of the closed stages in stage history.
    win_rate : float
        Mean true win probability of a new deal.
    deals_per_month : float
        New deals a month at the start of the window (``size=1``).
    amount : tuple
        ``("lognormal", median, sigma)`` or ``("pareto", minimum, alpha)``.
    season : str
        Key of :data:`SEASONS` for new deals and leads.
    segments : dict
        Segment name -> (share, amount factor, days factor).
    n_reps : int
        Sales reps, spread over the segments.
    slip_prob : float
        Chance, at each stage change, that the expected close date is pushed a month.
    optimism : float
        Expected close date at creation: ``optimism x`` the mean cycle ahead.
    shock_prob, shock_logit : float
        Quarter-level shocks on every advance decision of the quarter.
    rep_bias : tuple
        (share of reps, amount factor, close-date factor) of optimistic reps.
    history : bool
        Whether the world exports a stage_history table.
    growth : float
        Yearly growth of the deal and lead flow.
    """

    stages: tuple[str, ...]
    days: tuple[float, ...]
    win_rate: float
    deals_per_month: float
    amount: tuple = ("lognormal", 20_000.0, 0.8)
    won: str = "Closed Won"
    lost: str = "Closed Lost"
    season: str = "none"
    segments: dict = field(default_factory=lambda: {"SMB": (0.5, 0.5, 0.8), "Mid-Market": (0.35, 1.0, 1.0),
                                                    "Enterprise": (0.15, 3.0, 1.5)})
    n_reps: int = 10
    slip_prob: float = 0.15
    optimism: float = 0.9
    shock_prob: float = 0.0
    shock_logit: float = 0.0
    rep_bias: tuple = (0.0, 1.0, 1.0)
    history: bool = True
    growth: float = 0.2


@dataclass(frozen=True)
class WorldSpec:
    description: str
    deals: DealProcess
    leads: str  # key of LEAD_PROCESSES
    n_leads: int = 8_000
    lead_rate: float = 0.15  # mean eventual conversion probability


SPECS: dict[str, WorldSpec] = {
    "velocity_smb": WorldSpec(
        "3 HubSpot-style stages, 2-week cycle, 45% win rate, small lognormal deals, no season; linear leads",
        DealProcess(stages=("New", "Demo Booked", "Contract Sent"), days=(4.0, 5.0, 6.0), won="Won", lost="Lost",
                    win_rate=0.45, deals_per_month=150.0, amount=("lognormal", 3_000.0, 0.5),
                    segments={"SMB": (0.8, 1.0, 1.0), "Mid-Market": (0.2, 2.5, 1.3)}, n_reps=8),
        leads="linear", n_leads=10_000, lead_rate=0.22),
    "enterprise_whales": WorldSpec(
        "7 Salesforce stages, 9-month cycle, 15% win rate, Pareto deal sizes with whales, year-end rush; "
        "interaction leads",
        DealProcess(stages=("Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
                            "Id. Decision Makers", "Proposal/Price Quote", "Negotiation/Review"),
                    days=(30.0, 36.0, 48.0, 48.0, 54.0, 54.0, 54.0), win_rate=0.15, deals_per_month=45.0,
                    amount=("pareto", 40_000.0, 1.3), season="year_end_rush",
                    segments={"Mid-Market": (0.4, 0.5, 0.8), "Enterprise": (0.45, 1.0, 1.0),
                              "Strategic": (0.15, 2.0, 1.3)}, n_reps=9),
        leads="interactions", n_leads=8_000, lead_rate=0.12),
    "hubspot_slippage": WorldSpec(
        "5 HubSpot stages, 2-month cycle, 30% win rate, optimistic close dates that slip, summer dip; "
        "threshold leads",
        DealProcess(stages=("Appointment Scheduled", "Qualified To Buy", "Presentation Scheduled",
                            "Decision Maker Bought-In", "Contract Sent"),
                    days=(8.0, 10.0, 14.0, 14.0, 14.0), win_rate=0.30, deals_per_month=80.0,
                    amount=("lognormal", 15_000.0, 0.7), season="summer_dip", slip_prob=0.5, optimism=0.45),
        leads="thresholds", n_leads=9_000, lead_rate=0.18),
    "shock_quarters": WorldSpec(
        "4 stages, 6-week cycle, 25% win rate, quarters where every deal's win chance drops; "
        "high-cardinality leads",
        DealProcess(stages=("Discovery", "Evaluation", "Proposal", "Commit"), days=(10.0, 12.0, 12.0, 11.0),
                    win_rate=0.25, deals_per_month=90.0, amount=("lognormal", 25_000.0, 0.8),
                    shock_prob=0.25, shock_logit=-1.0),
        leads="high_cardinality", n_leads=10_000, lead_rate=0.15),
    "rep_bias": WorldSpec(
        "5 stages, 3-month cycle, 35% win rate, 4 of 10 reps enter amounts 40% high and close dates early; "
        "leads with informative missingness",
        DealProcess(stages=("Qualify", "Meet & Present", "Propose", "Negotiate", "Closing"),
                    days=(15.0, 20.0, 20.0, 20.0, 15.0), win_rate=0.35, deals_per_month=70.0,
                    amount=("lognormal", 30_000.0, 0.9), rep_bias=(0.4, 1.4, 0.5)),
        leads="missing_informative", n_leads=8_000, lead_rate=0.18),
    "no_history": WorldSpec(
        "opportunities only (no stage history), 4 Pipedrive stages, 4-month cycle, 8% win rate; "
        "rare-conversion leads",
        DealProcess(stages=("Lead In", "Contact Made", "Proposal Made", "Negotiations Started"),
                    days=(20.0, 30.0, 35.0, 35.0), won="Won", lost="Lost", win_rate=0.08,
                    deals_per_month=110.0, amount=("lognormal", 12_000.0, 0.8), history=False),
        leads="rare", n_leads=12_000, lead_rate=0.04),
    "lead_drift": WorldSpec(
        "default stage names, 1-month cycle, 20% win rate; leads whose conversion drivers change over time",
        DealProcess(stages=DEFAULT_STAGES.open, days=(5.0, 6.0, 7.0, 6.0, 6.0), win_rate=0.20,
                    deals_per_month=80.0, amount=("lognormal", 8_000.0, 0.6)),
        leads="drift", n_leads=10_000, lead_rate=0.15),
}


WORLDS: dict[str, str] = {
    "demo": "the demo CRM (forecasting data demo): 5 default stages, 31% win rate, Q4 pull-in; rich leads",
    **{name: spec.description for name, spec in SPECS.items()},
}
