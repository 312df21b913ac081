"""Date and number formats, decided for a whole column from all its values.

A CRM export writes every value of a column the same way, so the format is a
property of the column, never of one value: ``03/04/2025`` is the 3rd of April
when another row of the column says ``31/12/2025``, and the 4th of March when
another says ``12/31/2025``. A column that gives no such evidence (every day
<= 12), or that mixes styles, is refused with the flag that settles it rather
than guessed.

:func:`parse_date_column` and :func:`parse_number_column` return the parsed
column and, when the column cannot be decided, a :class:`FormatIssue` that the
caller turns into a :class:`~forecasting.data.errors.Problem` naming the table.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["FormatIssue", "parse_date_column", "parse_number_column", "looks_numeric", "looks_like_dates",
           "proven_decimal", "date_order", "DATE_FLAGS", "DECIMAL_FLAG"]

DATE_FLAGS = "--date-format FMT (e.g. '%d/%m/%Y') or --dayfirst / --monthfirst"
DECIMAL_FLAG = "--decimal , or --decimal ."


@dataclass(frozen=True)
class FormatIssue:
    """Why a column's format cannot be decided: a message with a sample and the flag that settles it."""

    message: str


# ---------------------------------------------------------------- dates

_TIME = (r"(?:(?:[T ]|, ?)\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"
         r"\s*(?P<p>[AaPp]\.?[Mm]\.?)?)?")
# The offset is dropped, not applied: a timestamp keeps the local date and time the business wrote.
_ZONE = r"\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$"
_YMD = re.compile(r"^(?P<y>\d{4})(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})" + _TIME + _ZONE, re.I)
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")
_DMY = re.compile(r"^(?P<a>\d{1,2})(?P<s>[-/.])(?P<b>\d{1,2})(?P=s)(?P<y>\d{4}|\d{2})" + _TIME + _ZONE, re.I)
_STRICT_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}:?\d{2})?$")
_NAIVE_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$")
# An offset after a time (2025-01-02T10:00:00+02:00); "-25" ending 2025-05-25 is the day, not an offset.
_OFFSET = re.compile(r"(?<=\d{2}:\d{2})(:\d{2}(?:[.,]\d{1,9})?)?\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$", re.I)


def _date_text(value):
    """A number in a date column as the text it was typed as: ``20250101`` reads as a
    date; ``3`` or ``1e18`` do not (never as nanoseconds after 1970)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if np.isfinite(value) and value == int(value) else None
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


def _distinct(series: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """The column's distinct non-blank values as stripped text (indexed by themselves, for
    samples in messages) and each row's position among them (-1: missing or blank).

    Work is per distinct value: 24,000 timestamps of a leads export are parsed once each.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    values = np.asarray(uniques, dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        values = np.array([v if isinstance(v, str) else _date_text(v) for v in values], dtype=object)
    text = pd.Series(values, dtype="string").str.strip()
    keep = (text.notna() & text.ne("")).to_numpy()
    position = np.full(len(values) + 1, -1)
    position[np.flatnonzero(keep)] = np.arange(keep.sum())
    text = text[keep].to_numpy(dtype=object)
    return position[codes], pd.Series(text, index=pd.Index(text, dtype=object), dtype=object)


def _texts(series: pd.Series) -> pd.Series:
    """The column's distinct non-blank values as stripped text."""
    return _distinct(series)[1]


def _spread(codes: np.ndarray, values, fill, index) -> pd.Series:
    """Per-distinct-value results back onto the rows (``fill`` where missing or blank)."""
    values = np.asarray(values)
    out = values[np.maximum(codes, 0)] if len(values) else np.full(len(codes), fill, dtype=object)
    return pd.Series(np.where(codes >= 0, out, fill) if len(values) else out, index=index)


def _year(y: pd.Series) -> pd.Series:
    """Four-digit years; two-digit ones pivot as ``strptime`` does (69-99 -> 19xx, 00-68 -> 20xx)."""
    n = y.astype(int)
    return n.where(y.str.len() == 4, np.where(n >= 69, 1900 + n, 2000 + n))


def _assemble(y, m, d, parts: pd.DataFrame) -> pd.Series:
    """Timestamps from text components (missing where the date does not exist, e.g. 30 Feb)."""
    hour = parts["H"].fillna("0").astype(int)
    pm = parts["p"].fillna("").str.lower().str.startswith("p")
    am = parts["p"].fillna("").str.lower().str.startswith("a")
    bad_clock = (parts["p"].notna() & ((hour > 12) | (hour == 0)))
    hour = hour.where(~(am & (hour == 12)), 0)
    hour = hour.where(~(pm & (hour < 12)), hour + 12)
    text = (_year(y).astype(str).str.zfill(4) + "-" + m.str.zfill(2) + "-" + d.str.zfill(2) + " "
            + hour.astype(str).str.zfill(2) + ":" + parts["M"].fillna("00") + ":" + parts["S"].fillna("00")
            + "." + parts["f"].fillna("0").str.ljust(9, "0"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pd.to_datetime(text.where(~bad_clock), format="%Y-%m-%d %H:%M:%S.%f", errors="coerce")
    return pd.Series(out.to_numpy(), index=parts.index)


def _decide_order(dmy: pd.DataFrame, dayfirst: bool | None) -> tuple[bool | None, FormatIssue | None]:
    """Day-first or month-first for the ``a/b/y`` values of a column, from all of them."""
    a, b = dmy["a"].astype(int), dmy["b"].astype(int)
    day_first, month_first = (a > 12) & (b <= 12), (b > 12) & (a <= 12)
    if dayfirst is not None:
        return dayfirst, None
    if day_first.any() and month_first.any():
        return None, FormatIssue(
            f"mixes day-first and month-first dates (e.g. {dmy.index[day_first.to_numpy()][0]!r} and "
            f"{dmy.index[month_first.to_numpy()][0]!r}); pass {DATE_FLAGS}")
    if day_first.any() or month_first.any():
        return bool(day_first.any()), None
    if dmy["s"].eq(".").all():
        return True, None  # 01.02.2025 is day-first wherever dots are written (de, fr, ru, ...)
    return None, FormatIssue(
        f"has ambiguous dates: every day and month is 12 or less (e.g. {dmy.index[0]!r}), so "
        f"31/12 or 12/31 cannot be told apart; pass {DATE_FLAGS}")


def _iso(text: pd.Series) -> pd.Series | None:
    """Strict ISO 8601 texts (never ambiguous) parsed at C speed, offsets dropped; None if any is not."""
    naive = text.str.match(_NAIVE_ISO)
    if not naive.all() and not text.str.match(_STRICT_ISO).all():
        return None
    if not naive.all():
        text = text.str.replace(_OFFSET, r"\1", regex=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stamps = pd.to_datetime(text, format="ISO8601", errors="coerce")
    return _in_range(pd.Series(stamps.to_numpy(), index=text.index))


def _parse_texts(text: pd.Series, dayfirst: bool | None) -> tuple[pd.Series, FormatIssue | None]:
    """Parse distinct date texts (index: the raw values) with the column's detected format."""
    iso = _iso(text) if len(text) else None
    if iso is not None:
        return iso, None
    ymd = text.str.extract(_YMD)
    compact = text.str.extract(_COMPACT)
    dmy = text.str.extract(_DMY)
    is_ymd, is_compact, is_dmy = ymd["y"].notna(), compact["y"].notna(), dmy["a"].notna()
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if (is_ymd | is_compact).any() and is_dmy.any():
        return out, FormatIssue(
            f"mixes date formats (e.g. {text[is_ymd | is_compact].iloc[0]!r} and {text[is_dmy].iloc[0]!r}); "
            f"pass {DATE_FLAGS}")
    if is_ymd.any():
        part = ymd[is_ymd]
        out[is_ymd.to_numpy()] = _assemble(part["y"], part["m"], part["d"], part).to_numpy()
    if is_compact.any():
        part = compact[is_compact].assign(H=None, M=None, S=None, f=None, p=None)
        out[is_compact.to_numpy()] = _assemble(part["y"], part["m"], part["d"], part).to_numpy()
    if is_dmy.any():
        part = dmy[is_dmy].set_axis(text.index[is_dmy.to_numpy()])
        first, issue = _decide_order(part, dayfirst)
        if issue:
            return out, issue
        day, month = (part["a"], part["b"]) if first else (part["b"], part["a"])
        out[is_dmy.to_numpy()] = _assemble(part["y"], month, day, part).to_numpy()
    other = ~(is_ymd | is_compact | is_dmy).to_numpy()
    if other.all():
        # Month names and other spelled-out styles ("5 Jan 2025", "Jan 5, 2025") cannot be
        # read two ways; numeric-only styles never get here.
        out[:] = _free_text(text, bool(dayfirst)).to_numpy()
    return out, None


def _free_text(text: pd.Series, dayfirst: bool) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stamps = pd.to_datetime(text.str.replace(_OFFSET, r"\1", regex=True), errors="coerce",
                                format="mixed", dayfirst=dayfirst)
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_localize(None)
    return _in_range(stamps)


def _in_range(stamps: pd.Series) -> pd.Series:
    """As ``datetime64[ns]``; dates it cannot hold (before 1677, after 2262) are missing."""
    if stamps.dt.unit != "ns":
        stamps = stamps.where(stamps.isna() | stamps.between(pd.Timestamp.min, pd.Timestamp.max))
    return stamps.astype("datetime64[ns]")


def _with_format(text: pd.Series, date_format: str) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stamps = pd.to_datetime(text, format=date_format, errors="coerce")
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_localize(None)  # local wall time, as for detected formats
    elif stamps.dtype == object:  # offsets that differ from row to row: each keeps its wall time
        stamps = pd.Series([v.replace(tzinfo=None) if pd.notna(v) else pd.NaT for v in stamps],
                           index=text.index).astype("datetime64[ns]")
    return _in_range(stamps)


def parse_date_column(
    series: pd.Series, *, date_format: str | None = None, dayfirst: bool | None = None
) -> tuple[pd.Series, FormatIssue | None]:
    """Parse a column of dates, its format decided from all its values.

    Parameters
    ----------
    series : Series
        Text, numbers typed as text (``20250101``) or datetimes.
    date_format : str, optional
        A ``strftime`` format for every value (``"%d/%m/%Y %H:%M"``): no detection.
    dayfirst : bool, optional
        Settles ``03/04/2025`` (True: 3 April) for a column with no day above 12.

    Returns
    -------
    dates : Series
        ``datetime64[ns]``, naive; what is not a date is missing. A timestamp with a
        UTC offset keeps its local date and time (the offset is dropped, not applied).
    issue : FormatIssue or None
        Set when the column is ambiguous or mixes formats (``dates`` is then all missing).

    Examples
    --------
    >>> dates, issue = parse_date_column(pd.Series(["03/04/2025", "31/12/2025"]))
    >>> dates.dt.strftime("%Y-%m-%d").tolist(), issue
    (['2025-04-03', '2025-12-31'], None)
    >>> parse_date_column(pd.Series(["2022-07-01T00:00:00+02:00"]))[0].tolist()
    [Timestamp('2022-07-01 00:00:00')]
    >>> parse_date_column(pd.Series(["03/04/2025"]))[1].message[:22]
    'has ambiguous dates: e'
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_localize(None)
        return _in_range(series), None
    codes, text = _distinct(series)
    if date_format:
        parsed, issue = _with_format(text, date_format), None
    else:
        parsed, issue = _parse_texts(text, dayfirst)
    out = _spread(codes, parsed.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"), series.index)
    return out.astype("datetime64[ns]").rename(series.name), issue


# ---------------------------------------------------------------- numbers

_GROUP_SPACES = "\u00a0\u202f\u2009 '\u2019"  # non-breaking, narrow, thin, space, apostrophes
_CURRENCY = r"(?:[A-Z]{3}|US\$|R\$|[$€£¥₹₽]|kr|zł)"
_NUMBER = re.compile(r"^[+-]?(?:\d[\d.,\u00a0\u202f\u2009 '\u2019]*|[.,]\d+)$")
_PLAIN = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_THOUSAND_LIKE = re.compile(r"^[+-]?[1-9]\d{0,2}\.\d{3}$")  # 26.900: 26.9 or 26900?
_DOT_PROOF = re.compile(r"^[+-]?(?:\d*\.(?:\d{1,2}|\d{4,})|0\.\d+|\d{4,}\.\d+)$")
_SCIENTIFIC = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def _bare(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Currency codes / symbols stripped, accounting ``(1,234)`` and unicode minus as a sign.

    Returns the signed number text and the mask of values that held a percent sign.
    """
    percent = text.str.contains("%", regex=False)
    text = text.str.replace("\u2212", "-", regex=False)
    negative = text.str.match(r"^\(.*\)$")
    text = text.str.strip("()").str.strip()
    # "-$12", "$-12", "EUR 1.234,50", "USD -1,234", "1 234 €", "-12 EUR"
    text = text.str.replace(rf"^([+-]?)\s*{_CURRENCY}\s*", r"\1", regex=True)
    text = text.str.replace(rf"\s*{_CURRENCY}$", "", regex=True).str.strip()
    text = text.where(~negative, "-" + text)
    return text, percent


def _evidence(body: pd.Series) -> tuple[pd.Series, pd.Series]:
    """For each number text, the decimal mark it proves (``.``, ``,`` or missing) and
    whether it is ambiguous (one mark followed by exactly three digits: ``26.900``)."""
    dots, commas = body.str.count(r"\."), body.str.count(",")
    grouped = body.str.contains(f"[{_GROUP_SPACES}]", regex=True)
    last_dot, last_comma = body.str.rfind("."), body.str.rfind(",")
    proof = pd.Series(None, index=body.index, dtype=object)
    both = (dots > 0) & (commas > 0)
    proof[both] = np.where(last_dot[both] > last_comma[both], ".", ",")
    proof[(dots > 1) & (commas == 0)] = ","  # 1.234.567: the dots group thousands
    proof[(commas > 1) & (dots == 0)] = "."
    single = ((dots == 1) & (commas == 0)) | ((commas == 1) & (dots == 0))
    mark = pd.Series(np.where(dots > 0, ".", ","), index=body.index)
    after = body.str.len() - np.maximum(last_dot, last_comma) - 1
    before = body.str.extract(r"^[+-]?([^.,]*)", expand=False).str.replace(f"[{_GROUP_SPACES}]", "", regex=True)
    # Not a thousands group: other than 3 digits after it, a zero or 4+ digits before it, or
    # spaces/apostrophes already grouping the thousands.
    decimal = single & ((after != 3) | before.isin(["", "0"]) | (before.str.len() > 3) | grouped)
    proof[decimal] = mark[decimal]
    return proof, single & ~decimal


def _to_float(body: pd.Series, decimal: str) -> pd.Series:
    """Numbers from texts whose decimal mark is ``decimal``; others marks must group thousands by 3."""
    thousands = "," if decimal == "." else "."
    group = f"[{re.escape(thousands)}{_GROUP_SPACES}]"
    valid = body.str.match(rf"^[+-]?(?:\d{{1,3}}(?:{group}\d{{3}})+|\d*)(?:{re.escape(decimal)}\d*)?$")
    valid &= body.str.contains(r"\d", regex=True)
    plain = body.str.replace(group, "", regex=True).str.replace(decimal, ".", regex=False)
    return pd.to_numeric(plain.where(valid), errors="coerce").astype(float)


def _decide_decimal(proof: pd.Series, ambiguous: pd.Series, decimal: str | None, default: str | None = None
                    ) -> tuple[str | None, FormatIssue | None]:
    if decimal is not None:
        return decimal, None
    found = set(proof.dropna())
    if len(found) > 1:
        return None, FormatIssue(
            f"mixes decimal marks (e.g. {proof.index[proof.eq('.').to_numpy()][0]!r} and "
            f"{proof.index[proof.eq(',').to_numpy()][0]!r}); pass {DECIMAL_FLAG}")
    if found:
        return found.pop(), None
    if ambiguous.any() and default is not None:
        return default, None
    if ambiguous.any():
        return None, FormatIssue(
            f"has ambiguous numbers: {ambiguous.index[ambiguous.to_numpy()][0]!r} may be a decimal or "
            f"a thousands mark and no value tells which; pass {DECIMAL_FLAG}")
    return ".", None


def parse_number_column(
    series: pd.Series, *, decimal: str | None = None, money: bool = True, default: str | None = None
) -> tuple[pd.Series, pd.Series, FormatIssue | None]:
    """Parse a column of numbers written in any locale, its marks decided from all its values.

    Parameters
    ----------
    series : Series
        Numbers, or text such as ``1.234,50``, ``1 234,50``, ``1,234.50``, ``1'234.50``,
        ``EUR 1.234,50``, ``$1,234``, ``(12.50)``.
    decimal : {",", "."}, optional
        The decimal mark, when the column cannot tell (every value like ``26.900``).
    money : bool
        Strip currency codes and symbols.
    default : {",", "."}, optional
        The decimal mark for a column whose own values do not tell (the mark the other
        columns of the file prove); a column's own evidence wins over it.

    Returns
    -------
    numbers : Series
        ``float64``; what is not a number is missing.
    percent : Series of bool
        Values that held a percent sign (missing in ``numbers``).
    issue : FormatIssue or None
        Set when the marks are ambiguous or mixed (``numbers`` is then all missing).

    Examples
    --------
    >>> parse_number_column(pd.Series(["26.900", "1.234,50"]))[0].tolist()
    [26900.0, 1234.5]
    >>> parse_number_column(pd.Series(["26.900"]))[2].message[:30]
    "has ambiguous numbers: '26.900"
    """
    if pd.api.types.is_bool_dtype(series) or not (
            pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
        numbers = pd.to_numeric(series, errors="coerce").astype(float)
        return numbers, pd.Series(False, index=series.index), None
    plain = pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")
    strings = series.notna() if plain else series.map(lambda v: isinstance(v, str)).astype(bool)
    if not plain and not (strings | series.isna()).all():  # a frame's own numbers among the text: taken as they are
        typed = pd.to_numeric(series.where(~strings), errors="coerce").astype(float)
        numbers, percent, issue = parse_number_column(series.where(strings, None), decimal=decimal, money=money,
                                                      default=default)
        return numbers.where(strings, typed), percent & strings, issue
    codes, text = _distinct(series)
    if decimal in (None, ".") and text.str.match(_PLAIN).all() and (
            "." in (decimal, default) or not text.str.match(_THOUSAND_LIKE).any() or text.str.match(_DOT_PROOF).any()):
        # Numbers as programs write them (1234.5, -3, 2e-05): no mark to decide.
        numbers = pd.to_numeric(text, errors="coerce").astype(float).to_numpy()
        return (_spread(codes, numbers, np.nan, series.index).astype(float).rename(series.name),
                pd.Series(False, index=series.index), None)
    numbers = pd.Series(np.nan, index=text.index)
    body, percent = _bare(text) if money else (text, text.str.contains("%", regex=False))
    scientific = body.str.match(_SCIENTIFIC.pattern)
    numbers[scientific.to_numpy()] = pd.to_numeric(body[scientific], errors="coerce").to_numpy()
    rest = (~scientific & ~percent & body.str.match(_NUMBER.pattern)).to_numpy()
    proof, ambiguous = _evidence(body[rest])
    mark, issue = _decide_decimal(proof, ambiguous, decimal, default)
    if issue is None:
        numbers[rest] = _to_float(body[rest], mark).to_numpy()
    if issue is not None:
        numbers[:] = np.nan
    out = _spread(codes, numbers.to_numpy(dtype=float), np.nan, series.index).astype(float).rename(series.name)
    return out, _spread(codes, percent.to_numpy(dtype=bool), False, series.index).astype(bool), issue


def looks_numeric(series: pd.Series) -> bool:
    """Whether every non-blank value of a text column is a number (in some locale), so the
    column is a number written as text rather than a category."""
    if not _head_matches(series, (_NUMBER, _SCIENTIFIC)):
        return False  # free text fails on its first values: no need to look at every one
    text = _texts(series)
    if text.empty:
        return False

    def numeric(part: pd.Series) -> bool:
        body = part.str.replace("\u2212", "-", regex=False)
        return bool((body.str.match(_NUMBER.pattern) | body.str.match(_SCIENTIFIC.pattern)).all())

    return numeric(text)


def proven_decimal(series: pd.Series, *, money: bool = False) -> set[str]:
    """The decimal marks that the values of a text column prove (empty if none does):
    a file is written in one locale, so one column's ``0,25`` settles another's ``26.900``."""
    if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
        return set()
    text = _texts(series)
    if text.str.match(_PLAIN).all():  # as programs write numbers: only a dot can be proven
        return {"."} if text.str.match(_DOT_PROOF).any() else set()
    body = _bare(text)[0] if money else text
    body = body[body.str.match(_NUMBER.pattern)]
    return set(_evidence(body)[0].dropna())


def looks_like_dates(series: pd.Series) -> bool:
    """Whether every non-blank value of a text column is a numeric date (``2025-01-31``,
    ``31/01/2025``, with or without a time), so the column is dates written as text."""
    if not _head_matches(series, (_YMD, _DMY)):
        return False
    text = _texts(series)
    return not text.empty and bool((text.str.match(_YMD) | text.str.match(_DMY)).all())


def _head_matches(series: pd.Series, patterns, n: int = 50) -> bool:
    """Whether the first ``n`` non-blank values each match one of ``patterns`` (a cheap first look)."""
    head = series.dropna().head(n)
    head = head[head.astype(str).str.strip().ne("")].astype(str).str.strip().str.replace("\u2212", "-", regex=False)
    return bool(head.map(lambda v: any(p.match(v) for p in patterns)).all())


def date_order(series: pd.Series) -> bool | None:
    """True if the column's slashed / dotted dates are day-first, False if month-first,
    None if its values do not tell (or it holds no such dates). Batch scoring settles
    every chunk with the answer of the first, so a chunk with no day above 12 reads alike."""
    if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
        return None
    text = _texts(series)
    dmy = text.str.extract(_DMY)
    dmy = dmy[dmy["a"].notna()]
    if dmy.empty:
        return None
    order, issue = _decide_order(dmy.set_axis(text.index[text.str.match(_DMY.pattern, flags=re.I).to_numpy()]),
                                 None)
    return None if issue else order
