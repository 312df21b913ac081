"""Stage histories shared by the demo and the zoo: what the CRM shows at a cut-off, spells, statuses.

A history is a dict of arrays ``deal``, ``stage`` (codes: open stages first,
then won, then lost), ``time`` (float days) and any other per-row values.
"""

from __future__ import annotations

import numpy as np

from .common import month_end


def recorded(history: dict, cutoff: float = np.inf) -> tuple[dict, np.ndarray]:
    """Rows entered before ``cutoff``, by deal, time and stage; and the mask of each deal's last row."""
    keep = history["time"] < cutoff
    order = np.lexsort((history["stage"][keep], history["time"][keep], history["deal"][keep]))
    hist = {key: v[keep][order] for key, v in history.items()}
    return hist, np.r_[hist["deal"][1:] != hist["deal"][:-1], True]


def statuses(stage: np.ndarray, won: int) -> np.ndarray:
    """``won`` / ``lost`` / ``open`` from stage codes (lost is the code after won)."""
    return np.select([stage == won, stage == won + 1], ["won", "lost"], "open")


def push_overdue(rng, close: np.ndarray, overdue: np.ndarray, end: float) -> np.ndarray:
    """Expected close dates of open deals past due at ``end``, moved to a month end 5-40 days later."""
    close = close.copy()
    close[overdue] = month_end(end + rng.uniform(5.0, 40.0, overdue.sum()))
    return close


def open_spells(hist: dict, n_open: int, cutoff: float) -> tuple[np.ndarray, ...]:
    """Each stay of a deal in an open stage: deal, stage, start and length (up to the next row or the cut-off)."""
    spell_end = np.r_[hist["time"][1:], cutoff]
    same_deal = np.r_[hist["deal"][1:] == hist["deal"][:-1], False]
    spell_end = np.where(same_deal, spell_end, cutoff)
    is_open = hist["stage"] < n_open
    t0 = hist["time"][is_open]
    return hist["deal"][is_open], hist["stage"][is_open], t0, np.minimum(spell_end[is_open], cutoff) - t0


def spell_touches(rng, t0: np.ndarray, length: np.ndarray, rate) -> tuple[np.ndarray, np.ndarray]:
    """Poisson touches at ``rate`` a day during each spell: the spell of each touch and its time."""
    count = rng.poisson(rate * length)
    spell = np.repeat(np.arange(len(t0)), count)
    return spell, t0[spell] + rng.random(len(spell)) * length[spell]
