"""Put a raw table into canonical shape and list everything wrong with it.

:func:`conform` renames and casts; :func:`check` finds problems in a conformed
frame; :func:`load_table` does both and raises one :class:`DataError` listing
every error. Code past this edge trusts its frames.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DataError, Problem, problem
from .formats import (FormatIssue, date_order, looks_like_dates, looks_numeric, parse_date_column,
                      parse_number_column, proven_decimal)
from .io import Source, read_source
from .schema import KINDS, TABLES, Stages

__all__ = [
    "DataWarning",
    "conform",
    "check",
    "load_table",
    "check_source",
    "CheckReport",
    "infer_frequency",
    "parse_dates",
    "settle_options",
    "column_mapping",
]

_TRUE = {"1", "1.0", "yes", "y", "true", "t", "won", "converted"}
_FALSE = {"0", "0.0", "no", "n", "false", "f", "lost", "not converted"}
_STATUS = {
    "open": "open", "won": "won", "lost": "lost",
    "closed won": "won", "closed_won": "won", "closed-won": "won", "closedwon": "won",
    "closed lost": "lost", "closed_lost": "lost", "closed-lost": "lost", "closedlost": "lost",
}
_SEASON = {"MS": 12, "ME": 12, "M": 12, "QS": 4, "QE": 4, "Q": 4, "W": 52, "D": 7, "YS": 1, "YE": 1, "Y": 1}


# Quotes, statement separators, comments, control characters: SQL text, not a column name.
_SQL_TEXT = re.compile(r'["`;\x00-\x1f\x7f]|--|/\*|\*/')


class DataWarning(UserWarning):
    """A problem worth knowing that does not stop loading (e.g. approximate data)."""


def _kind(kind: str) -> str:
    if kind not in TABLES:
        raise DataError(f"unknown table kind {kind!r}; expected one of {', '.join(KINDS)}", table=kind)
    return kind


def column_mapping(mapping: Mapping | None, kind: str) -> dict[str, str]:
    """``{their_name: canonical_name}`` as strings; names holding SQL text are refused (DataError)."""
    mapping = {str(old): str(new) for old, new in dict(mapping or {}).items()}
    refused = [problem(kind, old, f"column mapping {old!r}={new!r} is refused: column names may not hold "
                       "quotes, ';', '--', '/*' or control characters")
               for old, new in mapping.items() if _SQL_TEXT.search(old) or _SQL_TEXT.search(new)]
    if refused:
        raise DataError(refused)
    return mapping


def _read(kind: str, source, mapping: dict[str, str], table: str | None) -> pd.DataFrame:
    """Read a SOURCE for ``kind``; a CSV file all as text: :func:`conform` decides each column's
    format from all its values (ids such as ``007`` keep their zeros, ``26.900`` is not 26.9)."""
    inverse = {new: old for old, new in mapping.items()}
    strings = tuple(inverse.get(c, c) for c in TABLES[kind].ids)
    return read_source(source, table=table, kind=kind, string_columns=strings, text=True)


def _row_ids(frame: pd.DataFrame, mask, id_column: str | None) -> list[str]:
    """Ids of the rows where ``mask`` holds: the id column when usable, else ``row N``."""
    mask = np.asarray(mask, dtype=bool)
    if id_column and id_column in frame.columns:
        ids = frame[id_column].to_numpy()[mask]
        return [str(i) if pd.notna(i) and str(i) != "" else f"row {n + 1}"
                for i, n in zip(ids, np.flatnonzero(mask))]
    return [f"row {n + 1}" for n in np.flatnonzero(mask)]


def _as_text(series: pd.Series) -> pd.Series:
    """Ids as strings: integral floats lose their ``.0``, blanks become missing."""
    if pd.api.types.is_float_dtype(series):
        values = series.dropna()
        # Below 2**53 a float holds its integer exactly; beyond it (or 2**63) Int64 cannot.
        if (len(values) and np.all(np.isfinite(values)) and np.all(np.abs(values) < 2**53)
                and np.all(values == np.round(values))):
            series = series.astype("Int64")
    # Vectorised (pandas' string dtype): a per-value map was ~15 % of scoring a million leads.
    text = series.astype("string").str.strip()
    text = text.mask(text == "")
    if text.notna().any() and text.dropna().str.fullmatch(r"-?\d+\.0+").all():
        text = text.str.replace(r"\.0+$", "", regex=True)  # ids a spreadsheet turned into floats: 1.0 is 1
    return text.astype(object).where(text.notna(), None)


# What pandas infers for columns of plain scalars: no cell needs a look of its own.
_PLAIN = {"string", "empty", "integer", "floating", "mixed-integer-float", "boolean", "decimal",
          "datetime", "datetime64", "date", "time", "timedelta", "timedelta64"}


def _decode(value: bytes) -> str:
    """Bytes from a Parquet binary column, decoded as a CSV file would be."""
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        return bytes(value).decode("latin-1")


def _single_values(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Decode bytes and blank out lists / records (Parquet binary and nested columns).

    Returns the cleaned column and the mask of cells that held a list or record.
    """
    nested = np.zeros(len(series), dtype=bool)
    if series.dtype != object or pd.api.types.infer_dtype(series, skipna=True) in _PLAIN:
        return series, nested
    values = series.to_numpy(copy=True)
    for i, value in enumerate(values):
        if isinstance(value, (bytes, bytearray, memoryview)):
            values[i] = _decode(value)
        elif isinstance(value, (list, tuple, dict, set, np.ndarray)):
            values[i], nested[i] = None, True
    return pd.Series(values, index=series.index, name=series.name, dtype=object), nested


def parse_dates(series: pd.Series, *, date_format: str | None = None, dayfirst: bool | None = None,
                table: str = "input") -> pd.Series:
    """Parse a column of dates as ``datetime64[ns]`` (naive); what is not a date is missing.

    The format is decided for the whole column (see
    :func:`forecasting.data.formats.parse_date_column`); a timestamp with a UTC offset
    keeps its local date and time. Numbers are read as the text they were typed as
    (``20250101``), never as nanoseconds after 1970; dates that ``datetime64[ns]``
    cannot hold (before 1677, after 2262) are missing, row by row.

    Raises
    ------
    DataError
        When the column is ambiguous (``03/04/2025`` and no day above 12) or mixes formats.

    Examples
    --------
    >>> parse_dates(pd.Series(["2025-01-02T10:00:00+02:00", 20250103, "0001-01-01", 3])).tolist()
    [Timestamp('2025-01-02 10:00:00'), Timestamp('2025-01-03 00:00:00'), NaT, NaT]
    """
    out, issue = parse_date_column(series, date_format=date_format, dayfirst=dayfirst)
    if issue:
        raise DataError(Problem(table, str(series.name) if series.name is not None else None, issue.message))
    return out


def _as_label(series: pd.Series) -> pd.Series:
    """0/1 integers; float with NaN where some leads are unlabeled (to be scored)."""
    if pd.api.types.is_bool_dtype(series):
        # A nullable boolean (DuckDB / Parquet with NULLs) cannot become int: NaN marks unlabeled.
        return series.astype(float) if series.isna().any() else series.astype(int)
    text = series.astype(object).map(lambda v: str(v).strip().lower() if pd.notna(v) else None)
    out = pd.Series(np.nan, index=series.index)
    out[text.isin(_TRUE)] = 1.0
    out[text.isin(_FALSE)] = 0.0
    return out if out.isna().any() else out.astype(int)


def _is_text(series: pd.Series) -> bool:
    """A column of plain text (a CSV's): a frame's own objects (lists, bytes) stay as given."""
    return ((pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series))
            and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"))


def _number_columns(frame: pd.DataFrame, spec) -> list[str]:
    """Text columns holding numbers: the amounts, and extra columns whose every value is a number."""
    skip = {*spec.ids, *spec.dates, *spec.label, "stage", "status", "type", "owner"}
    return [c for c in frame.columns if c not in skip and _is_text(frame[c])
            and (c in spec.amounts or looks_numeric(frame[c]))]


def _file_decimal(frame: pd.DataFrame, spec, decimal: str | None, columns: list[str] | None = None) -> str | None:
    """The decimal mark the file's number columns agree on (one locale per file), else ``decimal``."""
    if decimal is not None:
        return decimal
    marks: set[str] = set()
    for column in _number_columns(frame, spec) if columns is None else columns:
        marks |= proven_decimal(frame[column], money=column in spec.amounts)
    return marks.pop() if len(marks) == 1 else None


def _issue(kind: str, column: str, issue: FormatIssue) -> Problem:
    return problem(kind, column, issue.message)


def _extra_column(series: pd.Series, kind: str, column: str, options: dict, decimals: tuple,
                  problems: list[Problem], numeric: bool) -> pd.Series:
    """An extra (non-canonical) text column typed as ``read_csv`` would, but with its number
    and date formats decided from all its values: booleans, numbers in any locale, and
    (leads features) dates; anything else stays text."""
    if series.isna().all():
        return series.astype(float)
    lowered = series.str.strip().str.lower()
    if lowered.dropna().isin(["true", "false"]).all():  # read_csv's booleans (Excel writes TRUE / FALSE)
        flags = lowered == "true"
        return flags.astype(bool) if series.notna().all() else flags.astype(object).where(series.notna())
    if numeric:
        decimal, default = decimals
        numbers, _, issue = parse_number_column(series, decimal=decimal, money=False, default=default)
        if issue and kind == "leads":  # a model feature 1000x off is a wrong score with exit 0
            problems.append(_issue(kind, column, issue))
            return series
        if issue:  # other tables: read_csv's reading, as before
            numbers, _, issue = parse_number_column(series, decimal=".", money=False)
        if numbers.notna().all() and (numbers == np.round(numbers)).all() and (numbers.abs() < 2**53).all():
            return numbers.astype("int64")
        return numbers if numbers.notna().sum() == series.notna().sum() else series
    if kind == "leads" and looks_like_dates(series):
        dates, issue = parse_date_column(series, **options)
        if issue:
            problems.append(_issue(kind, column, issue))
            return series
        return dates
    return series


def _derive_status(frame: pd.DataFrame, stages) -> pd.Series:
    """Status from the stage where a CRM exports none: ``Closed Won`` -> won, ``Closed Lost`` ->
    lost (or the configured closed stages), any other stage -> open."""
    stages = Stages.from_config(stages)
    stage = frame["stage"].astype(object).map(lambda v: str(v).strip() if pd.notna(v) else None)
    closed = stage.map(lambda v: _STATUS.get(v.lower()) if v else None)
    closed = closed.mask(stage == stages.won, "won").mask(stage == stages.lost, "lost")
    status = closed.where(closed.isin(["won", "lost"]), "open")
    return status.where(stage.notna(), None)


def _conform_status(frame: pd.DataFrame, kind: str, spec, stages, problems: list[Problem]) -> None:
    if "status" not in frame.columns:
        if "stage" in frame.columns:
            frame["status"] = _derive_status(frame, stages)
        return
    text = frame["status"].astype(object).map(lambda v: str(v).strip().lower() if pd.notna(v) else None)
    text = text.mask(text == "")
    status = text.map(_STATUS)
    bad = (status.isna() & text.notna()).to_numpy()
    if bad.any():
        found = ", ".join(repr(v) for v in sorted(set(frame.loc[bad, "status"].astype(str).str.strip()))[:5])
        problems.append(problem(kind, "status", f"has values other than open / won / lost: {found} "
                                "(closed won / closed lost are accepted too)", _row_ids(frame, bad, spec.id_column)))
    if "stage" in frame.columns and text.isna().any():
        status = status.where(text.notna(), _derive_status(frame, stages))
    frame["status"] = status


def conform(
    frame: pd.DataFrame,
    kind: str,
    mapping: Mapping[str, str] | None = None,
    *,
    date_format: str | None = None,
    dayfirst: bool | None = None,
    decimal: str | None = None,
    stages: Stages | Mapping | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Rename columns to canonical names and cast their types.

    The format of each column is decided from all its values, never value by value
    (see :mod:`forecasting.data.formats`): a column of ambiguous dates (``03/04/2025``
    and no day above 12) or numbers (``26.900`` and no value that tells the decimal
    mark) is a problem naming the column, a sample and the option that settles it.

    Parameters
    ----------
    frame : DataFrame
        The table as read.
    kind : str
        One of ``leads, opportunities, stage_history, activities, revenue``.
    mapping : mapping of str to str, optional
        ``{their_name: canonical_name}`` for CRMs that use other names.
    date_format : str, optional
        ``strftime`` format of every date column (``"%d/%m/%Y %H:%M"``): no detection.
    dayfirst : bool, optional
        Settles slashed dates with no day above 12: True reads ``03/04/2025`` as 3 April.
    decimal : {",", "."}, optional
        Decimal mark of every number column, when the file cannot tell (``26.900``).
    stages : Stages or dict, optional
        For ``opportunities`` without a status: the closed stage names (default
        ``Closed Won`` / ``Closed Lost``) from which the status is derived.

    Returns
    -------
    frame : DataFrame
        Canonical names and dtypes; values that could not be cast are missing.
    problems : list of Problem
        Unparsable values, undecidable formats and mapping mistakes found while casting.
    """
    spec = TABLES[_kind(kind)]
    problems: list[Problem] = []
    frame = frame.copy()
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    mapping = column_mapping(mapping, kind)
    unknown = [old for old in mapping if old not in frame.columns]
    if unknown:
        # A warning: one --map may serve several tables of a command.
        problems.append(problem(kind, unknown[0], "is named in the column mapping but not found; "
                                f"columns are: {', '.join(map(str, frame.columns[:20]))}",
                                severity="warning"))
    frame = frame.rename(columns={k: v for k, v in mapping.items() if k in frame.columns})
    dup = frame.columns[frame.columns.duplicated()].unique().tolist()
    if dup:
        problems.append(problem(kind, str(dup[0]), "appears more than once in the header"))
        frame = frame.loc[:, ~frame.columns.duplicated()]
    options = {"date_format": date_format, "dayfirst": dayfirst}

    def cast(column: str, caster, what: str) -> None:
        raw = frame[column]
        try:
            out = caster(raw)
        except (TypeError, ValueError, OverflowError):
            out = pd.Series(np.nan, index=raw.index)
        if isinstance(out, tuple):  # a format parser: (values, issue)
            out, issue = out[0], out[-1]
            if issue is not None:
                problems.append(_issue(kind, column, issue))
                frame[column] = out
                return
        bad = raw.notna().to_numpy() & out.isna().to_numpy()
        if raw.dtype == object or pd.api.types.is_string_dtype(raw):
            bad &= raw.astype(str).str.strip().ne("").to_numpy()
        if bad.any():
            problems.append(problem(kind, column, f"has values that are not {what}",
                                    _row_ids(frame, bad, spec.id_column)))
        frame[column] = out

    for column in dict.fromkeys([*spec.columns, "stage", "status", "type"]):
        if column in frame.columns:
            frame[column], nested = _single_values(frame[column])
            if nested.any():
                problems.append(problem(kind, column, "has lists or records where single values belong",
                                        _row_ids(frame, nested, spec.id_column)))
    for column in spec.ids:
        if column in frame.columns:
            frame[column] = _as_text(frame[column])
    for column in spec.dates:
        if column in frame.columns:
            cast(column, lambda s: parse_date_column(s, **options), "dates")
    numeric = _number_columns(frame, spec)
    # A column's own values decide its marks; the mark the file's other columns prove settles
    # a column that cannot tell (26.900 beside 0,25); the caller's ``decimal`` overrides both.
    file_decimal = _file_decimal(frame, spec, None, numeric)
    for column in spec.amounts:
        if column in frame.columns:
            numbers, percent, issue = parse_number_column(frame[column], decimal=decimal, default=file_decimal)
            if percent.any():
                problems.append(problem(kind, column, "has percent signs (e.g. "
                                        f"{str(frame.loc[percent, column].iloc[0])!r}): an amount is money, "
                                        "not a rate", _row_ids(frame, percent.to_numpy(), spec.id_column)))
                frame[column] = frame[column].where(~percent)
            cast(column, lambda s: (numbers.where(~percent), issue), "numbers")
            infinite = np.isinf(frame[column].to_numpy(dtype=float))
            if infinite.any():
                problems.append(problem(kind, column, "has infinite values",
                                        _row_ids(frame, infinite, spec.id_column)))
                frame.loc[infinite, column] = np.nan
    for column in spec.label:
        if column in frame.columns:
            cast(column, _as_label, "a 0/1 label (accepted: 0/1, true/false, yes/no)")
    if kind == "opportunities":
        _conform_status(frame, kind, spec, stages, problems)
    for column in ("stage", "type", "owner"):
        if column in frame.columns and column not in spec.ids:
            frame[column] = _as_text(frame[column])
    canonical = {*spec.columns, "stage", "status", "type"}
    for column in frame.columns:
        if column not in canonical and _is_text(frame[column]):
            frame[column] = _extra_column(frame[column], kind, column, options, (decimal, file_decimal),
                                          problems, column in numeric)
    return frame, problems


def settle_options(
    frame: pd.DataFrame,
    kind: str,
    mapping: Mapping[str, str] | None = None,
    *,
    date_format: str | None = None,
    dayfirst: bool | None = None,
    decimal: str | None = None,
) -> dict:
    """The reading options of :func:`conform` with what ``frame`` (a first chunk) tells filled in.

    Batch scoring reads a file in chunks; a later chunk with no day above 12 or no value
    proving the decimal mark must be read as the first one was, not refused or guessed.

    Returns
    -------
    dict
        ``date_format``, ``dayfirst`` and ``decimal``, for :func:`conform`.
    """
    spec = TABLES[_kind(kind)]
    frame = frame.rename(columns=lambda c: str(c).strip().lstrip("\ufeff")).rename(
        columns=column_mapping(mapping, kind))
    frame = frame.loc[:, ~frame.columns.duplicated()]
    if dayfirst is None and date_format is None:
        orders = {date_order(frame[c]) for c in frame.columns if c not in spec.ids} - {None}
        dayfirst = orders.pop() if len(orders) == 1 else None
    return {"date_format": date_format, "dayfirst": dayfirst, "decimal": _file_decimal(frame, spec, decimal)}


def _missing(frame, column, kind, spec, what="is missing") -> list[Problem]:
    mask = frame[column].isna().to_numpy()
    return [problem(kind, column, what, _row_ids(frame, mask, spec.id_column))] if mask.any() else []


def infer_frequency(dates) -> tuple[str | None, int]:
    """Infer a pandas frequency alias and season length from sorted unique dates.

    Returns ``(None, 1)`` when the dates are too few or irregular.

    Examples
    --------
    >>> infer_frequency(pd.date_range("2024-01-01", periods=6, freq="MS"))
    ('MS', 12)
    """
    # In seconds: steps between dates 1700 and 2200 overflow int64 nanoseconds.
    index = pd.DatetimeIndex(pd.Series(dates).dropna().unique()).sort_values().as_unit("s")
    if len(index) < 3:
        return None, 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 warns that infer_freq will return an offset
        freq = pd.infer_freq(index)
    freq = getattr(freq, "freqstr", freq)
    if freq is None:
        # Tolerate gaps: take the most common step and check it is a known one.
        step = pd.Series(index[1:] - index[:-1]).mode().iloc[0].days
        freq = {1: "D", 7: "W"}.get(step)
        if freq is None and 28 <= step <= 31:
            freq = "MS" if (index.day == 1).all() else ("ME" if index.is_month_end.all() else None)
        elif freq is None and 89 <= step <= 92:
            freq = "QS" if (index.day == 1).all() else ("QE" if index.is_quarter_end.all() else None)
        if freq is None:
            return None, 1
    base = freq.split("-")[0]
    return freq, _SEASON.get(base, _SEASON.get(base.rstrip("S"), 1))


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
                                "(aggregate to one row per period first)", _row_ids(frame, dup, None)))
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
            from .outliers import outlier_problems

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
    spec = TABLES[_kind(kind)]
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
                                    "be skipped", _row_ids(frame, negative, None), severity="warning"))
        if frame["date"].notna().any():
            problems += _check_revenue(frame, kind, season_length, allow_short, allow_gaps)
    return problems


def _check_deals(frame, kind, spec, stages: Stages, opportunities) -> list[Problem]:
    problems: list[Problem] = []
    if "amount" in frame.columns:
        negative = (frame["amount"] < 0).to_numpy()
        if negative.any():
            problems.append(problem(kind, "amount", "is negative", _row_ids(frame, negative, spec.id_column)))
        if kind == "opportunities":
            problems += _missing(frame, "amount", kind, spec, "is missing an amount")
    unknown = (frame["stage"].notna() & ~frame["stage"].isin(stages.all)).to_numpy()
    if unknown.any():
        names = sorted(set(frame.loc[unknown, "stage"].astype(str)))[:5]
        problems.append(problem(kind, "stage", f"has unknown stages ({', '.join(names)}); known stages are "
                                f"{', '.join(stages.all)} (pass your stages config)",
                                _row_ids(frame, unknown, spec.id_column)))
    problems += _missing(frame, "stage", kind, spec, "is missing a stage")
    if kind == "opportunities":
        problems += _missing(frame, "status", kind, spec, "is missing a status (open / won / lost)")
        closed = frame["status"].isin(["won", "lost"]).to_numpy()
        no_close = closed & frame["close_date"].isna().to_numpy()
        if no_close.any():
            problems.append(problem(kind, "close_date", "is missing for closed deals",
                                    _row_ids(frame, no_close, spec.id_column)))
        open_undated = (frame["status"] == "open").to_numpy() & frame["close_date"].isna().to_numpy()
        if open_undated.any():
            problems.append(problem(kind, "close_date", "is missing for open deals: no expected close "
                                    "date places them in a forecast period", _row_ids(frame, open_undated,
                                                                                      spec.id_column),
                                    severity="warning"))
        early = (frame["close_date"] < frame["created_at"]).to_numpy()
        if early.any():
            problems.append(problem(kind, "close_date", "is before created_at",
                                    _row_ids(frame, early, spec.id_column)))
    if kind == "stage_history" and opportunities is not None:
        known = set(opportunities["opportunity_id"].dropna())
        orphan = (~frame["opportunity_id"].isin(known) & frame["opportunity_id"].notna()).to_numpy()
        if orphan.any():
            problems.append(problem(kind, "opportunity_id", "refers to opportunities that are not in the "
                                    "opportunities table", sorted(set(frame.loc[orphan, "opportunity_id"]))))
    return problems


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
    kind : {"leads", "opportunities", "stage_history", "activities", "revenue"}
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
    kind = _kind(kind)
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
    kind = _kind(kind)
    try:
        mapping = column_mapping(mapping, kind)
        raw = _read(kind, source, mapping, table)
    except DataError as err:
        return CheckReport(kind, str(source), None, err.problems)
    frame, problems = conform(raw, kind, mapping, date_format=date_format, dayfirst=dayfirst, decimal=decimal,
                              stages=check_kwargs.get("stages"))
    return CheckReport(kind, str(source), frame, _merge(problems, check(frame, kind, **check_kwargs)))
