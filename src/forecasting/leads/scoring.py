"""Batch scoring with bounded memory: stream a SOURCE in chunks, write scores atomically.

CSV is read with ``pandas.read_csv(chunksize=...)``, Parquet with
``pyarrow.parquet.ParquetFile.iter_batches``, DuckDB with ``fetch_record_batch``
and a SQLAlchemy URL with ``pandas.read_sql(chunksize=...)``; each chunk is put
in canonical shape, scored, graded, explained, counted for drift and appended to
a temporary output that is renamed over ``out`` at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data.errors import DataError, Problem

__all__ = ["iter_chunks", "score_source", "ScoreResult"]


def iter_chunks(source, chunksize: int = 50_000, *, kind: str = "leads") -> Iterator[pd.DataFrame]:
    """Yield a SOURCE as DataFrames of at most ``chunksize`` rows (raw, not conformed)."""
    from ..data.io import Source, parse_source, quote_identifier

    src = source if isinstance(source, Source) else parse_source(source, table=kind)
    if src.kind in ("csv", "parquet", "duckdb") and not Path(src.location).exists():
        raise DataError(Problem(kind, None, f"source file not found: {src.location}"))
    if src.kind == "csv":
        sep = "\t" if src.location.lower().endswith(".tsv") else None
        kwargs = dict(sep=sep, engine="python") if sep is None else dict(sep=sep)
        yield from pd.read_csv(src.location, chunksize=chunksize, dtype={"lead_id": str},
                               encoding="utf-8-sig", **kwargs)
    elif src.kind == "parquet":
        import pyarrow.dataset as ds

        for batch in ds.dataset(src.location, format="parquet").to_batches(batch_size=chunksize):
            yield batch.to_pandas()
    elif src.kind == "duckdb":
        import duckdb

        with duckdb.connect(src.location, read_only=True) as con:
            sql = src.query or f"SELECT * FROM {quote_identifier(src.table or kind)}"
            relation = con.sql(sql)
            # duckdb >= 2 streams with to_arrow_reader; 1.x calls it fetch_record_batch.
            reader = (relation.to_arrow_reader(chunksize) if hasattr(relation, "to_arrow_reader")
                      else relation.fetch_arrow_reader(chunksize))
            for batch in reader:
                yield batch.to_pandas()
    else:
        import sqlalchemy as sa

        engine = sa.create_engine(src.location)
        try:
            with engine.connect() as con:
                sql = src.query or f"SELECT * FROM {quote_identifier(src.table or kind)}"
                yield from pd.read_sql_query(sa.text(sql), con, chunksize=chunksize)
        finally:
            engine.dispose()


@dataclass
class ScoreResult:
    """What :func:`score_source` wrote: rows, the output path and the drift table."""

    rows: int
    out: Path
    drift: pd.DataFrame
    drift_path: Path | None = None


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
        raise DataError(Problem("leads", None, f"cannot read the leads to score: {exc}")) from None


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
        Add reason codes (costs one extra prediction per feature).
    drift_out : path, "auto" or None
        Where to write the PSI table; ``auto``: ``drift.csv`` beside ``out``.

    Returns
    -------
    ScoreResult

    Raises
    ------
    DataError
        Unreadable source, feature columns missing (named), no rows.
    """
    from ..data.io import atomic_path, write_csv
    from ..progress import progress as bar
    from .drift import DriftCounter
    from .model import LeadModel

    if not isinstance(model, LeadModel):
        model = LeadModel.load(model)
    out = Path(out)
    parquet = out.suffix.lower() in (".parquet", ".pq")
    counter = DriftCounter(model.card.get("drift_reference", {}), model.features)
    rows = 0
    writer = None
    with atomic_path(out) as tmp:
        try:
            chunks = _wrap_read_errors(iter_chunks(source, chunksize))
            for chunk in bar(chunks, desc="leads score", enabled=progress):
                frame = _conform_chunk(chunk, mapping)
                scored = model.score(frame, reasons=reasons)
                counter.update(frame, scored["score"].to_numpy())
                writer = _append(scored, tmp, writer, parquet, first=rows == 0)
                rows += len(scored)
        finally:
            if writer is not None:
                writer.close()
        if rows == 0:
            raise DataError(Problem("leads", None, "is empty: no rows to score"))
    drift = counter.table()
    drift_path = None
    if drift_out:
        drift_path = out.parent / "drift.csv" if drift_out == "auto" else Path(drift_out)
        write_csv(drift, drift_path)
    return ScoreResult(rows, out, drift, drift_path)


def _append(scored: pd.DataFrame, tmp: Path, writer, parquet: bool, first: bool):
    if parquet:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(scored.astype({"lead_id": str, "grade": str, "reasons": str}),
                                     preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table)
        return writer
    scored.to_csv(tmp, mode="w" if first else "a", header=first, index=False)
    return None
