"""As-of snapshots: the open pipeline exactly as it stood on a past date.

A snapshot *as of* a date D sees every row stamped before the end of day D
(internally: before the *cutoff* ``D + 1 day``, midnight) and nothing later.
With ``stage_history`` each open deal gets the stage, amount and expected close
date of its last history row before the cutoff, so a forecast made "as of
2025-01-01" only uses what the CRM showed that day. Without history only the
current table is known and the snapshot is approximate (a :class:`DataWarning`
says so).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ..data.schema import Stages
from ..data.validate import DataWarning
from ..periods import complete_periods, open_period, parse_periods, period_bounds  # re-exported here

__all__ = ["snapshot", "cutoff_of", "period_bounds", "parse_periods", "expected_in_window", "SNAPSHOT_COLUMNS",
           "resolve_period", "resolve_backtest_periods", "BACKTEST_PERIODS"]

BACKTEST_PERIODS = 8  # default backtest: the last 8 complete periods

DAY = pd.Timedelta(days=1)

SNAPSHOT_COLUMNS = (
    "opportunity_id", "owner", "segment", "stage", "amount", "created_at", "close_date",
    "stage_entered_at", "days_in_stage", "age_days", "pushes",
)


def cutoff_of(as_of) -> pd.Timestamp:
    """Exclusive cutoff of an as-of date: midnight after it (rows stamped on the day count).

    Examples
    --------
    >>> cutoff_of("2026-06-30")
    Timestamp('2026-07-01 00:00:00')
    """
    try:
        ts = pd.Timestamp(as_of)
    except (TypeError, ValueError):
        raise DataError(f"as-of date {as_of!r} is not a date (expected e.g. 2026-06-30)",
                        table="as_of") from None
    if pd.isna(ts):
        raise DataError("as-of date is missing", table="as_of")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize() + DAY


def expected_in_window(close_date, cutoff: pd.Timestamp, begin: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """Whether open deals are expected to close in ``[begin, end)``, seen at ``cutoff``.

    The one rule every method, table and training label uses: a deal is expected on its
    close date, an overdue one (close date before the cutoff) as soon as possible, at the
    cutoff. So a period that starts after the cutoff counts only the deals due inside it,
    never those due before it, and a deal with no close date is expected nowhere.

    Examples
    --------
    >>> due = pd.to_datetime(["2026-05-01", "2026-08-15", "2026-11-02", None])
    >>> cut = pd.Timestamp("2026-07-01")
    >>> expected_in_window(due, cut, cut, pd.Timestamp("2026-10-01")).tolist()  # 2026Q3 as of 06-30
    [True, True, False, False]
    >>> expected_in_window(due, cut, pd.Timestamp("2026-10-01"), pd.Timestamp("2027-01-01")).tolist()  # Q4
    [False, False, True, False]
    """
    due = pd.to_datetime(pd.Series(close_date)).to_numpy(dtype="datetime64[ns]")
    cutoff, begin, end = (np.asarray(x, dtype="datetime64[ns]") for x in (cutoff, begin, end))
    due = np.where(due < cutoff, cutoff, due)  # NaT compares False: stays NaT, expected nowhere
    return (due >= begin) & (due < end)


def resolve_period(period: str, as_of: str, freq: str = "Q") -> str:
    """``period`` as given, or the period still open at the end of ``as_of``: the one
    containing the next day (as of 2026-06-30, the quarter 2026Q3).

    Examples
    --------
    >>> resolve_period("", "2026-06-30")
    '2026Q3'
    >>> resolve_period("", "2026-06-29"), resolve_period("", "2026-06-29", "M")
    ('2026Q2', '2026-06')
    >>> resolve_period("2025Q4", "2026-06-30")
    '2025Q4'
    """
    if period:
        return period
    return str(open_period(as_of, freq))


def resolve_backtest_periods(periods: str, as_of: str, *, period: str | None = None, freq: str = "Q",
                             first: pd.Timestamp | str | None = None, n: int = BACKTEST_PERIODS) -> str:
    """``periods`` as given, or the last ``n`` complete periods before ``as_of`` as ``"FIRST:LAST"``.

    Periods take the length of ``period`` (else ``freq``); with ``first`` (the data's first
    date) only periods that start after it count, as a backtest needs deals known on their
    first day.

    Raises
    ------
    DataError
        No complete period lies between ``first`` and ``as_of``.

    Examples
    --------
    >>> resolve_backtest_periods("", "2026-06-30")
    '2024Q3:2026Q2'
    >>> resolve_backtest_periods("", "2017-12-31", first="2016-10-20")
    '2017Q1:2017Q4'
    """
    if periods:
        return periods
    freq = pd.Period(period).freqstr if period else freq
    candidates = complete_periods(as_of, n, freq, after=first)
    if not candidates:
        raise DataError(problem("backtest_periods", None, f"no complete period between the first date "
                                f"({pd.Timestamp(first).date()}) and as_of {as_of}: pass the periods, "
                                "e.g. 2025Q1:2025Q4"))
    return f"{candidates[0]}:{candidates[-1]}"


def unknown_stages_message(names: pd.Series, stages: Stages) -> str:
    """What to say about stage names that are not in the stages config."""
    shown = ", ".join(sorted(set(names.astype(str)))[:5])
    return f"has unknown stages ({shown}); known stages are {', '.join(stages.all)} (pass your stages config)"


@dataclass
class _Prepared:
    """History sorted per deal with as-of state carried forward on every row.

    Every column of row r depends only on rows of the same deal at or before r,
    so the last row before a cutoff *is* the deal's state at that cutoff.
    """

    rows: pd.DataFrame  # opportunity_id, entered_at, stage, amount, close_date, stage_entered_at, pushes
    stages: Stages


def _prepare_history(history: pd.DataFrame, stages: Stages, opportunities: pd.DataFrame) -> _Prepared:
    required = ("opportunity_id", "stage", "entered_at")
    missing = [c for c in required if c not in history.columns]
    if missing:
        raise DataError([problem("stage_history", c, "is a required column but is missing") for c in missing])
    h = history.loc[:, [c for c in ("opportunity_id", "stage", "entered_at", "amount", "close_date")
                        if c in history.columns]].copy()
    h["opportunity_id"] = h["opportunity_id"].astype(str)
    h["entered_at"] = pd.to_datetime(h["entered_at"])
    unknown = (h["stage"].notna() & ~h["stage"].isin(stages.all)).to_numpy()
    checks = [
        ("stage", h["stage"].isna().to_numpy(), "is missing a stage"),
        ("stage", unknown, unknown_stages_message(h.loc[unknown, "stage"], stages)),
        ("entered_at", h["entered_at"].isna().to_numpy(), "is missing a date"),
    ]
    problems = [problem("stage_history", column, message, h.loc[mask, "opportunity_id"])
                for column, mask, message in checks if mask.any()]
    if problems:
        raise DataError(problems)
    if "amount" not in h.columns:
        # No amount history: the current amount is the best we know (not as of the date).
        current = opportunities.set_index(opportunities["opportunity_id"].astype(str))["amount"]
        h["amount"] = h["opportunity_id"].map(current).astype(float)
    if "close_date" not in h.columns:
        h["close_date"] = pd.NaT
    h["close_date"] = pd.to_datetime(h["close_date"])
    # Closing rows sort after open rows stamped at the same moment.
    h["_closed"] = h["stage"].isin(stages.closed).astype(int)
    h = h.reset_index(drop=True).rename_axis("_row").reset_index()
    h = h.sort_values(["opportunity_id", "entered_at", "_closed", "_row"], kind="mergesort")
    h = h.reset_index(drop=True)
    g = h.groupby("opportunity_id", sort=False)
    h["amount"] = g["amount"].ffill()
    h["close_date"] = g["close_date"].ffill()
    # A push: the expected close date moved later than the previous known one.
    prev_close = h.groupby("opportunity_id", sort=False)["close_date"].shift()
    h["pushes"] = (h["close_date"] > prev_close).astype(int).groupby(h["opportunity_id"], sort=False).cumsum()
    # Stage entered: first row of the current run of the same stage.
    new_run = (h["stage"] != g["stage"].shift()) | (h["opportunity_id"] != h["opportunity_id"].shift())
    h["stage_entered_at"] = h["entered_at"].where(new_run).groupby(h["opportunity_id"], sort=False).ffill()
    first_amount = g["amount"].transform("first")
    h["first_amount"] = first_amount
    return _Prepared(h.drop(columns=["_row"]), stages)


_ATTRIBUTES = ("segment", "account_id", "product")  # static, carried into snapshots


def _base(opportunities: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Deals created before the cutoff, with their static attributes."""
    opps = opportunities
    keep = ["opportunity_id", "owner", "created_at"] + [c for c in _ATTRIBUTES if c in opps.columns]
    base = opps.loc[pd.to_datetime(opps["created_at"]) < cutoff, keep].copy()
    base["opportunity_id"] = base["opportunity_id"].astype(str)
    return base


def _from_history(opportunities, prepared: _Prepared, cutoff) -> pd.DataFrame:
    stages = prepared.stages
    base = _base(opportunities, cutoff)
    rows = prepared.rows
    known = rows[rows["entered_at"] < cutoff].drop_duplicates("opportunity_id", keep="last")
    known = known.set_index("opportunity_id")
    state = base.join(known[["stage", "amount", "close_date", "stage_entered_at", "pushes"]],
                      on="opportunity_id")
    # Created but not yet in history: first open stage, entered at creation.
    fresh = state["stage"].isna()
    state.loc[fresh, "stage"] = stages.open[0]
    state.loc[fresh, "stage_entered_at"] = state.loc[fresh, "created_at"]
    state.loc[fresh, "pushes"] = 0
    # No amount recorded yet: the first amount the history records, else the current one.
    no_amount = state["amount"].isna()
    if no_amount.any():
        ids = state.loc[no_amount, "opportunity_id"]
        first = rows.drop_duplicates("opportunity_id", keep="first").set_index("opportunity_id")["first_amount"]
        current = opportunities.set_index(opportunities["opportunity_id"].astype(str))["amount"]
        state.loc[no_amount, "amount"] = ids.map(first).fillna(ids.map(current)).to_numpy(dtype=float)
    return state[~state["stage"].isin(stages.closed)]


def _approximate(opportunities, stages: Stages, cutoff) -> pd.DataFrame:
    base = _base(opportunities, cutoff)
    opps = opportunities.set_index(opportunities["opportunity_id"].astype(str))
    status = base["opportunity_id"].map(opps["status"])
    close = pd.to_datetime(base["opportunity_id"].map(opps["close_date"]))
    still_open = (status == "open") | (close >= cutoff)
    state = base[still_open.to_numpy()].copy()
    ids = state["opportunity_id"]
    state["stage"] = ids.map(opps["stage"]).to_numpy()
    state["amount"] = ids.map(opps["amount"]).astype(float).to_numpy()
    state["close_date"] = pd.to_datetime(ids.map(opps["close_date"])).to_numpy()
    closed_later = state["stage"].isin(stages.closed) | (ids.map(opps["status"]) != "open").to_numpy()
    # Closed after the date: its stage then is unknown (first stage) and its close date would leak.
    state.loc[closed_later, "stage"] = stages.open[0]
    state.loc[closed_later, "close_date"] = pd.NaT
    state["stage_entered_at"] = state["created_at"]
    state["pushes"] = 0
    return state


def _finish(state: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    state = state.copy()
    if "segment" not in state.columns:
        state["segment"] = "all"
    state["close_date"] = pd.to_datetime(state["close_date"])
    state["stage_entered_at"] = pd.to_datetime(state["stage_entered_at"])
    state["amount"] = state["amount"].astype(float)
    state["pushes"] = state["pushes"].fillna(0).astype(int)
    state["days_in_stage"] = (cutoff - state["stage_entered_at"]) / DAY
    state["age_days"] = (cutoff - pd.to_datetime(state["created_at"])) / DAY
    first = list(SNAPSHOT_COLUMNS)
    rest = [c for c in state.columns if c not in first]
    return state[first + rest].sort_values("opportunity_id").reset_index(drop=True)


def _check_stages(state: pd.DataFrame, stages: Stages) -> None:
    unknown = ~state["stage"].isin(stages.open)
    if unknown.any():
        raise DataError([problem("stage_history" if "pushes" in state else "opportunities", "stage",
                                 unknown_stages_message(state.loc[unknown, "stage"], stages),
                                 state.loc[unknown, "opportunity_id"])])


def snapshot(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame | None = None,
    as_of=None,
    stages: Stages | dict | None = None,
) -> pd.DataFrame:
    """Rebuild the open pipeline as it stood at the end of ``as_of``.

    A deal is in the snapshot if it was created on or before ``as_of`` and not
    closed on or before it. With ``stage_history``, its stage, amount and
    expected close date are those of its last history row on or before
    ``as_of``; nothing recorded later is used.

    Parameters
    ----------
    opportunities : DataFrame
        Canonical opportunities (only ids, owner, segment, created_at are used
        when ``stage_history`` is given).
    stage_history : DataFrame, optional
        Canonical stage history. Without it the current table is used and a
        :class:`~forecasting.data.DataWarning` says the result is approximate:
        deals closed after ``as_of`` count as open in the first open stage with
        an unknown close date; open deals have their *current* stage, amount
        and close date.
    as_of : date-like
        Snapshot date (inclusive).
    stages : Stages or dict, optional
        Open and closed stage names (default :class:`~forecasting.data.Stages`).

    Returns
    -------
    DataFrame
        One row per open deal: ``opportunity_id, owner, segment, stage, amount,
        created_at, close_date`` (expected, as of the date), ``stage_entered_at,
        days_in_stage, age_days, pushes`` (times the close date moved later so far),
        then account_id / product when present.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["O1"], "owner": ["ava"], "amount": [900.0],
    ...     "created_at": pd.to_datetime(["2025-01-01"]), "stage": ["Closed Won"],
    ...     "close_date": pd.to_datetime(["2025-03-01"]), "status": ["won"]})
    >>> hist = pd.DataFrame({"opportunity_id": ["O1", "O1", "O1"],
    ...     "stage": ["Prospecting", "Proposal", "Closed Won"],
    ...     "entered_at": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
    ...     "amount": [1000.0, 800.0, 900.0]})
    >>> snapshot(opps, hist, "2025-02-10")[["stage", "amount", "days_in_stage"]]
          stage  amount  days_in_stage
    0  Proposal   800.0           10.0
    """
    stages = Stages.from_config(stages)
    if stage_history is None:
        warnings.warn(
            "no stage history: the snapshot is approximate (current stages, amounts and close dates; "
            "deals closed after the date count as open in the first stage)", DataWarning, stacklevel=2)
    prepared = None if stage_history is None else _prepare_history(stage_history, stages, opportunities)
    return snapshot_before(opportunities, prepared, stages, cutoff_of(as_of))


def snapshot_before(opportunities: pd.DataFrame, prepared: _Prepared | None, stages: Stages,
                    cutoff: pd.Timestamp) -> pd.DataFrame:
    """:func:`snapshot` of prepared stage history (``None``: approximate) before ``cutoff`` (exclusive)."""
    if prepared is None:
        state = _approximate(opportunities, stages, cutoff)
    else:
        state = _from_history(opportunities, prepared, cutoff)
    _check_stages(state, stages)
    return _finish(state, cutoff)


def closings(opportunities: pd.DataFrame, prepared: _Prepared | None, stages: Stages) -> pd.DataFrame:
    """Every closing event: ``opportunity_id, closed_at, won, amount``.

    From stage history (closed-stage rows, amount as it stood) when given, else
    from the opportunities' status and close date. Filter on ``closed_at`` to
    keep what was known at a date.
    """
    if prepared is not None:
        rows = prepared.rows
        rows = rows[rows["stage"].isin(stages.closed)]
        out = pd.DataFrame({
            "opportunity_id": rows["opportunity_id"].to_numpy(),
            "closed_at": rows["entered_at"].to_numpy(),
            "won": (rows["stage"] == stages.won).to_numpy(),
            "amount": rows["amount"].to_numpy(dtype=float),
        })
        # Reopened deals: keep the last closing of each deal at any date.
        return out
    closed = opportunities[opportunities["status"].isin(["won", "lost"])]
    return pd.DataFrame({
        "opportunity_id": closed["opportunity_id"].astype(str).to_numpy(),
        "closed_at": pd.to_datetime(closed["close_date"]).to_numpy(),
        "won": (closed["status"] == "won").to_numpy(),
        "amount": closed["amount"].to_numpy(dtype=float),
    })
