"""List everything wrong with a canonical table, and load tables validated.

:func:`~forecasting.data.conform.conform` renames and casts; :func:`check` finds
problems in a conformed frame; :func:`load_table` does both and raises one
:class:`DataError` listing every error. Code past this edge trusts its frames.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from .calendar import infer_frequency
from .conform import column_mapping, conform, parse_dates, row_ids, settle_options
from .errors import DataError, DataWarning, Problem, problem
from .io import Source, read_source
from .outliers import outlier_problems
from .schema import TABLES, Stages, table_spec

__all__ = [
    "check",
    "load_table",
    "check_source",
    "CheckReport",
    # re-exported for code that imports them from here: they live in conform, calendar and errors
    "DataWarning",
    "conform",
    "settle_options",
    "column_mapping",
    "parse_dates",
    "infer_frequency",
]


def _read(kind: str, source, mapping: dict[str, str], table: str | None) -> pd.DataFrame:
    """Read a SOURCE for ``kind``; a CSV file all as text: :func:`conform` decides each column's
    format from all its values (ids such as ``007`` keep their zeros, ``26.900`` is not 26.9)."""
    inverse = {new: old for old, new in mapping.items()}
    strings = tuple(inverse.get(c, c) for c in TABLES[kind].ids)
    return read_source(source, table=table, kind=kind, string_columns=strings, text=True)


def _missing(frame, column, kind, spec, what="is missing") -> list[Problem]:
    mask = frame[column].isna().to_numpy()
    return [problem(kind, column, what, row_ids(frame, mask, spec.id_column))] if mask.any() else []


def _off_grid(dates: pd.Series) -> list[str]:
    """Dates that break the series' most common step (all of them if there is none)."""
    days = pd.Series(pd.DatetimeIndex(dates).as_unit("s")).diff().dt.days  # seconds: no overflow
    if len(days) < 3:
        return [str(d.date()) for d in dates]
    step = days.mode().iloc[0]
    # Monthly steps vary from 28 to 31 days: compare on the month grid when the step is ~a month.
    if 28 <= step <= 31:
        index = pd.DatetimeIndex(dates)
        bad = index.day != pd.Series(index.day).mode().iloc[0]
    else:
        bad = (days.fillna(step) != step).to_numpy()
    return [str(d.date()) for d in pd.DatetimeIndex(dates)[bad]]


def _check_revenue(frame, kind, season_length, allow_short, allow_gaps) -> list[Problem]:
    problems = []
    keys = frame["segment"] if "segment" in frame.columns else pd.Series("all", index=frame.index)
    dup = frame.assign(_k=keys).duplicated(["_k", "date"], keep=False).to_numpy()
    if dup.any():
        problems.append(problem(kind, "date", "has more than one amount for the same date and segment "
                                "(aggregate to one row per period first)", row_ids(frame, dup, None)))
    for key, part in frame.assign(_k=keys).groupby("_k", sort=True):
        dates = part["date"].dropna().sort_values()
        freq, season = infer_frequency(dates)
        label = f"series {key!r}"
        if freq is None:
            problems.append(problem(kind, "date", f"{label} has irregular dates (need monthly, quarterly, "
                                    "weekly or daily periods, at least 3)", _off_grid(dates)))
            continue
        full = pd.date_range(dates.iloc[0], dates.iloc[-1], freq=freq)
        gaps = full.difference(pd.DatetimeIndex(dates))
        if len(gaps):
            problems.append(problem(kind, "date", f"{label} has gaps: periods with no row",
                                    [str(d.date()) for d in gaps],
                                    severity="warning" if allow_gaps else "error"))
        season = season_length or season
        if season > 1 and len(full) < 2 * season:
            problems.append(problem(
                kind, "date", f"{label} is too short for its season: {len(full)} periods, need at "
                f"least {2 * season} (two seasons of {season})", [],
                severity="warning" if allow_short else "error"))
        if not len(gaps) and len(dates) == len(full):  # one amount per period: outlier months by date
            amounts = pd.to_numeric(part.dropna(subset=["date"]).sort_values("date")["amount"], errors="coerce")
            problems += outlier_problems(pd.Series(amounts.to_numpy(), index=full), season, label, kind)
    return problems


def check(
    frame: pd.DataFrame,
    kind: str,
    *,
    stages: Stages | Mapping | None = None,
    opportunities: pd.DataFrame | None = None,
    require_label: bool = False,
    optional: Iterable[str] = (),
    season_length: int | None = None,
    allow_short: bool = False,
    allow_gaps: bool = False,
) -> list[Problem]:
    """List the problems of a conformed table (see :func:`conform`).

    Parameters
    ----------
    frame : DataFrame
    kind : str
    stages : Stages or dict, optional
        Known stage names (default: :data:`forecasting.data.schema.DEFAULT_STAGES`).
    opportunities : DataFrame, optional
        For ``stage_history``: rows must refer to these opportunities.
    require_label : bool
        For ``leads``: the ``converted`` label must be present with both classes.
    optional : iterable of str
        Required columns this caller can do without (``created_at`` of leads for
        stratified cross-validation); checked as usual when present.
    season_length : int, optional
        For ``revenue``: the season to check length against (inferred if None).
    allow_short : bool
        For ``revenue``: a too-short series is a warning instead of an error.
    allow_gaps : bool
        For ``revenue``: missing periods are a warning (the caller fills them).

    Returns
    -------
    list of Problem
    """
    spec = table_spec(kind)
    stages = Stages.from_config(stages)
    if not len(frame):  # not frame.empty: rows without columns are missing columns, not "no rows"
        return [problem(kind, None, "is empty: no rows")]
    required = [c for c in spec.required if c not in set(optional)] + (["converted"] if require_label else [])
    missing = [c for c in required if c not in frame.columns]
    if missing:
        return [problem(kind, c, "is a required column but is missing; columns are: "
                        + ", ".join(map(str, frame.columns[:20])) + " (use a column mapping, CLI --map old=new)")
                for c in missing]

    problems: list[Problem] = []
    if spec.id_column and spec.id_column in frame.columns:
        problems += _missing(frame, spec.id_column, kind, spec, "is missing (rows need an id)")
        if spec.unique_id:
            ids = frame[spec.id_column]
            dup = (ids.duplicated(keep=False) & ids.notna()).to_numpy()
            if dup.any():
                problems.append(problem(kind, spec.id_column, "has duplicate ids",
                                        sorted(set(ids[dup].astype(str)))))
    for column in spec.dates:
        if column in spec.required and column in frame.columns and column != "close_date":
            problems += _missing(frame, column, kind, spec, "is missing a date")

    if kind in ("opportunities", "stage_history"):
        problems += _check_deals(frame, kind, spec, stages, opportunities)
    if kind == "leads" and "converted" in frame.columns:
        classes = frame["converted"].dropna().unique()
        if require_label:
            problems += _missing(frame, "converted", kind, spec, "label is missing")
        if require_label and len(classes) < 2:
            only = int(classes[0]) if len(classes) else "none"
            problems.append(problem(kind, "converted", f"label has only one class ({only}); "
                                    "a scorer needs both converted and not converted leads"))
    if kind == "revenue":
        problems += _missing(frame, "amount", kind, spec, "is missing an amount")
        negative = (frame["amount"] < 0).to_numpy()
        if negative.any():
            problems.append(problem(kind, "amount", "is negative (refunds?); multiplicative models will "
                                    "be skipped", row_ids(frame, negative, None), severity="warning"))
        if frame["date"].notna().any():
            problems += _check_revenue(frame, kind, season_length, allow_short, allow_gaps)
    if kind in _TABLE_CHECKS:  # the optional tables of the forecast call and the KPI glossary
        problems += _TABLE_CHECKS[kind](frame, kind, spec)
    return problems


def _check_deals(frame, kind, spec, stages: Stages, opportunities) -> list[Problem]:
    problems: list[Problem] = []
    if "amount" in frame.columns:
        negative = (frame["amount"] < 0).to_numpy()
        if negative.any():
            problems.append(problem(kind, "amount", "is negative", row_ids(frame, negative, spec.id_column)))
        if kind == "opportunities":
            problems += _missing(frame, "amount", kind, spec, "is missing an amount")
    unknown = (frame["stage"].notna() & ~frame["stage"].isin(stages.all)).to_numpy()
    if unknown.any():
        names = sorted(set(frame.loc[unknown, "stage"].astype(str)))[:5]
        problems.append(problem(kind, "stage", f"has unknown stages ({', '.join(names)}); known stages are "
                                f"{', '.join(stages.all)} (pass your stages config)",
                                row_ids(frame, unknown, spec.id_column)))
    problems += _missing(frame, "stage", kind, spec, "is missing a stage")
    if kind == "opportunities":
        problems += _missing(frame, "status", kind, spec, "is missing a status (open / won / lost)")
        closed = frame["status"].isin(["won", "lost"]).to_numpy()
        no_close = closed & frame["close_date"].isna().to_numpy()
        if no_close.any():
            problems.append(problem(kind, "close_date", "is missing for closed deals",
                                    row_ids(frame, no_close, spec.id_column)))
        open_undated = (frame["status"] == "open").to_numpy() & frame["close_date"].isna().to_numpy()
        if open_undated.any():
            problems.append(problem(kind, "close_date", "is missing for open deals: no expected close "
                                    "date places them in a forecast period", row_ids(frame, open_undated,
                                                                                      spec.id_column),
                                    severity="warning"))
        early = (frame["close_date"] < frame["created_at"]).to_numpy()
        if early.any():
            problems.append(problem(kind, "close_date", "is before created_at",
                                    row_ids(frame, early, spec.id_column)))
    if kind == "stage_history" and opportunities is not None:
        known = set(opportunities["opportunity_id"].dropna())
        orphan = (~frame["opportunity_id"].isin(known) & frame["opportunity_id"].notna()).to_numpy()
        if orphan.any():
            problems.append(problem(kind, "opportunity_id", "refers to opportunities that are not in the "
                                    "opportunities table", sorted(set(frame.loc[orphan, "opportunity_id"]))))
    return problems


def _required_values(frame, kind, spec, skip=()) -> list[Problem]:
    """Missing values in required columns the checks every table gets do not cover."""
    covered = {spec.id_column, *spec.dates, *skip}
    return [p for c in spec.required if c not in covered for p in _missing(frame, c, kind, spec)]


def _negative(frame, kind, spec, columns) -> list[Problem]:
    return [problem(kind, c, "is negative", row_ids(frame, (frame[c] < 0).to_numpy(), spec.id_column))
            for c in columns if c in frame.columns and (frame[c] < 0).any()]


def _duplicates(frame, kind, keys: list[str], what: str) -> list[Problem]:
    """Rows sharing ``keys``, named by their key values (an owner alone names several rows)."""
    dup = frame.duplicated(keys, keep=False) & frame[keys].notna().all(axis=1)
    if not dup.any():
        return []
    labels = frame.loc[dup, keys].astype(str).agg(" ".join, axis=1).drop_duplicates()
    return [problem(kind, keys[-1], f"has more than one row for the same {what}", labels)]


def _cycles(boss: dict) -> list[list[str]]:
    """The cycles of an owner -> manager mapping, each as the owners on it in chain order."""
    cycles, done = [], set()
    for start in boss:
        chain: dict = {}  # owner -> position on the chain walked from ``start``
        node = start
        while node in boss and node not in done and node not in chain:
            chain[node] = len(chain)
            node = boss[node]
        if node in chain:
            cycles.append(list(chain)[chain[node]:])
        done.update(chain)
    return cycles


def _names(names, limit: int = 5) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


def _check_team(frame, kind, spec) -> list[Problem]:
    """Managers form a tree (or a forest): no cycles, no manager that is an owner misspelt, and a
    manager with no owner row only where it is a top (no owner has an empty manager)."""
    rows = frame.dropna(subset=["owner"]).drop_duplicates("owner")
    boss = dict(zip(rows["owner"], rows["manager"].where(rows["manager"].notna(), None)))
    problems = [problem(kind, "manager", "has a cycle: " + " -> ".join([*cycle, cycle[0]])
                        + "; a roll-up needs a top (an owner whose manager is empty)", cycle)
                for cycle in _cycles(boss)]
    unlisted = sorted({m for m in boss.values() if m is not None and m not in boss})
    listed_tops = sorted(o for o, m in boss.items() if m is None)
    owners = {_fold(o): o for o in boss}
    misspelt = [m for m in unlisted if _fold(m) in owners]
    if misspelt:
        problems.append(problem(kind, "manager", "names owners spelt another way ("
                                + _names([f"{m!r} for {owners[_fold(m)]!r}" for m in misspelt]) + ")",
                                row_ids(frame, frame["manager"].isin(misspelt).to_numpy(), spec.id_column)))
        unlisted = [m for m in unlisted if m not in misspelt]
    if unlisted and listed_tops:
        problems.append(problem(
            kind, "manager", f"names managers with no owner row ({_names(unlisted)}) while the top of the "
            f"hierarchy is {_names(listed_tops)} (the owner with an empty manager): only a top may be missing "
            "from owner; add a row owner=NAME, manager=their manager for each",
            row_ids(frame, frame["manager"].isin(unlisted).to_numpy(), spec.id_column)))
    elif len(unlisted) + len(listed_tops) > 1:
        problems.append(problem(
            kind, "manager", f"has {len(unlisted) + len(listed_tops)} tops ({_names(unlisted + listed_tops)}): "
            "each is the top of its own roll-up; to roll up to one head give each a row with that manager",
            [], severity="warning"))
    return problems


# A forecast period: a quarter, a month or a year (as pandas.Period reads them).
_PERIOD = r"\d{4}(Q[1-4]|-(0[1-9]|1[0-2]))?"


def _check_forecast_calls(frame, kind, spec) -> list[Problem]:
    problems = _required_values(frame, kind, spec) + _negative(frame, kind, spec, spec.amounts)
    period = frame["period"].astype("string").str.strip()
    bad = (period.notna() & ~period.str.fullmatch(_PERIOD).fillna(False)).to_numpy()
    if bad.any():
        found = ", ".join(repr(v) for v in sorted(set(period[bad]))[:5])
        problems.append(problem(kind, "period", f"has an unknown period format ({found}); expected a quarter "
                                "2026Q3, a month 2026-07 or a year 2026", row_ids(frame, bad, spec.id_column)))
    low = (frame["best_case"] < frame["commit"]).to_numpy()
    if low.any():
        problems.append(problem(kind, "best_case", "is below commit (best case is the upside on top of commit)",
                                row_ids(frame, low, spec.id_column), severity="warning"))
    return problems + _duplicates(frame, kind, ["owner", "period", "submitted_at"], "owner, period and submitted_at")


def _check_targets(frame, kind, spec) -> list[Problem]:
    problems = _required_values(frame, kind, spec) + _negative(frame, kind, spec, ["target"])
    freq = frame["freq"].astype("string").str.strip()
    bad = (freq.notna() & ~freq.isin(["D", "W", "M"])).to_numpy()
    if bad.any():
        found = ", ".join(repr(v) for v in sorted(set(freq[bad]))[:5])
        problems.append(problem(kind, "freq", f"has values other than D, W or M ({found}): a target is per "
                                "day, week or month", row_ids(frame, bad, spec.id_column)))
    return problems + _duplicates(frame, kind, ["owner", "type", "freq"], "owner, type and freq")


def _check_survey(frame, kind, spec) -> list[Problem]:
    outside = ((frame["score"] < 0) | (frame["score"] > 10)).to_numpy()
    out = [problem(kind, "score", "is outside 0..10", row_ids(frame, outside, spec.id_column))] if outside.any() else []
    return _required_values(frame, kind, spec) + out


_TABLE_CHECKS = {"team": _check_team, "forecast_calls": _check_forecast_calls, "targets": _check_targets,
                 "survey": _check_survey}


def _merge(cast_problems: list[Problem], found: list[Problem]) -> list[Problem]:
    """Drop "is missing" problems on values the cast already reported as unparsable, and on
    columns it refused whole (an ambiguous date format leaves every value unread, not missing)."""
    flagged = {(p.column, r) for p in cast_problems for r in p.rows}
    refused = {p.column for p in cast_problems if not p.rows and p.severity == "error"}
    keep = [p for p in found
            if not (p.message.startswith("is missing") and (p.column in refused or (
                p.rows and all((p.column, r) in flagged for r in p.rows))))]
    return cast_problems + keep


def _raise_or_warn(problems: list[Problem]) -> None:
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DataError(errors)
    for p in problems:
        warnings.warn(str(p), DataWarning, stacklevel=3)


def load_table(
    kind: str,
    source: str | os.PathLike | Source | pd.DataFrame,
    mapping: Mapping[str, str] | None = None,
    *,
    table: str | None = None,
    date_format: str | None = None,
    dayfirst: bool | None = None,
    decimal: str | None = None,
    **check_kwargs,
) -> pd.DataFrame:
    """Load a canonical table from a SOURCE (or a DataFrame), validated.

    Parameters
    ----------
    kind : str
        A table of :data:`~forecasting.data.schema.TABLES` (``leads``, ``opportunities``, ..., ``survey``).
    source : str, path, Source or DataFrame
        CSV / Parquet path, ``file.duckdb[:table]``, SQLAlchemy URL ``url#table``,
        or a frame already in memory.
    mapping : mapping, optional
        ``{their_name: canonical_name}``.
    table : str, optional
        Database table when the SOURCE names none (default: ``kind``).
    date_format, dayfirst, decimal : optional
        Settle a column whose format the values cannot tell (see :func:`conform`).
    **check_kwargs
        Passed to :func:`check` (``stages``, ``opportunities``, ``require_label``...).

    Returns
    -------
    DataFrame
        Canonical columns and dtypes, plus any extra columns as they were.

    Raises
    ------
    DataError
        Listing every problem: table, column, what is wrong, up to 5 row ids.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"Id": ["1", "2"], "Created": ["2025-01-02", "2025-01-03"]})
    >>> load_table("leads", raw, {"Id": "lead_id", "Created": "created_at"}).dtypes["created_at"]
    dtype('<M8[ns]')
    """
    kind = table_spec(kind).name
    mapping = column_mapping(mapping, kind)
    raw = source if isinstance(source, pd.DataFrame) else _read(kind, source, mapping, table)
    frame, problems = conform(raw, kind, mapping, date_format=date_format, dayfirst=dayfirst, decimal=decimal,
                              stages=check_kwargs.get("stages"))
    _raise_or_warn(_merge(problems, check(frame, kind, **check_kwargs)))
    return frame


@dataclass
class CheckReport:
    """What ``forecasting data check`` prints: a summary and every problem."""

    kind: str
    source: str
    frame: pd.DataFrame | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def _repr_html_(self) -> str:
        """JupyterLab view: OK or how many problems, the summary, then the first problems."""
        from ..formatting import count, html_card

        errors = sum(p.severity == "error" for p in self.problems)
        status = "OK" if self.ok else f"{errors} error(s)"
        facts = {"status": status, "warnings": len(self.problems) - errors,
                 **{k: count(v) if isinstance(v, int) else v for k, v in self.summary().items()
                    if not isinstance(v, dict)}}
        shown = self.problems[:10]
        table = pd.DataFrame({"severity": [p.severity for p in shown], "column": [p.column or "" for p in shown],
                              "problem": [p.message for p in shown],
                              "rows": [", ".join(p.rows) + (" ..." if p.n_rows > len(p.rows) else "") for p in shown]})
        more = f"{len(self.problems) - len(shown)} more problem(s)" if len(self.problems) > len(shown) else None
        return html_card(f"Check of {self.kind} ({status})", facts, table if shown else None, note=more)

    def summary(self) -> dict:
        """Rows, date range and label balance or amount totals."""
        out: dict = {"table": self.kind, "source": self.source}
        frame = self.frame
        if frame is None:
            return out
        out["rows"] = int(len(frame))
        spec = TABLES[self.kind]
        date_col = next((c for c in spec.dates if c in frame.columns and frame[c].notna().any()), None)
        if date_col:
            out["date_column"] = date_col
            out["date_min"] = str(frame[date_col].min().date())
            out["date_max"] = str(frame[date_col].max().date())
        # Only columns conform cast: another table's "amount" may still be text.
        if "converted" in spec.label and "converted" in frame.columns and frame["converted"].notna().any():
            out["converted"] = int(frame["converted"].sum())
            out["conversion_rate"] = round(float(frame["converted"].mean()), 4)
        if "amount" in spec.amounts and "amount" in frame.columns:
            out["amount_total"] = round(float(frame["amount"].sum()), 2)
        if self.kind == "opportunities" and "status" in frame.columns:
            out["status_counts"] = {str(k): int(v) for k, v in frame["status"].value_counts().items()}
        if "segment" in frame.columns and self.kind == "revenue":
            out["series"] = int(frame["segment"].nunique())
        return out


def check_source(kind: str, source, mapping=None, *, table=None, date_format=None, dayfirst=None, decimal=None,
                 **check_kwargs) -> CheckReport:
    """Read and check a SOURCE without raising on bad rows: for ``data check``.

    It reads and casts exactly as :func:`load_table` (same options, same refusals).
    """
    kind = table_spec(kind).name
    try:
        mapping = column_mapping(mapping, kind)
        raw = _read(kind, source, mapping, table)
    except DataError as err:
        return CheckReport(kind, str(source), None, err.problems)
    frame, problems = conform(raw, kind, mapping, date_format=date_format, dayfirst=dayfirst, decimal=decimal,
                              stages=check_kwargs.get("stages"))
    return CheckReport(kind, str(source), frame, _merge(problems, check(frame, kind, **check_kwargs)))
