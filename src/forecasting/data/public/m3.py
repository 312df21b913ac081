"""The M3 forecasting competition: yearly, quarterly, monthly and other series with their hold-out."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, problem
from .base import Adapted, check_series, locate, split_last


@dataclass(frozen=True)
class _M3Kind:
    sheet: str
    freq: str
    season_length: int
    months_per_step: int  # 0: undated sheet, synthetic daily index


_M3 = {
    "yearly": _M3Kind("M3Year", "YS", 1, 12),
    "quarterly": _M3Kind("M3Quart", "QS", 4, 3),
    "monthly": _M3Kind("M3Month", "MS", 12, 1),
    "other": _M3Kind("M3Other", "D", 1, 0),
}
_M3_HEADER = ("Series", "N", "NF", "Category")
_UNDATED_YEAR = 2000
_M3_NOTES = """\
M3 competition (Makridakis & Hibon 2000), one sheet per kind. Each row of M3C.xls holds the FULL
series: test = the last NF values (the competition hold-out: 6 yearly, 8 quarterly, 18 monthly,
8 other), train = the first N - NF.
- Dates are built from Starting Year / Starting Month|Quarter at period starts (YS/QS/MS).
  UNDATED series (Starting Year 0: 29 monthly series; all of M3Other) get a synthetic start in
  2000 (M3Other: a daily index from 2000-01-01); tables["series"].dated is False for them.
  An invalid start period (one quarterly series has Starting Quarter 9) falls back to period 1.
  Yearly starts go back to 1811: dates are datetime64[ns], which covers 1677..2262.
- Category strings are stripped of trailing spaces. All values are positive."""


def _m3_rows(path: Path, sheet_name: str):
    """Rows of one M3 sheet as (series, n, nf, category, year, period, values)."""
    try:
        import xlrd
    except ImportError:  # an optional extra: the core install reads no Excel
        raise DataError(problem(path.name, None, "reading the M3 workbook (.xls) needs xlrd: "
                                "pip install 'forecasting[public-data]'")) from None
    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
        sheet = book.sheet_by_name(sheet_name)
    except xlrd.biffh.XLRDError as exc:
        raise DataError(problem(path.name, None, f"cannot read sheet {sheet_name!r}: {exc}")) from None
    header = [str(v).strip() for v in sheet.row_values(0, 0, 6)]
    missing = [c for c, h in zip(_M3_HEADER, header) if c != h]
    if missing or sheet.ncols < 7:
        raise DataError(problem(f"{path.name}[{sheet_name}]", missing[0] if missing else None,
                                f"unexpected header {header}; expected {list(_M3_HEADER)} + start + values"))
    rows = []
    for r in range(1, sheet.nrows):
        cells = sheet.row_values(r)
        name, n, nf = str(cells[0]).strip(), int(cells[1]), int(cells[2])
        values = cells[6:6 + n]
        if len(values) != n or not all(isinstance(v, float) for v in values) or not 0 < nf < n:
            raise DataError(problem(f"{path.name}[{sheet_name}]", "values",
                                    f"does not hold N={n} numbers with 0 < NF={nf} < N", [name]))
        rows.append((name, n, nf, str(cells[3]).strip(), cells[4], cells[5], values))
    book.release_resources()
    return rows


def _m3_starts(years: np.ndarray, periods: np.ndarray, spec: _M3Kind) -> tuple[np.ndarray, np.ndarray]:
    """Start month index (months since 1970-01) per series and whether it is a real date."""
    years = np.asarray(years, dtype=float)
    periods = np.asarray(periods, dtype=float)
    dated = years >= 1 if spec.months_per_step else np.zeros(len(years), dtype=bool)
    steps_per_year = 12 // spec.months_per_step if spec.months_per_step else 1
    valid_period = (periods >= 1) & (periods <= steps_per_year) & dated
    periods = np.where(valid_period, periods, 1).astype(int)
    years = np.where(dated, years, _UNDATED_YEAR).astype(int)
    return (years - 1970) * 12 + (periods - 1) * max(spec.months_per_step, 1), dated


def m3(kind: str = "monthly", *, root: str | os.PathLike | None = None) -> Adapted:
    """M3 competition series as long train/test frames.

    Parameters
    ----------
    kind : {"monthly", "quarterly", "yearly", "other"}
    root : path, optional
        Shared data folder or the dataset folder.

    Returns
    -------
    Adapted
        ``tables["train"]`` / ``tables["test"]``: ``series, date, amount`` sorted by series
        and date; ``tables["series"]``: ``series, category, n, horizon, start, dated``.
        ``horizon`` (18 monthly, 8 quarterly, 6 yearly, 8 other), ``season_length``, ``freq``.

    Notes
    -----
    Undated series (29 monthly with Starting Year 0, all of "other") get synthetic dates from
    2000 (``series.dated`` is False); one quarterly series with Starting Quarter 9 starts in
    Q1. "Other" uses a synthetic daily index (freq "D", season 1). See ``notes``.

    Examples
    --------
    >>> data = m3("monthly")                       # doctest: +SKIP
    >>> data.train.series.nunique(), data.horizon  # doctest: +SKIP
    (1428, 18)
    """
    if kind not in _M3:
        raise ValueError(f"kind must be one of {sorted(_M3)}, got {kind!r}")
    spec = _M3[kind]
    path = locate(root, "m3_competition", "M3C.xls")
    names, n, nf, category, years, periods, values = zip(*_m3_rows(path, spec.sheet))
    n, nf = np.asarray(n), np.asarray(nf)
    start, dated = _m3_starts(years, periods, spec)
    step = np.concatenate([np.arange(k) for k in n])
    if spec.months_per_step:
        offsets = np.repeat(start, n) + step * spec.months_per_step
        dates = offsets.astype("datetime64[M]").astype("datetime64[ns]")
    else:
        dates = (np.datetime64(f"{_UNDATED_YEAR}-01-01", "D") + step).astype("datetime64[ns]")
    long = pd.DataFrame({
        "series": np.repeat(np.asarray(names, dtype=object), n),
        "date": dates,
        "amount": np.concatenate(values).astype(float),
    })
    train, test = split_last(check_series(long, path), np.repeat(nf, n))
    series = pd.DataFrame({
        "series": np.asarray(names, dtype=object),
        "category": np.asarray(category, dtype=object),
        "n": n,
        "horizon": nf,
        "start": dates[np.r_[0, np.cumsum(n)[:-1]]],
        "dated": dated,
    })
    return Adapted(
        name=f"m3_{kind}",
        tables={"train": train, "test": test, "series": series},
        notes=_M3_NOTES,
        freq=spec.freq,
        season_length=spec.season_length,
        horizon=int(nf.max()),
        files=(path,),
    )


def m3_monthly(*, root: str | os.PathLike | None = None) -> Adapted:
    """The 1,428 M3 monthly series (horizon 18): ``m3("monthly")``."""
    return m3("monthly", root=root)
