"""What every public-dataset adapter shares: the :class:`Adapted` result, where the data
lives (:func:`shared_data_dir`), and reading, date and check helpers that name the source file."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, problem
from ..schema import Stages
from ..validate import load_table

__all__ = ["Adapted", "ENV_VAR", "LEAKY_TABLE", "shared_data_dir", "locate", "read_csv", "require_columns",
           "fixed_format_dates", "canonical", "check_series", "split_last", "snake_case", "yes_no_to_bool"]

ENV_VAR = "FORECASTING_SHARED_DATA"
LEAKY_TABLE = "leads_leaky"
"""Table of :meth:`Adapted.export` holding the leaky columns of ``leads`` (with ``lead_id``)."""
SERIES_COLUMNS = ("series", "date", "amount")


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


def locate(root: str | os.PathLike | None, dataset: str, filename: str) -> Path:
    """Path of ``filename``: ``root/dataset/filename``, or ``root/filename`` if root is the dataset folder."""
    base = Path(root).expanduser() if root is not None else shared_data_dir()
    for folder in (base / dataset, base):
        if (folder / filename).is_file():
            return folder / filename
    raise FileNotFoundError(f"{filename} not found in {base / dataset} (dataset {dataset!r})")


def require_columns(frame: pd.DataFrame, path: Path, columns: Iterable[str]) -> None:
    """Raise a DataError naming the file and every expected column it lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns[:25]))
        raise DataError([problem(path.name, c, f"expected column is missing (found: {found})")
                         for c in missing])


def read_csv(path: Path, required: Iterable[str], **kwargs) -> pd.DataFrame:
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
    require_columns(frame, path, required)
    return frame


def fixed_format_dates(values: pd.Series, path: Path, column: str, fmt: str, ids=None) -> pd.Series:
    """Parse dates with a fixed format; unparsable non-blank values raise a DataError."""
    out = pd.to_datetime(values, format=fmt, errors="coerce")
    bad = (values.notna() & out.isna()).to_numpy()
    if bad.any():
        rows = (ids if ids is not None else pd.Series(values.index).add(1).map("row {}".format))
        raise DataError(problem(path.name, column, f"has values that are not dates ({fmt})",
                                np.asarray(rows)[bad]))
    return out.astype("datetime64[ns]")


def canonical(kind: str, frame: pd.DataFrame, path: Path, **check_kwargs) -> pd.DataFrame:
    """Cast and check a table with the package's own validator; errors name the source file."""
    try:
        return load_table(kind, frame, **check_kwargs)
    except DataError as exc:
        raise DataError([dataclasses.replace(p, table=f"{p.table} (from {path.name})")
                         for p in exc.problems]) from None


def check_series(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Check a long ``series, date, amount`` frame: no missing values, one row per series and date."""
    require_columns(frame, path, SERIES_COLUMNS)
    problems = []
    for column in SERIES_COLUMNS:
        missing = frame[column].isna().to_numpy()
        if missing.any():
            problems.append(problem(path.name, column, "is missing", frame["series"][missing]))
    dup = frame.duplicated(["series", "date"]).to_numpy()
    if dup.any():
        problems.append(problem(path.name, "date", "repeats within a series", frame["series"][dup]))
    if problems:
        raise DataError(problems)
    return frame


def split_last(frame: pd.DataFrame, horizon) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a long frame sorted by series and date: the last ``horizon`` rows of each series are test.

    ``horizon`` is an int or an array with one value per row (M3 gives NF per series).
    """
    from_end = frame.groupby("series", sort=False).cumcount(ascending=False).to_numpy()
    test = from_end < np.asarray(horizon)
    return frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)


def snake_case(name: str) -> str:
    """Snake case: ``"Total Time Spent on Website"`` -> ``total_time_spent_on_website``,
    ``TotalVisits`` -> ``total_visits``."""
    name = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def yes_no_to_bool(frame: pd.DataFrame) -> pd.DataFrame:
    """Complete Yes/No columns become booleans (features models can use directly)."""
    out = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if values.notna().all() and pd.api.types.is_string_dtype(values.dtype) \
                and set(values.unique()) <= {"Yes", "No"}:
            out[column] = values.eq("Yes")
    return out
