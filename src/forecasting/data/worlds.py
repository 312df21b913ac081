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
   up by prospecting; opportunities gain ``product``, ``contract_months``,
   ``cost`` and ``quantity``. The reps of ``rep_bias`` who inflate amounts
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
stage, true amount, quality) and the realized shocks of quarters begun by then;
later quarters' shocks, the remaining stage walks and the deals not yet created
are drawn from the true process. For ``demo`` the open deals are re-simulated
with :func:`forecasting.data.demo.simulate_remaining`, and the deals not yet
created are resampled from the deals of the year before ``as_of`` (an
approximation: the demo creates deals from lead conversions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .demo import _gamma_above, _walk, make_demo, simulate_remaining, write_demo
from .io import write_csv, write_duckdb, write_parquet, write_text
from .schema import DEFAULT_STAGES, Stages
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
    to_datetime,
    to_days,
)
from .synthetic.org import ORG_TABLES, ORG_TRUTH, org_tables
from .synthetic.team import SalesOrg, with_prospecting
from .synthetic.terms import PRODUCTS, deal_terms, pick_products

__all__ = ["WORLDS", "make_world", "write_world", "World", "DealProcess", "LEAD_PROCESSES", "START", "END"]

START, END = pd.Timestamp("2022-07-01"), pd.Timestamp("2026-06-30")
_DEFAULT_CONFIG = {"open": list(DEFAULT_STAGES.open), "won": DEFAULT_STAGES.won, "lost": DEFAULT_STAGES.lost}
_CONVERSION_LAG = 5.0  # scale (days) of the Gamma(2) lag after one day

SEASONS = {  # monthly factor of new deals and leads, January first
    "none": (1.0,) * 12,
    "year_end_rush": (0.9, 0.9, 1.0, 0.9, 0.9, 1.0, 0.9, 0.9, 1.0, 1.1, 1.4, 1.7),  # peak December
    "summer_dip": (1.05, 1.1, 1.15, 1.1, 1.05, 0.95, 0.6, 0.55, 1.1, 1.25, 1.1, 1.0),  # peak October
}


# --------------------------------------------------------------------------- world specifications


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
class _Spec:
    description: str
    deals: DealProcess
    leads: str  # key of LEAD_PROCESSES
    n_leads: int = 8_000
    lead_rate: float = 0.15  # mean eventual conversion probability


_SPECS: dict[str, _Spec] = {
    "velocity_smb": _Spec(
        "3 HubSpot-style stages, 2-week cycle, 45% win rate, small lognormal deals, no season; linear leads",
        DealProcess(stages=("New", "Demo Booked", "Contract Sent"), days=(4.0, 5.0, 6.0), won="Won", lost="Lost",
                    win_rate=0.45, deals_per_month=150.0, amount=("lognormal", 3_000.0, 0.5),
                    segments={"SMB": (0.8, 1.0, 1.0), "Mid-Market": (0.2, 2.5, 1.3)}, n_reps=8),
        leads="linear", n_leads=10_000, lead_rate=0.22),
    "enterprise_whales": _Spec(
        "7 Salesforce stages, 9-month cycle, 15% win rate, Pareto deal sizes with whales, year-end rush; "
        "interaction leads",
        DealProcess(stages=("Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
                            "Id. Decision Makers", "Proposal/Price Quote", "Negotiation/Review"),
                    days=(30.0, 36.0, 48.0, 48.0, 54.0, 54.0, 54.0), win_rate=0.15, deals_per_month=45.0,
                    amount=("pareto", 40_000.0, 1.3), season="year_end_rush",
                    segments={"Mid-Market": (0.4, 0.5, 0.8), "Enterprise": (0.45, 1.0, 1.0),
                              "Strategic": (0.15, 2.0, 1.3)}, n_reps=9),
        leads="interactions", n_leads=8_000, lead_rate=0.12),
    "hubspot_slippage": _Spec(
        "5 HubSpot stages, 2-month cycle, 30% win rate, optimistic close dates that slip, summer dip; "
        "threshold leads",
        DealProcess(stages=("Appointment Scheduled", "Qualified To Buy", "Presentation Scheduled",
                            "Decision Maker Bought-In", "Contract Sent"),
                    days=(8.0, 10.0, 14.0, 14.0, 14.0), win_rate=0.30, deals_per_month=80.0,
                    amount=("lognormal", 15_000.0, 0.7), season="summer_dip", slip_prob=0.5, optimism=0.45),
        leads="thresholds", n_leads=9_000, lead_rate=0.18),
    "shock_quarters": _Spec(
        "4 stages, 6-week cycle, 25% win rate, quarters where every deal's win chance drops; "
        "high-cardinality leads",
        DealProcess(stages=("Discovery", "Evaluation", "Proposal", "Commit"), days=(10.0, 12.0, 12.0, 11.0),
                    win_rate=0.25, deals_per_month=90.0, amount=("lognormal", 25_000.0, 0.8),
                    shock_prob=0.25, shock_logit=-1.0),
        leads="high_cardinality", n_leads=10_000, lead_rate=0.15),
    "rep_bias": _Spec(
        "5 stages, 3-month cycle, 35% win rate, 4 of 10 reps enter amounts 40% high and close dates early; "
        "leads with informative missingness",
        DealProcess(stages=("Qualify", "Meet & Present", "Propose", "Negotiate", "Closing"),
                    days=(15.0, 20.0, 20.0, 20.0, 15.0), win_rate=0.35, deals_per_month=70.0,
                    amount=("lognormal", 30_000.0, 0.9), rep_bias=(0.4, 1.4, 0.5)),
        leads="missing_informative", n_leads=8_000, lead_rate=0.18),
    "no_history": _Spec(
        "opportunities only (no stage history), 4 Pipedrive stages, 4-month cycle, 8% win rate; "
        "rare-conversion leads",
        DealProcess(stages=("Lead In", "Contact Made", "Proposal Made", "Negotiations Started"),
                    days=(20.0, 30.0, 35.0, 35.0), won="Won", lost="Lost", win_rate=0.08,
                    deals_per_month=110.0, amount=("lognormal", 12_000.0, 0.8), history=False),
        leads="rare", n_leads=12_000, lead_rate=0.04),
    "lead_drift": _Spec(
        "default stage names, 1-month cycle, 20% win rate; leads whose conversion drivers change over time",
        DealProcess(stages=DEFAULT_STAGES.open, days=(5.0, 6.0, 7.0, 6.0, 6.0), win_rate=0.20,
                    deals_per_month=80.0, amount=("lognormal", 8_000.0, 0.6)),
        leads="drift", n_leads=10_000, lead_rate=0.15),
}

WORLDS: dict[str, str] = {
    "demo": "the demo CRM (forecasting data demo): 5 default stages, 31% win rate, Q4 pull-in; rich leads",
    **{name: spec.description for name, spec in _SPECS.items()},
}


# --------------------------------------------------------------------------- lead processes
# Each takes (rng, n, when in [0, 1]) and returns (feature columns, logit without intercept).


def _zipf_levels(rng, n: int, n_levels: int, prefix: str, power: float = 1.1) -> tuple[np.ndarray, np.ndarray]:
    p = 1.0 / np.arange(1, n_levels + 1) ** power
    idx = rng.choice(n_levels, size=n, p=p / p.sum())
    return np.char.add(prefix, np.char.zfill(idx.astype(str), 4)), idx


def _pick(rng, names: tuple, n: int, p=None) -> tuple[np.ndarray, np.ndarray]:
    idx = rng.choice(len(names), size=n, p=p)
    return np.array(names)[idx], idx


_CHANNELS = ("web", "paid_search", "referral", "event", "outbound")


def _leads_linear(rng, n, when):
    """Logit linear in (transformed) features."""
    channel, ci = _pick(rng, _CHANNELS, n, [0.35, 0.2, 0.1, 0.15, 0.2])
    visits = rng.poisson(3.0, n)
    employees = np.maximum(np.round(np.exp(rng.normal(np.log(30), 1.2, n))), 1.0)
    score = rng.normal(50, 15, n)
    eta = (0.5 * np.log1p(visits) + 0.03 * (score - 50) + 0.25 * np.log10(employees)
           + np.array([0.0, -0.3, 0.8, 0.2, -0.6])[ci])
    return {"channel": channel, "web_visits": visits, "employees": employees, "fit_score": np.round(score, 1)}, eta


def _leads_interactions(rng, n, when):
    """Seniority x company size (sign flip), trial x usage, channel x region."""
    seniority, si = _pick(rng, ("ic", "manager", "director", "vp", "c_level"), n, [0.35, 0.3, 0.18, 0.1, 0.07])
    log_size = rng.normal(2.5, 0.8, n)
    trial = rng.random(n) < 0.4
    usage = rng.gamma(2.0, 2.0, n)
    region, ri = _pick(rng, ("NA", "EMEA", "APAC", "LATAM"), n, [0.45, 0.3, 0.15, 0.1])
    channel, ci = _pick(rng, _CHANNELS, n, [0.35, 0.2, 0.1, 0.15, 0.2])
    slope = np.array([0.8, 0.4, 0.0, -0.4, -0.9])[si]  # c-levels decide in small firms, ICs in large ones
    region_channel = np.array([[0.0, 0.3, 0.6, 0.2, -0.5], [0.0, -0.3, 0.9, 0.5, -0.2],
                               [0.0, 0.2, 0.2, -0.4, 0.4], [0.0, -0.5, 0.5, 0.0, -0.8]])[ri, ci]
    eta = slope * (log_size - 2.5) + np.where(trial, 0.35 * np.log1p(usage) * 2 - 0.5, 0.0) + region_channel
    return {"seniority": seniority, "company_size": np.round(10 ** log_size), "trial_user": trial,
            "product_usage": np.where(trial, np.round(usage, 2), 0.0), "region": region, "channel": channel}, eta


def _leads_thresholds(rng, n, when):
    """Steps, saturation and a U shape."""
    score = rng.uniform(0, 100, n)
    visits = rng.poisson(2.5, n)
    days_idle = rng.exponential(20.0, n)
    budget_k = np.round(np.exp(rng.normal(np.log(20), 1.0, n)), 1)
    eta = (1.2 * (score > 60) + 0.6 * (score > 85) + 0.45 * np.minimum(visits, 4)
           - 0.8 * ((np.log10(budget_k) - 1.3) ** 2) + 0.9 * np.exp(-days_idle / 7.0))
    return {"lead_score": np.round(score, 1), "web_visits": visits, "days_since_touch": np.round(days_idle, 1),
            "budget_k": budget_k}, eta


def _leads_high_cardinality(rng, n, when):
    """Most signal in a 1,500-level account domain and a 300-level campaign (long tails)."""
    domain, di = _zipf_levels(rng, n, 1500, "dom", 1.05)
    campaign, ci = _zipf_levels(rng, n, 300, "cmp", 1.2)
    title, ti = _zipf_levels(rng, n, 200, "title", 1.0)
    effects = [rng.normal(0.0, sd, k) for sd, k in ((1.0, 1500), (0.6, 300), (0.3, 200))]
    visits = rng.poisson(2.0, n)
    eta = effects[0][di] + effects[1][ci] + effects[2][ti] + 0.3 * np.log1p(visits)
    return {"account_domain": domain, "campaign": campaign, "job_title": title, "web_visits": visits}, eta


def _leads_missing_informative(rng, n, when):
    """Intent drives both the label and which fields are filled in (missing not at random)."""
    intent = rng.normal(size=n)
    revenue_m = np.round(np.exp(rng.normal(1.5, 1.2, n)), 2)
    industry, ii = _pick(rng, ("software", "finance", "health", "retail", "manufacturing", "public"), n)
    last_active = rng.exponential(10.0, n)
    active = rng.random(n) < sigmoid(0.3 + 1.2 * intent)
    phone = rng.random(n) < sigmoid(-0.2 + 1.0 * intent)
    eta = (1.0 * intent + 0.2 * np.log(revenue_m) + np.array([0.3, 0.2, 0.0, -0.2, -0.1, -0.5])[ii]
           + 0.6 * np.where(active, np.exp(-last_active / 10.0), -0.5))
    return {
        "annual_revenue_m": np.where(rng.random(n) < sigmoid(-0.8 - 0.9 * intent), np.nan, revenue_m),
        "industry": np.where(rng.random(n) < 0.25, None, industry).astype(object),
        "days_since_last_activity": np.where(active, np.round(last_active, 1), np.nan),
        "has_phone": phone,
        "form_fields_filled": rng.binomial(8, sigmoid(0.5 * intent)),
    }, eta


def _leads_rare(rng, n, when):
    """A low conversion rate: two real signals among ten noise columns."""
    signal = rng.normal(size=(n, 2))
    noise = rng.normal(size=(n, 10))
    eta = 1.3 * signal[:, 0] + 0.8 * np.maximum(signal[:, 1], 0.0)
    cols = {f"signal_{i + 1}": np.round(signal[:, i], 3) for i in range(2)}
    cols.update({f"noise_{i + 1}": np.round(noise[:, i], 3) for i in range(10)})
    return cols, eta


def _leads_drift(rng, n, when):
    """Label drift: the engagement effect goes from +1.5 to -1.0 and webinars stop working."""
    engagement = rng.normal(size=n)
    channel, ci = _pick(rng, ("web", "webinar", "referral", "outbound"), n, [0.4, 0.25, 0.15, 0.2])
    employees = np.maximum(np.round(np.exp(rng.normal(np.log(50), 1.0, n))), 1.0)
    webinar = np.where(when < 0.5, 1.0, -0.8) * (ci == 1)
    eta = ((1.5 - 2.5 * when) * engagement + webinar + np.array([0.0, 0.0, 0.7, -0.5])[ci]
           + 0.2 * np.log10(employees))
    return {"engagement": np.round(engagement, 3), "channel": channel, "employees": employees}, eta


LEAD_PROCESSES: dict[str, Callable] = {
    "linear": _leads_linear,
    "interactions": _leads_interactions,
    "thresholds": _leads_thresholds,
    "high_cardinality": _leads_high_cardinality,
    "missing_informative": _leads_missing_informative,
    "rare": _leads_rare,
    "drift": _leads_drift,
}


# --------------------------------------------------------------------------- the world object


@dataclass(eq=False)  # tables are frames: compare worlds by their tables, not with ==
class World:
    """A generated CRM with its stages and its truth.

    Attributes
    ----------
    name : str
    tables : dict of str to DataFrame
        Canonical tables keyed by kind: ``leads``, ``opportunities``,
        ``stage_history`` (absent when the world has none), ``activities``,
        ``revenue``, ``team``, ``forecast_calls``, ``targets``, ``survey``.
    stages : Stages
    lead_truth : Series or None
        True probability that each lead's ``converted`` is 1, indexed like
        ``tables["leads"]``.
    properties : dict
        The world's documented properties (win rate, cycle days, peak month...).
    truth : dict of str to DataFrame
        The truth behind the sales organisation's tables: ``call_truth``
        (each rep's forecast-call ``behaviour``, ``bias``, ``noise_sd``) and
        ``activity_truth`` (each rep's ``effort``: expected activity attainment).
    """

    name: str
    tables: dict[str, pd.DataFrame]
    stages: Stages
    lead_truth: pd.Series | None
    properties: dict
    _oracle: Callable | None = field(default=None, repr=False)
    truth: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def oracle(self, as_of, period, n_sims: int = 2000, seed: int = 0) -> np.ndarray | None:
        """Draws of the revenue won in ``period`` from the true process, seen at the end of ``as_of``.

        Parameters
        ----------
        as_of : str or Timestamp
            Everything that happened by the end of this day is known (won
            deals count as they are); the rest is simulated.
        period : str or Period
            ``"2026Q3"``, ``"2026-07"``...
        n_sims : int
        seed : int

        Returns
        -------
        ndarray of shape (n_sims,) or None
            Won amount in the period per simulation (None if the world has no oracle).
        """
        if self._oracle is None:
            return None
        p = period if isinstance(period, pd.Period) else pd.Period(str(period))
        begin = to_days(p.start_time.normalize())
        end = to_days(p.end_time.normalize()) + 1.0
        cutoff = to_days(pd.Timestamp(as_of).normalize()) + 1.0
        return self._oracle(cutoff, begin, end, int(n_sims), np.random.default_rng(seed))

    def write(self, path) -> Path:
        """Write the tables (plus ``lead_truth``, the other truth tables and ``world_meta``) to one DuckDB file,
        atomically."""
        extra = {**self.truth, "world_meta": pd.DataFrame({"world": [self.name], "stages": [repr(self.stages.to_config())],
                                             **{k: [str(v)] for k, v in self.properties.items()}})}
        if self.lead_truth is not None:
            extra["lead_truth"] = pd.DataFrame({"lead_id": self.tables["leads"]["lead_id"],
                                                "p_true": self.lead_truth.to_numpy()})
        return write_duckdb({**self.tables, **extra}, path)


def make_world(name: str, seed: int = 0, *, size: float = 1.0) -> World:
    """Generate world ``name`` (a key of :data:`WORLDS`).

    Parameters
    ----------
    name : str
    seed : int
        Same seed, identical tables.
    size : float
        Scales the number of leads and the deal flow (1.0: a few thousand deals).

    Returns
    -------
    World
    """
    if name not in WORLDS:
        raise ValueError(f"unknown world {name!r}; choose from {', '.join(WORLDS)}")
    if not size > 0:
        raise ValueError(f"size must be positive; got {size}")
    if name == "demo":
        return _demo_world(seed, size)
    return _generate(name, _SPECS[name], seed, size)


def write_world(out_dir, name: str = "demo", seed: int = 0, *, size: float = 1.0,
                formats=("duckdb",)) -> tuple[Path, Path | None]:
    """Generate world ``name`` and write it to ``out_dir/crm.duckdb`` (plus CSV / Parquet).

    ``demo`` at size 1 is exactly :func:`forecasting.data.demo.write_demo`. A
    world whose stages are not the default ones also gets ``crm.stages.yaml``,
    to pass as ``--stages`` to the pipeline commands.

    Returns
    -------
    (Path, Path or None)
        The DuckDB file and the stages YAML (None for the default stages).
    """
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    unknown = sorted(set(formats) - {"duckdb", "csv", "parquet"})
    if unknown:
        raise ValueError(f"unknown formats {unknown}; choose from duckdb, csv, parquet")
    out = Path(out_dir)
    if name == "demo":
        kwargs = {} if size == 1.0 else {"n_leads": max(int(round(24_000 * size)), 200)}
        return write_demo(out, seed=seed, formats=formats, **kwargs), None
    world = make_world(name, seed, size=size)
    out.mkdir(parents=True, exist_ok=True)
    path = world.write(out / "crm.duckdb")
    for table, frame in world.tables.items():
        if "csv" in formats:
            write_csv(frame, out / f"{table}.csv")
        if "parquet" in formats:
            write_parquet(frame, out / f"{table}.parquet")
    if world.stages == DEFAULT_STAGES:
        return path, None
    import yaml

    return path, write_text(out / "crm.stages.yaml", yaml.safe_dump(world.stages.to_config(), sort_keys=False))


# --------------------------------------------------------------------------- generation


def _season_weights(days: np.ndarray, start: float, season: str, growth: float) -> np.ndarray:
    """Daily intensity shape: yearly growth x month season x weekday."""
    d = days.astype("int64")
    month = d.astype("datetime64[D]").astype("datetime64[M]").astype("int64") % 12
    weekday = (d + 3) % 7  # 1970-01-01 was a Thursday
    return (1 + growth) ** ((days - start) / 365.25) * np.asarray(SEASONS[season])[month] * _WEEKDAY[weekday]


def _arrivals(rng, start: float, stop: float, per_day: float, season: str, growth: float,
              origin: float, n_sims: int = 0):
    """Poisson arrival times in ``[start, stop)``; with ``n_sims`` also the simulation of each."""
    day = np.arange(np.floor(start), np.ceil(stop))
    if not len(day):
        return (np.empty(0), np.empty(0, dtype=np.int64)) if n_sims else np.empty(0)
    lam = per_day * _season_weights(day, origin, season, growth) / _WEEKDAY.mean()
    counts = rng.poisson(lam, size=(max(n_sims, 1), len(day)))
    sim, which = np.nonzero(counts)
    reps = counts[sim, which]
    t = np.repeat(day[which], reps) + np.clip(rng.normal(0.55, 0.12, reps.sum()), 0.0, 0.999)
    keep = (t >= start) & (t < stop)
    if n_sims:
        return t[keep], np.repeat(sim, reps)[keep]
    return np.sort(t[keep])


def _quarter_index(days: np.ndarray) -> np.ndarray:
    return month_index(days) // 3


class _Process:
    """The true deal process of one world: draws deals and walks them through the stages."""

    def __init__(self, spec: DealProcess, rng, size: float, start: float, end: float):
        self.spec, self.size, self.start, self.end = spec, size, start, end
        k = len(spec.stages)
        self.base = np.linspace(0.4, 1.8, k) if k > 1 else np.array([1.0])
        seg = spec.segments
        self.seg_share = np.array([v[0] for v in seg.values()]) / sum(v[0] for v in seg.values())
        self.seg_amount = np.array([v[1] for v in seg.values()])
        self.seg_days = np.array([v[2] for v in seg.values()])
        n_seg = len(seg)
        self.rep_segment = np.arange(spec.n_reps) % n_seg
        self.skill = rng.normal(0.0, 0.3, spec.n_reps)
        n_biased = int(round(spec.rep_bias[0] * spec.n_reps))
        self.biased = np.zeros(spec.n_reps, dtype=bool)
        self.biased[rng.choice(spec.n_reps, n_biased, replace=False)] = True
        q = rng.normal(size=20_000) + rng.choice(self.skill, 20_000)
        # Shocks count in the mean as if all of a deal's decisions fell in one quarter.
        q = q + np.where(rng.random(20_000) < spec.shock_prob, spec.shock_logit, 0.0) / 0.5
        self.shift = solve_shift(lambda s: np.prod(sigmoid(self.base + s + 0.5 * q[:, None]), axis=1).mean(),
                                  spec.win_rate)
        # Realized quarter shocks over the window and beyond (the oracle redraws the future ones).
        self.q0 = int(_quarter_index(np.array([start]))[0])
        n_q = int(_quarter_index(np.array([end + 3 * 365.0]))[0]) - self.q0 + 1
        self.shocks = self._draw_shocks(rng, n_q)
        in_window = int(_quarter_index(np.array([end]))[0]) - self.q0 + 1
        if spec.shock_prob > 0 and not self.shocks[:in_window].any():
            self.shocks[rng.integers(0, in_window)] = spec.shock_logit
        self.per_day = spec.deals_per_month * size * 12 / 365.25

    def _draw_shocks(self, rng, n_q: int, n_sims: int | None = None) -> np.ndarray:
        shape = (n_q,) if n_sims is None else (n_sims, n_q)
        return np.where(rng.random(shape) < self.spec.shock_prob, self.spec.shock_logit, 0.0)

    def new_deals(self, rng, created: np.ndarray) -> dict:
        """Attributes of deals created at ``created``."""
        n, spec = len(created), self.spec
        segment = rng.choice(len(self.seg_share), size=n, p=self.seg_share)
        reps_of = [np.flatnonzero(self.rep_segment == s) for s in range(len(self.seg_share))]
        owner = np.empty(n, dtype=np.int64)
        for s, reps in enumerate(reps_of):
            rows = segment == s
            owner[rows] = rng.choice(reps, rows.sum())
        quality = rng.normal(size=n) + self.skill[owner]
        kind, a, b = spec.amount
        if kind == "pareto":  # a minimum, b tail index: a few whales; capped at 200x the minimum
            raw = a * np.minimum(rng.random(n) ** (-1.0 / b), 200.0)
        else:
            raw = np.exp(rng.normal(np.log(a), b, n))
        amount = np.maximum(np.round(raw * self.seg_amount[segment], -2), 100.0)
        scale = self.seg_days[segment] * np.exp(-0.15 * quality)
        return {"created": created, "segment": segment, "owner": owner, "quality": quality,
                "amount": amount, "scale": scale}

    def walk(self, rng, deals: dict, pos, entry, not_before, shocks, sim=None, track=False) -> dict:
        """Run deals from open stage ``pos`` (entered at ``entry``, still there at ``not_before``) to the end."""
        spec = self.spec
        k_last = len(spec.stages) - 1
        won, lost = k_last + 1, k_last + 2
        pos, t, nb = pos.copy(), entry.astype(float).copy(), not_before.astype(float).copy()
        rows = [(np.arange(len(pos)), pos.copy(), t.copy())] if track else []
        for k in range(len(spec.stages)):
            idx = np.flatnonzero(pos == k)
            if not len(idx):
                continue
            theta = (spec.days[k] - 1.0) / 2.0 * deals["scale"][idx]
            t[idx] = t[idx] + 1.0 + _gamma_above(rng, 2.0, theta, nb[idx] - t[idx] - 1.0)
            nb[idx] = -np.inf
            q = np.clip(_quarter_index(t[idx]) - self.q0, 0, shocks.shape[-1] - 1)
            shock = shocks[q] if sim is None else shocks[sim[idx], q]
            p = sigmoid(self.base[k] + self.shift + 0.5 * deals["quality"][idx] + shock)
            adv = rng.random(len(idx)) < p
            pos[idx] = np.where(adv, won if k == k_last else k + 1, lost)
            if track:
                rows.append((idx, pos[idx], t[idx]))
        out = {"stage": pos, "time": t}
        if track:
            out["history"] = {name: np.concatenate([r[i] for r in rows])
                              for i, name in enumerate(("deal", "stage", "time"))}
        return out


def _generate(name: str, spec: _Spec, seed: int, size: float) -> World:
    # Streams 0-5 make the deal, lead and revenue tables; stream 6 the deal terms and the sales organisation.
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, _name_key(name)]).spawn(7)]
    start, end = to_days(START), to_days(END)
    cutoff = end + 1.0
    proc = _Process(spec.deals, rngs[0], size, start, end)
    created = _arrivals(rngs[1], start, cutoff, proc.per_day, spec.deals.season, spec.deals.growth, start)
    deals = proc.new_deals(rngs[1], created)
    n = len(created)
    walk = proc.walk(rngs[2], deals, np.zeros(n, dtype=np.int64), created, np.full(n, -np.inf),
                     proc.shocks, track=True)
    leads, lead_truth = _make_leads(rngs[3], spec, size, start, cutoff)
    tables, hidden = _deal_tables(rngs[4], proc, deals, walk, cutoff, end)
    _add_terms(rngs[6], tables["opportunities"], deals["segment"])
    org = SalesOrg.draw(rngs[6], _rep_names(spec.deals.n_reps), proc.rep_segment, tuple(spec.deals.segments))
    tables["activities"] = _activities(rngs[5], leads, hidden, proc, cutoff, (rngs[6], org, start))
    tables["revenue"] = _revenue(rngs[5], hidden, proc, start, end)
    eventual = {"owner": deals["owner"], "created": deals["created"], "closed": walk["time"],
                "won": walk["stage"] == len(spec.deals.stages), "amount": deals["amount"]}
    optimists = proc.biased if proc.biased.any() else None
    org_part = org_tables(rngs[6], org, deals=eventual, customers=_customers(tables["opportunities"]),
                          start=start, end=end, optimists=optimists)
    tables = {"leads": leads, **tables, **{k: org_part[k] for k in ORG_TABLES}}
    if not spec.deals.history:
        del tables["stage_history"]
    config = {"open": list(spec.deals.stages), "won": spec.deals.won, "lost": spec.deals.lost}
    stages = DEFAULT_STAGES if config == _DEFAULT_CONFIG else Stages.from_config(config)
    properties = _properties(spec, proc)
    oracle = _generated_oracle(proc, deals, walk)
    order = ["leads", "opportunities", "stage_history", "activities", "revenue", *ORG_TABLES]
    return World(name, {k: tables[k] for k in order if k in tables}, stages, lead_truth, properties, oracle,
                 {k: org_part[k] for k in ORG_TRUTH})


def _add_terms(rng, opportunities: pd.DataFrame, segment: np.ndarray) -> None:
    """Product (by the segment's mix), contract length, cost and units of every deal, in place."""
    product = pick_products(rng, segment)
    opportunities["product"] = text_column(np.array(list(PRODUCTS))[product])
    for column, values in deal_terms(rng, segment, product, opportunities["amount"].to_numpy()).items():
        opportunities[column] = values


def _customers(opportunities: pd.DataFrame) -> dict:
    """Accounts with a won deal, from their first win; the worlds' customers do not churn."""
    won = opportunities[opportunities["status"] == "won"]
    since = won.groupby("account_id")["close_date"].min()
    days = since.to_numpy().astype("datetime64[ns]").astype("int64") / _DAY_NS
    return {"account": since.index.to_numpy(), "since": days, "churned": np.full(len(since), np.nan)}


def _name_key(name: str) -> int:
    """A stable integer per world name, so worlds with the same seed differ."""
    import zlib

    return zlib.crc32(name.encode())


def _properties(spec: _Spec, proc: _Process) -> dict:
    d = spec.deals
    season = np.asarray(SEASONS[d.season])
    last_quarter = int(_quarter_index(np.array([proc.end]))[0]) - proc.q0
    return {
        "win_rate": d.win_rate,
        "cycle_days": float(sum(d.days)),  # mean stage days of a won deal at scale 1
        "n_stages": len(d.stages),
        "peak_month": int(np.argmax(season)) + 1 if season.std() > 0 else None,
        "season": d.season,
        "amount": d.amount,
        "slip_prob": d.slip_prob,
        "shock_quarters": [str(pd.Period(ordinal=int(proc.q0 + i), freq="Q"))
                           for i in np.flatnonzero(proc.shocks[:last_quarter + 1])],
        "biased_reps": int(proc.biased.sum()),
        "biased_owners": sorted(_rep_names(d.n_reps)[proc.biased]),
        "history": d.history,
        "lead_process": spec.leads,
        "lead_rate": spec.lead_rate,
    }


_FIRST = ("Ava", "Liam", "Sofia", "Noah", "Mia", "Ethan", "Olivia", "Lucas", "Emma", "Mateo", "Isabella", "James",
          "Zoe", "Omar", "Hana", "Diego")
_LAST = ("Chen", "Patel", "Garcia", "Kim", "Johnson", "Brown", "Rossi", "Martin", "Nguyen", "Silva", "Cohen",
         "Okafor", "Berg", "Haddad", "Sato", "Lopez")


def _rep_names(n: int) -> np.ndarray:
    return np.array([f"{_FIRST[i % 16]} {_LAST[(i * 7 + 3) % 16]}" for i in range(n)])


def _deal_tables(rng, proc: _Process, deals: dict, walk: dict, cutoff: float, end: float):
    """Opportunities and stage history as recorded in the CRM at the cut-off."""
    spec, k = proc.spec, len(proc.spec.stages)
    h = walk["history"]
    keep = h["time"] < cutoff
    order = np.lexsort((h["stage"][keep], h["time"][keep], h["deal"][keep]))
    hist = {key: v[keep][order] for key, v in h.items()}
    deal, stage = hist["deal"], hist["stage"]
    bias = proc.biased[deals["owner"]]
    recorded = np.where(bias, np.round(deals["amount"] * spec.rep_bias[1], -2), deals["amount"])
    amount = np.where(stage == k, deals["amount"][deal], recorded[deal])  # a win books the true amount
    close = _expected_close(rng, proc, deals, hist, bias)
    last = np.r_[deal[1:] != deal[:-1], True]
    status = np.select([stage[last] == k, stage[last] == k + 1], ["won", "lost"], "open")
    names = np.array(list(spec.stages) + [spec.won, spec.lost])
    created = deals["created"]
    close_now = close[last].copy()
    overdue = (status == "open") & (close_now < end)
    close_now[overdue] = month_end(end + rng.uniform(5.0, 40.0, overdue.sum()))
    n = len(created)
    opp_id = make_ids("O", n, 6)
    account = rng.integers(0, max(n // 2, 1), n)  # about two deals per account
    seg_names = np.array(list(spec.segments))
    opportunities = pd.DataFrame({
        "opportunity_id": text_column(opp_id),
        "account_id": text_column(make_ids("ACC", max(n // 2, 1), 5)[account]),
        "owner": text_column(_rep_names(spec.n_reps)[deals["owner"]]),
        "segment": text_column(seg_names[deals["segment"]]),
        "amount": amount[last].astype(float),
        "created_at": to_datetime(created),
        "stage": text_column(names[stage[last]]),
        "close_date": to_datetime(close_now),
        "status": text_column(status),
    })
    stage_history = pd.DataFrame({
        "opportunity_id": text_column(opp_id[deal]),
        "stage": text_column(names[stage]),
        "entered_at": to_datetime(hist["time"]),
        "amount": amount.astype(float),
        "close_date": to_datetime(close),
    })
    hidden = {"status": status, "close": hist["time"][last], "segment": deals["segment"],
              "true_amount": deals["amount"], "owner": deals["owner"], "hist": hist}
    return {"opportunities": opportunities, "stage_history": stage_history}, hidden


def _expected_close(rng, proc: _Process, deals: dict, hist: dict, bias: np.ndarray) -> np.ndarray:
    """Expected close date (a month end) on each history row: set at creation, pushed when overdue or slipping."""
    spec, k = proc.spec, len(proc.spec.stages)
    days = np.asarray(spec.days)
    ahead = np.r_[np.cumsum(days[::-1])[::-1], 0.0, 0.0]  # mean days left from each stage
    deal, stage, t = hist["deal"], hist["stage"], hist["time"]
    factor = spec.optimism * np.where(bias, spec.rep_bias[2], 1.0)[deal] * deals["scale"][deal]
    fresh = month_end(t + np.maximum(ahead[stage] * factor * rng.uniform(0.6, 1.1, len(t)), 1.0))
    slip = rng.random(len(t)) < spec.slip_prob
    close = np.floor(t)  # closing rows: the day of the close
    # Rows are sorted by deal then time and stages only move forward, so the row
    # before a stage-j row (j > 0) is the same deal's previous stage.
    for j in range(k):
        rows = np.flatnonzero(stage == j)
        if j == 0:
            close[rows] = fresh[rows]
            continue
        before = close[rows - 1]
        pushed = np.where(slip[rows], month_end(before + 20.0), before)
        close[rows] = np.where(before < t[rows] + 3.0, fresh[rows], pushed)
    return close


def _make_leads(rng, spec: _Spec, size: float, start: float, cutoff: float):
    n = max(int(round(spec.n_leads * size)), 200)
    day = np.arange(np.floor(start), np.floor(cutoff))
    per_day = n / (_season_weights(day, start, spec.deals.season, spec.deals.growth) / _WEEKDAY.mean()).sum()
    created = _arrivals(rng, start, cutoff, per_day, spec.deals.season, spec.deals.growth, start)
    n = len(created)
    cols, eta = LEAD_PROCESSES[spec.leads](rng, n, (created - start) / (cutoff - start))
    b0 = solve_shift(lambda b: sigmoid(b + eta).mean(), spec.lead_rate)
    p_eventual = sigmoid(b0 + eta)
    lag = 1.0 + rng.gamma(2.0, _CONVERSION_LAG, n)
    converted = (rng.random(n) < p_eventual) & (created + lag < cutoff)
    x = np.maximum(cutoff - created - 1.0, 0.0) / _CONVERSION_LAG
    p_true = p_eventual * (1.0 - np.exp(-x) * (1.0 + x))  # Gamma(2) CDF in closed form
    frame = {"lead_id": text_column(make_ids("L", n, 6)), "created_at": to_datetime(created)}
    for c, v in cols.items():
        v = np.asarray(v)
        frame[c] = text_column(v) if v.dtype.kind in "OUS" else v
    frame["converted"] = converted.astype("int64")
    frame["converted_at"] = to_datetime(np.where(converted, created + lag, np.nan))
    leads = pd.DataFrame(frame)
    return leads, pd.Series(p_true, index=leads.index, name="p_true")


def _activities(rng, leads: pd.DataFrame, hidden: dict, proc: _Process, cutoff: float,
                prospects: tuple) -> pd.DataFrame:
    """A first touch per lead and more within 30 days; touches on deals while they are open; prospecting
    (``prospects``: rng, SalesOrg, start) up to each rep's share of the activity targets."""
    names = _rep_names(proc.spec.n_reps)
    lead_t = leads["created_at"].to_numpy().astype("int64") / _DAY_NS
    n_l = len(lead_t)
    extra = rng.poisson(1.5, n_l)
    l_idx = np.concatenate([np.arange(n_l), np.repeat(np.arange(n_l), extra)])
    l_when = np.concatenate([lead_t + np.exp(rng.normal(np.log(120), 1.5, n_l)) / 1440.0,
                             np.repeat(lead_t, extra) + rng.uniform(0.1, 30.0, extra.sum())])
    l_owner = rng.integers(0, len(names), n_l)[l_idx]
    hist = hidden["hist"]
    k = len(proc.spec.stages)
    spell_end = np.r_[hist["time"][1:], cutoff]
    same = np.r_[hist["deal"][1:] == hist["deal"][:-1], False]
    spell_end = np.where(same, spell_end, cutoff)
    open_ = hist["stage"] < k
    t0, length = hist["time"][open_], (np.minimum(spell_end, cutoff) - hist["time"])[open_]
    count = rng.poisson(0.25 * length)
    rep = np.repeat(np.arange(len(t0)), count)
    d_when = t0[rep] + rng.random(len(rep)) * length[rep]
    d_deal = hist["deal"][open_][rep]
    when = np.concatenate([l_when, d_when])
    lead = np.concatenate([l_idx, np.full(len(d_when), -1)])
    deal = np.concatenate([np.full(len(l_when), -1), d_deal])
    owner = np.concatenate([l_owner, hidden["owner"][d_deal]])
    kind = rng.choice(3, size=len(when), p=[0.4, 0.45, 0.15])
    keep = when < cutoff
    touches = {"when": when[keep], "owner": owner[keep], "type": kind[keep], "lead": lead[keep], "deal": deal[keep]}
    org_rng, org, start = prospects
    touches = with_prospecting(org_rng, org, touches, start, cutoff)
    order = np.lexsort((touches["deal"], touches["lead"], touches["when"]))
    when, lead, deal, owner, kind = (touches[k][order] for k in ("when", "lead", "deal", "owner", "type"))
    opp_ids = make_ids("O", len(hidden["status"]), 6)
    lead_ids = leads["lead_id"].to_numpy()
    return pd.DataFrame({
        "activity_id": text_column(make_ids("A", len(when), 7)),
        "owner": text_column(names[owner]),
        "type": text_column(np.array(["call", "email", "meeting"])[kind]),
        "occurred_at": to_datetime(when),
        "lead_id": text_column(lead_ids[np.maximum(lead, 0)], lead < 0),
        "opportunity_id": text_column(opp_ids[np.maximum(deal, 0)], deal < 0),
    })


def _revenue(rng, hidden: dict, proc: _Process, start: float, end: float) -> pd.DataFrame:
    """Monthly revenue per segment: a base plus 1/12 of each won deal for the 12 months after its close."""
    months = np.arange(month_index(np.array([start]))[0], month_index(np.array([end]))[0] + 1)
    n_m, n_s = len(months), len(proc.seg_share)
    won = np.flatnonzero(hidden["status"] == "won")
    begin = np.clip(month_index(hidden["close"][won]) + 1 - months[0], 0, n_m)
    mrr = np.zeros((n_s, n_m + 13))
    seg = hidden["segment"][won]
    monthly = hidden["true_amount"][won] / 12.0
    np.add.at(mrr, (seg, begin), monthly)
    np.add.at(mrr, (seg, begin + 12), -monthly)
    mrr = np.cumsum(mrr, axis=1)[:, :n_m]
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


# --------------------------------------------------------------------------- oracles


def _generated_oracle(proc: _Process, deals: dict, walk: dict) -> Callable:
    h = walk["history"]
    order = np.lexsort((h["stage"], h["time"], h["deal"]))
    hist = {key: v[order] for key, v in h.items()}
    k = len(proc.spec.stages)

    def oracle(cutoff: float, begin: float, end: float, n_sims: int, rng) -> np.ndarray:
        state_at = min(cutoff, proc.end + 1.0)  # the world's deals exist up to its own cut-off
        seen = hist["time"] < state_at
        deal, stage, t = hist["deal"][seen], hist["stage"][seen], hist["time"][seen]
        last = np.r_[deal[1:] != deal[:-1], True]
        deal, stage, t = deal[last], stage[last], t[last]
        won_known = (stage == k) & _in_period(t, begin, end)
        known = deals["amount"][deal[won_known]].sum()
        if state_at >= end:
            return np.full(n_sims, known)
        future = proc._draw_shocks(rng, len(proc.shocks), n_sims)
        q_now = int(_quarter_index(np.array([state_at - 1.0]))[0]) - proc.q0
        future[:, : q_now + 1] = proc.shocks[: q_now + 1]  # quarters begun by then are realized
        open_ = np.flatnonzero(stage < k)
        sim_open = np.repeat(np.arange(n_sims), len(open_))
        rows_open = np.tile(deal[open_], n_sims)
        pos = np.tile(stage[open_], n_sims)
        entry = np.tile(t[open_], n_sims)
        sub = {key: deals[key][rows_open] for key in ("quality", "scale", "amount")}
        out = proc.walk(rng, sub, pos, entry, np.full(len(pos), state_at), future, sim=sim_open)
        total = np.full(n_sims, known)
        hit = (out["stage"] == k) & _in_period(out["time"], begin, end)
        np.add.at(total, sim_open[hit], sub["amount"][hit])
        created, sim_new = _arrivals(rng, state_at, end, proc.per_day, proc.spec.season, proc.spec.growth,
                                     proc.start, n_sims=n_sims)
        if len(created):
            new = proc.new_deals(rng, created)
            n = len(created)
            out = proc.walk(rng, new, np.zeros(n, dtype=np.int64), created, np.full(n, -np.inf), future,
                            sim=sim_new)
            hit = (out["stage"] == k) & _in_period(out["time"], begin, end)
            np.add.at(total, sim_new[hit], new["amount"][hit])
        return total

    return oracle


def _demo_world(seed: int, size: float) -> World:
    tables = make_demo(seed=seed, n_leads=max(int(round(24_000 * size)), 200))
    leads = tables["leads"]
    truth = pd.Series(tables["lead_truth"]["p_true"].to_numpy(), index=leads.index, name="p_true")
    kept = {k: tables[k] for k in ("leads", "opportunities", "stage_history", "activities", "revenue", *ORG_TABLES)}
    properties = {"win_rate": 0.31, "cycle_days": 88.0, "n_stages": 5, "peak_month": None, "season": "demo",
                  "history": True, "lead_process": "demo", "lead_rate": 0.16}
    return World("demo", kept, DEFAULT_STAGES, truth, properties, _demo_oracle(tables),
                 {k: tables[k] for k in ORG_TRUTH})


def _demo_oracle(tables: dict) -> Callable:
    """Open deals re-simulated with the demo's true process; new deals resampled from the year before."""
    opps, history, truth = tables["opportunities"], tables["stage_history"], tables["opportunity_truth"]
    created_d = opps["created_at"].to_numpy().astype("int64") / _DAY_NS
    end_d = history["entered_at"].max().value / _DAY_NS
    h_time = history["entered_at"].to_numpy().astype("int64") / _DAY_NS
    closed = set(DEFAULT_STAGES.closed)
    first_amount = history.groupby("opportunity_id", sort=False)["amount"].first()
    first_amount = first_amount.loc[opps["opportunity_id"]].to_numpy()  # amount at creation, deal by deal

    def oracle(cutoff: float, begin: float, end: float, n_sims: int, rng) -> np.ndarray:
        state_at = min(cutoff, np.floor(end_d) + 1.0)
        seen = history[h_time < state_at]
        last = seen.groupby("opportunity_id", sort=False).tail(1)
        close_d = last["entered_at"].to_numpy().astype("int64") / _DAY_NS
        won = (last["stage"] == DEFAULT_STAGES.won).to_numpy() & _in_period(close_d, begin, end)
        known = float(last.loc[won, "amount"].sum())
        if state_at >= end:
            return np.full(n_sims, known)
        total = np.full(n_sims, known)
        open_ = last[~last["stage"].isin(closed)]
        if len(open_):
            t = truth.set_index("opportunity_id").loc[open_["opportunity_id"]].reset_index()
            paths = simulate_remaining(t, open_["stage"].to_numpy(), _stamp(state_at), rng,
                                       entered_at=open_["entered_at"].to_numpy(), amount=open_["amount"].to_numpy(),
                                       n_sims=n_sims)
            total += _won_per_sim(paths, begin, end, n_sims)
        # Deals not yet created: the deals of the year before, resampled at their rate (Poisson).
        recent = np.flatnonzero((created_d >= state_at - 365.0) & (created_d < state_at))
        if len(recent):
            span = end - state_at
            growth = 1.3 ** ((182.6 + span / 2) / 365.25)  # the demo's yearly growth, from the year's middle
            counts = rng.poisson(len(recent) * span / 365.25 * growth, n_sims)
            pick = rng.choice(recent, counts.sum())
            sim = np.repeat(np.arange(n_sims), counts)
            start_t = state_at + rng.random(len(pick)) * span
            first = truth.iloc[pick].reset_index(drop=True)
            paths = _simulate_from_creation(first, start_t, first_amount[pick], rng)
            hit = paths["won"] & _in_period(paths["time"], begin, end)
            np.add.at(total, sim[hit], paths["amount"][hit])
        return total

    return oracle


def _in_period(t: np.ndarray, begin: float, end: float) -> np.ndarray:
    """Whether times (float days) fall on a day of ``[begin, end)``."""
    day = np.floor(t)
    return (day >= begin) & (day < end)


def _stamp(days: float) -> pd.Timestamp:
    return pd.Timestamp(int(round(days * _DAY_NS)))


def _won_per_sim(paths: pd.DataFrame, begin: float, end: float, n_sims: int) -> np.ndarray:
    t = paths["closed_at"].to_numpy().astype("int64") / _DAY_NS
    hit = (paths["status"] == "won").to_numpy() & _in_period(t, begin, end)
    return np.bincount(paths["sim"].to_numpy()[hit], weights=paths["amount"].to_numpy()[hit], minlength=n_sims)


def _simulate_from_creation(truth: pd.DataFrame, created: np.ndarray, amount: np.ndarray, rng) -> dict:
    """Walk new demo deals from Prospecting at ``created`` with the demo's true process."""
    p_adv = truth[[f"p_advance_{s.lower()}" for s in DEFAULT_STAGES.open]].to_numpy(dtype=float)
    n = len(created)
    out = _walk(rng, np.zeros(n, dtype=np.int64), created, np.full(n, -np.inf), p_adv,
                truth["days_scale"].to_numpy(dtype=float), amount)
    return {"won": out["stage"] == len(DEFAULT_STAGES.open), "time": out["time"], "amount": out["amount"]}
