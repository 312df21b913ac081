"""Reading sources and writing outputs atomically.

A SOURCE is one string (DESIGN.md, CLI contract):

- ``path.csv`` / ``path.parquet`` (a file or a folder of Parquet parts);
- ``path.duckdb`` (table named after the kind) or ``path.duckdb:table``;
- a SQLAlchemy URL, ``postgresql://user@host/db#table`` (``#`` picks the table,
  since ``:`` belongs to the URL); the table may also be passed separately;
- ``demo`` or ``demo:table``: the embedded demo CRM, made on first use.

After the ``:`` / ``#`` a ``SELECT ...`` or ``WITH ...`` is run as a query.
Table names are checked against a strict identifier pattern and quoted; they
are never pasted into SQL as given.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import DataError, Problem

__all__ = [
    "Source",
    "parse_source",
    "read_source",
    "iter_sql",
    "redact_url",
    "quote_identifier",
    "sniff_separator",
    "atomic_path",
    "atomic_dir",
    "write_text",
    "write_csv",
    "write_parquet",
    "write_duckdb",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QUERY = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)
_URL = re.compile(r"^[a-z][a-z0-9+._-]*://", re.IGNORECASE)
_DUCKDB_SUFFIXES = (".duckdb", ".ddb", ".db")


@dataclass(frozen=True)
class Source:
    """A parsed SOURCE string.

    Attributes
    ----------
    kind : {"csv", "parquet", "duckdb", "sql"}
    location : str
        File path or SQLAlchemy URL.
    table : str or None
        Table name (``schema.table`` allowed) for databases.
    query : str or None
        A user's own ``SELECT`` for databases.
    """

    kind: str
    location: str
    table: str | None = None
    query: str | None = None

    def __str__(self) -> str:
        what = self.query or self.table
        return f"{self.location}:{what}" if what else self.location


def _split_table(source: str) -> tuple[str, str | None]:
    if _URL.match(source):
        loc, _, what = source.partition("#")
        return loc, (what or None)
    # path.duckdb:table — split at the first ':' after a database suffix, so
    # Windows drive letters and plain paths are left alone.
    lowered = source.lower()
    for suffix in _DUCKDB_SUFFIXES:
        i = lowered.find(suffix + ":")
        if i >= 0:
            cut = i + len(suffix)
            return source[:cut], (source[cut + 1 :] or None)
    return source, None


def parse_source(source: str | os.PathLike, table: str | None = None) -> Source:
    """Parse a SOURCE string (see module docs).

    Parameters
    ----------
    source : str or path
    table : str, optional
        Default table for databases when the SOURCE names none.

    Examples
    --------
    >>> parse_source("data/demo/crm.duckdb:leads")
    Source(kind='duckdb', location='data/demo/crm.duckdb', table='leads', query=None)
    >>> parse_source("postgresql://u@h/crm#public.leads").table
    'public.leads'
    """
    text = os.fspath(source)
    location, what = _split_table(text)
    query = what if what and _QUERY.match(what) else None
    name = None if query else (what or table)
    if _URL.match(location) and not location.lower().startswith("file://"):
        kind = "sql"
    else:
        suffix = Path(location).suffix.lower()
        if suffix in _DUCKDB_SUFFIXES:
            kind = "duckdb"
        elif suffix in (".parquet", ".pq") or (Path(location).is_dir()):
            kind = "parquet"
        elif suffix in (".csv", ".txt", ".tsv", ".gz"):
            kind = "csv"
        else:
            raise DataError(
                f"cannot tell the format of source {text!r}: expected a .csv, .parquet or "
                ".duckdb path (optionally path.duckdb:table) or a SQLAlchemy URL "
                "(postgresql://user@host/db#table)",
                table=name or "source",
            )
    if kind in ("duckdb", "sql") and name is not None:
        try:
            quote_identifier(name)  # refuse bad names early
        except DataError as err:  # name the table kind (the default table), not the bad text
            raise DataError(Problem(table or "source", None, err.problems[0].message)) from None
    return Source(kind, location, name, query)


def quote_identifier(name: str) -> str:
    """Quote a (``schema.``)``table`` name for SQL, refusing anything but plain identifiers.

    Raises
    ------
    DataError
        If any part is not ``[A-Za-z_][A-Za-z0-9_]*``: SQL text in a name is refused.

    Examples
    --------
    >>> quote_identifier("main.leads")
    '"main"."leads"'
    """
    parts = str(name).split(".")
    if not 1 <= len(parts) <= 2 or not all(_IDENTIFIER.match(p) for p in parts):
        raise DataError(
            f"table name {name!r} is not a plain identifier (letters, digits, underscore; "
            "optionally schema.table); pass a query starting with SELECT instead",
            table=str(name),
        )
    return ".".join(f'"{p}"' for p in parts)


def _missing_file(src: Source, table: str) -> DataError:
    return DataError(Problem(table, None, f"source file not found: {src.location}"))


def read_source(
    source: str | os.PathLike | Source,
    *,
    table: str | None = None,
    kind: str = "input",
    string_columns: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Read a SOURCE into a raw DataFrame (no renaming, no validation).

    Parameters
    ----------
    source : str, path or Source
    table : str, optional
        Database table to read when the SOURCE names none (defaults to ``kind``).
    kind : str
        Canonical table kind, used for the default table and in error messages.
    string_columns : tuple of str
        Columns read as text so ids such as ``007`` keep their zeros (CSV only).

    Returns
    -------
    pandas.DataFrame
    """
    from .embedded import resolve_source

    src = source if isinstance(source, Source) else parse_source(resolve_source(source), table=table or kind)
    if src.kind in ("csv", "parquet", "duckdb") and not Path(src.location).exists():
        raise _missing_file(src, kind)
    try:
        if src.kind == "csv":
            return _read_csv(src.location, string_columns, kind)
        if src.kind == "parquet":
            return pd.read_parquet(src.location)
        if src.kind == "duckdb":
            return _read_duckdb(src, kind)
        return _read_sql(src, kind)
    except DataError:
        raise
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(Problem(kind, None, f"cannot parse {src.location}: {exc}")) from None
    except Exception as exc:  # driver errors: unknown table, bad URL, corrupt file
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(Problem(kind, None, f"cannot read {src}: {msg}")) from None


def sniff_separator(path: str, encoding: str = "utf-8-sig") -> str | None:
    """The field separator of a CSV file, sniffed from its header line as pandas' ``sep=None`` does.

    Returns ``None`` when the header gives no answer (one column, say); the
    caller then lets pandas' python engine decide.
    """
    if path.lower().endswith(".tsv"):
        return "\t"
    with open(path, encoding=encoding, newline="") as handle:
        header = handle.readline()
    try:
        return csv.Sniffer().sniff(header).delimiter
    except csv.Error:
        return None


def _read_csv(path: str, string_columns: tuple[str, ...], kind: str = "input") -> pd.DataFrame:
    with open(path, "rb") as handle:
        if not handle.read(4096).lstrip(b"\xef\xbb\xbf").strip():
            raise DataError(Problem(kind, None, f"{path} is an empty file (no header, no rows)"))
    # utf-8-sig strips a byte-order mark; fall back to latin-1 for legacy exports.
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            # A sniffed separator lets pandas use its C parser (several times faster
            # than the python engine that sep=None needs).
            sep = sniff_separator(path, encoding)
            kwargs = dict(sep=None, engine="python") if sep is None else dict(sep=sep)
            head = pd.read_csv(path, nrows=0, encoding=encoding, **kwargs)
            # Matched on the trimmed name, as conform trims headers: " lead_id " keeps its zeros too.
            use = {c: str for c in head.columns if str(c).strip().lstrip("\ufeff") in string_columns}
            return pd.read_csv(path, encoding=encoding, dtype=use or None, **kwargs)
        except UnicodeDecodeError:
            continue
    raise DataError(f"cannot decode {path} as UTF-8 or Latin-1")


def _read_duckdb(src: Source, kind: str) -> pd.DataFrame:
    import duckdb

    with duckdb.connect(src.location, read_only=True) as con:
        if src.query:
            return con.execute(src.query).df()
        name = src.table or kind
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if name.split(".")[-1] not in tables:
            raise DataError(
                Problem(kind, None, f"table {name!r} not found in {src.location}; it has: "
                        + (", ".join(sorted(tables)) or "no tables"))
            )
        return con.execute(f"SELECT * FROM {quote_identifier(name)}").df()


def _sql_engine(location: str, kind: str):
    """An engine for a SQLAlchemy URL; a bare ``postgresql://`` uses psycopg 3 when
    psycopg2 (SQLAlchemy's default driver) is not installed."""
    import importlib.util

    import sqlalchemy as sa

    try:
        url = sa.make_url(location)
        if url.drivername in ("postgresql", "postgres") and importlib.util.find_spec("psycopg2") is None:
            url = url.set(drivername="postgresql+psycopg")
        return sa.create_engine(url)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:  # before ArgumentError, its base class
        raise DataError(Problem(kind, None, f"no database driver for {redact_url(location)} "
                                f"({_first_line(exc)}); for PostgreSQL: pip install "
                                "'forecasting[postgres]'")) from None
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise DataError(Problem(kind, None, f"not a valid SQLAlchemy URL: {_first_line(exc)}")) from None


def redact_url(location: str) -> str:
    """The URL without its password, for messages and run.json.

    Examples
    --------
    >>> redact_url("postgresql://bob:secret@db/crm")
    'postgresql://bob:***@db/crm'
    """
    import sqlalchemy as sa

    try:
        return sa.make_url(location).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return "the SQLAlchemy URL"


def _first_line(exc: BaseException) -> str:
    exc = exc.__cause__ or exc  # pandas wraps SQLAlchemy's error, which wraps the driver's
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fold(name: str, names) -> str:
    """``name`` if it exists, else its lower-case fold if that does (PostgreSQL folds unquoted names)."""
    return name.lower() if name not in names and name.lower() in names else name


def _sql_table(con, name: str, kind: str, where: str) -> tuple[str | None, str, dict | None]:
    """Find ``[schema.]table`` as PostgreSQL resolves an unquoted name: the exact name,
    else its lower-case fold. Returns schema, table and the declared column types."""
    import sqlalchemy as sa

    quote_identifier(name)  # refuse SQL text before asking the database anything
    schema, _, table = name.rpartition(".")
    inspector = sa.inspect(con)
    schema = _fold(schema, inspector.get_schema_names()) if schema else None
    names = set(inspector.get_table_names(schema=schema)) | set(inspector.get_view_names(schema=schema))
    with contextlib.suppress(NotImplementedError, AttributeError):
        names |= set(inspector.get_materialized_view_names(schema=schema))
    table = _fold(table, names)
    if table not in names:
        listed = ", ".join(sorted(names)[:20]) or "no tables"
        raise DataError(Problem(kind, None, f"table {name!r} not found in {where}"
                                + (f" (schema {schema!r})" if schema else "")
                                + f"; it has: {listed} (name another with url#schema.table)"))
    try:
        types = {c["name"]: c["type"] for c in inspector.get_columns(table, schema=schema)}
    except (sa.exc.SQLAlchemyError, NotImplementedError):  # some dialects cannot reflect columns
        con.rollback()
        types = None
    return schema, table, types


def _sql_dtypes(frame: pd.DataFrame, types: dict | None = None) -> pd.DataFrame:
    """Driver values in the dtypes DuckDB gives for the same data.

    NUMERIC / DECIMAL arrive as ``Decimal`` objects and DATE as ``datetime.date``;
    pandas turns them into floats and datetimes only when the column has a value,
    so a chunk (or table) where a column is all NULL is typed from the declared
    ``types`` (column -> SQLAlchemy type) when the source is a table.
    """
    import datetime
    import decimal

    import sqlalchemy as sa

    for i, column in enumerate(frame.columns):
        series = frame.iloc[:, i]
        if series.dtype != object:
            continue
        values = series.dropna()
        declared = (types or {}).get(column)
        if values.empty:
            if isinstance(declared, (sa.Numeric, sa.Float, sa.Integer)):  # as pandas types numbers with NULLs
                frame.isetitem(i, series.astype(float))
            elif isinstance(declared, (sa.DateTime, sa.Date)):
                frame.isetitem(i, pd.to_datetime(series, utc=bool(getattr(declared, "timezone", False))))
        elif all(isinstance(v, decimal.Decimal) for v in values):
            frame.isetitem(i, series.astype(float))
        elif all(isinstance(v, datetime.date) and not isinstance(v, datetime.datetime) for v in values):
            with contextlib.suppress(ValueError, OverflowError):  # dates out of range stay for conform to name
                frame.isetitem(i, pd.to_datetime(series))
    return frame


def iter_sql(src: Source, kind: str, chunksize: int | None = None) -> Iterator[pd.DataFrame]:
    """Yield a SQLAlchemy source (table or query) as DataFrames of at most ``chunksize`` rows.

    Rows are streamed from the server (a server-side cursor where the driver has
    one), so memory is bounded by ``chunksize``; with ``chunksize=None`` the whole
    result is one frame. Column types follow :func:`_sql_dtypes`.

    Parameters
    ----------
    src : Source
        A parsed ``sql`` SOURCE (see :func:`parse_source`).
    kind : str
        Canonical table kind: the default table name and the table named in errors.
    chunksize : int, optional
        Rows per frame.

    Raises
    ------
    DataError
        Missing driver, unreachable server, unknown table (the tables there are
        listed), failing query. The URL's password is never printed.
    """
    import sqlalchemy as sa

    where = redact_url(src.location)
    engine = _sql_engine(src.location, kind)
    try:
        with engine.connect() as con:
            types = None
            if src.query:
                stmt = sa.text(src.query)
            else:
                schema, table, types = _sql_table(con, src.table or kind, kind, where)
                stmt = sa.select(sa.text("*")).select_from(sa.table(table, schema=schema))
            if chunksize is None:
                yield _sql_dtypes(pd.read_sql_query(stmt, con), types)
                return
            con = con.execution_options(yield_per=chunksize)
            for chunk in pd.read_sql_query(stmt, con, chunksize=chunksize):
                yield _sql_dtypes(chunk, types)
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
        raise DataError(Problem(kind, None, f"cannot read {where}: {_first_line(exc)}")) from None
    finally:
        engine.dispose()


def _read_sql(src: Source, kind: str) -> pd.DataFrame:
    with contextlib.closing(iter_sql(src, kind)) as frames:
        return next(frames)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    Readers never see a half-written file, and a failure leaves the old file (or
    nothing) in place.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keep the suffix: some writers (papermill, pandas) pick the format from it.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.tmp-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; swap it in for ``path`` on success.

    The swap is two renames (old folder aside, new one in), so a failure leaves
    the old folder, or nothing, in place; the old one is then removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "model"
    >>> with atomic_dir(target) as tmp:
    ...     _ = (tmp / "card.json").write_text("{}")
    >>> sorted(p.name for p in target.iterdir())
    ['card.json']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        yield tmp
        old = tmp.with_name(tmp.name + "-old")
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_with(path, write: Callable[[Path], None]) -> Path:
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write text atomically."""
    return _write_with(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_csv(frame: pd.DataFrame, path: str | os.PathLike, **kwargs) -> Path:
    """Write a DataFrame as CSV atomically (no index unless asked)."""
    kwargs.setdefault("index", False)
    return _write_with(path, lambda tmp: frame.to_csv(tmp, **kwargs))


def write_parquet(frame: pd.DataFrame, path: str | os.PathLike, **kwargs) -> Path:
    """Write a DataFrame as Parquet atomically."""
    kwargs.setdefault("index", False)
    return _write_with(path, lambda tmp: frame.to_parquet(tmp, **kwargs))


def write_duckdb(tables: dict[str, pd.DataFrame], path: str | os.PathLike) -> Path:
    """Write frames as the tables of one DuckDB file, atomically (all tables or none).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> db = write_duckdb({"leads": pd.DataFrame({"lead_id": ["L1"]})},
    ...                   pathlib.Path(tempfile.mkdtemp()) / "crm.duckdb")
    >>> read_source(f"{db}:leads")["lead_id"].tolist()
    ['L1']
    """
    import duckdb

    def write(tmp: Path) -> None:
        tmp.unlink()  # duckdb wants to create the file itself
        with duckdb.connect(str(tmp)) as con:
            for name, frame in tables.items():
                con.register("_frame", frame)
                con.execute(f"CREATE TABLE {quote_identifier(name)} AS SELECT * FROM _frame")
                con.unregister("_frame")

    return _write_with(path, write)
