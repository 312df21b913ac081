"""The weekly forecast call of a synthetic CRM, built on what each rep will actually close.

Every Monday of every quarter (up to "today"), each rep submits a commit and a
best case for the quarter. With ``won`` the amount the rep has already won in
the quarter, ``actual`` what they will have won at its end, and ``s`` the share
of the quarter still ahead (1 on its first day, 0 on its last)::

    commit    = won + bias * (actual - won) * exp(N(0, noise_sd * s))
    best_case = commit + u * max(pipeline - (actual - won), 0),  u ~ U(0.3, 0.7)
    pipeline  = open amount of the rep's deals that close (won or lost) in the quarter

so calls converge to the actual late in the quarter, a sandbagger (``bias``
about 0.8) calls low and an optimist (about 1.2) high. ``call_truth`` holds each
rep's ``bias`` and ``noise_sd``. On 40% of weeks each manager overrides the
roll-up of their reps' calls with a 15% haircut on the optimists and 10% more
on the sandbaggers (the note names them; a team of realists is not overridden); on 25% of weeks the VP overrides the
roll-up of the managers' calls with a 5% risk reserve (Monday evening,
after the managers). History is append-only:
one row per owner and submission, ``submitted_at`` increasing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import month_index, month_start, text_column, to_datetime
from .team import VP, SalesOrg

BEHAVIOURS = {"sandbagger": (0.75, 0.85), "realist": (0.95, 1.05), "optimist": (1.15, 1.30)}  # bias range
HAIRCUT, LIFT, RESERVE = 0.85, 1.10, 0.95
MANAGER_OVERRIDE, VP_OVERRIDE = 0.40, 0.25  # share of weeks with an override


def call_truth(rng, org: SalesOrg, optimists=None) -> pd.DataFrame:
    """Each rep's behaviour, ``bias`` and ``noise_sd``; a third of each (``optimists`` forces some)."""
    n = len(org.reps)
    kinds = np.array(list(BEHAVIOURS))[rng.permutation(np.arange(n) % 3)]
    if optimists is not None and np.any(optimists):
        kinds = np.where(optimists, "optimist", np.where(kinds == "optimist", "realist", kinds))
    low, high = np.array([BEHAVIOURS[k] for k in kinds]).T
    return pd.DataFrame({
        "owner": text_column(org.reps),
        "behaviour": text_column(kinds),
        "bias": np.round(rng.uniform(low, high), 3),
        "noise_sd": np.round(rng.uniform(0.2, 0.4, n), 3),
    })


def _mondays(start: float, end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each Monday from the first full quarter at ``start`` to ``end``: day, quarter start and end."""
    first_q = month_index(np.array([start]))[0]
    first_q = first_q - first_q % 3
    days = np.arange(np.floor(start), np.floor(end) + 1)
    monday = days[(days.astype(np.int64) + 3) % 7 == 0]
    month = month_index(monday)
    q_month = month - month % 3
    keep = q_month >= first_q
    monday, q_month = monday[keep], q_month[keep]
    return monday, month_start(q_month), month_start(q_month + 3)


def forecast_calls(rng, org: SalesOrg, truth: pd.DataFrame, deals: dict, start: float, end: float) -> pd.DataFrame:
    """``forecast_calls`` from every rep, manager and the VP (module docstring).

    ``deals`` holds, per deal and as it will eventually happen: ``owner``
    (rep code), ``created``, ``closed`` (float days), ``won`` and ``amount``.
    """
    monday, q_begin, q_end = _mondays(start, end)
    t = monday + (9.0 + rng.uniform(0.0, 3.0, (len(org.reps), len(monday)))) / 24.0  # rep x week
    won, actual, pipe = _rep_positions(deals, len(org.reps), t, q_begin, q_end)
    share = np.clip((q_end - t) / (q_end - q_begin), 0.0, 1.0)
    bias, sd = truth["bias"].to_numpy()[:, None], truth["noise_sd"].to_numpy()[:, None]
    remaining = actual - won
    commit = won + bias * remaining * np.exp(rng.normal(0.0, 1.0, t.shape) * sd * share)
    best = commit + rng.uniform(0.3, 0.7, t.shape) * np.maximum(pipe - remaining, 0.0)
    rows = [_rows(np.repeat(org.reps, len(monday)), t, monday, commit, best, pipe, None)]
    rows += _overrides(rng, org, truth, monday, commit, best, pipe)
    col = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
    calls = pd.DataFrame({
        "owner": text_column(col["owner"]),
        "period": text_column(pd.PeriodIndex(to_datetime(col["monday"]), freq="Q").astype(str)),
        "submitted_at": to_datetime(col["submitted"]),
        **{k: np.round(col[k].astype(float), -2) for k in ("commit", "best_case", "pipeline")},
        "note": text_column(col["note"]),
    })
    return calls.sort_values(["submitted_at", "owner"], kind="stable").reset_index(drop=True)


def _rep_positions(deals: dict, n_reps: int, t: np.ndarray, q_begin, q_end):
    """Won so far, won by the quarter's end and open pipeline closing in the quarter, per rep and week."""
    owner, created, closed = deals["owner"], deals["created"], deals["closed"]
    won_mask, amount = deals["won"], deals["amount"]
    shape = (n_reps, len(q_begin))
    won, actual, pipe = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for qb in np.unique(q_begin):
        weeks = np.flatnonzero(q_begin == qb)
        qe = q_end[weeks[0]]
        inside = np.flatnonzero((closed >= qb) & (closed < qe))
        o, a = owner[inside], amount[inside]
        tw = t[o][:, weeks]  # deal x week: the owner's submission times
        c, w = closed[inside][:, None], won_mask[inside][:, None]
        for target, mask in ((won, w & (c < tw)), (actual, w & np.ones_like(tw, bool)),
                             (pipe, (created[inside][:, None] <= tw) & (c >= tw))):
            part = np.zeros((n_reps, len(weeks)))
            np.add.at(part, o, mask * a[:, None])
            target[:, weeks] = part
    return won, actual, pipe


def _rows(owner, submitted, monday, commit, best, pipe, note) -> dict[str, np.ndarray]:
    """Flat columns of some submissions (``monday`` broadcast to the shape of ``submitted``)."""
    n = np.size(submitted)
    flat = {"owner": owner, "submitted": submitted, "monday": np.broadcast_to(monday, np.shape(submitted)),
            "commit": commit, "best_case": best, "pipeline": pipe}
    return {**{k: np.asarray(v).ravel() for k, v in flat.items()},
            "note": np.full(n, note, dtype=object)}


def _overrides(rng, org: SalesOrg, truth: pd.DataFrame, monday, commit, best, pipe) -> list[dict]:
    """Managers' adjustments of their reps' calls (some weeks) and the VP's reserve (fewer weeks)."""
    behaviour = truth["behaviour"].to_numpy()
    factor = np.select([behaviour == "optimist", behaviour == "sandbagger"], [HAIRCUT, LIFT], 1.0)
    n_weeks, rows = len(monday), []
    team_commit = np.zeros((len(org.teams), n_weeks))
    for t, manager in enumerate(org.managers):
        team = org.rep_team == t
        adjusted = (commit[team] * factor[team][:, None]).sum(axis=0)
        note = _note(np.array(org.reps)[team], factor[team])
        override = (rng.random(n_weeks) < MANAGER_OVERRIDE) & bool(note)
        team_commit[t] = np.where(override, adjusted, commit[team].sum(axis=0))
        when = monday + (14.0 + rng.uniform(0.0, 2.0, n_weeks)) / 24.0
        team_best = np.maximum(best[team].sum(axis=0), adjusted)  # a lift can exceed the reps' best cases
        rows.append(_rows(np.full(override.sum(), manager), when[override], monday[override], adjusted[override],
                          team_best[override], pipe[team].sum(axis=0)[override], note))
    vp = rng.random(n_weeks) < VP_OVERRIDE
    when = monday + (17.0 + rng.uniform(0.0, 1.0, n_weeks)) / 24.0  # after the managers, same day
    vp_commit = RESERVE * team_commit.sum(axis=0)
    rows.append(_rows(np.full(vp.sum(), VP), when[vp], monday[vp], vp_commit[vp],
                      np.maximum(best.sum(axis=0), vp_commit)[vp], pipe.sum(axis=0)[vp],
                      f"{round((1 - RESERVE) * 100)}% risk reserve on the managers' roll-up"))
    return rows


def _note(reps: np.ndarray, factor: np.ndarray) -> str:
    """``haircut 15% on A, B; +10% on C``: what a manager changed, or empty when nothing."""
    parts = [f"{label} on {', '.join(reps[factor == f])}"
             for f, label in ((HAIRCUT, f"haircut {round((1 - HAIRCUT) * 100)}%"), (LIFT, f"+{round((LIFT - 1) * 100)}%"))
             if (factor == f).any()]
    return "; ".join(parts)
