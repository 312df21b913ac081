"""Lead-scoring datasets: X Education (B2C leads) and UCI Bank Marketing (telemarketing calls)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..errors import DataError, problem
from .base import Adapted, canonical, locate, read_csv, snake_case, yes_no_to_bool


_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_WEEKDAYS = {d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}

_XED_FILE = "Leads.csv"
_XED_LEAKY = (
    "Tags",                          # sales-rep notes on the lead's status ("Closed by Horizzon")
    "Lead Quality",                  # the assigned employee's judgement
    "Lead Profile",                  # level assigned to the lead by the company
    "Last Activity",                 # latest activity incl. "Converted to Lead", "SMS Sent" by sales
    "Last Notable Activity",
    "Asymmetrique Activity Index",   # scores assigned from activity and profile during follow-up
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
)
_XED_START = pd.Timestamp("2019-01-01")
_XED_NOTES = """\
X Education (UpGrad case study; fictional online-course company), 9,240 leads, 38.5% converted.
- created_at is SYNTHETIC: the file has no dates. Leads are ordered by `Lead Number` (assigned
  sequentially as leads are procured) and spaced evenly over 365 days from 2019-01-01, so
  time-aware CV folds follow lead order. Do not read anything into the calendar itself.
- `Lead Number` is used for that ordering and dropped (an id, not a feature).
- "Select" (an unanswered dropdown) is turned into missing. Complete Yes/No columns are booleans.
- Leaky (post-outcome, assigned by sales during/after follow-up): tags, lead_quality, lead_profile,
  last_activity, last_notable_activity and the four asymmetrique_* columns.
- Constant columns (magazine, receive_more_updates_about_our_courses,
  update_me_on_supply_chain_content, get_updates_on_dm_content,
  i_agree_to_pay_the_amount_through_cheque) are kept; drop constant/empty columns before fitting.
- total_visits / total_time_spent_on_website / page_views_per_visit are cumulative at extraction
  time and may include visits after the first contact (mild leakage, kept as features)."""


def x_education_leads(*, root: str | os.PathLike | None = None) -> Adapted:
    """X Education lead-scoring data as a canonical leads table.

    Parameters
    ----------
    root : path, optional
        Shared data folder (default :func:`shared_data_dir`) or the dataset folder itself.

    Returns
    -------
    Adapted
        ``tables["leads"]``: ``lead_id`` (Prospect ID), synthetic ``created_at``,
        ``converted`` and 33 snake_case feature columns (``columns`` maps the
        original names). ``leaky`` names the 9 post-outcome columns.

    Notes
    -----
    The data has no dates: ``created_at`` follows ``Lead Number`` order, evenly spaced
    over 2019 (see ``notes``). "Select" means missing. Five Yes/No columns are constant.
    """
    path = locate(root, "x_education_leads", _XED_FILE)
    raw = read_csv(path, ("Prospect ID", "Lead Number", "Converted", *_XED_LEAKY))
    raw = raw.drop(columns=[c for c in raw.columns if c.startswith("Unnamed:")])
    columns = {c: snake_case(c) for c in raw.columns if c != "Lead Number"}
    columns.update({"Prospect ID": "lead_id", "Converted": "converted"})
    leads = yes_no_to_bool(raw.drop(columns="Lead Number").rename(columns=columns))
    for column in leads.columns:
        if pd.api.types.is_string_dtype(leads[column].dtype) and column != "lead_id":
            leads[column] = leads[column].mask(leads[column].eq("Select"))
    order = raw["Lead Number"].rank(method="first").to_numpy() - 1
    seconds = np.floor(order * (365 * 86400 / len(raw))).astype("int64")
    leads.insert(1, "created_at", _XED_START + pd.to_timedelta(seconds, unit="s"))
    return Adapted(
        name="x_education_leads",
        tables={"leads": canonical("leads", leads, path, require_label=True)},
        target="converted",
        leaky=tuple(columns[c] for c in _XED_LEAKY),
        notes=_XED_NOTES,
        columns=columns,
        files=(path,),
    )


_BANK_FILES = {"additional": "bank-additional-full.csv", "full": "bank-full.csv"}
_BANK_FIRST_YEAR = 2008
_BANK_NOTES = """\
UCI Bank Marketing (Portuguese bank term-deposit telemarketing, Moro et al. 2014), one row per
contact; converted = y ("yes" -> 1).
- lead_id is the 1-based row number in the file.
- created_at is RECONSTRUCTED: the file is in date order (May 2008 - Nov 2010) but has no year.
  The year starts at 2008 and goes up each time the month goes back (may..dec, mar..dec, mar..nov).
  variant="full" has the day of month, so dates are exact. variant="additional" only has
  day_of_week: each run of equal weekdays gets the next calendar date with that weekday within its
  month (first run: first such weekday of the month), so dates are approximate (+- a week).
- duration (call length) is leaky: only known after the call, and 0 implies "no".
- pdays = 999 (additional) / -1 (full) means "not previously contacted" (kept as is).
- "unknown" is a category, not missing. The macro-economic columns (additional) move with time,
  and the yes-rate changes a lot between 2008 and 2010: use time-aware CV."""


def _bank_years(months: np.ndarray) -> np.ndarray:
    """Year of each row of a date-ordered file without years: +1 whenever the month goes back."""
    wraps = np.concatenate([[0], np.cumsum(np.diff(months) < 0)])
    return _BANK_FIRST_YEAR + wraps


def _dates_from_weekdays(years: np.ndarray, months: np.ndarray, weekdays: np.ndarray) -> np.ndarray:
    """Calendar dates for rows ordered by date that only know (year, month, weekday).

    Each run of rows with the same weekday is one day: the next date with that weekday
    after the previous run's date, restarting at the first such weekday of a new month
    (clamped to the month's last day if the runs overflow it).
    """
    key = np.stack([years, months, weekdays], axis=1)
    new_run = np.r_[True, (key[1:] != key[:-1]).any(axis=1)]
    days = []
    previous = None
    for y, m, w in key[new_run]:
        first = pd.Timestamp(int(y), int(m), 1)
        if previous is None or (previous.year, previous.month) != (y, m):
            day = first + pd.Timedelta(days=(int(w) - first.weekday()) % 7)
        else:
            day = previous + pd.Timedelta(days=(int(w) - previous.weekday()) % 7 or 7)
        day = min(day, first + pd.offsets.MonthEnd(0))
        days.append(day)
        previous = day
    return np.asarray(days, dtype="datetime64[ns]")[np.cumsum(new_run) - 1]


def bank_marketing(variant: str = "additional", *, root: str | os.PathLike | None = None) -> Adapted:
    """UCI Bank Marketing as a canonical leads table (one row per telemarketing contact).

    Parameters
    ----------
    variant : {"additional", "full"}
        ``bank-additional-full.csv`` (41,188 rows, macro-economic columns, weekday only)
        or ``bank-full.csv`` (45,211 rows, day of month, account balance).
    root : path, optional
        Shared data folder or the dataset folder.

    Returns
    -------
    Adapted
        ``tables["leads"]`` with ``lead_id`` (row number), reconstructed ``created_at``,
        ``converted`` (y) and the other columns as features (dots become underscores).
        ``leaky = ("duration",)``.

    Notes
    -----
    The file has no year: it is in date order from May 2008 to Nov 2010, and the year is
    inferred from month wrap-arounds; with ``variant="additional"`` the day is approximated
    from ``day_of_week`` (see ``notes``). The yes-rate moves from ~4% (2008) to ~50% (2010),
    so random CV folds overstate accuracy. ``pdays`` 999 / -1 means never contacted.
    """
    if variant not in _BANK_FILES:
        raise ValueError(f"variant must be one of {sorted(_BANK_FILES)}, got {variant!r}")
    path = locate(root, "uci_bank_marketing", _BANK_FILES[variant])
    day_column = "day_of_week" if variant == "additional" else "day"
    raw = read_csv(path, ("month", day_column, "duration", "y"), sep=";")
    months = raw["month"].map(_MONTHS)
    days = raw[day_column].map(_WEEKDAYS) if variant == "additional" else raw[day_column]
    bad = (months.isna() | days.isna()).to_numpy()
    if bad.any():
        column = "month" if months.isna().any() else day_column
        raise DataError(problem(path.name, column, "has unknown month or day names",
                                [f"row {i + 1}" for i in np.flatnonzero(bad)]))
    years = _bank_years(months.to_numpy(int))
    if variant == "additional":
        created = _dates_from_weekdays(years, months.to_numpy(int), days.to_numpy(int))
    else:
        created = pd.to_datetime(pd.DataFrame({"year": years, "month": months, "day": days}))
    columns = {c: snake_case(c) for c in raw.columns}
    columns["y"] = "converted"
    leads = raw.rename(columns=columns)
    leads.insert(0, "lead_id", np.arange(1, len(raw) + 1).astype(str))
    leads.insert(1, "created_at", created)
    return Adapted(
        name="uci_bank_marketing",
        tables={"leads": canonical("leads", leads, path, require_label=True)},
        target="converted",
        leaky=("duration",),
        notes=_BANK_NOTES,
        columns=columns,
        files=(path,),
    )
