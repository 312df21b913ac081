"""The demo company: its reps and segment teams, and the season and growth of its lead and deal flow.
"""

from __future__ import annotations

import numpy as np

from .common import WEEKDAY, month_start


REPS = {
    "SMB": ("Ava Chen", "Liam Patel", "Sofia Garcia", "Noah Kim", "Mia Johnson"),
    "Mid-Market": ("Ethan Brown", "Olivia Rossi", "Lucas Martin", "Emma Nguyen"),
    "Enterprise": ("Mateo Silva", "Isabella Cohen", "James Okafor"),
}


SEGMENTS = ("SMB", "Mid-Market", "Enterprise")


OWNERS = tuple(name for team in REPS.values() for name in team)


FLOW_SEASON = np.array([0.85, 0.95, 1.10, 0.95, 1.00, 1.08, 0.82, 0.80, 1.10, 1.15, 1.18, 1.02])


FLOW_GROWTH = np.log(1.30)  # per year


def choice(rng, table: dict, size: int, column: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw keys of ``table`` by the share in ``column``; return names and indices."""
    names = np.array(list(table))
    p = np.array([v[column] for v in table.values()], dtype=float)
    idx = rng.choice(len(names), size=size, p=p / p.sum())
    return names[idx], idx


def sample_times(rng, start: float, cutoff: float, n: int, quarter_end_boost: float = 1.0) -> np.ndarray:
    """``n`` sorted times with growing, seasonal, weekday-shaped intensity."""
    day = np.arange(np.floor(start), np.floor(cutoff))
    dt = day.astype("int64").astype("datetime64[D]")
    month = dt.astype("datetime64[M]").astype("int64")
    weekday = (day.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday
    w = np.exp(FLOW_GROWTH * (day - start) / 365.25) * FLOW_SEASON[month % 12] * WEEKDAY[weekday]
    if quarter_end_boost != 1.0:
        to_quarter_end = month_start(month - month % 3 + 3) - day
        w = w * np.where(to_quarter_end <= 14, quarter_end_boost, 1.0)
    picked = day[rng.choice(len(day), size=n, p=w / w.sum())]
    hour = np.where(rng.random(n) < 0.85, np.clip(rng.normal(13.0, 2.8, n), 0, 23.9), rng.uniform(0, 24, n))
    return np.sort(picked + hour / 24.0)
