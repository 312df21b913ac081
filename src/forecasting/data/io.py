"""Reading sources: one SOURCE string, any format, read the same way by every command.

A SOURCE is one string (DESIGN.md, CLI contract):

- ``path.csv`` / ``path.parquet`` (a file or a folder of Parquet parts);
- ``path.duckdb`` (table named after the kind) or ``path.duckdb:table``;
- a SQLAlchemy URL, ``postgresql://user@host/db#table`` (``#`` picks the table,
  since ``:`` belongs to the URL); the table may also be passed separately;
- a registered alias such as ``demo`` or ``demo:table`` (see :func:`register_alias`).

After the ``:`` / ``#`` a ``SELECT ...`` or ``WITH ...`` is run as a query
(see :mod:`forecasting.data.sql`). Writing outputs lives in
:mod:`forecasting.data.files`; its functions are re-exported here.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import DataError, Problem
from .files import atomic_dir, atomic_path, write_csv, write_duckdb, write_parquet, write_text
from .sql import connect_duckdb, iter_sql, quote_identifier, redact_url, single_statement, sql_tables

__all__ = [
    "Source",
    "parse_source",
    "read_source",
    "list_tables",
    "register_alias",
    "sniff_separator",
    "csv_encoding",
    "csv_options",
    # re-exported: SQL sources and atomic writing have their own modules
    "iter_sql",
    "redact_url",
    "quote_identifier",
    "single_statement",
    "connect_duckdb",
    "atomic_path",
    "atomic_dir",
    "write_text",
    "write_csv",
    "write_parquet",
    "write_duckdb",
]

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


# Names that stand for a database made on first use (``demo``). The package that makes the
# database registers it, so this generic reader knows no particular one (no import of the demo).
_ALIASES: dict[str, Callable[[], str | os.PathLike]] = {}


def register_alias(name: str, database: Callable[[], str | os.PathLike]) -> None:
    """Let the SOURCE ``name`` (or ``name:table``) stand for the DuckDB file ``database()`` returns.

    ``database`` is called when the alias is read, not when it is registered, so a
    database made on first use is made only by the commands that read it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> db = write_duckdb({"leads": pd.DataFrame({"lead_id": ["L1"]})},
    ...                   pathlib.Path(tempfile.mkdtemp()) / "crm.duckdb")
    >>> register_alias("example_crm", lambda: db)
    >>> read_source("example_crm:leads")["lead_id"].tolist()
    ['L1']
    """
    _ALIASES[name] = database


def _resolve_alias(source):
    """The database path a registered alias stands for (``name:table`` keeps its table); else ``source``."""
    if isinstance(source, (str, os.PathLike)):
        name, sep, table = os.fspath(source).partition(":")
        if name in _ALIASES:
            path = os.fspath(_ALIASES[name]())
            return f"{path}:{table}" if sep else path
    return source


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
    src = source if isinstance(source, Source) else parse_source(_resolve_alias(source), table=table or kind)
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
    src = source if isinstance(source, Source) else parse_source(_resolve_alias(source))
    if src.kind not in ("duckdb", "sql"):
        raise DataError(Problem(kind, None, f"{src.location} is a {src.kind} file: one table, no table names"))
    if src.kind == "duckdb":
        if not Path(src.location).exists():
            raise _missing_file(src, kind)
        with connect_duckdb(src.location) as con:
            return _duckdb_tables(con)
    return sql_tables(src.location, kind=kind)


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


def _read_sql(src: Source, kind: str) -> pd.DataFrame:
    with contextlib.closing(iter_sql(src, kind)) as frames:
        return next(frames)
