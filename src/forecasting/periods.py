"""Calendar periods in one place: parse ``"2026Q3"``, ranges ``"2024Q1:2025Q4"`` and lists; bounds; the
period containing a date; the open and the last complete periods at an as-of date.

A period is a ``pd.Period`` (quarter ``2026Q3``, month ``2026-07``, year ``2026`` ...). Its bounds
are the half-open ``[start, end)`` midnight timestamps, so "in the period" is ``start <= t < end``
for any timestamp. Bad input raises :class:`~forecasting.data.errors.DataError` naming the table
(here: the argument) it came from, which the CLI turns into exit 2.
"""

from __future__ import annotations

import pandas as pd

from forecasting.data.errors import DataError, problem

__all__ = ["parse_period", "parse_periods", "period_bounds", "period_of", "open_period",
           "complete_periods", "dates_in"]

DAY = pd.Timedelta(days=1)


def parse_period(period, *, table: str = "period") -> pd.Period:
    """A ``pd.Period`` from ``"2026Q3"``, ``"2026-07"``, ``"2026"`` or a ``pd.Period``.

    Examples
    --------
    >>> parse_period("2026Q3"), parse_period("2026-07")
    (Period('2026Q3', 'Q-DEC'), Period('2026-07', 'M'))
    """
    if isinstance(period, pd.Period):
        return period
    try:
        parsed = pd.Period(str(period))
    except (TypeError, ValueError):
        parsed = pd.NaT
    if parsed is pd.NaT:  # also what pandas makes of "" and "NaT"
        raise DataError([problem(table, None, f"{period!r} is not a period (expected e.g. 2026Q3 or 2026-07)")])
    return parsed


def parse_periods(periods, *, table: str = "periods") -> list[pd.Period]:
    """``"2024Q1:2025Q4"`` (an inclusive range), one period, or a sequence of periods.

    Examples
    --------
    >>> [str(p) for p in parse_periods("2024Q3:2025Q1")]
    ['2024Q3', '2024Q4', '2025Q1']
    >>> [str(p) for p in parse_periods(["2026-01", "2026-03"])]
    ['2026-01', '2026-03']
    """
    if isinstance(periods, str) and ":" in periods:
        first, _, last = periods.partition(":")
        a, b = parse_period(first, table=table), parse_period(last, table=table)
        if a.freqstr != b.freqstr or b < a:
            raise DataError([problem(table, None, f"range {periods!r} must go from an earlier to a later "
                                     "period of the same length")])
        return list(pd.period_range(a, b, freq=a.freq))
    if isinstance(periods, (str, pd.Period)):
        return [parse_period(periods, table=table)]
    return [parse_period(p, table=table) for p in periods]


def period_bounds(period) -> tuple[pd.Period, pd.Timestamp, pd.Timestamp]:
    """A period and its ``[start, end)`` midnight timestamps.

    Examples
    --------
    >>> period_bounds("2026Q3")[1:]
    (Timestamp('2026-07-01 00:00:00'), Timestamp('2026-10-01 00:00:00'))
    """
    p = parse_period(period)
    return p, p.start_time.normalize(), p.end_time.normalize() + DAY


def period_of(date, freq: str = "Q") -> pd.Period:
    """The period of length ``freq`` containing ``date``.

    Examples
    --------
    >>> period_of("2026-06-30"), period_of("2026-06-30", "M")
    (Period('2026Q2', 'Q-DEC'), Period('2026-06', 'M'))
    """
    return pd.Period(pd.Timestamp(date), freq)


def open_period(as_of, freq: str = "Q") -> pd.Period:
    """The period still open at the end of ``as_of``: the one containing the next day.

    Examples
    --------
    >>> str(open_period("2026-06-30")), str(open_period("2026-06-29"))
    ('2026Q3', '2026Q2')
    """
    return period_of(pd.Timestamp(as_of) + DAY, freq)


def complete_periods(as_of, n: int, freq: str = "Q", *, after=None) -> list[pd.Period]:
    """The last ``n`` periods complete at the end of ``as_of``, oldest first.

    With ``after`` (a date) only periods starting after it count.

    Examples
    --------
    >>> [str(p) for p in complete_periods("2026-06-30", 3)]
    ['2025Q4', '2026Q1', '2026Q2']
    >>> [str(p) for p in complete_periods("2017-12-31", 8, after="2017-04-20")]
    ['2017Q3', '2017Q4']
    """
    last = open_period(as_of, freq) - 1
    periods = [last - k for k in range(n - 1, -1, -1)]
    if after is not None:
        periods = [p for p in periods if p.start_time > pd.Timestamp(after)]
    return periods


def dates_in(period, offset) -> pd.DatetimeIndex:
    """The dates of frequency ``offset`` (``"MS"``, a pandas offset ...) inside a period.

    Examples
    --------
    >>> [str(d.date()) for d in dates_in("2026Q3", "MS")]
    ['2026-07-01', '2026-08-01', '2026-09-01']
    """
    _, start, end = period_bounds(period)
    return pd.date_range(start, end, freq=offset, inclusive="left")
