"""Shared checks of the sales metrics: argument and table validation, group labels, frequencies.

Private to :mod:`forecasting.metrics` except :func:`group_labels` and :data:`TOTAL_GROUP`,
which the pipeline uses for its own total rows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ..data.validate import parse_dates

__all__ = ["TOTAL_GROUP", "by_columns", "group_labels"]

TOTAL_GROUP = _ALL = "all"  # the total row's group label: reserved (see group_labels)
_NO_GROUP = "(none)"
_FREQS = {"D": "D", "W": "W", "M": "M", "Q": "Q", "Y": "Y", "A": "Y"}
_DAY = pd.Timedelta(days=1)


def _inputs(kpi: str, nonnegative=(), fractions=(), **values) -> tuple[list[np.ndarray], Callable]:
    """Check the arguments of ``kpi``; return them as float arrays and a function
    that gives the result back in the caller's type (float, array or Series)."""
    index = None
    arrays: dict[str, np.ndarray] = {}
    for name, value in values.items():
        if isinstance(value, pd.Series):
            index = value.index if index is None else index
            value = value.to_numpy(dtype=float, na_value=np.nan)
        try:
            arrays[name] = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{kpi}: {name} must be a number, got {value!r}") from exc
    for name in nonnegative:
        _refuse(kpi, name, arrays[name], arrays[name] < 0, "must be >= 0")
    for name in fractions:
        a = arrays[name]
        _refuse(kpi, name, a, (a < 0) | (a > 1), "must be a fraction between 0 and 1 (0.15 for 15%)")
    scalar = all(a.ndim == 0 for a in arrays.values())

    def restore(out):
        if scalar:
            return float(out)
        if index is not None and np.ndim(out) == 1 and len(out) == len(index):
            return pd.Series(out, index=index, name=kpi)
        return out

    return list(arrays.values()), restore


def _refuse(kpi: str, name: str, values: np.ndarray, bad: np.ndarray, rule: str) -> None:
    if np.any(bad):
        first = np.broadcast_to(values, np.shape(bad))[bad].flat[0]
        raise ValueError(f"{kpi}: {name} {rule}, got {first:g}")


def _part_of(kpi: str, part: np.ndarray, whole: np.ndarray, part_name: str, whole_name: str) -> None:
    _refuse(kpi, part_name, part, part > whole, f"cannot exceed {whole_name}")


def _divide(numerator, denominator) -> np.ndarray:
    """Elementwise ratio with NaN (not inf, not an exception) where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(numerator, denominator)
    return np.where(np.asarray(denominator) == 0, np.nan, out)



def _end_of(as_of) -> pd.Timestamp:
    """The last instant counted for ``as_of``: a bare date counts its whole day."""
    stamp = pd.Timestamp(as_of)
    return stamp + _DAY - pd.Timedelta(1, "ns") if stamp == stamp.normalize() else stamp


def _freq(freq: str) -> str:
    key = str(freq).upper()
    if key not in _FREQS:
        raise ValueError(f"freq must be 'D' (day), 'W' (week), 'M' (month), 'Q' (quarter) or 'Y' (year), "
                         f"got {freq!r}")
    return _FREQS[key]


def _ids(frame: pd.DataFrame, mask, id_column: str | None) -> list[str]:
    mask = np.asarray(mask, dtype=bool)
    if id_column and id_column in frame.columns:
        return frame[id_column].to_numpy()[mask].astype(str).tolist()
    return [f"row {n + 1}" for n in np.flatnonzero(mask)]


def _table(frame, table: str, required, dates=(), id_column: str | None = None, numbers=()) -> pd.DataFrame:
    """A frame with the ``required`` columns, its ``dates`` as datetime64 and its ``numbers``
    as finite floats, or a DataError."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{table} must be a pandas DataFrame, got {type(frame).__name__}", table=table)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns[:20]))
        raise DataError([problem(table, c, f"is a required column but is missing; columns are: {have}")
                         for c in missing])
    twice = frame.columns[frame.columns.duplicated()]
    if len(twice):
        raise DataError([problem(table, str(twice[0]), "appears more than once in the header")])
    fixed = {}
    for column in dates:
        if column not in frame.columns or frame[column].dtype == "datetime64[ns]":
            continue
        parsed = parse_dates(frame[column])
        bad = parsed.isna() & frame[column].notna()
        if bad.any():
            raise DataError([problem(table, column, "has values that are not dates", _ids(frame, bad, id_column))])
        fixed[column] = parsed
    for column in numbers:
        parsed = pd.to_numeric(frame[column], errors="coerce").astype(float)
        bad = (parsed.isna() & frame[column].notna()) | np.isinf(parsed)
        if bad.any():
            raise DataError([problem(table, column, "has values that are not numbers", _ids(frame, bad, id_column))])
        fixed[column] = parsed
    return frame.assign(**fixed) if fixed else frame


def by_columns(by) -> tuple[str, ...] | None:
    """The columns of a ``by`` option: ``"owner"``, ``"owner,segment"`` or a list; None for no split.

    Examples
    --------
    >>> by_columns("owner, segment")
    ('owner', 'segment')
    """
    if by is None or (isinstance(by, str) and not by.strip()):
        return None
    names = by.split(",") if isinstance(by, str) else list(by)
    names = tuple(str(n).strip() for n in names if str(n).strip())
    return names or None


def _splits(frame: pd.DataFrame | None, by) -> bool:
    """Whether ``frame`` has every ``by`` column, so its rows can be split by group."""
    by = by_columns(by)
    return frame is not None and by is not None and ("_group" in frame.columns
                                                     or all(c in frame.columns for c in by))


def _group_key(frame: pd.DataFrame, by) -> pd.Series:
    """Group labels as strings (values of several ``by`` columns joined by " / "); missing
    values form their own group so groups add up to the total."""
    if "_group" in frame.columns:  # computed once by _with_groups
        return frame["_group"]
    by = by_columns(by)
    parts = [frame[c].astype(object) for c in by]
    parts = [v.where(v.notna(), _NO_GROUP).astype(str) for v in parts]
    labels = parts[0]
    for more in parts[1:]:
        labels = labels + " / " + more
    return group_labels(labels, "+".join(by))


def group_labels(values: pd.Series, by: str) -> pd.Series:
    """Group labels as strings that cannot be mistaken for the total row (``"all"``).

    A real group named ``all`` is renamed ``all (<by>)`` with a :class:`DataWarning`,
    so tables with a total row (``kpis``, ``pipeline forecast``) keep one ``all`` row.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     group_labels(pd.Series(["all", "SMB"]), "segment").tolist()
    ['all (segment)', 'SMB']
    """
    labels = values.astype(str)
    clash = labels == _ALL
    if clash.any():
        import warnings

        from ..data.validate import DataWarning

        renamed = f"{_ALL} ({by})"
        warnings.warn(f"{by} has a group named {_ALL!r} ({int(clash.sum())} rows), the name of the total row: "
                      f"it is reported as {renamed!r}", DataWarning, stacklevel=3)
        labels = labels.where(~clash, renamed)
    return labels


def _with_groups(frame: pd.DataFrame | None, by) -> pd.DataFrame | None:
    """``frame`` with its group labels cached in ``_group`` (they are used many times)."""
    if not _splits(frame, by) or "_group" in frame.columns:
        return frame
    return frame.assign(_group=_group_key(frame, by))



def _flag(series: pd.Series) -> pd.Series:
    """0/1 labels (bool, numbers, yes/no) as booleans; anything else is False."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        # float first: nullable booleans ("boolean", pd.NA) refuse fillna(0)
        return series.astype("Float64").fillna(0).astype(float) == 1
    return series.astype(str).str.strip().str.lower().isin({"1", "1.0", "yes", "y", "true", "t"})


