"""Oracles: draws of the revenue won in a period from the true process, given the state at a date.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..schema import DEFAULT_STAGES
from .common import DAY_NS
from .history import recorded
from .process import WorldProcess, arrivals, quarter_index
from .walk import simulate_remaining, walk_stages


def generated_oracle(proc: WorldProcess, deals: dict, walk: dict) -> Callable:
    k = len(proc.spec.stages)

    def oracle(cutoff: float, begin: float, end: float, n_sims: int, rng, shocks: str = "realized") -> np.ndarray:
        state_at = min(cutoff, proc.end + 1.0)  # the world's deals exist up to its own cut-off
        hist, last = recorded(walk["history"], state_at)
        deal, stage, t = hist["deal"][last], hist["stage"][last], hist["time"][last]
        won_known = (stage == k) & in_period(t, begin, end)
        known = deals["amount"][deal[won_known]].sum()
        if state_at >= end:
            return np.full(n_sims, known)
        future = proc._draw_shocks(rng, len(proc.shocks), n_sims)
        q_now = int(quarter_index(np.array([state_at - 1.0]))[0]) - proc.q0
        # "realized": quarters begun by then are known; "drawn": only quarters already over are.
        n_known = q_now + 1 if shocks == "realized" else int(quarter_index(np.array([state_at]))[0]) - proc.q0
        future[:, :n_known] = proc.shocks[:n_known]
        open_ = np.flatnonzero(stage < k)
        sim_open = np.repeat(np.arange(n_sims), len(open_))
        rows_open = np.tile(deal[open_], n_sims)
        pos = np.tile(stage[open_], n_sims)
        entry = np.tile(t[open_], n_sims)
        sub = {key: deals[key][rows_open] for key in ("quality", "scale", "amount")}
        out = proc.walk(rng, sub, pos, entry, np.full(len(pos), state_at), future, sim=sim_open)
        total = np.full(n_sims, known)
        hit = (out["stage"] == k) & in_period(out["time"], begin, end)
        np.add.at(total, sim_open[hit], sub["amount"][hit])
        created, sim_new = arrivals(rng, state_at, end, proc.per_day, proc.spec.season, proc.spec.growth,
                                     proc.start, n_sims=n_sims)
        if len(created):
            new = proc.new_deals(rng, created)
            n = len(created)
            out = proc.walk(rng, new, np.zeros(n, dtype=np.int64), created, np.full(n, -np.inf), future,
                            sim=sim_new)
            hit = (out["stage"] == k) & in_period(out["time"], begin, end)
            np.add.at(total, sim_new[hit], new["amount"][hit])
        return total

    return oracle


def demo_oracle(tables: dict) -> Callable:
    """Open deals re-simulated with the demo's true process; new deals resampled from the year before."""
    opps, history, truth = tables["opportunities"], tables["stage_history"], tables["opportunity_truth"]
    created_d = opps["created_at"].to_numpy().astype("int64") / DAY_NS
    end_d = history["entered_at"].max().value / DAY_NS
    h_time = history["entered_at"].to_numpy().astype("int64") / DAY_NS
    closed = set(DEFAULT_STAGES.closed)
    first_amount = history.groupby("opportunity_id", sort=False)["amount"].first()
    first_amount = first_amount.loc[opps["opportunity_id"]].to_numpy()  # amount at creation, deal by deal

    def oracle(cutoff: float, begin: float, end: float, n_sims: int, rng, shocks: str = "realized") -> np.ndarray:
        state_at = min(cutoff, np.floor(end_d) + 1.0)  # the demo has no quarter shocks: ``shocks`` changes nothing
        seen = history[h_time < state_at]
        last = seen.groupby("opportunity_id", sort=False).tail(1)
        close_d = last["entered_at"].to_numpy().astype("int64") / DAY_NS
        won = (last["stage"] == DEFAULT_STAGES.won).to_numpy() & in_period(close_d, begin, end)
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
            hit = paths["won"] & in_period(paths["time"], begin, end)
            np.add.at(total, sim[hit], paths["amount"][hit])
        return total

    return oracle


def in_period(t: np.ndarray, begin: float, end: float) -> np.ndarray:
    """Whether times (float days) fall on a day of ``[begin, end)``."""
    day = np.floor(t)
    return (day >= begin) & (day < end)


def _stamp(days: float) -> pd.Timestamp:
    return pd.Timestamp(int(round(days * DAY_NS)))


def _won_per_sim(paths: pd.DataFrame, begin: float, end: float, n_sims: int) -> np.ndarray:
    t = paths["closed_at"].to_numpy().astype("int64") / DAY_NS
    hit = (paths["status"] == "won").to_numpy() & in_period(t, begin, end)
    return np.bincount(paths["sim"].to_numpy()[hit], weights=paths["amount"].to_numpy()[hit], minlength=n_sims)


def _simulate_from_creation(truth: pd.DataFrame, created: np.ndarray, amount: np.ndarray, rng) -> dict:
    """Walk new demo deals from Prospecting at ``created`` with the demo's true process."""
    p_adv = truth[[f"p_advance_{s.lower()}" for s in DEFAULT_STAGES.open]].to_numpy(dtype=float)
    n = len(created)
    out = walk_stages(rng, np.zeros(n, dtype=np.int64), created, np.full(n, -np.inf), p_adv,
                truth["days_scale"].to_numpy(dtype=float), amount)
    return {"won": out["stage"] == len(DEFAULT_STAGES.open), "time": out["time"], "amount": out["amount"]}
