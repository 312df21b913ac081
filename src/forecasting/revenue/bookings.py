"""Bookings: the monthly revenue won, from the opportunities table.

The pipeline forecasts bookings (revenue won in a period); :func:`bookings` builds the same
quantity as a canonical revenue table, so a time-series forecast of it can be blended with
the pipeline forecast (:mod:`forecasting.revenue.blend`).
"""

from __future__ import annotations

import pandas as pd

from forecasting.data.errors import DataError, problem

__all__ = ["bookings"]


def bookings(opportunities: pd.DataFrame, by: str | None = None, as_of=None, freq: str = "MS") -> pd.DataFrame:
    """Monthly revenue won (bookings): the quantity the pipeline forecasts, as a revenue table.

    Parameters
    ----------
    opportunities : pd.DataFrame
        Canonical opportunities: ``amount``, ``close_date``, ``status`` (won deals count).
    by : str, optional
        Column naming one series per value (e.g. ``"segment"``); it becomes ``segment``.
    as_of : date-like, optional
        Keep only periods complete by this date (a period ending on ``as_of`` counts).
        Default: up to the last won deal's period.
    freq : str, default "MS"
        Period of the series (``"MS"`` monthly, ``"QS"`` quarterly).

    Returns
    -------
    pd.DataFrame
        ``date, amount`` (plus ``segment`` with ``by``), one row per period from
        the first won deal to the end, periods without wins as 0: a canonical
        revenue table for :func:`~forecasting.revenue.forecast`.

    Examples
    --------
    >>> opps = pd.DataFrame({"amount": [10.0, 5.0, 7.0], "status": ["won", "won", "lost"],
    ...                      "close_date": pd.to_datetime(["2026-01-15", "2026-03-02", "2026-02-01"])})
    >>> bookings(opps)["amount"].tolist()
    [10.0, 0.0, 5.0]
    """
    need = ["amount", "close_date", "status"] + ([by] if by else [])
    missing = [c for c in need if c not in opportunities.columns]
    if missing:
        raise DataError([problem("opportunities", c, "is a required column but is missing") for c in missing])
    won = opportunities[opportunities["status"] == "won"]
    dates = pd.to_datetime(won["close_date"], errors="coerce")
    if dates.isna().any():
        raise DataError([problem("opportunities", "close_date", "is missing or unparsable for won deals",
                                 won.get("opportunity_id", won.index.to_series()).astype(str)[dates.isna()])])
    if won.empty:
        raise DataError([problem("opportunities", "status", "has no won deals: no bookings to forecast")])
    offset = pd.tseries.frequencies.to_offset(freq)
    starts = dates.dt.to_period(freq.rstrip("S")).dt.start_time
    last = dates.max() if as_of is None else pd.Timestamp(as_of)
    grid = pd.date_range(starts.min(), last, freq=offset)
    if as_of is not None:  # complete periods only: one that ends after as_of is still open
        grid = grid[(grid + offset) <= last.normalize() + pd.Timedelta(days=1)]
    keys = {"date": starts}
    if by:
        keys["segment"] = won[by].astype(str)
    sums = won["amount"].astype(float).groupby([keys[k] for k in keys]).sum()
    sums.index.names = list(keys)
    if by:
        full = pd.MultiIndex.from_product([grid, sorted(keys["segment"].unique())], names=["date", "segment"])
        out = sums.reindex(full, fill_value=0.0).reset_index()
        return out[["date", "segment", "amount"]].sort_values(["segment", "date"], ignore_index=True)
    return sums.reindex(grid, fill_value=0.0).rename_axis("date").rename("amount").reset_index()
