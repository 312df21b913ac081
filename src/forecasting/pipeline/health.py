"""Pipeline health KPIs as of a date: coverage, velocity, funnel, slippage.

Rates use the deals closed in the ``lookback_days`` before the date (trailing
twelve months by default); stock figures (open pipeline) use the as-of
snapshot. The glossary formulas come from :mod:`forecasting.metrics`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ..metrics import average_deal_size, funnel_report, gap_coverage, pipeline_coverage, pipeline_velocity, win_rate
from ..metrics.panel import spread_by_period
from ._context import PipelineData, resolve
from .snapshot import DAY, cutoff_of, expected_in_window, period_bounds
from .stages import win_rates_before

__all__ = ["pipeline_health", "funnel", "slippage_rate", "period_target"]


def slippage_rate(data: PipelineData, period) -> float:
    """Share of the deals expected (as of the period's first day) to close in ``period``
    that were still open at its end: they slipped.

    NaN when no deal was expected in the period.
    """
    _, start, end = period_bounds(period)
    first = data.open_deals(start + DAY)
    expected = first[(first["close_date"] >= start) & (first["close_date"] < end)]
    if expected.empty:
        return float("nan")
    still_open = data.open_deals(end)["opportunity_id"]
    return float(expected["opportunity_id"].isin(still_open).mean())


def _stage_days(data: PipelineData, cutoff) -> pd.DataFrame:
    """Mean and median days spent in each open stage, over stage stays that ended before the cutoff."""
    stages = data.stages
    if data.prepared is None:
        return pd.DataFrame(np.nan, index=list(stages.open), columns=["mean", "median"])
    rows = data.prepared.rows[data.prepared.rows["entered_at"] < cutoff]
    runs = rows[rows["entered_at"] == rows["stage_entered_at"]]  # first row of each stay
    nxt = runs.groupby("opportunity_id", sort=False)["entered_at"].shift(-1)
    stays = pd.DataFrame({"stage": runs["stage"], "days": (nxt - runs["entered_at"]) / DAY}).dropna()
    return stays.groupby("stage")["days"].agg(["mean", "median"]).reindex(list(stages.open))


def funnel(data: PipelineData, as_of) -> pd.DataFrame:
    """Funnel as of a date: per open stage, deals that reached it (closed by then),
    conversion to the next stage, raw and shrunk win rate, mean and median days in stage.

    Reached and conversion are :func:`forecasting.metrics.funnel_report` (the one funnel
    of the project) over the deals closed before the date; only closed deals have had
    their chance to move on, so the stage-to-next rates are not diluted by open ones.
    Without stage history only the first stage's count is known (the rest is NaN).
    """
    cutoff = cutoff_of(as_of)
    import warnings

    from ..data.validate import DataWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        rates = win_rates_before(data, cutoff)
    closed = data.closed_before(cutoff)
    outcome = pd.Series(np.where(closed["won"], "won", "lost"), index=closed["opportunity_id"].astype(str))
    ids = data.opportunities["opportunity_id"].astype(str)
    deals = data.opportunities[ids.isin(outcome.index)]
    deals = deals.assign(status=deals["opportunity_id"].astype(str).map(outcome).to_numpy())
    history = None
    if data.prepared is not None:
        rows = data.prepared.rows
        history = rows.loc[rows["entered_at"] < cutoff, ["opportunity_id", "stage"]]
    stages = funnel_report(deals, history, data.stages)
    days = _stage_days(data, cutoff)
    reached = stages["reached"].to_numpy(dtype=float)[:-1]
    conversion = stages["conversion"].to_numpy(dtype=float, copy=True)[1:]  # the last open stage's next step: won
    if history is None:  # where lost deals were lost is unknown: past the first stage nothing is
        reached[1:], conversion[:] = np.nan, np.nan
    return pd.DataFrame({
        "stage": rates["stage"],
        "reached": reached,
        "conversion_to_next": conversion,
        "win_rate": rates["observed"],
        "win_rate_shrunk": rates["probability"],
        "mean_days_in_stage": days["mean"].to_numpy(),
        "median_days_in_stage": days["median"].to_numpy(),
    })


def pipeline_health(
    opportunities: pd.DataFrame | None = None,
    stage_history: pd.DataFrame | None = None,
    as_of=None,
    period=None,
    target: float | None = None,
    *,
    stages=None,
    lookback_days: int = 365,
    data: PipelineData | None = None,
) -> pd.DataFrame:
    """Pipeline health KPIs as of a date, as a ``kpi, value`` table.

    Parameters
    ----------
    opportunities, stage_history : DataFrame, optional
        Canonical tables (or pass ``data``).
    as_of : date-like
        Within the data, as for :func:`~forecasting.pipeline.forecast_period`.
    period : str, optional
        The period whose pipeline is measured (default: the quarter of ``as_of``).
    target : float, optional
        Period target, for pipeline coverage.
    lookback_days : int, default 365
        Closed deals in this window before ``as_of`` define the rates.

    Returns
    -------
    DataFrame
        ``kpi, value`` rows: ``open_deals, open_pipeline`` (expected to close by the period
        end), ``overdue_share`` (of open amount), ``avg_pushes``, ``closed_won`` (in the
        period so far), ``win_rate, avg_deal_size, sales_cycle_days, pipeline_velocity``
        (per day), ``slippage_rate`` (previous period), with a target ``pipeline_coverage``
        (open pipeline / target) and ``gap_coverage`` (open pipeline / (target - closed won)),
        then per-stage ``conversion_to_next:<stage>``,
        ``win_rate:<stage>``, ``mean_days_in_stage:<stage>`` and ``median_days_in_stage:<stage>``.
    """
    data = resolve(opportunities, stage_history, stages, data)
    cutoff = cutoff_of(as_of)
    p, start, end = period_bounds(period if period is not None else pd.Period(cutoff - DAY, freq="Q"))
    data.check_as_of(cutoff, end - start)
    deals = data.open_deals(cutoff)
    in_period = expected_in_window(deals["close_date"], cutoff, max(start, cutoff), end)
    open_pipeline = float(deals.loc[in_period, "amount"].sum())
    closed = data.closed_before(cutoff)
    closed = closed[closed["closed_at"] >= cutoff - pd.Timedelta(days=lookback_days)]
    won = closed[closed["won"]]
    n_won, n_lost = len(won), int((~closed["won"]).sum())
    rate = float(win_rate(n_won, n_lost))
    deal_size = float(average_deal_size(won["amount"].sum(), n_won)) if n_won else float("nan")
    cycle = float(((won["closed_at"] - won["created_at"]) / DAY).mean()) if n_won else float("nan")
    closed_won = float(data.won_between(start, min(cutoff, end))["amount"].sum())
    total_open = float(deals["amount"].sum())
    kpis = {
        "open_deals": float(len(deals)),
        "open_pipeline": open_pipeline,
        "overdue_share": float(deals.loc[deals["close_date"] < cutoff - DAY, "amount"].sum() / total_open)
        if total_open else float("nan"),
        "avg_pushes": float(deals["pushes"].mean()) if len(deals) else float("nan"),
        "closed_won": closed_won,
        "win_rate": rate,
        "avg_deal_size": deal_size,
        "sales_cycle_days": cycle,
        "pipeline_velocity": float(pipeline_velocity(len(deals), deal_size, rate, cycle))
        if n_won and cycle > 0 else float("nan"),
        "slippage_rate": slippage_rate(data, p - 1) if (p - 1).end_time < cutoff else float("nan"),
    }
    if target is not None:
        kpis["pipeline_coverage"] = float(pipeline_coverage(open_pipeline, float(target)))
        kpis["gap_coverage"] = float(gap_coverage(open_pipeline, float(target), closed_won))
    table = funnel(data, cutoff - DAY)
    for column in ("conversion_to_next", "win_rate", "mean_days_in_stage", "median_days_in_stage"):
        for stage, value in zip(table["stage"], table[column]):
            kpis[f"{column}:{stage}"] = float(value)
    return pd.DataFrame({"kpi": list(kpis), "value": list(kpis.values()),
                         "period": str(p), "as_of": (cutoff - DAY).date().isoformat()})


def period_target(quotas: pd.DataFrame, period, owner: str | None = None) -> float:
    """The target of ``period``: the quotas that fall in it, summed (all owners, or one).

    A quota of a longer period (a yearly quota for a quarter) is split evenly over the
    periods it covers, like :func:`forecasting.metrics.kpi_table` does; quotas of shorter
    periods inside ``period`` (monthly quotas for a quarter) are summed.

    Parameters
    ----------
    quotas : DataFrame
        ``period`` (labels like "2026Q3" or "2026-07"), ``quota`` and optionally ``owner``.
    period : str or Period
        The period to get the target of.
    owner : str, optional
        Only this owner's quotas.

    Returns
    -------
    float

    Raises
    ------
    DataError
        Missing columns, a label that is not a period, or no quota covering ``period``.

    Examples
    --------
    >>> quotas = pd.DataFrame({"period": ["2026Q3", "2026Q3", "2026", "2026-07"],
    ...                        "owner": ["ava", "ben", "cleo", "dan"], "quota": [100.0, 200.0, 400.0, 30.0]})
    >>> period_target(quotas, "2026Q3")  # 100 + 200 + 400 / 4 + 30
    430.0
    """
    target, _, _ = period_bounds(period)
    missing = [c for c in ("period", "quota") + (("owner",) if owner is not None else ()) if c not in quotas.columns]
    if missing:
        raise DataError([problem("quotas", c, "is a required column but is missing") for c in missing])
    amounts = pd.to_numeric(quotas["quota"], errors="coerce")
    bad = ((amounts.isna() & quotas["quota"].notna()) | np.isinf(amounts)).to_numpy()
    if bad.any():
        raise DataError([problem("quotas", "quota", "has values that are not numbers",
                                 [f"row {n + 1}" for n in np.flatnonzero(bad)])])
    spread = spread_by_period(quotas.assign(quota=amounts.fillna(0.0)), column="period", value="quota",
                              freq=target.freqstr, table="quotas")
    mine = spread[spread["_period"] == target]
    if owner is not None:
        mine = mine[mine["owner"].astype(str) == str(owner)]
    if mine.empty:
        who = f" for owner {owner!r}" if owner is not None else ""
        raise DataError([problem("quotas", "period", f"has no quota covering {target}{who}")])
    return float(mine["quota"].sum())
