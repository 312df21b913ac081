"""Public datasets mapped onto the canonical tables.

Each adapter reads one public dataset from the shared data folder (see
:func:`shared_data_dir`; never copied into the project) and returns an
:class:`Adapted`: canonical tables plus what a user must know to use them
honestly (leaky columns, synthetic dates, the competition horizon).

========================  =====================  ==========================================
adapter                   tables                 use
========================  =====================  ==========================================
:func:`x_education_leads` leads                  lead scoring (B2C, 38.5% converted)
:func:`bank_marketing`    leads                  lead scoring (telemarketing, 11.3% yes)
:func:`olist_funnel`      leads, closed_deals    lead scoring (MQL -> seller, 4.75%)
:func:`maven_crm`         opportunities          weighted pipeline, win rate, KPIs
:func:`superstore`        revenue, orders        monthly revenue per segment, margins
:func:`m3`                train, test, series    forecast accuracy vs. the M3 competition
:func:`tourism`           train, test, series    many short seasonal series
========================  =====================  ==========================================

Lead and opportunity tables went through :func:`forecasting.data.load_table`,
so they are exactly what the rest of the package expects. Time-series frames
are long ``series, date, amount`` frames (one row per series and period) split
into ``train`` and ``test`` the way the competitions did.

Examples
--------
>>> from forecasting.data.adapters import maven_crm    # doctest: +SKIP
>>> crm = maven_crm()                                   # doctest: +SKIP
>>> crm["opportunities"].status.value_counts()          # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError, problem
from .schema import DEFAULT_STAGES, Stages
from .validate import load_table

__all__ = [
    "Adapted",
    "ADAPTERS",
    "ENV_VAR",
    "LEAKY_TABLE",
    "shared_data_dir",
    "x_education_leads",
    "bank_marketing",
    "olist_funnel",
    "maven_crm",
    "superstore",
    "m3",
    "m3_monthly",
    "tourism",
]

ENV_VAR = "FORECASTING_SHARED_DATA"
LEAKY_TABLE = "leads_leaky"
"""Table of :meth:`Adapted.export` holding the leaky columns of ``leads`` (with ``lead_id``)."""
_SERIES_COLUMNS = ("series", "date", "amount")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_WEEKDAYS = {d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}


@dataclass(frozen=True)
class Adapted:
    """A public dataset in canonical shape.

    Attributes
    ----------
    name : str
        Dataset name (folder under the shared data root).
    tables : dict of str to DataFrame
        Canonical tables (``leads``, ``opportunities``, ``revenue``) or, for
        forecasting benchmarks, ``train`` / ``test`` long frames
        (``series, date, amount``) and ``series`` (one row of metadata per series).
    target : str or None
        Label column of the leads table (``converted``).
    leaky : tuple of str
        Columns of the leads table known only after the outcome (they are always
        columns of ``tables["leads"]``, whose ``attrs["leaky"]`` names them too, so
        :func:`forecasting.leads.screen_features` leaves them out of the features).
        :meth:`export` moves them to a table of their own.
    notes : str
        Caveats: synthetic dates, approximations, known data defects.
    freq, season_length, horizon : str, int, int or None
        Time-series frequency alias, season length and competition horizon.
    stages : Stages or None
        The dataset's funnel when it differs from the default stages.
    as_of : Timestamp or None
        The date the data was extracted ("today" of the dataset).
    columns : dict of str to str
        Original column name -> name used in the tables.
    files : tuple of Path
        Files read.
    """

    name: str
    tables: dict[str, pd.DataFrame]
    target: str | None = None
    leaky: tuple[str, ...] = ()
    notes: str = ""
    freq: str | None = None
    season_length: int | None = None
    horizon: int | None = None
    stages: Stages | None = None
    as_of: pd.Timestamp | None = None
    columns: dict[str, str] = field(default_factory=dict)
    files: tuple[Path, ...] = ()

    def __post_init__(self):
        if self.leaky and "leads" in self.tables:
            # Travels with the frame (and its copies): compare_models / train_model read it,
            # so a notebook passing adapted["leads"] alone does not score on post-outcome columns.
            self.tables["leads"].attrs["leaky"] = tuple(self.leaky)

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.tables[table]

    @property
    def train(self) -> pd.DataFrame:
        """In-sample part of a forecasting benchmark."""
        return self.tables["train"]

    @property
    def test(self) -> pd.DataFrame:
        """Hold-out part (the last ``horizon`` periods of every series)."""
        return self.tables["test"]

    @property
    def features(self) -> tuple[str, ...]:
        """Columns of the leads table a scorer may use: all but ids, dates, label and leaky ones."""
        skip = {"lead_id", "created_at", "converted_at", self.target, *self.leaky}
        return tuple(c for c in self.tables["leads"].columns if c not in skip)

    def export(self) -> dict[str, pd.DataFrame]:
        """The tables to write to a file that the commands and reports read.

        The ``leaky`` columns leave ``leads`` for a table of their own,
        :data:`LEAKY_TABLE` (``lead_id`` plus those columns; join on ``lead_id`` to
        study them): whatever reads ``leads`` from the file next cannot use them.

        Returns
        -------
        dict of str to DataFrame
            Every table of ``tables``, with ``leads`` split as above.
        """
        tables = dict(self.tables)
        if self.leaky and "leads" in tables:
            leads = tables["leads"]
            tables[LEAKY_TABLE] = leads[["lead_id", *self.leaky]]
            tables["leads"] = leads.drop(columns=list(self.leaky))
        return tables


# --------------------------------------------------------------------------- files


def _project_roots() -> Iterable[Path]:
    """Folders holding a pyproject.toml above this file and above the working directory."""
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            if (folder / "pyproject.toml").is_file():
                yield folder
                break


def shared_data_dir() -> Path:
    """Folder holding the public datasets (one sub-folder each, with PROVENANCE.md).

    ``$FORECASTING_SHARED_DATA`` when set, else ``<project root>/../shared/data``
    (the project root is the nearest folder with a ``pyproject.toml`` above this
    file or above the working directory).

    Raises
    ------
    FileNotFoundError
        When no such folder exists.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"${ENV_VAR} points to {path}, which is not a folder")
        return path
    tried = []
    for root in _project_roots():
        path = (root.parent / "shared" / "data").resolve()
        if path.is_dir():
            return path
        tried.append(str(path))
    raise FileNotFoundError(
        "public datasets folder not found (looked in: " + (", ".join(tried) or "no project root found")
        + f"); set ${ENV_VAR} to the folder holding x_education_leads/, m3_competition/, ..."
    )


def _locate(root: str | os.PathLike | None, dataset: str, filename: str) -> Path:
    """Path of ``filename``: ``root/dataset/filename``, or ``root/filename`` if root is the dataset folder."""
    base = Path(root).expanduser() if root is not None else shared_data_dir()
    for folder in (base / dataset, base):
        if (folder / filename).is_file():
            return folder / filename
    raise FileNotFoundError(f"{filename} not found in {base / dataset} (dataset {dataset!r})")


def _require(frame: pd.DataFrame, path: Path, columns: Iterable[str]) -> None:
    """Raise a DataError naming the file and every expected column it lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns[:25]))
        raise DataError([problem(path.name, c, f"expected column is missing (found: {found})")
                         for c in missing])


def _read_csv(path: Path, required: Iterable[str], **kwargs) -> pd.DataFrame:
    """Read a CSV with the C parser; UTF-8 first, Windows-1252 for legacy copies."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            frame = pd.read_csv(path, encoding=encoding, **kwargs)
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise DataError(problem(path.name, None, f"cannot parse: {exc}")) from None
    else:
        raise DataError(problem(path.name, None, "cannot decode as UTF-8 or Windows-1252"))
    frame.columns = [str(c).strip() for c in frame.columns]
    _require(frame, path, required)
    return frame


def _dates(values: pd.Series, path: Path, column: str, fmt: str, ids=None) -> pd.Series:
    """Parse dates with a fixed format; unparsable non-blank values raise a DataError."""
    out = pd.to_datetime(values, format=fmt, errors="coerce")
    bad = (values.notna() & out.isna()).to_numpy()
    if bad.any():
        rows = (ids if ids is not None else pd.Series(values.index).add(1).map("row {}".format))
        raise DataError(problem(path.name, column, f"has values that are not dates ({fmt})",
                                np.asarray(rows)[bad]))
    return out.astype("datetime64[ns]")


def _canonical(kind: str, frame: pd.DataFrame, path: Path, **check_kwargs) -> pd.DataFrame:
    """Cast and check a table with the package's own validator; errors name the source file."""
    try:
        return load_table(kind, frame, **check_kwargs)
    except DataError as exc:
        raise DataError([dataclasses.replace(p, table=f"{p.table} (from {path.name})")
                         for p in exc.problems]) from None


def _check_series(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Check a long ``series, date, amount`` frame: no missing values, one row per series and date."""
    _require(frame, path, _SERIES_COLUMNS)
    problems = []
    for column in _SERIES_COLUMNS:
        missing = frame[column].isna().to_numpy()
        if missing.any():
            problems.append(problem(path.name, column, "is missing", frame["series"][missing]))
    dup = frame.duplicated(["series", "date"]).to_numpy()
    if dup.any():
        problems.append(problem(path.name, "date", "repeats within a series", frame["series"][dup]))
    if problems:
        raise DataError(problems)
    return frame


def _split_last(frame: pd.DataFrame, horizon) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a long frame sorted by series and date: the last ``horizon`` rows of each series are test.

    ``horizon`` is an int or an array with one value per row (M3 gives NF per series).
    """
    from_end = frame.groupby("series", sort=False).cumcount(ascending=False).to_numpy()
    test = from_end < np.asarray(horizon)
    return frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)


def _snake(name: str) -> str:
    """Snake case: ``"Total Time Spent on Website"`` -> ``total_time_spent_on_website``,
    ``TotalVisits`` -> ``total_visits``."""
    name = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def _yes_no_to_bool(frame: pd.DataFrame) -> pd.DataFrame:
    """Complete Yes/No columns become booleans (features models can use directly)."""
    out = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if values.notna().all() and pd.api.types.is_string_dtype(values.dtype) \
                and set(values.unique()) <= {"Yes", "No"}:
            out[column] = values.eq("Yes")
    return out


# --------------------------------------------------------------------------- leads


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
    path = _locate(root, "x_education_leads", _XED_FILE)
    raw = _read_csv(path, ("Prospect ID", "Lead Number", "Converted", *_XED_LEAKY))
    raw = raw.drop(columns=[c for c in raw.columns if c.startswith("Unnamed:")])
    columns = {c: _snake(c) for c in raw.columns if c != "Lead Number"}
    columns.update({"Prospect ID": "lead_id", "Converted": "converted"})
    leads = _yes_no_to_bool(raw.drop(columns="Lead Number").rename(columns=columns))
    for column in leads.columns:
        if pd.api.types.is_string_dtype(leads[column].dtype) and column != "lead_id":
            leads[column] = leads[column].mask(leads[column].eq("Select"))
    order = raw["Lead Number"].rank(method="first").to_numpy() - 1
    seconds = np.floor(order * (365 * 86400 / len(raw))).astype("int64")
    leads.insert(1, "created_at", _XED_START + pd.to_timedelta(seconds, unit="s"))
    return Adapted(
        name="x_education_leads",
        tables={"leads": _canonical("leads", leads, path, require_label=True)},
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
    path = _locate(root, "uci_bank_marketing", _BANK_FILES[variant])
    day_column = "day_of_week" if variant == "additional" else "day"
    raw = _read_csv(path, ("month", day_column, "duration", "y"), sep=";")
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
    columns = {c: _snake(c) for c in raw.columns}
    columns["y"] = "converted"
    leads = raw.rename(columns=columns)
    leads.insert(0, "lead_id", np.arange(1, len(raw) + 1).astype(str))
    leads.insert(1, "created_at", created)
    return Adapted(
        name="uci_bank_marketing",
        tables={"leads": _canonical("leads", leads, path, require_label=True)},
        target="converted",
        leaky=("duration",),
        notes=_BANK_NOTES,
        columns=columns,
        files=(path,),
    )


_OLIST_MQL = "olist_marketing_qualified_leads_dataset.csv"
_OLIST_DEALS = "olist_closed_deals_dataset.csv"
_OLIST_NOTES = """\
Olist marketing funnel (Brazil, 2017-06 .. 2018-05): marketing-qualified leads and the sellers
they became. converted = 1 when the mql_id is in the closed-deals file; converted_at = won_date.
- The closed-deals file here is a REDUCED copy (380 of the original 842 deals): many real
  conversions are labelled 0 (4.75% here vs 10.5% in the original). Use for plumbing, not for
  absolute conversion rates.
- Only `source` (origin; 60 missing, plus an explicit "unknown") and created_at are known at MQL
  time. Closed-deal attributes (seller_id, business_segment, lead_type, lead_behaviour_profile,
  business_type) are post-conversion: they are in tables["closed_deals"], never in leads.
- One won_date is 2 days before its first_contact_date (converted_at < created_at; kept as is).
- Right-censored: leads from May 2018 had at most ~2 months to convert before the data ends."""


def olist_funnel(*, root: str | os.PathLike | None = None) -> Adapted:
    """Olist marketing-qualified leads as a canonical leads table.

    Parameters
    ----------
    root : path, optional
        Shared data folder or the dataset folder.

    Returns
    -------
    Adapted
        ``tables["leads"]``: ``lead_id`` (mql_id), ``created_at`` (first_contact_date),
        ``source`` (origin), ``landing_page_id`` when the file has it, ``converted``,
        ``converted_at``. ``tables["closed_deals"]``: the post-conversion deal attributes
        keyed by ``lead_id`` (leaky: never join them onto leads as features).

    Notes
    -----
    The closed-deals copy is partial (380 of 842 deals): the label misses true conversions
    (4.75% here, 10.5% originally). One converted_at is 2 days before its created_at. Leads
    from the last months are right-censored.
    """
    mql_path = _locate(root, "olist_marketing_funnel", _OLIST_MQL)
    deals_path = _locate(root, "olist_marketing_funnel", _OLIST_DEALS)
    mql = _read_csv(mql_path, ("mql_id", "first_contact_date", "origin"))
    deals = _read_csv(deals_path, ("mql_id", "won_date"))
    columns = {"mql_id": "lead_id", "first_contact_date": "created_at", "origin": "source"}
    if "landing_page_id" in mql.columns:
        columns["landing_page_id"] = "landing_page_id"
    leads = mql[list(columns)].rename(columns=columns)
    leads["created_at"] = _dates(leads["created_at"], mql_path, "first_contact_date", "%m/%d/%Y",
                                 leads["lead_id"])
    deals = deals.rename(columns={"mql_id": "lead_id"})
    deals["won_date"] = _dates(deals["won_date"], deals_path, "won_date", "%m/%d/%Y %H:%M",
                               deals["lead_id"])
    orphans = ~deals["lead_id"].isin(leads["lead_id"])
    if orphans.any():
        raise DataError(problem(deals_path.name, "mql_id", f"is not in {mql_path.name}",
                                deals.loc[orphans, "lead_id"]))
    won = deals.drop_duplicates("lead_id").set_index("lead_id")["won_date"]
    leads["converted"] = leads["lead_id"].isin(won.index).astype(int)
    leads["converted_at"] = leads["lead_id"].map(won).astype("datetime64[ns]")
    return Adapted(
        name="olist_marketing_funnel",
        tables={"leads": _canonical("leads", leads, mql_path, require_label=True),
                "closed_deals": deals},
        target="converted",
        notes=_OLIST_NOTES,
        columns=columns,
        files=(mql_path, deals_path),
    )


# --------------------------------------------------------------------------- opportunities


_MAVEN_STATUS = {"Won": "won", "Lost": "lost", "Prospecting": "open", "Engaging": "open"}
_MAVEN_SECTOR_FIXES = {"technolgy": "technology"}
_MAVEN_NOTES = """\
Maven Analytics CRM Sales Opportunities (synthetic B2B hardware seller), 8,800 deals, 2016-10 ..
2017-12; one row per deal in its CURRENT state: no stage history, so as-of snapshots in the past
are approximate (a deal is taken as open from created_at until close_date).
- as_of (the extraction date) = the last date in the file, 2017-12-31.
- amount: close_value for won deals; products.sales_price (list price) for lost (close_value is
  always 0) and open deals (no value yet). list_price holds the list price for every deal.
- product "GTXPro" is matched to products.csv "GTX Pro" (names compared without spaces) and
  renamed to "GTX Pro". Sector "technolgy" -> "technology".
- account_id = account name; 1,425 deals have no account -> "unknown" (segment "unknown" too).
- created_at = engage_date; the 500 Prospecting deals have none and get as_of (they are not yet
  engaged at extraction).
- close_date of open deals (missing in the file) is an EXPECTED date: created_at + the median
  won-deal sales cycle (57 days), pushed to as_of + 1 day when that is already past, i.e. stale
  Engaging deals are expected to close right after the extraction.
- stages: open stages Prospecting -> Engaging. Engaging's probability is the closed-deal win
  rate (0.63; every closed deal was engaged); Prospecting keeps the package default 0.10 (no
  data to estimate it)."""


def maven_crm(*, root: str | os.PathLike | None = None) -> Adapted:
    """Maven Analytics "CRM Sales Opportunities" as a canonical opportunities table.

    Parameters
    ----------
    root : path, optional
        Shared data folder or the dataset folder.

    Returns
    -------
    Adapted
        ``tables["opportunities"]`` with ``opportunity_id, account_id, owner, amount,
        created_at, stage, close_date, status`` and ``product, product_series, segment
        (sector), region (regional office), manager, list_price``; ``stages`` (open:
        Prospecting, Engaging); ``as_of`` = 2017-12-31.

    Notes
    -----
    No stage history: past snapshots are approximate. Open deals' close dates are estimated
    (created_at + median won cycle, at least ``as_of`` + 1 day: 1,547 stale Engaging deals
    land on 2018-01-01); Prospecting deals' created_at is ``as_of``; lost/open amounts are
    list prices. "GTXPro" -> "GTX Pro", "technolgy" -> "technology", missing account ->
    "unknown" (see ``notes``). A column named ``product`` shadows ``DataFrame.product``:
    use ``frame["product"]``.
    """
    folder = "maven_crm_pipeline"
    pipe_path = _locate(root, folder, "sales_pipeline.csv")
    paths = {name: _locate(root, folder, f"{name}.csv") for name in ("accounts", "products", "sales_teams")}
    pipe = _read_csv(pipe_path, ("opportunity_id", "sales_agent", "product", "account", "deal_stage",
                                 "engage_date", "close_date", "close_value"))
    accounts = _read_csv(paths["accounts"], ("account", "sector"))
    products = _read_csv(paths["products"], ("product", "series", "sales_price"))
    teams = _read_csv(paths["sales_teams"], ("sales_agent", "manager", "regional_office"))

    ids = pipe["opportunity_id"]
    status = pipe["deal_stage"].map(_MAVEN_STATUS)
    if status.isna().any():
        raise DataError(problem(pipe_path.name, "deal_stage",
                                f"has stages other than {', '.join(_MAVEN_STATUS)}", ids[status.isna()]))
    key = pipe["product"].str.replace(" ", "", regex=False).str.lower()
    catalog = products.assign(key=products["product"].str.replace(" ", "", regex=False).str.lower())
    catalog = catalog.drop_duplicates("key").set_index("key")
    if not key.isin(catalog.index).all():
        raise DataError(problem(pipe_path.name, "product", f"is not in {paths['products'].name}",
                                ids[~key.isin(catalog.index)]))
    engage = _dates(pipe["engage_date"], pipe_path, "engage_date", "%Y-%m-%d", ids)
    closed_on = _dates(pipe["close_date"], pipe_path, "close_date", "%Y-%m-%d", ids)
    as_of = max(engage.max(), closed_on.max())
    won = status.eq("won")
    if not won.any():
        raise DataError(problem(pipe_path.name, "deal_stage", "has no Won deals: cannot estimate the sales cycle"))
    cycle = pd.Timedelta(days=round((closed_on - engage)[won].dt.days.median()))
    created = engage.fillna(as_of)
    expected = (created + cycle).clip(lower=as_of + pd.Timedelta(days=1))
    list_price = key.map(catalog["sales_price"]).astype(float)
    sector = accounts.set_index("account")["sector"].replace(_MAVEN_SECTOR_FIXES)
    team = teams.drop_duplicates("sales_agent").set_index("sales_agent")

    opportunities = pd.DataFrame({
        "opportunity_id": ids,
        "account_id": pipe["account"].fillna("unknown"),
        "owner": pipe["sales_agent"],
        "amount": pipe["close_value"].astype(float).where(won, list_price),
        "created_at": created,
        "stage": pipe["deal_stage"].where(status.eq("open"), status.map({"won": DEFAULT_STAGES.won,
                                                                       "lost": DEFAULT_STAGES.lost})),
        "close_date": closed_on.where(status.ne("open"), expected),
        "status": status,
        "product": key.map(catalog["product"]),
        "product_series": key.map(catalog["series"]),
        "segment": pipe["account"].map(sector).fillna("unknown"),
        "region": pipe["sales_agent"].map(team["regional_office"]),
        "manager": pipe["sales_agent"].map(team["manager"]),
        "list_price": list_price,
    })
    win_rate = won.sum() / status.isin(["won", "lost"]).sum()
    stages = Stages(open=("Prospecting", "Engaging"),
                    probabilities={"Prospecting": DEFAULT_STAGES.probabilities["Prospecting"],
                                   "Engaging": round(float(win_rate), 2)})
    return Adapted(
        name=folder,
        tables={"opportunities": _canonical("opportunities", opportunities, pipe_path, stages=stages)},
        notes=_MAVEN_NOTES,
        stages=stages,
        as_of=as_of,
        columns={"opportunity_id": "opportunity_id", "account": "account_id", "sales_agent": "owner",
                 "close_value": "amount", "engage_date": "created_at", "deal_stage": "stage",
                 "close_date": "close_date", "product": "product", "sector": "segment",
                 "regional_office": "region", "manager": "manager", "sales_price": "list_price"},
        files=(pipe_path, *paths.values()),
    )


# --------------------------------------------------------------------------- revenue


_SUPERSTORE_ORDERS = {
    "Row ID": "line_id", "Order ID": "order_id", "Order Date": "order_date", "Ship Date": "ship_date",
    "Customer ID": "customer_id", "Segment": "segment", "Region": "region", "State": "state",
    "City": "city", "Category": "category", "Sub-Category": "sub_category", "Product ID": "product_id",
    "Sales": "sales", "Quantity": "quantity", "Discount": "discount", "Profit": "profit",
}
_SUPERSTORE_SOURCE = {v: k for k, v in _SUPERSTORE_ORDERS.items()}
_SUPERSTORE_NOTES = """\
Tableau "Sample - Superstore" (US retail, 9,994 order lines, 5,009 orders, 2014-01 .. 2017-12).
- revenue: Sales summed by calendar month of Order Date (date = month start) per Segment
  (Consumer, Corporate, Home Office): 3 series x 48 months; months without orders would be 0.
- orders: one row per order LINE (line_id = Row ID; an order spans several lines and categories).
  profit can be negative (discounted lines).
- The file is UTF-8 with non-breaking spaces in some product names (other copies are Windows-1252;
  both are read). Postal codes lost their leading zeros (not used)."""


def superstore(*, root: str | os.PathLike | None = None) -> Adapted:
    """Tableau Superstore as monthly revenue per segment plus the order lines.

    Parameters
    ----------
    root : path, optional
        Shared data folder or the dataset folder.

    Returns
    -------
    Adapted
        ``tables["revenue"]`` (canonical: ``date`` month start, ``segment``, ``amount``)
        and ``tables["orders"]`` (``line_id, order_id, order_date, ship_date, customer_id,
        segment, region, state, city, category, sub_category, product_id, sales, quantity,
        discount, profit``); ``freq="MS"``, ``season_length=12``.

    Notes
    -----
    ``orders`` has one row per order line (5,009 orders in 9,994 lines); profit can be negative.
    The file is UTF-8 with non-breaking spaces in product names (Windows-1252 copies also read).
    """
    path = _locate(root, "superstore_sales", "Sample-Superstore.csv")
    raw = _read_csv(path, tuple(_SUPERSTORE_ORDERS), dtype={"Row ID": str, "Postal Code": str})
    orders = raw[list(_SUPERSTORE_ORDERS)].rename(columns=_SUPERSTORE_ORDERS)
    for column in ("order_date", "ship_date"):
        orders[column] = _dates(orders[column], path, _SUPERSTORE_SOURCE[column], "%m/%d/%Y",
                                orders["line_id"])
    for column in ("sales", "quantity", "discount", "profit"):
        values = pd.to_numeric(orders[column], errors="coerce")
        if values.isna().any():
            raise DataError(problem(path.name, _SUPERSTORE_SOURCE[column],
                                    "has missing or non-numeric values", orders.loc[values.isna(), "line_id"]))
        orders[column] = values.astype(int if column == "quantity" else float)
    month = orders["order_date"].dt.to_period("M").dt.start_time.astype("datetime64[ns]")
    totals = orders.groupby(["segment", month.rename("date")])["sales"].sum()
    grid = pd.MultiIndex.from_product(
        [totals.index.levels[0], pd.date_range(month.min(), month.max(), freq="MS")],
        names=["segment", "date"])
    revenue = totals.reindex(grid, fill_value=0.0).rename("amount").reset_index()
    return Adapted(
        name="superstore_sales",
        tables={"revenue": _canonical("revenue", revenue[["date", "segment", "amount"]], path,
                                      season_length=12),
                "orders": orders},
        notes=_SUPERSTORE_NOTES,
        freq="MS",
        season_length=12,
        columns=dict(_SUPERSTORE_ORDERS),
        files=(path,),
    )


# --------------------------------------------------------------------------- forecasting benchmarks


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
    path = _locate(root, "m3_competition", "M3C.xls")
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
    train, test = _split_last(_check_series(long, path), np.repeat(nf, n))
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


@dataclass(frozen=True)
class _TourismKind:
    folder: str
    filename: str
    date_column: str
    date_format: str
    freq: str
    season_length: int
    horizon: int


_TOURISM = {
    "monthly": _TourismKind("aus_tourism_monthly", "tourism_monthly.csv", "Month", "%Y-%m", "MS", 12, 24),
    "quarterly": _TourismKind("aus_tourism_quarterly", "tourism.csv", "quarter_start", "%Y-%m-%d",
                              "QS", 4, 8),
}
_TOURISM_NOTES = """\
Australian domestic overnight trips (Tourism Research Australia, National Visitor Survey; R
packages tsibbletalk / tsibble), in thousands of trips: not revenue, but many short, noisy,
seasonal series (State x Region x Purpose).
- monthly: 308 series x 262 months (1998-03 .. 2019-12); quarterly: 304 series x 80 quarters
  (1998 Q1 .. 2017 Q4). Every series is complete.
- horizon = 24 months / 8 quarters, as in the tourism forecasting competition (Athanasopoulos et
  al. 2011); the last `horizon` periods of each series are the test part.
- series id = "State/Region/Purpose". Monthly: a few State labels may be wrong (the package
  filled unmatched regions with "Queensland"); Region x Purpose alone is already unique.
- Small regions have zeros: use scaled errors (MASE) or WAPE, not MAPE."""


def tourism(kind: str = "monthly", *, root: str | os.PathLike | None = None) -> Adapted:
    """Australian domestic tourism trips as long train/test frames.

    Parameters
    ----------
    kind : {"monthly", "quarterly"}
    root : path, optional
        Shared data folder or the dataset folder.

    Returns
    -------
    Adapted
        ``tables["train"]`` / ``tables["test"]``: ``series, date, amount`` plus ``state,
        region, purpose``; ``tables["series"]``: one row per series. ``horizon`` 24 / 8,
        ``season_length`` 12 / 4, ``freq`` "MS" / "QS".

    Notes
    -----
    Trips (thousands), not revenue. Horizons follow the tourism forecasting competition
    (Athanasopoulos et al. 2011). Many small series have zeros: prefer MASE / WAPE to MAPE.
    A few monthly State labels may be wrong upstream.
    """
    if kind not in _TOURISM:
        raise ValueError(f"kind must be one of {sorted(_TOURISM)}, got {kind!r}")
    spec = _TOURISM[kind]
    path = _locate(root, spec.folder, spec.filename)
    raw = _read_csv(path, (spec.date_column, "State", "Region", "Purpose", "Trips"))
    long = pd.DataFrame({
        "series": raw["State"] + "/" + raw["Region"] + "/" + raw["Purpose"],
        "date": _dates(raw[spec.date_column], path, spec.date_column, spec.date_format),
        "amount": pd.to_numeric(raw["Trips"], errors="coerce").astype(float),
        "state": raw["State"],
        "region": raw["Region"],
        "purpose": raw["Purpose"],
    })
    long = _check_series(long.sort_values(["series", "date"], kind="stable", ignore_index=True), path)
    train, test = _split_last(long, spec.horizon)
    series = (long.groupby("series", sort=False)
              .agg(state=("state", "first"), region=("region", "first"), purpose=("purpose", "first"),
                   n=("date", "size"), start=("date", "min"))
              .reset_index())
    return Adapted(
        name=spec.folder,
        tables={"train": train, "test": test, "series": series},
        notes=_TOURISM_NOTES,
        freq=spec.freq,
        season_length=spec.season_length,
        horizon=spec.horizon,
        columns={spec.date_column: "date", "Trips": "amount", "State": "state", "Region": "region",
                 "Purpose": "purpose"},
        files=(path,),
    )


ADAPTERS: Mapping[str, Callable[..., Adapted]] = {
    "x_education": x_education_leads,
    "bank_marketing": bank_marketing,
    "olist": olist_funnel,
    "maven_crm": maven_crm,
    "superstore": superstore,
    "m3": m3,
    "tourism": tourism,
}
"""Adapter per short name, e.g. for a ``forecasting data public NAME`` command."""
