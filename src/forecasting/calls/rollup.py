"""The forecast call of every node of the hierarchy as of a date.

History is append-only: the call of a person as of a date is their latest
submission on or before it. A manager's submission overrides the roll-up of
their reports; without one, a manager's call is the sum of their reports'
calls (a rep without a call counts 0 and is counted in ``missing_calls``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ..pipeline.snapshot import DAY, cutoff_of, period_bounds
from .team import Hierarchy, hierarchy

__all__ = ["check_calls", "calls_as_of", "rollup", "ROLLUP_COLUMNS"]

ROLLUP_COLUMNS = ("node", "level", "as_of", "period", "commit", "best_case", "override", "note")
_CALL_COLUMNS = ("owner", "period", "submitted_at", "commit", "best_case")


def _period_text(value) -> str | None:
    try:
        p = pd.Period(str(value).strip())
    except (TypeError, ValueError):
        return None
    return None if pd.isna(p) else str(p)


def check_calls(calls: pd.DataFrame, team: Hierarchy) -> pd.DataFrame:
    """Validate ``forecast_calls`` against the hierarchy; canonical types.

    Raises
    ------
    DataError
        Missing columns or values, an owner not in the team, an unreadable period,
        two calls of one owner for one period at the same timestamp, a call
        submitted after its period was over, a negative amount.

    Examples
    --------
    >>> h = hierarchy(pd.DataFrame({"owner": ["ava", "mia"], "manager": ["mia", None]}))
    >>> calls = pd.DataFrame({"owner": ["zed"], "period": ["2026Q3"], "submitted_at": ["2026-07-06"],
    ...                       "commit": [10.0], "best_case": [20.0]})
    >>> check_calls(calls, h)
    Traceback (most recent call last):
    ...
    forecasting.data.errors.DataError: forecast_calls.owner: has owners not in the team table (add them to team) (rows: zed)
    """
    missing = [c for c in _CALL_COLUMNS if c not in calls.columns]
    if missing:
        raise DataError([problem("forecast_calls", c, "is a required column but is missing") for c in missing])
    out = calls.copy()
    out["owner"] = out["owner"].astype(str).str.strip()
    out["submitted_at"] = pd.to_datetime(out["submitted_at"], errors="coerce")
    for column in ("commit", "best_case"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    out["period"] = out["period"].map(_period_text)
    rows = out["owner"] + " " + out["submitted_at"].astype(str)
    ends = pd.to_datetime(out["period"].map(lambda p: period_bounds(p)[2] if isinstance(p, str) else pd.NaT))
    key = ["owner", "period", "submitted_at"]
    checks = [
        ("owner", ~out["owner"].isin(team.nodes), "has owners not in the team table (add them to team)"),
        ("period", out["period"].isna(), "is not a period (expected e.g. 2026Q3 or 2026-07)"),
        ("submitted_at", out["submitted_at"].isna(), "is missing a date"),
        ("commit", out["commit"].isna(), "is missing an amount"),
        ("best_case", out["best_case"].isna(), "is missing an amount"),
        ("commit", out["commit"] < 0, "is negative"),
        ("best_case", out["best_case"] < 0, "is negative"),
        ("submitted_at", out.duplicated(key, keep=False) & out["submitted_at"].notna(),
         "has two calls by the same owner for the same period at the same time (which one counts?)"),
        ("period", out["submitted_at"] >= ends, "was already over when the call was submitted"),
    ]
    problems = [problem("forecast_calls", c, message, rows[mask.to_numpy()].unique() if c != "owner"
                        else out.loc[mask.to_numpy(), "owner"].unique())
                for c, mask, message in checks if mask.any()]
    if problems:
        raise DataError(problems)
    return out


def calls_as_of(calls: pd.DataFrame, *, as_of, period) -> pd.DataFrame:
    """Each owner's latest call for ``period`` submitted on or before ``as_of`` (validated calls).

    Examples
    --------
    >>> calls = pd.DataFrame({"owner": ["ava", "ava"], "period": ["2026Q3", "2026Q3"],
    ...     "submitted_at": pd.to_datetime(["2026-07-06", "2026-07-13"]), "commit": [10.0, 12.0],
    ...     "best_case": [20.0, 18.0]})
    >>> calls_as_of(calls, as_of="2026-07-10", period="2026Q3")["commit"].tolist()
    [10.0]
    """
    cutoff = cutoff_of(as_of)
    p = str(period_bounds(period)[0])
    seen = calls[(calls["period"] == p) & (calls["submitted_at"] < cutoff)]
    seen = seen.sort_values("submitted_at", kind="mergesort").drop_duplicates("owner", keep="last")
    return seen.set_index("owner")


def rollup(team: pd.DataFrame | Hierarchy, calls: pd.DataFrame, *, as_of, period, checked: bool = False
           ) -> pd.DataFrame:
    """The call of every node as of a date: its own latest submission, else the sum of its reports'.

    Parameters
    ----------
    team : DataFrame or Hierarchy
        The ``team`` table (``owner, manager``) or a :func:`~forecasting.calls.hierarchy`.
    calls : DataFrame
        The ``forecast_calls`` table.
    as_of : date-like
        Submissions on or before this day count.
    period : str or Period
        The period called.
    checked : bool, default False
        ``calls`` already went through :func:`check_calls` (skip it).

    Returns
    -------
    DataFrame
        One row per node, top-down: ``node, level, as_of, period, commit, best_case,
        override`` (the node's own call replaced its reports' roll-up), ``note``,
        then ``manager, submitted_at, rolled_commit, rolled_best_case`` (the sum of
        the reports' calls), ``override_commit`` (commit minus rolled commit when
        overridden, else 0) and ``missing_calls`` (reps below without a call, counted 0).
        A node without a call, own or below, has no commit (NaN).

    Examples
    --------
    >>> team = pd.DataFrame({"owner": ["ava", "bo", "mia"], "manager": ["mia", "mia", None]})
    >>> calls = pd.DataFrame({"owner": ["ava", "bo", "mia"], "period": "2026Q3",
    ...     "submitted_at": pd.to_datetime(["2026-07-06", "2026-07-06", "2026-07-07"]),
    ...     "commit": [100.0, 50.0, 120.0], "best_case": [150.0, 80.0, 200.0],
    ...     "note": ["", "", "bo's deal slips"]})
    >>> rollup(team, calls, as_of="2026-07-10", period="2026Q3")[
    ...     ["node", "commit", "rolled_commit", "override_commit", "note"]]
      node  commit  rolled_commit  override_commit             note
    0  mia   120.0          150.0            -30.0  bo's deal slips
    1  ava   100.0            0.0              0.0
    2   bo    50.0            0.0              0.0
    """
    h = team if isinstance(team, Hierarchy) else hierarchy(team)
    calls = calls if checked else check_calls(calls, h)
    latest = calls_as_of(calls, as_of=as_of, period=period)
    rows = {}
    for node in reversed(h.nodes):  # reports before their managers
        reports = [rows[r] for r in h.reports(node)]
        rolled = {k: float(sum(np.nan_to_num(r[k]) for r in reports)) for k in ("commit", "best_case")}
        called = any(pd.notna(r["commit"]) for r in reports)
        missing = sum(r["missing_calls"] for r in reports)
        own = latest.loc[node] if node in latest.index else None
        row = {"node": node, "level": h.level[node], "manager": h.manager[node],
               "rolled_commit": rolled["commit"], "rolled_best_case": rolled["best_case"],
               "missing_calls": missing + int(own is None and not reports)}
        if own is not None:
            row.update(commit=float(own["commit"]), best_case=float(own["best_case"]),
                       override=bool(reports), submitted_at=own["submitted_at"],
                       note=_note(own.get("note")),
                       override_commit=float(own["commit"]) - rolled["commit"] if reports else 0.0)
        else:
            row.update(commit=rolled["commit"] if called else np.nan,
                       best_case=rolled["best_case"] if called else np.nan,
                       override=False, submitted_at=pd.NaT, note="", override_commit=0.0)
        rows[node] = row
    out = pd.DataFrame([rows[n] for n in h.nodes])
    out["as_of"] = str((cutoff_of(as_of) - DAY).date())
    out["period"] = str(period_bounds(period)[0])
    extra = ["manager", "submitted_at", "rolled_commit", "rolled_best_case", "override_commit", "missing_calls"]
    return out[[*ROLLUP_COLUMNS, *extra]]


def _note(value) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
