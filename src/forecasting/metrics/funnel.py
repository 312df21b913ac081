"""The sales funnel: how many deals reached each stage, and the stage-to-stage conversion."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ..data.schema import Stages
from ._base import _divide, _end_of, _freq, _ids, _table

__all__ = ["funnel_report", "funnel_table", "step_conversion"]


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
    *,
    as_of=None,
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
    as_of : date-like, optional
        Only what was known then (needs ``created_at`` and ``close_date``, and the history's
        ``entered_at``): later deals vanish, later closes are open, and an open deal sits at
        the first stage unless its history says more. :func:`funnel_table` adds cohorts.

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
    if as_of is not None:
        opportunities, stage_history = _known_at(*_dated(opportunities, stage_history), stages, _end_of(as_of))
    opps = _table(opportunities, "opportunities", ["opportunity_id", "stage", "status"])
    furthest = _furthest(opps, stage_history, stages)
    funnel = [*stages.open, stages.won]
    reached = np.array([(furthest >= i).sum() for i in range(len(funnel))])
    return pd.DataFrame({
        "stage": funnel,
        "reached": reached,
        "conversion": np.r_[np.nan, step_conversion(reached)],
        "cumulative": _divide(reached, reached[0]),
    })


def _furthest(opps, stage_history, stages: Stages) -> pd.Series:
    """Each deal's furthest stage as a rank in the funnel (open stages, then won)."""
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
    return furthest


def funnel_table(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame | None = None,
    leads: pd.DataFrame | None = None,
    *,
    stages: Stages | Mapping | None = None,
    freq: str = "Q",
    as_of=None,
) -> pd.DataFrame:
    """The whole funnel per cohort: lead -> MQL -> SQL -> opportunity -> each stage -> won.

    The cohort of a period is the leads created in it (or, without leads, the
    opportunities created in it). A lead reached MQL / SQL when ``mql_at`` / ``sql_at``
    is on or before ``as_of`` or its ``status`` (or ``lead_status``) says so (``mql``, ``sql``); it reached
    ``opportunity`` when an opportunity with its ``lead_id`` was created (else when it
    converted). A step skipped still counts as passed. A status is today's: it is
    not as of ``as_of`` (dates are). Only what was known at ``as_of``
    counts: without ``stage_history`` a deal still open then is known to have reached
    the first stage only.

    Parameters
    ----------
    opportunities : DataFrame
        ``opportunity_id, stage, status, created_at, close_date`` (``lead_id`` to link leads).
    stage_history : DataFrame, optional
        ``opportunity_id, stage, entered_at``: dates of the stage steps.
    leads : DataFrame, optional
        ``lead_id, created_at`` and ``mql_at`` / ``sql_at`` / ``status`` / ``converted``.
    stages : Stages or dict, optional
    freq : {"D", "W", "M", "Q", "Y"}
        Cohort period length.
    as_of : date-like, optional
        Count only what happened up to this date (default: everything).

    Returns
    -------
    DataFrame
        ``period`` (the cohort, then ``all``), ``step``, ``reached``, ``conversion`` (from the
        previous step, :func:`step_conversion`), ``cumulative`` (of the first step), and
        ``days_from_previous_mean`` / ``_median`` over the members with both dates known.

    Examples
    --------
    Four opportunities created on 2 January; two reached Demo (after 30 and 18 days), one was won
    30 days after its Demo:

    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["1", "2", "3", "4"],
    ...     "stage": ["Closed Won", "Closed Lost", "Prospecting", "Prospecting"],
    ...     "status": ["won", "lost", "open", "open"],
    ...     "created_at": pd.to_datetime(["2025-01-02"] * 4),
    ...     "close_date": pd.to_datetime(["2025-03-03", "2025-02-01", "2025-06-30", "2025-06-30"])})
    >>> history = pd.DataFrame({"opportunity_id": ["1", "1", "2"], "stage": ["Demo", "Closed Won", "Demo"],
    ...                         "entered_at": pd.to_datetime(["2025-02-01", "2025-03-03", "2025-01-20"])})
    >>> table = funnel_table(opps, history, freq="M", as_of="2025-03-31")
    >>> table[table["period"] == "all"][["step", "reached", "conversion", "days_from_previous_mean"]]
                 step  reached  conversion  days_from_previous_mean
    6     Prospecting        4         NaN                      NaN
    7   Qualification        2         0.5                      NaN
    8            Demo        2         1.0                     24.0
    9        Proposal        1         0.5                      NaN
    10    Negotiation        1         1.0                      NaN
    11     Closed Won        1         1.0                     30.0
    """
    stages = Stages.from_config(stages)
    freq = _freq(freq)
    opps, history = _dated(opportunities, stage_history)
    until = _until(as_of, opps)
    if as_of is not None:  # else every record counts, current stages included
        opps, history = _known_at(opps, history, stages, until)
    steps, dates = _deal_steps(opps, history, stages)
    cohort = opps["created_at"]
    if leads is not None:
        leads = _table(leads, "leads", ["lead_id", "created_at"], ("created_at", "mql_at", "sql_at", "converted_at"),
                       "lead_id")
        leads = leads[leads["created_at"] <= until]
        steps, dates = _lead_steps(leads, opps, steps, dates, until)
        cohort = leads["created_at"]
    reached = _reached(dates.notna() | steps.to_numpy())
    period = cohort.dt.to_period(freq).astype(str).to_numpy()
    parts = [(p, period == p) for p in sorted(set(period))] + [("all", np.ones(len(period), bool))]
    return pd.concat([_funnel_rows(label, reached[mask], dates[mask]) for label, mask in parts], ignore_index=True)


def _dated(opportunities, stage_history):
    """The deals and their stage history with the dates the as-of rules need."""
    opps = _table(opportunities, "opportunities", ["opportunity_id", "stage", "status", "created_at", "close_date"],
                  ("created_at", "close_date"), "opportunity_id")
    history = None if stage_history is None else _table(stage_history, "stage_history",
                                                        ["opportunity_id", "stage", "entered_at"], ("entered_at",))
    return opps, history


def _until(as_of, opps) -> pd.Timestamp:
    if as_of is None:
        return max(opps["created_at"].max(), opps.loc[opps["status"] != "open", "close_date"].max())
    return _end_of(as_of)


def _known_at(opps, history, stages: Stages, until):
    """Deals and stage history as known at ``until``: later records vanish, later closes are
    open and a deal open then sits at the first stage unless its history says more."""
    opps = opps[opps["created_at"] <= until]
    status = opps["status"].astype(str).str.strip().str.lower()
    open_then = ~status.isin(["won", "lost"]) | (opps["close_date"] > until)
    opps = opps.assign(status=status.mask(open_then, "open"), stage=opps["stage"].mask(open_then, stages.open[0]))
    if history is not None:
        history = history[history["entered_at"] <= until]
    return opps, history


def _deal_steps(opps, history, stages: Stages) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per deal: whether it reached each stage step, and the date it entered it (NaT unknown)."""
    funnel = [*stages.open, stages.won]
    furthest = _furthest(opps, history, stages).to_numpy()
    steps = pd.DataFrame({name: furthest >= i for i, name in enumerate(funnel)})
    dates = pd.DataFrame({name: pd.Series(pd.NaT, index=range(len(opps)), dtype="datetime64[ns]")
                          for name in funnel})
    dates[stages.open[0]] = opps["created_at"].to_numpy()
    if history is not None:
        first = history.groupby([history["opportunity_id"].astype(str), "stage"])["entered_at"].min().unstack()
        ids = opps["opportunity_id"].astype(str)
        for name in funnel[1:]:
            if name in first.columns:
                dates[name] = ids.map(first[name]).to_numpy()
    won = (opps["status"] == "won").to_numpy()
    dates[stages.won] = np.where(won, opps["close_date"].to_numpy(), np.datetime64("NaT"))
    return steps, dates.where(steps)


def _lead_steps(leads, opps, steps, dates, until) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per lead: lead -> MQL -> SQL -> opportunity, then its first deal's stage steps."""
    ids = leads["lead_id"].astype(str)
    lead = pd.DataFrame({"lead": leads["created_at"].to_numpy()})
    said = next((c for c in ("status", "lead_status") if c in leads.columns), None)
    status = leads[said].astype(str).str.strip().str.lower() if said else None
    marks = {}
    for name in ("mql", "sql"):
        column = f"{name}_at"
        if column in leads.columns or (status is not None and status.eq(name).any()):
            on = leads[column].where(leads[column] <= until) if column in leads.columns else pd.Series(pd.NaT,
                                                                                                  index=leads.index)
            lead[name.upper()] = on.to_numpy()
            marks[name.upper()] = status.isin([name, "sql"] if name == "mql" else [name]).to_numpy() \
                if status is not None else np.zeros(len(leads), bool)
    if "lead_id" in opps.columns:
        deals = opps.assign(_lead=opps["lead_id"].astype(str), _row=np.arange(len(opps)))
        first = deals.dropna(subset=["lead_id"]).sort_values("created_at").drop_duplicates("_lead").set_index("_lead")
        row = ids.map(first["_row"])
        has = row.notna().to_numpy()
        take = row.fillna(0).astype(int).to_numpy()
        lead["opportunity"] = np.where(has, opps["created_at"].to_numpy()[take], np.datetime64("NaT"))
        linked = np.repeat(has[:, None], steps.shape[1], axis=1)
        deal_steps = steps.iloc[take].reset_index(drop=True).where(linked, False)
        deal_dates = dates.iloc[take].reset_index(drop=True).where(linked)
    else:  # no link: the lead's conversion is its opportunity step; stages unknown
        done = leads["converted_at"].where(leads["converted_at"] <= until) if "converted_at" in leads.columns \
            else pd.Series(pd.NaT, index=leads.index)
        lead["opportunity"] = done.to_numpy()
        deal_steps = pd.DataFrame(False, index=range(len(leads)), columns=steps.columns)
        deal_dates = pd.DataFrame(pd.NaT, index=range(len(leads)), columns=steps.columns)
    lead_steps = lead.notna()
    for name, mark in marks.items():
        lead_steps[name] |= mark
    return (pd.concat([lead_steps, deal_steps.astype(bool)], axis=1),
            pd.concat([lead, deal_dates.astype("datetime64[ns]")], axis=1))


def _reached(hit: pd.DataFrame) -> pd.DataFrame:
    """A step counts as passed when any later step was reached (deals skip stages)."""
    later = hit.iloc[:, ::-1].cummax(axis=1).iloc[:, ::-1]
    return later.astype(bool)


def _funnel_rows(label: str, reached: pd.DataFrame, dates: pd.DataFrame) -> pd.DataFrame:
    counts = reached.sum().to_numpy()
    # Days since the last step with a known date (a skipped stage has none).
    gaps = (dates - dates.ffill(axis=1).shift(1, axis=1)) / pd.Timedelta(days=1)
    gaps = gaps.where(reached)
    return pd.DataFrame({
        "period": label,
        "step": list(reached.columns),
        "reached": counts.astype(int),
        "conversion": np.r_[np.nan, step_conversion(counts)],
        "cumulative": _divide(counts, counts[0]) if len(counts) else [],
        "days_from_previous_mean": gaps.mean().to_numpy(),
        "days_from_previous_median": gaps.median().to_numpy(),
    })
