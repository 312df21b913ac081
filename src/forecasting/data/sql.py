"""SQL and DuckDB sources, read-only: one statement, quoted names, no other file reached.

A table name is checked against a strict identifier pattern and quoted, never
pasted into SQL as given; a query SOURCE must be one statement, run in a
read-only transaction (PostgreSQL) or on a read-only connection without
external access (DuckDB). Passwords are never printed.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

import pandas as pd

from .errors import DataError, Problem

__all__ = ["quote_identifier", "single_statement", "connect_duckdb", "redact_url", "iter_sql", "sql_tables"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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


def _engine(location: str, kind: str):
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
        elif all(isinstance(v, bool) for v in values):  # BOOLEAN with NULLs: DuckDB's nullable boolean
            frame.isetitem(i, series.astype("boolean"))
        elif all(isinstance(v, decimal.Decimal) for v in values):
            frame.isetitem(i, series.astype(float))
        elif all(isinstance(v, datetime.date) and not isinstance(v, datetime.datetime) for v in values):
            with contextlib.suppress(ValueError, OverflowError):  # dates out of range stay for conform to name
                frame.isetitem(i, pd.to_datetime(series))
    return frame


def iter_sql(src, kind: str, chunksize: int | None = None) -> Iterator[pd.DataFrame]:
    """Yield a SQLAlchemy source (table or query) as DataFrames of at most ``chunksize`` rows.

    Rows are streamed from the server (a server-side cursor where the driver has
    one), so memory is bounded by ``chunksize``; with ``chunksize=None`` the whole
    result is one frame. Column types follow :func:`_sql_dtypes`.

    Parameters
    ----------
    src : Source
        A parsed ``sql`` SOURCE (see :func:`forecasting.data.io.parse_source`).
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
    engine = _engine(src.location, kind)
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


def sql_tables(location: str, *, kind: str = "source") -> set[str]:
    """Table and view names of the database at the SQLAlchemy URL ``location``.

    Raises
    ------
    DataError
        Missing driver, bad URL or unreachable server (the password is never printed).
    """
    import sqlalchemy as sa

    engine = _engine(location, kind)
    try:
        inspector = sa.inspect(engine)
        return set(inspector.get_table_names()) | set(inspector.get_view_names())
    except sa.exc.SQLAlchemyError as exc:
        raise DataError(Problem(kind, None, f"cannot read {redact_url(location)}: {_first_line(exc)}")) from None
    finally:
        engine.dispose()
