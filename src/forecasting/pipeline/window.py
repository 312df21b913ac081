"""The forecast window: the period, the as-of cutoff and where open deals can still close."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .snapshot import DAY, expected_in_window, period_bounds


@dataclass(frozen=True)
class _Window:
    period: pd.Period
    start: pd.Timestamp
    end: pd.Timestamp       # exclusive
    cutoff: pd.Timestamp    # exclusive as-of cutoff
    begin: pd.Timestamp     # where open deals can still close in the period

    @property
    def offset_days(self) -> float:
        return (self.begin - self.cutoff) / DAY

    @property
    def window_days(self) -> float:
        return max(0.0, (self.end - self.begin) / DAY)

    def expected_inside(self, deals: pd.DataFrame) -> np.ndarray:
        """Which open deals are expected to close in the window (:func:`expected_in_window`)."""
        return expected_in_window(deals["close_date"], self.cutoff, self.begin, self.end)


def _window(period, cutoff: pd.Timestamp) -> _Window:
    p, start, end = period_bounds(period)
    return _Window(p, start, end, cutoff, max(start, cutoff))
