"""Helpers shared by the synthetic CRM generators: float-day time, ids, text columns.

Internally times are float days since 1970-01-01: cheap arithmetic for numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY_NS = 86_400 * 10**9
WEEKDAY = np.array([1.0, 1.05, 1.05, 1.0, 0.9, 0.3, 0.25])  # Monday first


def to_days(ts) -> float:
    return pd.Timestamp(ts).value / DAY_NS


def timestamp_of(days: float) -> pd.Timestamp:
    return pd.Timestamp(int(round(days * DAY_NS)))


def to_datetime(days) -> np.ndarray:
    """Float days -> datetime64[ns] rounded to seconds (NaN -> NaT)."""
    days = np.asarray(days, dtype=float)
    out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = np.isfinite(days)
    out[ok] = (np.round(days[ok] * 86_400).astype(np.int64) * 10**9).astype("datetime64[ns]")
    return out


def month_index(days) -> np.ndarray:
    """Months since 1970-01 of each time."""
    return np.floor(days).astype("int64").astype("datetime64[D]").astype("datetime64[M]").astype("int64")


def month_start(months) -> np.ndarray:
    return np.asarray(months).astype("datetime64[M]").astype("datetime64[D]").astype("int64").astype(float)


def month_end(days) -> np.ndarray:
    """Midnight of the last day of the month of each time."""
    return month_start(month_index(days) + 1) - 1.0


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def solve_shift(fn, target: float, lo: float = -15.0, hi: float = 15.0) -> float:
    """Shift ``s`` with ``fn(s) == target`` for an increasing ``fn`` (bisection)."""
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fn(mid) < target else (lo, mid)
    return (lo + hi) / 2

def make_ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width))


def text_column(values, missing=None) -> pd.Series:
    """Strings as the default string dtype, ``missing`` (mask) as NA."""
    values = np.asarray(values, dtype=object).copy()
    if missing is not None:
        values[np.asarray(missing, dtype=bool)] = None
    return pd.Series(values)
