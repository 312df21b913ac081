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
import sys
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
    "list_tables",
    "iter_sql",
    "redact_url",
    "quote_identifier",
    "single_statement",
    "connect_duckdb",
    "sniff_separator",
    "csv_encoding",
    "csv_options",
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
# UTF-32 first: its little-endian mark starts with UTF-16's.
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xef\xbb\xbf", "utf-8-sig"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


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
    text: bool = False,
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
    text : bool
        Read every CSV column as text, for :func:`~forecasting.data.conform` to decide
        each column's date and number format from all its values (``26.900`` stays
        ``"26.900"`` instead of becoming 26.9).

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
            return _read_csv(src.location, string_columns, kind, text)
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


def csv_encoding(path: str) -> str:
    """The text encoding of a CSV file: from its byte-order mark, else UTF-8 if every byte
    decodes as UTF-8, else Windows-1252 (Excel's "CSV" on Western Windows), else Latin-1.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "leads.csv"
    >>> _ = path.write_text("lead_id;city\\nL1;Zürich\\n", encoding="utf-16")
    >>> csv_encoding(str(path))
    'utf-16'
    """
    import codecs
    import gzip

    with (gzip.open if path.lower().endswith(".gz") else open)(path, "rb") as handle:
        head = handle.read(4)
        for bom, name in _BOMS:
            if head.startswith(bom):
                return name
        if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] and head[2]:
            return "utf-16-le"  # ASCII header written as UTF-16 without a mark
        if len(head) >= 4 and head[0] == 0 and head[2] == 0 and head[1] and head[3]:
            return "utf-16-be"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        strict_1252 = codecs.getincrementaldecoder("cp1252")()
        utf8 = cp1252 = True
        while block := handle.read(1 << 20):  # the whole file: one stray byte at row 900k counts
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
            if not utf8 and cp1252:
                try:
                    strict_1252.decode(block)
                except UnicodeDecodeError:
                    cp1252 = False
        if utf8:
            return "utf-8"
    return "cp1252" if cp1252 else "latin-1"


def sniff_separator(path: str, encoding: str | None = None) -> str | None:
    """The field separator of a CSV file, sniffed from its header line as pandas' ``sep=None`` does.

    Returns ``None`` when the header gives no answer (one column, say); the
    caller then lets pandas' python engine decide.
    """
    import gzip

    if path.lower().endswith(".tsv"):
        return "\t"
    encoding = encoding or csv_encoding(path)
    with (gzip.open if path.lower().endswith(".gz") else open)(path, "rt", encoding=encoding, newline="") as handle:
        header = handle.readline()
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t|").delimiter
    except csv.Error:
        return None


def csv_options(path: str) -> dict:
    """``encoding`` and ``sep`` keyword arguments for ``pandas.read_csv``: every command reads a
    CSV file with the same ones (:func:`read_source`, batch scoring)."""
    encoding = csv_encoding(path)
    # A sniffed separator lets pandas use its C parser (several times faster than the
    # python engine that sep=None needs).
    sep = sniff_separator(path, encoding)
    return dict(encoding=encoding, sep=sep) if sep else dict(encoding=encoding, sep=None, engine="python")


def _read_csv(path: str, string_columns: tuple[str, ...], kind: str = "input", text: bool = False) -> pd.DataFrame:
    with open(path, "rb") as handle:
        if not handle.read(4096).lstrip(b"\xef\xbb\xbf\xff\xfe\x00").strip():
            raise DataError(Problem(kind, None, f"{path} is an empty file (no header, no rows)"))
    options = csv_options(path)
    try:
        if text:  # every column as text: conform decides each column's format from all its values
            return pd.read_csv(path, dtype=str, **options)
        head = pd.read_csv(path, nrows=0, **options)
        # Matched on the trimmed name, as conform trims headers: " lead_id " keeps its zeros too.
        use = {c: str for c in head.columns if str(c).strip().lstrip("\ufeff") in string_columns}
        return pd.read_csv(path, dtype=use or None, **options)
    except UnicodeError as exc:
        raise DataError(Problem(kind, None, f"cannot decode {path} as {options['encoding']} ({exc}); "
                                "save it as UTF-8 (or UTF-16 with a byte-order mark)")) from None


# What a query SOURCE may hold besides SQL: quoted text and comments, where a ';' separates
# nothing. PostgreSQL's rules; DuckDB's are the same. When in doubt a ';' counts (refused).
_SQL_QUOTED = re.compile(r"""
    '(?:[^']|'')*'                                          # 'string' ('' inside)
  | "(?:[^"]|"")*"                                          # "identifier"
  | (?<![\w$])\$(?P<tag>[A-Za-z_]\w*|)\$.*?\$(?P=tag)\$      # $tag$ dollar quoting $tag$
  | --[^\n]*                                                # -- comment
  | /\*.*?\*/                                               # /* comment */
""", re.VERBOSE | re.DOTALL)


def single_statement(query: str, kind: str = "input") -> str:
    """Return ``query`` if it is one SQL statement; refuse several before any reaches a database.

    Query SOURCEs are read-only: a second statement (``SELECT ...; DROP TABLE x; COMMIT``)
    could end the read-only transaction and write.

    Raises
    ------
    DataError
        If ``;`` outside quotes and comments separates two statements.

    Examples
    --------
    >>> single_statement("SELECT * FROM leads WHERE note <> 'a;b';  -- done")
    "SELECT * FROM leads WHERE note <> 'a;b';  -- done"
    """
    parts = [p for p in _SQL_QUOTED.sub(" ", query).split(";") if p.strip()]
    if len(parts) > 1:
        raise DataError(Problem(kind, None, f"SQL sources are read-only: a query SOURCE must be one SELECT "
                                f"statement, found {len(parts)} separated by ';'"))
    return query


def connect_duckdb(location: str | os.PathLike):
    """Open a DuckDB file to read a SOURCE: read-only, and no access to any other file.

    A query SOURCE can then neither change the database nor read or write other files
    (``COPY ... TO``, ``read_csv('/etc/...')``, ``ATTACH``, extensions are refused).
    """
    import duckdb

    # External access can only be turned off when the database is opened, and not back on.
    return duckdb.connect(str(location), read_only=True, config={"enable_external_access": False})


def _duckdb_tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def list_tables(source: str | os.PathLike | Source, *, kind: str = "source") -> set[str]:
    """Table (and view) names of a DuckDB file or SQLAlchemy database SOURCE.

    Raises
    ------
    DataError
        The file is missing, or the SOURCE is a CSV / Parquet file (which holds one table).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> db = write_duckdb({"leads": pd.DataFrame({"lead_id": ["L1"]})},
    ...                   pathlib.Path(tempfile.mkdtemp()) / "crm.duckdb")
    >>> sorted(list_tables(db))
    ['leads']
    """
    import sqlalchemy as sa

    src = source if isinstance(source, Source) else parse_source(source)
    if src.kind not in ("duckdb", "sql"):
        raise DataError(Problem(kind, None, f"{src.location} is a {src.kind} file: one table, no table names"))
    if src.kind == "duckdb":
        if not Path(src.location).exists():
            raise _missing_file(src, kind)
        with connect_duckdb(src.location) as con:
            return _duckdb_tables(con)
    engine = _sql_engine(src.location, kind)
    try:
        inspector = sa.inspect(engine)
        return set(inspector.get_table_names()) | set(inspector.get_view_names())
    except sa.exc.SQLAlchemyError as exc:
        raise DataError(Problem(kind, None, f"cannot read {redact_url(src.location)}: {_first_line(exc)}")) from None
    finally:
        engine.dispose()


def _read_duckdb(src: Source, kind: str) -> pd.DataFrame:
    query = single_statement(src.query, kind) if src.query else None
    with connect_duckdb(src.location) as con:
        if query:
            return con.execute(query).df()
        name = src.table or kind
        tables = _duckdb_tables(con)
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


def _read_only(con):
    """``con`` with READ ONLY transactions where the dialect can ask for them (PostgreSQL):
    the server then refuses a query that writes (a writing function, ``DELETE ... RETURNING``)."""
    if con.dialect.name == "postgresql":
        return con.execution_options(postgresql_readonly=True)
    return con


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
        listed), failing query, a query of several statements or one that writes
        (read in a READ ONLY transaction on PostgreSQL). The URL's password is never printed.
    """
    import sqlalchemy as sa

    where = redact_url(src.location)
    query = single_statement(src.query, kind) if src.query else None  # before connecting
    engine = _sql_engine(src.location, kind)
    try:
        with engine.connect() as con:
            con = _read_only(con)
            types = None
            if query:
                stmt = sa.text(query)
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
    with _parent_folders(path):
        _remove_stale(path.parent, path.stem, path.suffix)
        # Keep the suffix: some writers (papermill, pandas) pick the format from it.
        fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(path.stem), suffix=path.suffix, dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        try:
            yield tmp_path
            _set_umask_mode(tmp_path)
            os.replace(tmp_path, path)
        finally:
            _remove(tmp_path)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; swap it in for ``path`` on success.

    The swap is one atomic exchange where the system has it (Linux), else two
    renames with the old folder put back if the second fails; either way a
    failure leaves the old folder, or nothing, in place, and the old one is
    then removed.

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
    with _parent_folders(path):
        _remove_stale(path.parent, path.name)
        tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(path.name), dir=path.parent))
        try:
            yield tmp
            _set_umask_mode(tmp)
            _swap_in(tmp, path)
        finally:
            _remove(tmp)  # the old folder after an exchange, else what is left of a failed run


@contextlib.contextmanager
def _parent_folders(path: Path) -> Iterator[None]:
    """Make the missing folders above ``path``; remove them again if the block fails
    (bad input leaves no empty output folder behind)."""
    missing = [folder for folder in path.parents if not folder.exists()]  # deepest first
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        for folder in missing:
            with contextlib.suppress(OSError):  # not empty (another writer's files): kept
                folder.rmdir()
        raise


# Temporaries are siblings of their target named ``.NAME.tmp-PID-RANDOM[SUFFIX]`` (``-old``
# added while a folder is swapped). The pid tells the leftover of a killed run (pid gone:
# SIGKILL, power loss) from the temporary of a run still writing the same target.
def _tmp_prefix(name: str) -> str:
    return f".{name}.tmp-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove_stale(folder: Path, name: str, suffix: str = "") -> None:
    """Remove the temporaries of target ``name`` left in ``folder`` by runs that were killed."""
    ours = re.compile(rf"\.{re.escape(name)}\.tmp-(\d+)-[a-z0-9_]+{re.escape(suffix)}(?:-old)?")
    with os.scandir(folder) as entries:
        stale = [Path(e.path) for e in entries if (m := ours.fullmatch(e.name)) and not _pid_alive(int(m[1]))]
    for path in stale:
        _remove(path)


def _remove(path: Path) -> None:
    """Remove a file, link or folder if it exists (a link is removed, never followed)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _umask() -> int:
    """The process umask, read without changing it where the system tells it (Linux)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it: put it back at once
    os.umask(mask)
    return mask


def _set_umask_mode(path: Path) -> None:
    """Give a temporary the mode ``open``/``mkdir`` would have given the target: mkstemp and
    mkdtemp create 0600 / 0700, which would make every output private to its writer."""
    if path.exists():
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~_umask())


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False where the system or the file system cannot (other systems, NFS).
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:  # glibc < 2.28, musl
        return False
    renameat2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _swap_in(new: Path, path: Path) -> None:
    """Put folder ``new`` at ``path``. An old ``path`` ends up at ``new`` (for the caller to
    remove); it is never missing for longer than between two renames."""
    if not os.path.lexists(path):
        os.replace(new, path)
    elif not _exchange(new, path):
        old = new.with_name(new.name + "-old")
        os.replace(path, old)
        try:
            os.replace(new, path)
        except BaseException:  # a signal or an error between the renames: the old folder goes back
            os.replace(old, path)
            raise
        os.replace(old, new)


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
