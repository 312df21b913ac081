"""Reading a SOURCE in chunks with bounded memory: the input side of batch scoring.

CSV is read with ``pandas.read_csv(chunksize=...)``, Parquet (a file or a folder)
part by part (whole row groups of one file, about one chunk), DuckDB with
``to_arrow_reader`` and a SQLAlchemy URL with a streaming cursor
(:func:`forecasting.data.io.iter_sql`). :func:`source_columns` reads only the header
or schema, so a scorer can check its features and read only the columns it needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data.errors import DataError, Problem

__all__ = ["iter_chunks", "source_columns"]


def _parse(source, kind: str):
    from ..data.embedded import resolve_source
    from ..data.io import Source, parse_source

    src = source if isinstance(source, Source) else parse_source(resolve_source(source), table=kind)
    if src.kind in ("csv", "parquet", "duckdb"):
        path = Path(src.location)
        if not path.exists():
            raise DataError(Problem(kind, None, f"source file not found: {src.location}"))
        if path.is_file() and path.stat().st_size == 0:
            raise DataError(Problem(kind, None, f"{src.location} is an empty file (0 bytes): no header, no rows"))
    return src


def _csv_options(path: str) -> dict:
    """Encoding and delimiter detected once, as every command reads a CSV file (one reader)."""
    from ..data.io import csv_options

    return csv_options(path)


def _select_sql(src, kind: str, columns) -> str:
    from ..data.io import quote_identifier

    sql = src.query or f"SELECT * FROM {quote_identifier(src.table or kind)}"
    if columns is None:
        return sql
    quoted = ", ".join('"' + str(c).replace('"', '""') + '"' for c in columns)
    return f"SELECT {quoted} FROM ({sql}) AS source"


def source_columns(source, *, kind: str = "leads") -> list[str] | None:
    """Column names of a SOURCE as stored, read from its header or schema only
    (None for a SQLAlchemy URL, which is not inspected before reading)."""
    src = _parse(source, kind)
    try:
        if src.kind == "csv":
            return list(pd.read_csv(src.location, nrows=0, **_csv_options(src.location)).columns)
        if src.kind == "parquet":
            import pyarrow.dataset as ds

            return list(ds.dataset(src.location, format="parquet").schema.names)
        if src.kind == "duckdb":
            from ..data.io import connect_duckdb

            with connect_duckdb(src.location) as con:
                return list(con.sql(_select_sql(src, kind, None)).columns)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - parser / driver errors become bad input
        raise DataError(Problem(kind, None, f"cannot read the header of {src}: {_first_line(exc)}")) from None
    return None



@dataclass(frozen=True)
class _ParquetPart:
    """Whole row groups of one Parquet file, read by a worker with the dataset's schema."""

    path: str
    row_groups: tuple[int, ...]
    schema: object
    filesystem: object


def _parquet_parts(location: str, rows_per_part: int) -> Iterator[_ParquetPart]:
    """Row groups of every file of a Parquet dataset, grouped into parts of >= ``rows_per_part``
    rows (or what is left), in the order the local engine reads them."""
    import pyarrow.dataset as ds

    dataset = ds.dataset(location, format="parquet")
    for fragment in dataset.get_fragments():
        groups, rows = [], 0
        for group in fragment.row_groups:
            groups.append(group.id)
            rows += group.num_rows
            if rows >= rows_per_part:
                yield _ParquetPart(fragment.path, tuple(groups), dataset.schema, fragment.filesystem)
                groups, rows = [], 0
        if groups:
            yield _ParquetPart(fragment.path, tuple(groups), dataset.schema, fragment.filesystem)


def _part_batches(part: _ParquetPart, columns, chunksize: int) -> Iterator[pd.DataFrame]:
    """A part's rows in batches of ``chunksize`` rows that never span row groups. Both engines read
    Parquet this way, so every chunk is scored on the same rows (float sums depend on the batch)."""
    import pyarrow.dataset as ds

    fragment = ds.ParquetFileFormat().make_fragment(part.path, part.filesystem, row_groups=list(part.row_groups))
    for batch in fragment.to_batches(schema=part.schema, columns=columns, batch_size=chunksize,
                                     batch_readahead=1):
        yield batch.to_pandas()


def iter_chunks(source, chunksize: int = 50_000, *, kind: str = "leads", columns=None,
                text_columns=("lead_id",)) -> Iterator[pd.DataFrame]:
    """Yield a SOURCE as DataFrames of at most ``chunksize`` rows (raw, not conformed).

    Parameters
    ----------
    source : str, path or Source
        CSV / Parquet / ``file.duckdb[:table]`` / SQLAlchemy URL / ``demo``.
    chunksize : int
        Rows per chunk.
    kind : str
        Table kind (default table name and error messages).
    columns : list of str, optional
        Stored column names to read (default all); a SQL URL reads all columns.
    text_columns : tuple of str
        Unused (kept for callers): a CSV is read all as text, as :func:`~forecasting.data.load_table`
        reads it, and ``conform`` decides each column's format (ids keep their leading zeros).
    """
    src = _parse(source, kind)
    if src.kind == "csv":
        yield from pd.read_csv(src.location, chunksize=chunksize, usecols=columns, dtype=str,
                               **_csv_options(src.location))
    elif src.kind == "parquet":
        # Part by part: a scan of the whole dataset reads ahead of a slow consumer without bound
        # (peak memory grew with the row count), a part holds about one chunk.
        for part in _parquet_parts(src.location, chunksize):
            yield from _part_batches(part, columns, chunksize)
    elif src.kind == "duckdb":
        from ..data.io import connect_duckdb

        with connect_duckdb(src.location) as con:
            relation = con.sql(_select_sql(src, kind, columns))
            # duckdb >= 2 streams with to_arrow_reader; 1.x calls it fetch_arrow_reader.
            reader = (relation.to_arrow_reader(chunksize) if hasattr(relation, "to_arrow_reader")
                      else relation.fetch_arrow_reader(chunksize))
            for batch in reader:
                yield batch.to_pandas()
    else:
        from ..data.io import iter_sql

        # Server-side cursor, PostgreSQL name folding and declared types for all-NULL chunks.
        yield from iter_sql(src, kind, chunksize)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _wrap_read_errors(chunks):
    try:
        yield from chunks
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - parser / driver errors become bad input
        raise DataError(Problem("leads", None, f"cannot read the leads to score: {_first_line(exc)}")) from None
