"""Deal risk and hygiene: which open deals of a period's pipeline need a look.

For every open deal expected to close in the period, as of a date (nothing
stamped later is used): how often and how far its close date was pushed, how
long it has sat in its stage against the median of open deals in the same stage
and segment, whether its close date has passed, days since its last activity,
how often its amount changed, and how often it went back to an earlier stage.
Each signal past its threshold raises a flag; ``value_at_risk`` is the expected
value (amount x win probability) of the flagged deals, and the list is ordered by it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._context import PipelineData, resolve
from .snapshot import DAY, cutoff_of, expected_in_window, period_bounds

__all__ = ["deal_risk", "deal_signals", "history_signals", "days_since_activity", "RISK_FLAGS", "HISTORY_SIGNALS"]

RISK_FLAGS = ("flag_pushed", "flag_stalled", "flag_overdue", "flag_inactive", "flag_amount_changed",
              "flag_regressed")
HISTORY_SIGNALS = ("pushed_days", "amount_changes", "amount_log_ratio", "regressions")


def history_signals(data: PipelineData, cutoff: pd.Timestamp, ids: pd.Series) -> pd.DataFrame:
    """Per deal, from stage-history rows stamped before ``cutoff``: how far and how its record moved.

    Parameters
    ----------
    data : PipelineData
    cutoff : Timestamp
        Exclusive: rows entered at or after it are not known yet.
    ids : Series
        Opportunity ids.

    Returns
    -------
    DataFrame
        Indexed by ``opportunity_id``: ``pushed_days`` (the expected close date now minus
        the first one, days, never negative), ``amount_changes`` (times the amount changed),
        ``amount_log_ratio`` (log of the amount now over the first known amount; NaN when
        either is 0) and ``regressions`` (moves back to an earlier open stage). All NaN
        without stage history: unknown, not zero.
    """
    out = pd.DataFrame(index=pd.Index(ids, name="opportunity_id"))
    if data.prepared is None:
        return out.assign(**{c: np.nan for c in HISTORY_SIGNALS})
    rows = data.prepared.rows
    rows = rows[(rows["entered_at"] < cutoff) & rows["opportunity_id"].isin(ids)]
    g = rows.groupby("opportunity_id", sort=False)
    first_close = g["close_date"].transform("first")
    pushed = ((rows["close_date"] - first_close) / DAY).clip(lower=0)
    rank = {s: i for i, s in enumerate(data.stages.open)}
    back = (rows["stage"].map(rank) < g["stage"].shift().map(rank)).astype(int)
    changed = (rows["amount"] != g["amount"].shift()) & g["amount"].shift().notna()
    signals = pd.DataFrame({"opportunity_id": rows["opportunity_id"], "pushed_days": pushed,
                            "amount_changes": changed.astype(int), "regressions": back,
                            "amount": rows["amount"]})
    agg = signals.groupby("opportunity_id").agg(pushed_days=("pushed_days", "last"),
                                                amount_changes=("amount_changes", "sum"),
                                                regressions=("regressions", "sum"),
                                                first_amount=("amount", "first"), amount=("amount", "last"))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(agg["amount"].astype(float) / agg["first_amount"].astype(float))
    agg["amount_log_ratio"] = ratio.where(np.isfinite(ratio))
    out = out.join(agg[list(HISTORY_SIGNALS)])
    # A deal created before the cutoff without a history row yet has moved nowhere.
    out.loc[~out.index.isin(agg.index), list(HISTORY_SIGNALS)] = 0.0
    return out


def days_since_activity(activities: pd.DataFrame | None, cutoff: pd.Timestamp, ids: pd.Series) -> np.ndarray:
    """Days from each deal's last activity before ``cutoff`` to the cutoff; NaN without one.

    All NaN when there is no activities table (or it has no ``opportunity_id``).

    Examples
    --------
    >>> acts = pd.DataFrame({"opportunity_id": ["A", "A"],
    ...                      "occurred_at": pd.to_datetime(["2026-01-01", "2026-03-01"])})
    >>> days_since_activity(acts, pd.Timestamp("2026-02-01"), pd.Series(["A", "B"])).tolist()
    [31.0, nan]
    """
    if activities is None or "opportunity_id" not in activities.columns:
        return np.full(len(ids), np.nan)
    stamps = pd.to_datetime(activities["occurred_at"])
    known = (stamps < cutoff).to_numpy()
    last = stamps[known].groupby(activities.loc[known, "opportunity_id"].astype(str).to_numpy()).max()
    return ((cutoff - last.reindex(ids.astype(str).to_numpy())) / DAY).to_numpy(dtype=float)


def deal_signals(data: PipelineData, cutoff: pd.Timestamp, deals: pd.DataFrame,
                 activities: pd.DataFrame | None = None) -> pd.DataFrame:
    """The risk signals of a snapshot's deals, known at ``cutoff`` (nothing stamped later is used).

    The one place the signals are computed: :func:`deal_risk` flags them and the learned
    close-probability model can use them as features (``features="risk"``).

    Parameters
    ----------
    data : PipelineData
    cutoff : Timestamp
        Exclusive cutoff of the snapshot.
    deals : DataFrame
        The snapshot (:meth:`PipelineData.open_deals`) at ``cutoff``.
    activities : DataFrame, optional

    Returns
    -------
    DataFrame
        Aligned with ``deals``: :func:`history_signals`, ``stage_median_days`` (median days
        in stage of the snapshot's deals in the same segment and stage), ``stage_time_ratio``
        (days in stage over that median) and ``days_since_activity``.
    """
    ids = deals["opportunity_id"]
    out = history_signals(data, cutoff, ids).reset_index(drop=True).set_axis(deals.index)
    segment = deals["segment"] if "segment" in deals else pd.Series("unknown", index=deals.index)
    median = deals.groupby([segment, deals["stage"]])["days_in_stage"].transform("median")
    out["stage_median_days"] = median.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = deals["days_in_stage"].to_numpy(dtype=float) / out["stage_median_days"].to_numpy()
    out["stage_time_ratio"] = np.where(np.isfinite(ratio), ratio, np.nan)
    out["days_since_activity"] = days_since_activity(activities, cutoff, ids)
    return out


def deal_risk(
    opportunities: pd.DataFrame | None = None,
    stage_history: pd.DataFrame | None = None,
    *,
    as_of,
    period,
    activities: pd.DataFrame | None = None,
    probability: pd.Series | None = None,
    stalled_ratio: float = 2.0,
    inactive_days: float = 30.0,
    stages=None,
    data: PipelineData | None = None,
) -> pd.DataFrame:
    """Risk flags of the open deals expected to close in ``period``, as of a date.

    Parameters
    ----------
    opportunities, stage_history : DataFrame, optional
        Canonical tables (not needed with ``data``). Without history the push,
        amount and regression signals are unknown (NaN, never flagged).
    as_of : date-like
    period : str or Period
    activities : DataFrame, optional
        Canonical activities with ``opportunity_id``: days since the last activity.
    probability : Series, optional
        Win probability by opportunity id (e.g. ``deals`` of
        :func:`~forecasting.pipeline.forecast_period`); default: the stage's default.
    stalled_ratio : float, default 2
        Flag deals in their stage longer than this times the median of open deals in
        the same stage and segment.
    inactive_days : float, default 30
        Flag deals without an activity for longer (only with ``activities``).

    Returns
    -------
    DataFrame
        ``opportunity_id``, the flags of :data:`RISK_FLAGS`, ``expected_value, value_at_risk``,
        then ``owner, segment, stage, amount, close_date, probability, flags, pushes,
        pushed_days, days_in_stage, stage_median_days, days_since_activity,
        amount_changes, amount_log_ratio, regressions``; ordered by value at risk (largest first).

    Examples
    --------
    >>> opps = pd.DataFrame({"opportunity_id": ["A", "B"], "account_id": ["a", "b"], "owner": ["ava", "bo"],
    ...     "amount": [100.0, 50.0], "created_at": pd.to_datetime(["2026-01-05", "2026-02-10"]),
    ...     "stage": ["Proposal", "Proposal"], "status": ["open", "open"],
    ...     "close_date": pd.to_datetime(["2026-03-30", "2026-03-15"])})
    >>> hist = pd.DataFrame({"opportunity_id": ["A", "A", "B"], "stage": ["Proposal", "Proposal", "Proposal"],
    ...     "entered_at": pd.to_datetime(["2026-01-05", "2026-02-01", "2026-02-10"]),
    ...     "close_date": pd.to_datetime(["2026-02-15", "2026-03-30", "2026-03-15"])})
    >>> risk = deal_risk(opps, hist, as_of="2026-02-28", period="2026Q1")
    >>> risk[["opportunity_id", "flag_pushed", "pushed_days", "expected_value", "value_at_risk"]]
      opportunity_id  flag_pushed  pushed_days  expected_value  value_at_risk
    0              A         True         43.0            60.0           60.0
    1              B        False          0.0            30.0            0.0
    """
    data = resolve(opportunities, stage_history, stages, data)
    cutoff = cutoff_of(as_of)
    _, begin, end = period_bounds(period)
    data.check_as_of(cutoff, end - begin)
    snap = data.open_deals(cutoff)
    snap = snap[expected_in_window(snap["close_date"], cutoff, begin, end)].reset_index(drop=True)
    ids = snap["opportunity_id"]
    out = snap[["opportunity_id", "owner", "segment", "stage", "amount", "close_date", "pushes",
                "days_in_stage"]].copy()
    signals = deal_signals(data, cutoff, snap, activities)
    out = pd.concat([out, signals.drop(columns="stage_time_ratio")], axis=1)
    p = ids.map(probability) if probability is not None else snap["stage"].map(data.stages.probability)
    out["probability"] = p.astype(float).to_numpy()
    out["flag_pushed"] = out["pushes"] > 0
    out["flag_stalled"] = out["days_in_stage"] > stalled_ratio * out["stage_median_days"]
    out["flag_overdue"] = out["close_date"] < cutoff - DAY
    out["flag_inactive"] = out["days_since_activity"] > inactive_days
    out["flag_amount_changed"] = out["amount_changes"] > 0
    out["flag_regressed"] = out["regressions"] > 0
    out["flags"] = out[list(RISK_FLAGS)].sum(axis=1).astype(int)
    out["expected_value"] = out["amount"] * out["probability"]
    out["value_at_risk"] = out["expected_value"].where(out["flags"] > 0, 0.0)
    out = out.sort_values(["value_at_risk", "flags", "opportunity_id"], ascending=[False, False, True],
                          ignore_index=True)
    first = ["opportunity_id", *RISK_FLAGS, "expected_value", "value_at_risk"]
    return out[first + [c for c in out.columns if c not in first]]
