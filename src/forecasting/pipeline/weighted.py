"""The CRM's weighted pipeline of a period: what is won so far plus open amounts x stage probability.

The number most CRMs print as "weighted pipeline" or "forecast": no model, each open
deal counted at its stage's default probability when it is expected in the period
(:func:`~forecasting.pipeline.expected_in_window`: overdue deals count as due now).
The weekly forecast call compares it with the calls and the model by week of quarter.
"""

from __future__ import annotations

import pandas as pd

from ._context import PipelineData, resolve
from .snapshot import cutoff_of, expected_in_window, period_bounds

__all__ = ["weighted_pipeline"]


def weighted_pipeline(opportunities: pd.DataFrame | None = None, stage_history: pd.DataFrame | None = None, *,
                      as_of, period, stages=None, data: PipelineData | None = None) -> float:
    """Closed won in ``period`` by the end of ``as_of`` + open deals expected in it x their stage's probability.

    Parameters
    ----------
    opportunities, stage_history : DataFrame, optional
        The deals and their stage history (not needed with ``data``).
    as_of : date-like
        The pipeline as it stood at the end of this day.
    period : str
        The period forecast (``2026Q3``, ``2026-07``).
    stages : Stages or path, optional
        Stage probabilities (default: the default stages).
    data : PipelineData, optional
        Prepared inputs, to reuse across many dates.

    Returns
    -------
    float
        The weighted pipeline of the period, in the deals' currency.

    Raises
    ------
    DataError
        An as-of date before the first deal or too long after the data's last record.

    Examples
    --------
    Deal A was won in the quarter; B (Proposal, 60%) is due in it; C (Demo, 40%) is due
    the next quarter, so it does not count: 100 + 0.6 x 50 = 130.

    >>> opps = pd.DataFrame({"opportunity_id": ["A", "B", "C"], "account_id": ["a", "b", "c"],
    ...     "owner": "ava", "amount": [100.0, 50.0, 70.0],
    ...     "created_at": pd.to_datetime(["2026-01-05", "2026-01-05", "2026-02-10"]),
    ...     "stage": ["Closed Won", "Proposal", "Demo"], "status": ["won", "open", "open"],
    ...     "close_date": pd.to_datetime(["2026-02-20", "2026-03-20", "2026-04-15"])})
    >>> hist = pd.DataFrame({"opportunity_id": ["A", "B", "B", "C", "A"],
    ...     "stage": ["Demo", "Demo", "Proposal", "Demo", "Closed Won"],
    ...     "entered_at": pd.to_datetime(["2026-01-05", "2026-01-05", "2026-02-15", "2026-02-10", "2026-02-20"]),
    ...     "close_date": pd.to_datetime(["2026-03-01", "2026-03-20", "2026-03-20", "2026-04-15", None]),
    ...     "amount": [100.0, 50.0, 50.0, 70.0, 100.0]})
    >>> weighted_pipeline(opps, hist, as_of="2026-02-20", period="2026Q1")
    130.0
    """
    data = resolve(opportunities, stage_history, stages, data)
    _, begin, end = period_bounds(period)
    cutoff = cutoff_of(as_of)
    data.check_as_of(cutoff, end - begin)
    won = data.won_between(begin, min(cutoff, end))["amount"].sum()
    snap = data.open_deals(cutoff)
    inside = expected_in_window(snap["close_date"], cutoff, begin, end)
    probability = snap["stage"].map(data.stages.probability).to_numpy(dtype=float)
    return float(won + (snap["amount"].to_numpy(dtype=float) * probability)[inside].sum())
