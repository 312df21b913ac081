"""Batch scoring with bounded memory: stream a SOURCE in chunks, write scores atomically.

CSV is read with ``pandas.read_csv(chunksize=...)``, Parquet with
``pyarrow.dataset`` batches, DuckDB with ``to_arrow_reader`` and a SQLAlchemy URL
with ``pandas.read_sql(chunksize=...)``. Only ``lead_id`` and the model's features
are read where the format allows it (every format but a SQL URL), after checking
the header for missing features. Each chunk is put in canonical shape, scored,
graded, explained, counted for drift and appended to a temporary output that is
renamed over ``out`` at the end.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data.errors import DataError, Problem

__all__ = ["iter_chunks", "source_columns", "score_source", "ScoreResult"]


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
    """Delimiter sniffed once from the start of the file, so the fast C parser reads the rest."""
    if path.lower().endswith(".tsv"):
        return {"sep": "\t"}
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        sample = fh.read(65536)
    try:
        return {"sep": csv.Sniffer().sniff(sample.splitlines()[0] if sample else "", ",;\t|").delimiter}
    except csv.Error:
        return {"sep": ","}


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
            return list(pd.read_csv(src.location, nrows=0, encoding="utf-8-sig", **_csv_options(src.location)).columns)
        if src.kind == "parquet":
            import pyarrow.dataset as ds

            return list(ds.dataset(src.location, format="parquet").schema.names)
        if src.kind == "duckdb":
            import duckdb

            with duckdb.connect(src.location, read_only=True) as con:
                return list(con.sql(_select_sql(src, kind, None)).columns)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - parser / driver errors become bad input
        raise DataError(Problem(kind, None, f"cannot read the header of {src}: {_first_line(exc)}")) from None
    return None


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
        CSV columns read as text (ids keep their leading zeros).
    """
    src = _parse(source, kind)
    if src.kind == "csv":
        options = _csv_options(src.location)
        yield from pd.read_csv(src.location, chunksize=chunksize, usecols=columns,
                               dtype={c: str for c in text_columns},
                               encoding="utf-8-sig", **options)
    elif src.kind == "parquet":
        import pyarrow.dataset as ds

        dataset = ds.dataset(src.location, format="parquet")
        # Little read-ahead: memory stays at a few chunks whatever the file's row groups.
        for batch in dataset.to_batches(columns=columns, batch_size=chunksize, batch_readahead=2,
                                        fragment_readahead=1):
            yield batch.to_pandas()
    elif src.kind == "duckdb":
        import duckdb

        with duckdb.connect(src.location, read_only=True) as con:
            relation = con.sql(_select_sql(src, kind, columns))
            # duckdb >= 2 streams with to_arrow_reader; 1.x calls it fetch_arrow_reader.
            reader = (relation.to_arrow_reader(chunksize) if hasattr(relation, "to_arrow_reader")
                      else relation.fetch_arrow_reader(chunksize))
            for batch in reader:
                yield batch.to_pandas()
    else:
        import sqlalchemy as sa

        engine = sa.create_engine(src.location)
        try:
            with engine.connect() as con:
                yield from pd.read_sql_query(sa.text(_select_sql(src, kind, None)), con, chunksize=chunksize)
        finally:
            engine.dispose()


@dataclass
class ScoreResult:
    """What :func:`score_source` wrote: rows, the output path and the drift table."""

    rows: int
    out: Path
    drift: pd.DataFrame
    drift_path: Path | None = None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _canonical_names(stored: list[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """Stored name -> canonical name, the way ``conform`` renames (header cleaned, then mapped)."""
    clean = {c: str(c).strip().lstrip("\ufeff") for c in stored}
    return {c: mapping.get(clean[c], clean[c]) for c in stored}


def _needed_columns(model, stored: list[str] | None, mapping: Mapping[str, str]) -> list[str] | None:
    """Stored names of ``lead_id`` and the model's features; DataError naming missing features."""
    if stored is None:
        return None
    canonical = _canonical_names(stored, mapping)
    model.check_columns(pd.DataFrame(columns=list(dict.fromkeys(canonical.values()))))
    wanted = {"lead_id", *model.features}
    return [c for c in stored if canonical[c] in wanted]


def _conform_chunk(chunk: pd.DataFrame, mapping) -> pd.DataFrame:
    from ..data.validate import conform

    frame, _ = conform(chunk, "leads", mapping)
    return frame


def _wrap_read_errors(chunks):
    try:
        yield from chunks
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - parser / driver errors become bad input
        raise DataError(Problem("leads", None, f"cannot read the leads to score: {_first_line(exc)}")) from None


def score_source(
    model,
    source,
    out: str | os.PathLike,
    *,
    chunksize: int = 50_000,
    mapping=None,
    reasons: bool = True,
    drift_out: str | os.PathLike | None = "auto",
    progress: bool | None = None,
) -> ScoreResult:
    """Score every lead of a SOURCE chunk by chunk and write ``lead_id, score, grade, reasons``.

    Parameters
    ----------
    model : LeadModel or path
        A model, or a model folder (loaded safely).
    source : str or path
        CSV / Parquet / ``file.duckdb[:table]`` / SQLAlchemy URL with the leads.
    out : path
        Output file; ``.parquet`` writes Parquet, anything else CSV.
    chunksize : int
        Rows per chunk (memory is bounded by this, not by the table size).
    mapping : dict, optional
        ``{their_name: canonical_name}``.
    reasons : bool
        Add reason codes (nearly free for the linear candidates; one extra
        prediction per feature for the tree models).
    drift_out : path, "auto" or None
        Where to write the PSI table; ``auto``: ``drift.csv`` beside ``out``.

    Returns
    -------
    ScoreResult

    Raises
    ------
    DataError
        Unreadable or empty source, feature columns missing (named), no rows.
    """
    from ..data.io import atomic_path, write_csv
    from ..progress import progress as bar
    from .drift import DriftCounter
    from .model import LeadModel

    if not isinstance(model, LeadModel):
        model = LeadModel.load(model)
    mapping = dict(mapping or {})
    stored = source_columns(source)
    columns = _needed_columns(model, stored, mapping)
    ids = [c for c, name in _canonical_names(stored or [], mapping).items() if name == "lead_id"] or ["lead_id"]
    out = Path(out)
    parquet = out.suffix.lower() in (".parquet", ".pq")
    counter = DriftCounter(model.card.get("drift_reference", {}), model.features)
    rows = 0
    with atomic_path(out) as tmp, _Writer(tmp, parquet) as writer:
        chunks = _wrap_read_errors(iter_chunks(source, chunksize, columns=columns, text_columns=ids))
        for chunk in bar(chunks, desc="leads score", enabled=progress):
            if chunk.empty:
                continue
            frame = _conform_chunk(chunk, mapping)
            scored = model.score(frame, reasons=reasons)
            counter.update(frame, scored["score"].to_numpy())
            writer.write(scored)
            rows += len(scored)
        if rows == 0:
            raise DataError(Problem("leads", None, f"{source} is empty: no rows to score"))
    drift = counter.table()
    drift_path = None
    if drift_out:
        drift_path = out.parent / "drift.csv" if drift_out == "auto" else Path(drift_out)
        write_csv(drift, drift_path)
    return ScoreResult(rows, out, drift, drift_path)


class _Writer:
    """Append scored chunks to one CSV or Parquet file with Arrow's writers (the CSV one is
    many times faster than ``DataFrame.to_csv``; strings are quoted)."""

    def __init__(self, path: Path, parquet: bool):
        self.path, self.parquet, self.writer = path, parquet, None

    def write(self, scored: pd.DataFrame) -> None:
        import pyarrow as pa

        schema = pa.schema([("lead_id", pa.string()), ("score", pa.float64()), ("grade", pa.string()),
                            ("reasons", pa.string())])
        table = pa.Table.from_pandas(scored.astype({"lead_id": str, "grade": str, "reasons": str}),
                                     schema=schema, preserve_index=False)
        if self.writer is None:
            self.writer = self._open(schema)
        self.writer.write_table(table)

    def _open(self, schema):
        if self.parquet:
            import pyarrow.parquet as pq

            return pq.ParquetWriter(self.path, schema)
        import pyarrow.csv as pcsv

        return pcsv.CSVWriter(self.path, schema, write_options=pcsv.WriteOptions(quoting_style="needed"))

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.writer is not None:
            self.writer.close()
