"""Historical stage win rates, shrunk toward the default stage probabilities.

The win rate of a stage is the share of the deals that reached it (and have
closed) that were won. With few closed deals that share is noisy, so it is
shrunk toward the stage's default probability with a beta prior of strength
``k`` (worth ``k`` pseudo-deals):

    probability = (won + k * default) / (reached + k)

Per segment (or owner), the prior is the all-deals rate of the same stage, so a
small segment borrows strength from the whole pipeline.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..data.schema import Stages
from ..data.validate import DataWarning
from ..metrics.sales import TOTAL_GROUP, group_labels
from .snapshot import _prepare_history, _Prepared, cutoff_of

if TYPE_CHECKING:  # _context imports this module
    from ._context import PipelineData

__all__ = ["stage_win_rates", "win_rates_before"]


def _closed_as_of(prepared: _Prepared, cutoff) -> pd.DataFrame:
    """Deals closed by the cutoff: won flag and furthest open stage reached (rank)."""
    stages = prepared.stages
    rows = prepared.rows[prepared.rows["entered_at"] < cutoff]
    last = rows.drop_duplicates("opportunity_id", keep="last").set_index("opportunity_id")["stage"]
    closed = last[last.isin(stages.closed)]
    rank = {s: i for i, s in enumerate(stages.open)}
    opened = rows[rows["stage"].isin(stages.open) & rows["opportunity_id"].isin(closed.index)]
    furthest = opened["stage"].map(rank).groupby(opened["opportunity_id"]).max()
    out = pd.DataFrame({"won": closed == stages.won})
    # A deal closed without an open-stage row passed through the first stage at least.
    out["furthest"] = furthest.reindex(out.index).fillna(0).astype(int)
    out.loc[out["won"], "furthest"] = len(stages.open) - 1  # won deals passed every stage
    return out


def _shrink(won, reached, prior, strength):
    return (np.asarray(won, float) + strength * np.asarray(prior, float)) / (
        np.asarray(reached, float) + strength)


def _rates(closed: pd.DataFrame, stages: Stages, prior: np.ndarray, strength: float) -> pd.DataFrame:
    n = len(stages.open)
    furthest = closed["furthest"].to_numpy()
    won = closed["won"].to_numpy()
    reached = np.array([(furthest >= i).sum() for i in range(n)])
    wins = np.array([(won & (furthest >= i)).sum() for i in range(n)])
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.where(reached > 0, wins / np.maximum(reached, 1), np.nan)
    return pd.DataFrame({
        "stage": list(stages.open),
        "reached": reached,
        "won": wins,
        "observed": observed,
        "prior": prior,
        "probability": _shrink(wins, reached, prior, strength),
    })


def _logit(p):
    p = np.clip(np.asarray(p, float), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _without_history(opportunities, stages: Stages, cutoff, strength) -> pd.DataFrame:
    """Only the overall win rate is known: shift the default stage odds to match it."""
    warnings.warn("no stage history: stage win rates are the defaults rescaled to the overall win rate",
                  DataWarning, stacklevel=3)
    closed = opportunities[opportunities["status"].isin(["won", "lost"])
                           & (pd.to_datetime(opportunities["close_date"]) < cutoff)]
    n, wins = len(closed), int((closed["status"] == "won").sum())
    default = np.array([stages.probability(s) for s in stages.open])
    first = _shrink(wins, n, default[0], strength)
    shifted = 1 / (1 + np.exp(-(_logit(default) - _logit(default[0]) + _logit(first))))
    return pd.DataFrame({
        "stage": list(stages.open), "reached": [n] + [np.nan] * (len(default) - 1),
        "won": [wins] + [np.nan] * (len(default) - 1),
        "observed": [wins / n if n else np.nan] + [np.nan] * (len(default) - 1),
        "prior": default, "probability": shifted,
    })


def stage_win_rates(
    opportunities: pd.DataFrame | None = None,
    stage_history: pd.DataFrame | None = None,
    stages: Stages | dict | None = None,
    *,
    as_of=None,
    strength: float = 10.0,
    by: str | None = None,
    data: PipelineData | None = None,
) -> pd.DataFrame:
    """Share of the deals that reached each stage that were won, shrunk toward the defaults.

    A deal reached a stage if its history shows that stage or a later one (deals
    that skip a stage still passed it); won deals passed every stage. Only deals
    closed on or before ``as_of`` count.

    Parameters
    ----------
    opportunities : DataFrame
        Canonical opportunities (``by`` column, and status / close_date without history).
    stage_history : DataFrame, optional
        Canonical stage history. Without it, only the overall win rate is known
        and the default probabilities are rescaled (in odds) to match it, with a warning.
    stages : Stages or dict, optional
        Open stages in order and their default probabilities.
    as_of : date-like, optional
        Use only deals closed on or before this date (default: all).
    strength : float, default 10
        Prior strength ``k`` in pseudo-deals; 0 gives the raw observed shares.
    by : str, optional
        Also estimate per value of this column (``segment``, ``owner``), shrunk
        toward the all-deals rate of the stage (needs stage history; without it
        only the ``"all"`` rows are returned).
    data : PipelineData, optional
        Prepared inputs (then the tables and ``stages`` are not needed): reuses the
        prepared stage history instead of preparing it again.

    Returns
    -------
    DataFrame
        ``stage, reached, won, observed, prior, probability`` (and ``by`` with a
        row set per group after the all-deals rows, whose ``by`` value is ``"all"``).

    Examples
    --------
    Ten closed deals reached Proposal and 6 were won; default 0.6, k = 10 keeps 0.6;
    with k = 0 the raw share is returned.
    """
    cutoff = cutoff_of(as_of) if as_of is not None else pd.Timestamp.max
    if data is not None:  # its prepared history stands for stage_history
        return win_rates_before(data, cutoff, strength=strength, by=by)
    if opportunities is None:
        raise TypeError("pass the opportunities table (and optionally stage_history) or data=PipelineData")
    stages = Stages.from_config(stages)
    prepared = None if stage_history is None else _prepare_history(stage_history, stages, opportunities)
    return _win_rates(opportunities, prepared, stages, cutoff, strength, by)


def win_rates_before(data: PipelineData, cutoff: pd.Timestamp, *, strength: float = 10.0,
                     by: str | None = None) -> pd.DataFrame:
    """:func:`stage_win_rates` of prepared inputs, from the deals closed before ``cutoff`` (exclusive)."""
    return _win_rates(data.opportunities, data.prepared, data.stages, cutoff, strength, by)


def _win_rates(opportunities, prepared: _Prepared | None, stages: Stages, cutoff, strength: float, by) -> pd.DataFrame:
    if prepared is None:
        rates = _without_history(opportunities, stages, cutoff, strength)
        return rates if by is None else rates.assign(**{by: "all"})[[by, *rates.columns]]
    closed = _closed_as_of(prepared, cutoff)
    default = np.array([stages.probability(s) for s in stages.open])
    overall = _rates(closed, stages, default, strength)
    if by is None:
        return overall
    groups = group_labels(opportunities.set_index(opportunities["opportunity_id"].astype(str))[by], by)
    closed = closed.assign(_g=groups.reindex(closed.index).fillna("unknown").to_numpy())
    parts = [overall.assign(**{by: TOTAL_GROUP})]
    for name, part in closed.groupby("_g", sort=True):
        parts.append(_rates(part, stages, overall["probability"].to_numpy(), strength).assign(**{by: name}))
    out = pd.concat(parts, ignore_index=True)
    return out[[by] + [c for c in out.columns if c != by]]
