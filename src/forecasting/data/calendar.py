"""Calendars of date series: their frequency and season length.

Shared by the checks (a revenue series must be regular), the outlier screen and
the revenue models, so each reads a series' calendar the same way.
"""

from __future__ import annotations

import warnings

import pandas as pd

__all__ = ["infer_frequency"]

_SEASON = {"MS": 12, "ME": 12, "M": 12, "QS": 4, "QE": 4, "Q": 4, "W": 52, "D": 7, "YS": 1, "YE": 1, "Y": 1}


def infer_frequency(dates) -> tuple[str | None, int]:
    """Infer a pandas frequency alias and season length from sorted unique dates.

    Returns ``(None, 1)`` when the dates are too few or irregular.

    Examples
    --------
    >>> infer_frequency(pd.date_range("2024-01-01", periods=6, freq="MS"))
    ('MS', 12)
    """
    # In seconds: steps between dates 1700 and 2200 overflow int64 nanoseconds.
    index = pd.DatetimeIndex(pd.Series(dates).dropna().unique()).sort_values().as_unit("s")
    if len(index) < 3:
        return None, 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 warns that infer_freq will return an offset
        freq = pd.infer_freq(index)
    freq = getattr(freq, "freqstr", freq)
    if freq is None:
        # Tolerate gaps: take the most common step and check it is a known one.
        step = pd.Series(index[1:] - index[:-1]).mode().iloc[0].days
        freq = {1: "D", 7: "W"}.get(step)
        if freq is None and 28 <= step <= 31:
            freq = "MS" if (index.day == 1).all() else ("ME" if index.is_month_end.all() else None)
        elif freq is None and 89 <= step <= 92:
            freq = "QS" if (index.day == 1).all() else ("QE" if index.is_quarter_end.all() else None)
        if freq is None:
            return None, 1
    base = freq.split("-")[0]
    return freq, _SEASON.get(base, _SEASON.get(base.rstrip("S"), 1))
