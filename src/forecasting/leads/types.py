"""Column kinds of a leads table and their model-ready representation.

:func:`infer_types` sorts the columns of a leads table into ``numeric``,
``categorical``, ``boolean`` and ``datetime`` features and drops ids, constants and
free text; :func:`coerce` casts typed columns to floats and strings the same way
in training, cross-validation and batch scoring (chunks read as text included).
``lead_id``, ``created_at``, the label and ``converted_at`` are never features.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ..data.validate import DataWarning

__all__ = ["NEVER_FEATURES", "FEATURE_TYPES", "MISSING", "OTHER", "infer_types", "coerce", "reference_column",
           "split_names"]

NEVER_FEATURES = ("lead_id", "created_at", "converted", "converted_at")
FEATURE_TYPES = ("numeric", "categorical", "boolean", "datetime")
MISSING = "(missing)"
OTHER = "(other)"
_TRUE = {"1", "1.0", "true", "t", "yes", "y"}
_FALSE = {"0", "0.0", "false", "f", "no", "n"}
_DATE_TEXT = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4})")
_ID_NAME = re.compile(r"(^id$|_id$|^id_)", re.IGNORECASE)

# --------------------------------------------------------------------------- typing


def _is_boolean(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values):
        return True
    distinct = values.dropna().unique()
    if len(distinct) != 2:
        return False
    if pd.api.types.is_numeric_dtype(values):
        return set(np.asarray(distinct, dtype=float)) == {0.0, 1.0}
    text = {str(v).strip().lower() for v in distinct}
    return text <= (_TRUE | _FALSE) and bool(text & _TRUE) and bool(text & _FALSE)


def _looks_like_dates(values: pd.Series) -> bool:
    sample = values.dropna().astype(str).head(200)
    return len(sample) > 0 and sample.str.match(_DATE_TEXT).mean() > 0.95


def _text_kind(values: pd.Series) -> str | None:
    """``text`` for free text, ``id`` for near-unique short strings, else None."""
    sample = values.dropna().astype(str)
    if sample.empty:
        return None
    words = sample.head(2000).str.split().str.len().mean()
    unique = sample.nunique() / len(sample)
    if words >= 5 or (unique > 0.5 and sample.head(2000).str.len().mean() > 25):
        return "text"
    if unique > 0.95 and len(sample) >= 20:
        return "id"
    return None


def _column_kind(name: str, values: pd.Series) -> tuple[str, str | None]:
    """(kind, reason it is dropped or None)."""
    if values.nunique(dropna=True) <= 1:
        return "constant", "constant or empty column"
    if _ID_NAME.search(str(name)):
        return "id", "id-like column (named like an id)"
    if _is_boolean(values):
        return "boolean", None
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime", None
    if pd.api.types.is_numeric_dtype(values):
        nonnull = values.dropna()
        integral = np.all(np.mod(nonnull.to_numpy(float), 1) == 0)
        if integral and len(nonnull) >= 50 and nonnull.is_unique:
            return "id", "id-like column (unique integers)"
        return "numeric", None
    if _looks_like_dates(values):
        return "datetime", None
    kind = _text_kind(values)
    if kind == "text":
        return "text", "free text (not used; derive features from it yourself)"
    if kind == "id":
        return "id", "id-like column (a different value on almost every row)"
    return "categorical", None


def infer_types(
    frame: pd.DataFrame, *, target: str = "converted", skip: Iterable[str] = (), warn: bool = True
) -> tuple[dict[str, str], dict[str, str]]:
    """Type the feature columns of a leads table.

    Parameters
    ----------
    frame : DataFrame
        A leads table (canonical columns plus any features).
    target : str
        Label column (never a feature).
    skip : iterable of str
        Further columns to leave out silently.
    warn : bool
        Warn (:class:`~forecasting.data.DataWarning`) about each free-text column
        dropped; :func:`screen_features` records them in ``excluded`` instead.

    Returns
    -------
    types : dict
        Feature column -> one of :data:`FEATURE_TYPES`.
    dropped : dict
        Column -> why it is not a feature (id-like, constant, free text).

    Examples
    --------
    >>> frame = pd.DataFrame({"lead_id": ["a", "b", "c"], "visits": [1, 5, 2],
    ...                       "vip": [True, False, True], "plan": ["x", "x", "x"]})
    >>> infer_types(frame)
    ({'visits': 'numeric', 'vip': 'boolean'}, {'plan': 'constant or empty column'})
    """
    never = set(NEVER_FEATURES) | {target} | set(skip)
    types: dict[str, str] = {}
    dropped: dict[str, str] = {}
    for column in frame.columns:
        if column in never:
            continue
        kind, reason = _column_kind(column, frame[column])
        if reason:
            dropped[column] = reason
            if kind == "text" and warn:
                warnings.warn(f"leads.{column}: {reason}", DataWarning, stacklevel=2)
        else:
            types[column] = kind
    return types, dropped


# --------------------------------------------------------------------------- coercion


def _as_bool(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    text = pd.Series(_as_text(values), index=values.index).str.lower()
    return np.where(text.isin(_TRUE), 1.0, np.where(text.isin(_FALSE), 0.0, np.nan))


def _as_days(values: pd.Series) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stamps = pd.to_datetime(values, errors="coerce", format="mixed") \
            if not pd.api.types.is_datetime64_any_dtype(values) else values
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.astype("datetime64[ns]")


def _text_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """``texts[codes]`` is ``str(value).strip()`` of each value, ``"(missing)"`` for missing
    or blank (code -1 picks the last text, ``"(missing)"``).

    Each distinct value is cast once: batch scoring casts millions of values of a
    few dozen levels.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, [str(u).strip() or MISSING for u in uniques] + [MISSING]


def _as_text(values: pd.Series) -> np.ndarray:
    codes, texts = _text_codes(values)
    return np.array(texts, dtype=object)[codes]


def coerce(frame: pd.DataFrame, types: Mapping[str, str]) -> pd.DataFrame:
    """Cast feature columns to their type's representation.

    Numbers and booleans become floats (NaN = missing); categories become strings
    (``"(missing)"`` for missing); a datetime column ``d`` becomes ``d__days``
    (days since 1970), ``d__weekday`` and ``d__month`` (categories). Robust to the
    way chunks of a file are read (a boolean read as text, an all-empty chunk).
    """
    out: dict[str, object] = {}
    n = len(frame)
    for column, kind in types.items():
        values = frame[column] if column in frame.columns else pd.Series([np.nan] * n, index=frame.index)
        if kind == "numeric":
            out[column] = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
        elif kind == "boolean":
            out[column] = _as_bool(values)
        elif kind == "datetime":
            stamps = _as_days(values)
            days = (stamps - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy() / 86400.0
            out[f"{column}__days"] = days
            out[f"{column}__weekday"] = _objects(
                np.where(stamps.isna(), MISSING, stamps.dt.day_name().astype(object)), frame.index)
            out[f"{column}__month"] = _objects(
                np.where(stamps.isna(), MISSING, stamps.dt.month.astype("Int64").astype(str)), frame.index)
        else:
            out[column] = _objects(_as_text(values), frame.index)
    return pd.DataFrame(out, index=frame.index)


def _objects(values: np.ndarray, index) -> pd.Series:
    # Explicitly object: pandas 3 would convert the strings to its Arrow string dtype, and every
    # step after (grouping, one-hot, drift bins) would convert them back, at millions of rows.
    return pd.Series(values, index=index, dtype=object)


def _positions(levels, values) -> np.ndarray:
    """Position of each value among ``levels`` (-1 if absent). Both sides stay Python objects:
    pandas 3 would convert them to Arrow strings and back, at every chunk of batch scoring."""
    objects = pd.Index(np.asarray(values, dtype=object), dtype=object)
    return pd.Index(np.asarray(levels, dtype=object), dtype=object).get_indexer(objects)


def _sources(types: Mapping[str, str]) -> dict[str, str]:
    """Coerced column -> the input feature it comes from (only where they differ)."""
    return {f"{column}__{part}": column for column, kind in types.items() if kind == "datetime"
            for part in ("days", "weekday", "month")}


def reference_column(value, n: int, index=None) -> pd.Series:
    """A column holding ``value`` on ``n`` rows, typed the way :func:`coerce` reads it back
    (floats as floats, anything else as objects): the counterfactual of a reason code."""
    return pd.Series([value] * n, index=index, dtype=float if isinstance(value, float) else object)


def _derived_kinds(types: Mapping[str, str]) -> dict[str, str]:
    """Kinds of the columns :func:`coerce` makes: ``numeric``, ``boolean`` or ``categorical``."""
    kinds = {}
    for column, kind in types.items():
        if kind == "datetime":
            kinds.update({f"{column}__days": "numeric", f"{column}__weekday": "categorical",
                          f"{column}__month": "categorical"})
        else:
            kinds[column] = kind
    return kinds


def split_names(names: str | Iterable[str] | None) -> list[str]:
    """Names (of columns, models) from a comma-separated string (``"a, b"``) or an iterable of names.

    Examples
    --------
    >>> split_names("lead_status, tags"), split_names(["a,b"]), split_names(None)
    (['lead_status', 'tags'], ['a,b'], [])
    """
    if names is None:
        return []
    if isinstance(names, str):
        return [n.strip() for n in names.split(",") if n.strip()]
    return [str(n) for n in names]
