"""The demo's opportunities: one per converted lead plus outbound deals, their accounts, owners,
hidden quality, and the tables as the CRM shows them at the cut-off.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import make_ids, month_end, sigmoid, solve_shift, text_column, to_datetime
from .company import OWNERS, REPS, SEGMENTS, choice, sample_times
from .history import push_overdue, recorded, statuses
from .leads import COUNTRIES, INDUSTRIES
from .terms import PRODUCTS, pick_products
from .walk import OPEN_STAGES, STAGE_DAYS, STAGE_NAMES, WON, walk_stages


_SEGMENT_DEALS = {  # amount median, amount log sd, duration scale, quality offset, outbound share
    "SMB": (9_000.0, 0.6, 0.7, 0.15, 0.25),
    "Mid-Market": (40_000.0, 0.7, 1.2, 0.0, 0.40),
    "Enterprise": (160_000.0, 0.9, 2.0, -0.25, 0.35),
}


_ADVANCE = (np.array([1.0, 0.9, 1.1, 1.3, 1.8]), np.array([0.5, 0.6, 0.6, 0.5, 0.4]))  # base, slope


_TARGET_WIN = 0.31


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
        "created": np.concatenate([hidden["converted_at"][conv], sample_times(rng, start, cutoff, n_out, 1.6)]),
        "lead": np.concatenate([conv, np.full(n_out, -1)]),
        "segment": np.concatenate([seg_lead, seg_out]),
        # Lead deals inherit the lead's (standardised) true conversion logit.
        "signal": np.concatenate([(logit - logit.mean()) / (logit.std() + 1e-9) * 0.5, np.full(n_out, -0.4)]),
        "industry": np.concatenate([hidden["industry"][conv], choice(rng, INDUSTRIES, n_out)[0]]),
        "country": np.concatenate([hidden["country"][conv], choice(rng, COUNTRIES, n_out)[0]]),
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
    offsets = np.cumsum([0] + [len(t) for t in REPS.values()])
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


def make_opportunities(rng, hidden: dict, start: float, cutoff: float, n_opportunities: int | None) -> dict:
    """Deals with their accounts, owners, hidden quality and walk through the stages."""
    seeds = _deal_seeds(rng, hidden, start, cutoff, n_opportunities)
    n = len(seeds)
    account, segment, owner = _assign_accounts(rng, seeds)
    seg = np.array(list(_SEGMENT_DEALS.values()))
    product = pick_products(rng, segment)
    factor = np.array([v[0] for v in PRODUCTS.values()])[product]
    amount = np.round(np.exp(rng.normal(np.log(seg[segment, 0]), seg[segment, 1])) * factor, -2)
    skill = rng.normal(0.0, 0.3, len(OWNERS))
    quality = seeds["signal"].to_numpy() + 0.85 * rng.normal(size=n) + skill[owner] + seg[segment, 3]
    base, slope = _ADVANCE
    shift = solve_shift(lambda s: np.prod(sigmoid(base + s + slope * quality[:, None]), axis=1).mean(),
                         _TARGET_WIN)
    p_adv = sigmoid(base + shift + slope * quality[:, None])
    days_scale = seg[segment, 2] * np.exp(-0.15 * quality)
    created = seeds["created"].to_numpy()
    mean_cycle = sum(mean for _, mean in STAGE_DAYS.values())
    close0 = month_end(created + mean_cycle * days_scale * rng.uniform(0.5, 1.0, n))
    walk = walk_stages(rng, np.zeros(n, dtype=np.int64), created, np.full(n, -np.inf), p_adv, days_scale,
                 amount, close0=close0, quality=quality)
    return {"seeds": seeds, "account": account, "segment": segment, "owner": owner, "product": product,
            "quality": quality, "p_adv": p_adv, "days_scale": days_scale, "walk": walk}


def opportunity_tables(rng, opps: dict, leads: pd.DataFrame, cutoff: float, end: float) -> dict:
    """Opportunities, stage history and truth as seen at the cut-off."""
    seeds, h = opps["seeds"], opps["walk"]["history"]
    n = len(seeds)
    hist, last = recorded(h, cutoff)  # every deal has a row: its creation
    stage, close = hist["stage"][last], hist["close"][last]
    created = seeds["created"].to_numpy()
    status = statuses(stage, WON)
    close = push_overdue(rng, close, (status == "open") & (close < np.maximum(end, created)), end)
    opp_id = make_ids("O", n, 6)
    lead = seeds["lead"].to_numpy()
    lead_ids = np.where(lead >= 0, leads["lead_id"].to_numpy()[np.maximum(lead, 0)], None)
    opportunities = pd.DataFrame({
        "opportunity_id": text_column(opp_id),
        "account_id": text_column(make_ids("ACC", opps["account"].max() + 1, 5)[opps["account"]]),
        "owner": text_column(np.array(OWNERS)[opps["owner"]]),
        "segment": text_column(np.array(SEGMENTS)[opps["segment"]]),
        "product": text_column(np.array(list(PRODUCTS))[opps["product"]]),
        "source": text_column(seeds["source"].to_numpy()),
        "lead_id": text_column(lead_ids, lead < 0),
        "amount": np.round(hist["amount"][last], -2),
        "created_at": to_datetime(created),
        "stage": text_column(STAGE_NAMES[stage]),
        "close_date": to_datetime(close),
        "status": text_column(status),
    })
    stage_history = pd.DataFrame({
        "opportunity_id": text_column(opp_id[hist["deal"]]),
        "stage": text_column(STAGE_NAMES[hist["stage"]]),
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
