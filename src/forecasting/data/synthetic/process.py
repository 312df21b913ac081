"""The true deal process of a generated world: arrivals, deal attributes, the stage walk with
quarter shocks, and the opportunities and stage history as recorded at the cut-off.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import WEEKDAY, make_ids, month_end, month_index, sigmoid, solve_shift, text_column, to_datetime
from .history import push_overdue, recorded, statuses
from .walk import gamma_above
from .zoo import SEASONS, DealProcess


def season_weights(days: np.ndarray, start: float, season: str, growth: float) -> np.ndarray:
    """Daily intensity shape: yearly growth x month season x weekday."""
    d = days.astype("int64")
    month = d.astype("datetime64[D]").astype("datetime64[M]").astype("int64") % 12
    weekday = (d + 3) % 7  # 1970-01-01 was a Thursday
    return (1 + growth) ** ((days - start) / 365.25) * np.asarray(SEASONS[season])[month] * WEEKDAY[weekday]


def arrivals(rng, start: float, stop: float, per_day: float, season: str, growth: float,
              origin: float, n_sims: int = 0):
    """Poisson arrival times in ``[start, stop)``; with ``n_sims`` also the simulation of each."""
    day = np.arange(np.floor(start), np.ceil(stop))
    if not len(day):
        return (np.empty(0), np.empty(0, dtype=np.int64)) if n_sims else np.empty(0)
    lam = per_day * season_weights(day, origin, season, growth) / WEEKDAY.mean()
    counts = rng.poisson(lam, size=(max(n_sims, 1), len(day)))
    sim, which = np.nonzero(counts)
    reps = counts[sim, which]
    t = np.repeat(day[which], reps) + np.clip(rng.normal(0.55, 0.12, reps.sum()), 0.0, 0.999)
    keep = (t >= start) & (t < stop)
    if n_sims:
        return t[keep], np.repeat(sim, reps)[keep]
    return np.sort(t[keep])


def quarter_index(days: np.ndarray) -> np.ndarray:
    return month_index(days) // 3


class WorldProcess:
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
        self.q0 = int(quarter_index(np.array([start]))[0])
        n_q = int(quarter_index(np.array([end + 3 * 365.0]))[0]) - self.q0 + 1
        self.shocks = self._draw_shocks(rng, n_q)
        in_window = int(quarter_index(np.array([end]))[0]) - self.q0 + 1
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
            t[idx] = t[idx] + 1.0 + gamma_above(rng, 2.0, theta, nb[idx] - t[idx] - 1.0)
            nb[idx] = -np.inf
            q = np.clip(quarter_index(t[idx]) - self.q0, 0, shocks.shape[-1] - 1)
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


_FIRST = ("Ava", "Liam", "Sofia", "Noah", "Mia", "Ethan", "Olivia", "Lucas", "Emma", "Mateo", "Isabella", "James",
          "Zoe", "Omar", "Hana", "Diego")


_LAST = ("Chen", "Patel", "Garcia", "Kim", "Johnson", "Brown", "Rossi", "Martin", "Nguyen", "Silva", "Cohen",
         "Okafor", "Berg", "Haddad", "Sato", "Lopez")


def rep_names(n: int) -> np.ndarray:
    return np.array([f"{_FIRST[i % 16]} {_LAST[(i * 7 + 3) % 16]}" for i in range(n)])


def deal_tables(rng, proc: WorldProcess, deals: dict, walk: dict, cutoff: float, end: float):
    """Opportunities and stage history as recorded in the CRM at the cut-off."""
    spec, k = proc.spec, len(proc.spec.stages)
    hist, last = recorded(walk["history"], cutoff)
    deal, stage = hist["deal"], hist["stage"]
    bias = proc.biased[deals["owner"]]
    entered = np.where(bias, np.round(deals["amount"] * spec.rep_bias[1], -2), deals["amount"])
    amount = np.where(stage == k, deals["amount"][deal], entered[deal])  # a win books the true amount
    close = _expected_close(rng, proc, deals, hist, bias)
    status = statuses(stage[last], k)
    names = np.array(list(spec.stages) + [spec.won, spec.lost])
    created = deals["created"]
    close_now = push_overdue(rng, close[last], (status == "open") & (close[last] < end), end)
    n = len(created)
    opp_id = make_ids("O", n, 6)
    account = rng.integers(0, max(n // 2, 1), n)  # about two deals per account
    seg_names = np.array(list(spec.segments))
    opportunities = pd.DataFrame({
        "opportunity_id": text_column(opp_id),
        "account_id": text_column(make_ids("ACC", max(n // 2, 1), 5)[account]),
        "owner": text_column(rep_names(spec.n_reps)[deals["owner"]]),
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


def _expected_close(rng, proc: WorldProcess, deals: dict, hist: dict, bias: np.ndarray) -> np.ndarray:
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
