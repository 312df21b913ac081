"""Period panels of the KPI tables: every period x group, and the tallies that fill them.

A panel is a ``(period, group)`` MultiIndex of pandas periods (D, W, M, Q or Y) with
the total row ``"all"`` first in each period. :func:`_tally` counts or sums events by
the period of a date; :func:`_stock` counts what is alive at a period's start;
:func:`spread_by_period` spreads amounts given per longer period (a yearly quota)
evenly over shorter ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ._base import _ALL, _DAY, _group_key, _ids, _splits

__all__ = ["KPI_COLUMNS", "last_complete_period", "spread_by_period"]

KPI_COLUMNS = (
    "win_rate", "close_ratio", "deals_won", "deals_lost", "revenue_won", "avg_deal_size",
    "sales_cycle_days", "pipeline_created", "pipeline_coverage", "pipeline_velocity", "conversion_rate",
)
"""The KPI columns :func:`kpi_table` always returns (DESIGN.md, ``kpis.csv``), after ``period, group``."""

_COUNTS = ("deals_won", "deals_lost", "opportunities_created", "open_opportunities", "leads_created",
           "leads_converted", "activities", "new_customers", "active_customers", "churned_customers", "reps")


def _tally(frame, when, panel: pd.MultiIndex, by, *, value=None, how="count") -> pd.Series:
    """Aggregate ``frame`` by the period of column ``when`` and by group, on the rows of ``panel``.

    ``how`` is "count", "sum", "mean", "median" or "nunique" (distinct values of ``value``).
    Counts, sums and distinct counts are 0 where nothing happened. Group rows are NaN when ``frame``
    has no ``by`` column (it cannot be split).
    """
    freq = panel.levels[0].freq
    dates = frame[when]
    period = dates if isinstance(dates.dtype, pd.PeriodDtype) else dates.dt.to_period(freq)
    if value is None:
        data = pd.Series(1.0, index=frame.index)
    else:
        data = frame[value] if how == "nunique" else frame[value].astype(float)
    agg = "sum" if how == "count" else how
    split = _splits(frame, by)
    total = data.groupby(period.rename("period")).agg(agg)
    pieces = [pd.Series(total.to_numpy(), index=pd.MultiIndex.from_arrays(
        [total.index, np.full(len(total), _ALL, dtype=object)], names=["period", "group"]))]
    if split:
        pieces.append(data.groupby([period.rename("period"), _group_key(frame, by).rename("group")]).agg(agg))
    out = pd.concat(pieces).reindex(panel)
    if how in ("count", "sum", "nunique"):
        fillable = (panel.get_level_values("group") == _ALL) | split
        out = out.where(out.notna() | ~fillable, 0.0)
    return out


def _stock(frame, begin: str, end: str, panel: pd.MultiIndex, by) -> pd.Series:
    """Rows alive at the start of each period: ``begin`` before the start and ``end``
    missing or not before it (open deals, active customers)."""
    periods = pd.PeriodIndex(panel.get_level_values("period").unique())
    starts = periods.start_time.to_numpy().astype("datetime64[ns]")
    parts = [(_ALL, frame)]
    if _splits(frame, by):
        parts += list(frame.groupby(_group_key(frame, by), sort=False))
    alive = {}
    for name, part in parts:
        began = np.sort(part[begin].dropna().to_numpy().astype("datetime64[ns]"))
        ended = np.sort(part[end].dropna().to_numpy().astype("datetime64[ns]"))
        alive[name] = np.searchsorted(began, starts, "left") - np.searchsorted(ended, starts, "left")
    names = list(alive)
    index = pd.MultiIndex.from_product([periods, names], names=["period", "group"])
    values = np.column_stack([alive[name] for name in names]).ravel()  # period-major, like the index
    out = pd.Series(values.astype(float), index=index).reindex(panel)
    if _splits(frame, by):
        out = out.fillna(0.0)  # a group with no rows has nothing alive
    return out


def _before_period(frame, early: str, late: str, freq: str) -> pd.Series:
    """Whether ``early`` falls before the start of the period that holds ``late``."""
    start = frame[late].dt.to_period(freq).dt.start_time
    return frame[early].astype("datetime64[ns]") < start.astype("datetime64[ns]")


def spread_by_period(frame: pd.DataFrame, *, column: str, value: str, freq: str, table: str) -> pd.DataFrame:
    """Rows of ``frame`` with a ``_period`` column at ``freq``, amounts given per longer period spread.

    Dates fall in their period. Period labels ("2026Q3", "2026-07", "2026") longer than
    ``freq`` are split over the periods they cover: evenly when those nest inside the label's
    period (months of a quarter), else by the days each shares with it (weeks of a month).
    Labels shorter than ``freq`` fall in the period that holds them. This is how quotas
    and spend are spread in :func:`~forecasting.metrics.kpi_table` and
    :func:`~forecasting.pipeline.period_target`.

    Parameters
    ----------
    frame : DataFrame
        The rows, with ``column`` (dates or period labels) and ``value``.
    column, value : str
        The period column and the amount column.
    freq : {"D", "W", "M", "Q", "Y"}
        The period length to spread to.
    table : str
        Name of the table, for error messages.

    Returns
    -------
    DataFrame
        One row per input row and covered period, ``value`` scaled to its share.

    Raises
    ------
    DataError
        A missing period, or a label that is not a period.

    Examples
    --------
    A yearly quota of 400 is 100 a quarter:

    >>> quotas = pd.DataFrame({"period": ["2026"], "quota": [400.0]})
    >>> spread_by_period(quotas, column="period", value="quota", freq="Q", table="quotas")["quota"].tolist()
    [100.0, 100.0, 100.0, 100.0]
    """
    dates = frame[column]
    if pd.api.types.is_datetime64_any_dtype(dates):
        return frame.assign(_period=dates.dt.to_period(freq))
    if dates.isna().any():
        raise DataError([problem(table, column, "is missing a period (like 2026Q3 or 2026-07)",
                                 _ids(frame, dates.isna(), None))])
    labels = dates.astype(str)
    pieces = []
    for label in labels.unique():
        try:
            p = pd.Period(label)
            if p is pd.NaT:  # "", "nan", "NaT" as text
                raise ValueError(label)
        except (TypeError, ValueError):
            rows = _ids(frame, labels == label, None)
            raise DataError([problem(table, column, f"has {label!r}, not a period like 2026Q3 or 2026-07",
                                     rows)]) from None
        rows = frame[labels == label]
        for q, share in _shares(p, freq):
            pieces.append(rows.assign(_period=q, **{value: rows[value].astype(float) * share}))
    return pd.concat(pieces) if pieces else frame.assign(_period=pd.Series(dtype=f"period[{freq}]"))


def _shares(p: pd.Period, freq: str) -> list[tuple[pd.Period, float]]:
    """The periods at ``freq`` that ``p`` covers, with the share of ``p`` each gets."""
    covered = pd.period_range(p.start_time.to_period(freq), p.end_time.to_period(freq), freq=freq)
    if len(covered) == 1 or all(q.start_time >= p.start_time and q.end_time <= p.end_time for q in covered):
        return [(q, 1 / len(covered)) for q in covered]
    # Periods that straddle p's edges (weeks of a month) get the days they share with it.
    days = np.array([(min(q.end_time, p.end_time) - max(q.start_time, p.start_time)) / _DAY for q in covered])
    return list(zip(covered, days / days.sum()))


def _periods(freq, until, opps, leads, activities) -> pd.PeriodIndex:
    """Periods from the first recorded opportunity, lead or activity to ``until``."""
    firsts = [f[c].min() for f, c in ((opps, "created_at"), (leads, "created_at"), (activities, "occurred_at"))
              if f is not None and f[c].notna().any()]
    if not firsts:
        raise DataError([problem("opportunities", "created_at", f"has no records on or before as_of ({until})")])
    return pd.period_range(min(firsts).to_period(freq), until.to_period(freq), freq=freq)


def _panel(periods: pd.PeriodIndex, by, frames) -> pd.MultiIndex:
    """Every period x group: "all" first, then the group values found in any table."""
    groups = set()
    if by is not None:
        for f in frames:
            if _splits(f, by):
                groups |= set(_group_key(f, by).unique())
    groups.discard(_ALL)
    return pd.MultiIndex.from_product([periods, [_ALL, *sorted(groups)]], names=["period", "group"])


def _finish(cols: dict[str, pd.Series], panel: pd.MultiIndex) -> pd.DataFrame:
    order = list(KPI_COLUMNS) + [c for c in cols if c not in KPI_COLUMNS]
    out = pd.DataFrame({c: cols[c].reindex(panel).to_numpy() for c in order}, index=panel)
    for c in [*_COUNTS, *(c for c in out.columns if c.startswith("activities_"))]:
        if c in out.columns and out[c].notna().all():
            out[c] = out[c].astype("int64")
    out = out.reset_index()
    out["period"] = out["period"].astype(str)
    out["group"] = out["group"].astype(str)
    return out


def last_complete_period(periods, as_of) -> str:
    """The latest of ``periods`` (labels like "2026Q2" or "2026-05") that ended by ``as_of``.

    Examples
    --------
    >>> last_complete_period(["2026Q1", "2026Q2"], "2026-06-30")
    '2026Q2'
    >>> last_complete_period(["2026Q1", "2026Q2"], "2026-06-29")
    '2026Q1'
    """
    cutoff = pd.Timestamp(as_of).normalize() + _DAY
    done = [p for p in periods if pd.Period(str(p)).end_time < cutoff]
    if not done:
        raise ValueError(f"no period in {list(periods)[:3]}... ended by {as_of}")
    return str(done[-1])
