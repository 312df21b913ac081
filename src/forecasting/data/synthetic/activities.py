"""Activities of the synthetic CRMs: a first touch per lead and a few more, touches on deals while they
are open, and prospecting up to each rep's targets (:func:`.team.with_prospecting`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import DAY_NS, make_ids, text_column, to_datetime
from .company import OWNERS, REPS
from .history import open_spells, spell_touches
from .leads import first_touch
from .process import WorldProcess, rep_names
from .team import with_prospecting
from .walk import OPEN_STAGES, WON


def make_activities(rng, hidden: dict, opps: dict, tables: dict, leads: pd.DataFrame, cutoff: float,
                     prospects: tuple) -> pd.DataFrame:
    """Lead and deal touches, plus prospecting (``prospects``: rng, SalesOrg, start) up to the targets."""
    lead_parts = _lead_touches(rng, hidden)
    deal_parts = _deal_touches(rng, opps, tables, cutoff)
    when = np.concatenate([lead_parts[0], deal_parts[0]])
    keep = when < cutoff
    touches = {k: np.concatenate([a, b])[keep] for k, a, b in zip(
        ("when", "owner", "type", "lead", "deal"), lead_parts, deal_parts)}
    return _activity_table(touches, prospects, cutoff, owners=OWNERS, types=("call", "email", "meeting", "demo"),
                           lead_ids=leads["lead_id"].to_numpy(),
                           opp_ids=tables["opportunities"]["opportunity_id"].to_numpy())


def _activity_table(touches: dict, prospects: tuple, cutoff: float, *, owners, types, lead_ids, opp_ids):
    """``activities`` from lead and deal ``touches`` plus prospecting, in order of time, with ids."""
    org_rng, org, start = prospects
    touches = with_prospecting(org_rng, org, touches, start, cutoff)
    order = np.lexsort((touches["deal"], touches["lead"], touches["when"]))
    lead, deal = touches["lead"][order], touches["deal"][order]
    return pd.DataFrame({
        "activity_id": text_column(make_ids("A", len(order), 7)),
        "owner": text_column(np.asarray(owners)[touches["owner"][order]]),
        "type": text_column(np.asarray(types)[touches["type"][order]]),
        "occurred_at": to_datetime(touches["when"][order]),
        "lead_id": text_column(lead_ids[np.maximum(lead, 0)], lead < 0),
        "opportunity_id": text_column(opp_ids[np.maximum(deal, 0)], deal < 0),
    })


def _lead_touches(rng, hidden: dict):
    """First touch after the response time, then a few more within 30 days."""
    n = len(hidden["created"])
    # Leads are routed to the team of their (true) company size.
    team = np.searchsorted([200, 1000], hidden["size"], side="right")
    offsets = np.cumsum([0] + [len(t) for t in REPS.values()])
    owner = offsets[team] + (rng.random(n) * np.diff(offsets)[team]).astype(np.int64)
    first = first_touch(hidden["created"], hidden["response"])
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
    deal, stage, t0, length = open_spells(tables["_hist"], WON, cutoff)
    rep, when = spell_touches(rng, t0, length, _DEAL_TOUCH_RATE[stage])
    cdf = np.cumsum(_DEAL_TOUCH_TYPES, axis=1)[stage[rep]]
    kind = (rng.random(len(rep))[:, None] > cdf).sum(axis=1)
    demo = np.flatnonzero(stage == OPEN_STAGES.index("Demo"))
    when = np.concatenate([when, t0[demo] + rng.random(len(demo)) * np.minimum(length[demo], 3.0)])
    kind = np.concatenate([kind, np.full(len(demo), 3)])
    deal_of = np.concatenate([deal[rep], deal[demo]])
    return when, opps["owner"][deal_of], kind, np.full(len(deal_of), -1), deal_of


def world_activities(rng, leads: pd.DataFrame, hidden: dict, proc: WorldProcess, cutoff: float,
                prospects: tuple) -> pd.DataFrame:
    """A first touch per lead and more within 30 days; touches on deals while they are open; prospecting
    (``prospects``: rng, SalesOrg, start) up to each rep's share of the activity targets."""
    names = rep_names(proc.spec.n_reps)
    lead_t = leads["created_at"].to_numpy().astype("int64") / DAY_NS
    n_l = len(lead_t)
    extra = rng.poisson(1.5, n_l)
    l_idx = np.concatenate([np.arange(n_l), np.repeat(np.arange(n_l), extra)])
    l_when = np.concatenate([lead_t + np.exp(rng.normal(np.log(120), 1.5, n_l)) / 1440.0,
                             np.repeat(lead_t, extra) + rng.uniform(0.1, 30.0, extra.sum())])
    l_owner = rng.integers(0, len(names), n_l)[l_idx]
    spell_deal, _, t0, length = open_spells(hidden["hist"], len(proc.spec.stages), cutoff)
    rep, d_when = spell_touches(rng, t0, length, 0.25)
    d_deal = spell_deal[rep]
    when = np.concatenate([l_when, d_when])
    lead = np.concatenate([l_idx, np.full(len(d_when), -1)])
    deal = np.concatenate([np.full(len(l_when), -1), d_deal])
    owner = np.concatenate([l_owner, hidden["owner"][d_deal]])
    kind = rng.choice(3, size=len(when), p=[0.4, 0.45, 0.15])
    keep = when < cutoff
    touches = {"when": when[keep], "owner": owner[keep], "type": kind[keep], "lead": lead[keep], "deal": deal[keep]}
    return _activity_table(touches, prospects, cutoff, owners=names, types=("call", "email", "meeting"),
                           lead_ids=leads["lead_id"].to_numpy(), opp_ids=make_ids("O", len(hidden["status"]), 6))


DURATION_MINUTES = {"call": (4.0, 0.8), "meeting": (30.0, 0.35), "demo": (45.0, 0.3)}  # median, log sd
EMAIL_RESPONSE, HELD = 0.22, 0.85  # share of emails answered, of meetings and demos that took place


def activity_details(rng, types: pd.Series) -> dict[str, object]:
    """Per activity: ``duration_minutes`` (calls, meetings, demos; lognormal), ``responded`` (emails) and
    ``completed`` (meetings and demos: a no-show is not), each missing where it does not apply."""
    kind = types.to_numpy(dtype=object)
    n = len(kind)
    duration = np.full(n, np.nan)
    for name, (median, sd) in DURATION_MINUTES.items():
        rows = np.flatnonzero(kind == name)
        duration[rows] = np.round(np.exp(rng.normal(np.log(median), sd, len(rows))), 1)
    held = rng.random(n) < HELD
    duration[np.isin(kind, ("meeting", "demo")) & ~held] = np.nan
    answered = rng.random(n) < EMAIL_RESPONSE
    return {
        "duration_minutes": duration,
        "responded": pd.array(np.where(kind == "email", answered, None), dtype="boolean"),
        "completed": pd.array(np.where(np.isin(kind, ("meeting", "demo")), held, None), dtype="boolean"),
    }
