"""Put a raw table into canonical shape: canonical column names and types.

:func:`conform` renames and casts, deciding each column's date and number format
from all its values (see :mod:`forecasting.data.formats`); what it cannot cast
becomes a :class:`~forecasting.data.errors.Problem`, never a guess. The checks
of a conformed table live in :mod:`forecasting.data.validate`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .errors import DataError, Problem, problem
from .formats import (FormatIssue, date_order, looks_like_dates, looks_numeric, parse_date_column,
                      parse_number_column, proven_decimal)
from .schema import Stages, table_spec

__all__ = ["conform", "settle_options", "column_mapping", "parse_dates", "row_ids"]


_TRUE = {"1", "1.0", "yes", "y", "true", "t", "won", "converted"}
_FALSE = {"0", "0.0", "no", "n", "false", "f", "lost", "not converted"}
_STATUS = {
    "open": "open", "won": "won", "lost": "lost",
    "closed won": "won", "closed_won": "won", "closed-won": "won", "closedwon": "won",
    "closed lost": "lost", "closed_lost": "lost", "closed-lost": "lost", "closedlost": "lost",
}


# Quotes, statement separators, comments, control characters: SQL text, not a column name.
_SQL_TEXT = re.compile(r'["`;\x00-\x1f\x7f]|--|/\*|\*/')


def column_mapping(mapping: Mapping | None, kind: str) -> dict[str, str]:
    """``{their_name: canonical_name}`` as strings; names holding SQL text are refused (DataError)."""
    mapping = {str(old): str(new) for old, new in dict(mapping or {}).items()}
    refused = [problem(kind, old, f"column mapping {old!r}={new!r} is refused: column names may not hold "
                       "quotes, ';', '--', '/*' or control characters")
               for old, new in mapping.items() if _SQL_TEXT.search(old) or _SQL_TEXT.search(new)]
    if refused:
        raise DataError(refused)
    return mapping


def row_ids(frame: pd.DataFrame, mask, id_column: str | None) -> list[str]:
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
    # Labels, not quantities: a forecast call's period "2026" stays text (elsewhere "period" may be a feature).
    labels = {"period", "freq"} & set(spec.columns)
    skip = {*spec.ids, *spec.dates, *spec.label, *labels, "stage", "status", "type", "owner"}
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
                                "(closed won / closed lost are accepted too)", row_ids(frame, bad, spec.id_column)))
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
        A table of :data:`~forecasting.data.schema.TABLES` (``leads``, ``opportunities``, ..., ``survey``).
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
    spec = table_spec(kind)
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
                                    row_ids(frame, bad, spec.id_column)))
        frame[column] = out

    for column in dict.fromkeys([*spec.columns, "stage", "status", "type"]):
        if column in frame.columns:
            frame[column], nested = _single_values(frame[column])
            if nested.any():
                problems.append(problem(kind, column, "has lists or records where single values belong",
                                        row_ids(frame, nested, spec.id_column)))
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
                                        "not a rate", row_ids(frame, percent.to_numpy(), spec.id_column)))
                frame[column] = frame[column].where(~percent)
            cast(column, lambda s: (numbers.where(~percent), issue), "numbers")
            infinite = np.isinf(frame[column].to_numpy(dtype=float))
            if infinite.any():
                problems.append(problem(kind, column, "has infinite values",
                                        row_ids(frame, infinite, spec.id_column)))
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
    spec = table_spec(kind)
    frame = frame.rename(columns=lambda c: str(c).strip().lstrip("\ufeff")).rename(
        columns=column_mapping(mapping, kind))
    frame = frame.loc[:, ~frame.columns.duplicated()]
    if dayfirst is None and date_format is None:
        orders = {date_order(frame[c]) for c in frame.columns if c not in spec.ids} - {None}
        dayfirst = orders.pop() if len(orders) == 1 else None
    return {"date_format": date_format, "dayfirst": dayfirst, "decimal": _file_decimal(frame, spec, decimal)}
