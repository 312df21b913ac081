"""The demo's stage walk: how long a deal stays in each stage, whether it advances, quarter-end
pull-ins, amount revisions and close-date pushes; :func:`simulate_remaining` re-runs it from any date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import DEFAULT_STAGES
from .common import DAY_NS, month_end, month_index, month_start, sigmoid, text_column, to_datetime, to_days


OPEN_STAGES = DEFAULT_STAGES.open


WON, LOST = 5, 6  # stage codes after the five open stages


STAGE_NAMES = np.array(list(OPEN_STAGES) + [DEFAULT_STAGES.won, DEFAULT_STAGES.lost])


STAGE_DAYS = {  # open stage: (gamma shape, mean days including the 1-day minimum)
    "Prospecting": (2.0, 12.0),
    "Qualification": (2.0, 16.0),
    "Demo": (2.5, 18.0),
    "Proposal": (2.0, 22.0),
    "Negotiation": (2.0, 20.0),
}


QUARTER_END_PULL = {"window": 14.0, "prob": 0.3, "q4_window": 45.0, "q4_prob": 0.75, "lead_days": 4.0}


AMOUNT_REVISION = {"Proposal": (0.03, 0.15), "Negotiation": (-0.06, 0.08)}  # (mu, sd) of log factor


def gamma_above(rng, shape: float, theta: np.ndarray, lower: np.ndarray) -> np.ndarray:
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
        natural = e + 1.0 + gamma_above(rng, shape, theta[todo], nb - e - 1.0)
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


def walk_stages(rng, stage, entry, not_before, p_adv, days_scale, amount, close0=None, quality=None) -> dict:
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
        pos[idx] = np.where(adv, WON if k == last else k + 1, LOST)
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
    >>> from forecasting.data.demo import make_demo, simulate_remaining
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
        entry = stamps.fillna(pd.Timestamp(as_of)).astype("datetime64[ns]").to_numpy().astype("int64") / DAY_NS
    amt = np.ones(n) if amount is None else np.broadcast_to(np.asarray(amount, dtype=float), (n,))
    rep = np.repeat(np.arange(n), n_sims)
    p_adv = truth[[f"p_advance_{s.lower()}" for s in OPEN_STAGES]].to_numpy(dtype=float)[rep]
    pos = np.array([OPEN_STAGES.index(s) for s in stages], dtype=np.int64)[rep]
    out = walk_stages(rng, pos, np.minimum(entry, as_of_d)[rep], np.full(len(rep), as_of_d), p_adv,
                truth["days_scale"].to_numpy(dtype=float)[rep], amt[rep])
    return pd.DataFrame({
        "opportunity_id": text_column(truth["opportunity_id"].to_numpy()[rep]),
        "sim": np.tile(np.arange(n_sims), n),
        "status": text_column(np.where(out["stage"] == WON, "won", "lost")),
        "closed_at": to_datetime(out["time"]),
        "amount": out["amount"],
    })
