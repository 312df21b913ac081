"""The sales funnel: how many deals reached each stage, and the stage-to-stage conversion."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ..data.schema import Stages
from ._base import _divide, _ids, _table

__all__ = ["funnel_report", "step_conversion"]


def step_conversion(reached) -> np.ndarray:
    """Funnel conversion: the share of each step's count that reached the next step.

    ``step_conversion[i] = reached[i + 1] / reached[i]``; NaN where no one reached step ``i``.
    Every funnel (this module's reports and :func:`forecasting.pipeline.health.funnel`)
    converts with this one definition.

    Parameters
    ----------
    reached : array-like
        Counts that reached each step, in funnel order.

    Returns
    -------
    ndarray
        One value fewer than ``reached``.

    Examples
    --------
    >>> step_conversion([100, 40, 10]).tolist()
    [0.4, 0.25]
    """
    reached = np.asarray(reached, dtype=float)
    return _divide(reached[1:], reached[:-1])


def funnel_report(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame | None = None,
    stages: Stages | Mapping | None = None,
) -> pd.DataFrame:
    """Funnel report: how many deals reached each stage, and the stage-to-stage conversion.

    A deal reached a stage if it got to that stage or any later one (deals that skip
    a stage still passed it). Its furthest stage is, in order of preference: the
    furthest stage in ``stage_history``; its current ``stage``; for a lost deal whose
    current stage is the closed-lost stage, the first stage (pass ``stage_history``
    to know where lost deals were lost).

    Parameters
    ----------
    opportunities : DataFrame
        ``opportunity_id``, ``stage``, ``status``.
    stage_history : DataFrame, optional
        ``opportunity_id``, ``stage``.
    stages : Stages or dict, optional
        Stage names in funnel order (default :class:`~forecasting.data.schema.Stages`).

    Returns
    -------
    DataFrame
        One row per open stage and the won stage, in funnel order: ``stage``, ``reached``,
        ``conversion`` (share of the previous stage's deals that reached this one; NaN for
        the first) and ``cumulative`` (share of the first stage's deals).

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["1", "2", "3", "4"],
    ...                      "stage": ["Closed Won", "Demo", "Prospecting", "Negotiation"],
    ...                      "status": ["won", "open", "open", "open"]})
    >>> funnel_report(opps)[["stage", "reached", "conversion"]].round(2)
               stage  reached  conversion
    0    Prospecting        4         NaN
    1  Qualification        3        0.75
    2           Demo        3        1.00
    3       Proposal        2        0.67
    4    Negotiation        2        1.00
    5     Closed Won        1        0.50
    """
    stages = Stages.from_config(stages)
    opps = _table(opportunities, "opportunities", ["opportunity_id", "stage", "status"])
    funnel = [*stages.open, stages.won]
    rank = {name: i for i, name in enumerate(funnel)}
    rank[stages.lost] = -1  # lost without history: only the first stage is known
    unknown = ~opps["stage"].isin(list(rank))
    if unknown.any():
        raise DataError([problem("opportunities", "stage", f"has unknown stages; known: {', '.join(stages.all)}",
                                 _ids(opps, unknown, "opportunity_id"))])
    ids = opps["opportunity_id"].astype(str)
    furthest = pd.Series(opps["stage"].map(rank).clip(lower=0).to_numpy(), index=ids)
    furthest[opps["status"].to_numpy() == "won"] = rank[stages.won]
    if stage_history is not None:
        history = _table(stage_history, "stage_history", ["opportunity_id", "stage"])
        seen = history.assign(_rank=history["stage"].map(rank))
        seen = seen[seen["_rank"] >= 0].groupby(seen["opportunity_id"].astype(str))["_rank"].max()
        furthest = np.maximum(furthest, seen.reindex(furthest.index).fillna(-1)).astype(int)
    reached = np.array([(furthest >= i).sum() for i in range(len(funnel))])
    return pd.DataFrame({
        "stage": funnel,
        "reached": reached,
        "conversion": np.r_[np.nan, step_conversion(reached)],
        "cumulative": _divide(reached, reached[0]),
    })
