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
import os
import re
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
    "quote_identifier",
    "atomic_path",
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
        quote_identifier(name)  # refuse bad names early
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
            return _read_csv(src.location, string_columns)
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


def _read_csv(path: str, string_columns: tuple[str, ...]) -> pd.DataFrame:
    sep = "\t" if path.lower().endswith(".tsv") else None
    kwargs = dict(sep=sep, engine="python") if sep is None else dict(sep=sep)
    dtype = {c: str for c in string_columns}
    # utf-8-sig strips a byte-order mark; fall back to latin-1 for legacy exports.
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            head = pd.read_csv(path, nrows=0, encoding=encoding, **kwargs)
            use = {c: t for c, t in dtype.items() if c in head.columns}
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


def _read_sql(src: Source, kind: str) -> pd.DataFrame:
    import sqlalchemy as sa

    engine = sa.create_engine(src.location)
    try:
        with engine.connect() as con:
            if src.query:
                return pd.read_sql_query(sa.text(src.query), con)
            name = src.table or kind
            schema, _, table = name.rpartition(".")
            quote_identifier(name)
            stmt = sa.select(sa.text("*")).select_from(sa.table(table, schema=schema or None))
            return pd.read_sql_query(stmt, con)
    finally:
        engine.dispose()


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
