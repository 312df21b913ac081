"""The sales organisation of a synthetic CRM: hierarchy, activity targets and prospecting effort.

Reps are grouped in teams (one per segment), each team has a manager and the
managers report to one VP (the top of the hierarchy: ``manager`` is empty).
Every rep has daily call and email targets and a weekly meeting target set
per team; a rep's ``effort`` (lognormal, sd 0.2) scales how much of the target
they actually do. Prospecting activities (calls, emails and meetings not tied
to a lead or a deal, on working days) top up each rep's lead and deal touches
to ``effort x target``, so attainment is about ``effort`` in every period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .common import text_column

MANAGERS = ("Grace Miller", "Daniel Park", "Hannah Schmidt", "Samuel Reyes", "Laura Fischer")
VP = "Victoria Adams"
TERRITORIES = ("North America East", "North America West", "EMEA", "APAC")

# Targets per team, from the fastest (small deals) to the slowest: calls a day, emails a day, meetings a week.
TEAM_TARGETS = ((12.0, 10.0, 6.0), (8.0, 8.0, 5.0), (5.0, 5.0, 4.0))
TARGET_TYPES = ("call", "email", "meeting")  # activity type codes 0, 1, 2 in every generator
EFFORT_SD = 0.2


@dataclass(frozen=True)
class SalesOrg:
    """Reps (activity owner codes index ``reps``), their teams, managers and VP.

    Attributes
    ----------
    reps : tuple of str
    rep_team : ndarray of int
        Team index of each rep.
    teams : tuple of str
        Team names (the segments), fastest sales motion first.
    effort : ndarray of float
        Share of the activity targets each rep actually does.
    """

    reps: tuple[str, ...]
    rep_team: np.ndarray
    teams: tuple[str, ...]
    effort: np.ndarray

    @classmethod
    def draw(cls, rng, reps, rep_team, teams) -> "SalesOrg":
        effort = np.round(np.clip(np.exp(rng.normal(0.0, EFFORT_SD, len(reps))), 0.6, 1.5), 3)
        return cls(tuple(reps), np.asarray(rep_team), tuple(teams), effort)

    @property
    def managers(self) -> tuple[str, ...]:
        return MANAGERS[: len(self.teams)]

    def daily_targets(self) -> np.ndarray:
        """Target per working day of each rep (rows) and type (calls, emails, meetings)."""
        per_team = np.array([TEAM_TARGETS[min(t, len(TEAM_TARGETS) - 1)] for t in range(len(self.teams))])
        return per_team[self.rep_team] / np.array([1.0, 1.0, 5.0])


def team_table(org: SalesOrg) -> pd.DataFrame:
    """``team``: reps -> their team's manager -> the VP (whose manager is empty)."""
    position = np.zeros(len(org.reps), dtype=np.int64)
    for t in range(len(org.teams)):
        rows = np.flatnonzero(org.rep_team == t)
        position[rows] = np.arange(len(rows))
    managers = np.array(org.managers)
    return pd.DataFrame({
        "owner": text_column([*org.reps, *org.managers, VP]),
        "manager": text_column([*managers[org.rep_team], *[VP] * len(managers), None]),
        "team": text_column([*np.array(org.teams)[org.rep_team], *org.teams, "Sales"]),
        "territory": text_column([*np.array(TERRITORIES)[position % len(TERRITORIES)],
                                  *["Global"] * (len(managers) + 1)]),
    })


def targets_table(org: SalesOrg) -> pd.DataFrame:
    """``targets``: calls and emails per day, meetings per week, for every rep."""
    daily = org.daily_targets() * np.array([1.0, 1.0, 5.0])
    n = len(org.reps)
    return pd.DataFrame({
        "owner": text_column(np.repeat(org.reps, 3)),
        "type": text_column(np.tile(TARGET_TYPES, n)),
        "freq": text_column(np.tile(["D", "D", "W"], n)),
        "target": daily.ravel().astype(float),
    })


def prospecting(rng, org: SalesOrg, when, owner, kind, start: float, cutoff: float):
    """Prospecting touches that bring each rep's activity to about ``effort x target``.

    Parameters
    ----------
    when, owner, kind : ndarray
        The lead and deal touches already generated (float days, rep code, type code).
    start, cutoff : float
        Window of the CRM in float days (``cutoff`` exclusive).

    Returns
    -------
    (when, owner, kind) : tuple of ndarray
        The extra touches only, on working days between 8:00 and 18:00.
    """
    day0 = np.floor(start)
    days = np.arange(day0, np.floor(cutoff))
    working = (days.astype(np.int64) + 3) % 7 < 5  # 1970-01-01 was a Thursday
    base = np.zeros((len(org.reps), len(TARGET_TYPES), len(days)))
    typed = (kind < len(TARGET_TYPES)) & (when >= day0) & (when < days[-1] + 1)
    np.add.at(base, (owner[typed], kind[typed], (np.floor(when[typed]) - day0).astype(np.int64)), 1.0)
    # The touches already done, per working day, over the surrounding four weeks.
    base = base[:, :, working]
    kernel = np.ones(20) / 20.0
    smooth = np.apply_along_axis(lambda row: np.convolve(row, kernel, mode="same"), 2, base)
    wanted = (org.daily_targets() * org.effort[:, None])[:, :, None]
    count = rng.poisson(np.maximum(wanted - smooth, 0.0))
    rep, typ, d = np.nonzero(count)
    reps = count[rep, typ, d]
    at = np.repeat(days[working][d], reps) + rng.uniform(8.0, 18.0, reps.sum()) / 24.0
    keep = at < cutoff
    return at[keep], np.repeat(rep, reps)[keep], np.repeat(typ, reps)[keep]


def with_prospecting(rng, org: SalesOrg, touches: dict, start: float, cutoff: float) -> dict:
    """``touches`` (arrays ``when``, ``owner``, ``type``, ``lead``, ``deal``) plus prospecting, unsorted."""
    when, owner, kind = prospecting(rng, org, touches["when"], touches["owner"], touches["type"], start, cutoff)
    none = np.full(len(when), -1)
    extra = {"when": when, "owner": owner, "type": kind, "lead": none, "deal": none}
    return {k: np.concatenate([touches[k], extra[k]]) for k in touches}
