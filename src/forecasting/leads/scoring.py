"""Batch scoring with bounded memory: stream a SOURCE in chunks, write scores atomically.

The SOURCE is read by :mod:`forecasting.leads.reading` (CSV, Parquet, DuckDB, SQL URL). Only
``lead_id`` and the model's features are read where the format allows it (every format but a
SQL URL), after checking the header for missing features. Each chunk is put in canonical
shape, scored, graded, explained, counted for drift and appended to a temporary output that
is renamed over ``out`` at the end (one file, or a folder of Parquet parts).

With ``engine="dask"`` the same steps run on the workers of a ``dask.distributed``
cluster: a Parquet source is cut into parts of whole row groups that each worker
reads itself; the model travels as the bytes of its saved folder and is loaded on
each worker by the model store (the same safety checks). Results come back in
order, so the output is the local engine's, row for row.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, closing, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data.errors import DataError, Problem
from ..data.io import atomic_dir
from .reading import _parquet_parts, _parse, _part_batches, _wrap_read_errors, iter_chunks, source_columns

# iter_chunks and source_columns live in .reading; they stay importable from here.
__all__ = ["score_source", "ScoreResult", "companion_path", "iter_chunks", "source_columns"]


@dataclass
class ScoreResult:
    """What :func:`score_source` wrote: rows, the output path and the drift table."""

    rows: int
    out: Path
    drift: pd.DataFrame
    drift_path: Path | None = None

def _canonical_names(stored: list[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """Stored name -> canonical name, the way ``conform`` renames (header cleaned, then mapped)."""
    clean = {c: str(c).strip().lstrip("\ufeff") for c in stored}
    return {c: mapping.get(clean[c], clean[c]) for c in stored}


def _needed_columns(model, stored: list[str] | None, mapping: Mapping[str, str]) -> list[str] | None:
    """Stored names of ``lead_id`` and the model's features; DataError naming the id column or
    missing features."""
    from ..data.validate import column_mapping

    _check_card(model)
    column_mapping(mapping, "leads")  # SQL text in a name is refused before anything is read
    if stored is None:
        return None
    canonical = _canonical_names(stored, mapping)
    _require_ids(list(canonical.values()))
    model.check_columns(pd.DataFrame(columns=list(dict.fromkeys(canonical.values()))))
    wanted = {"lead_id", *model.features}
    return [c for c in stored if canonical[c] in wanted]


def _estimator_inputs(estimator, depth: int = 6) -> set[str] | None:
    """The input columns the fitted estimator's feature step reads (its ``types_``), found through
    pipelines and calibration wrappers; None if no step says."""
    types = getattr(estimator, "types_", None)
    if isinstance(types, Mapping):
        return set(types)
    if depth == 0 or not hasattr(estimator, "__dict__"):
        return None
    for value in vars(estimator).values():
        for child in (value if isinstance(value, (list, tuple)) else [value]):
            child = child[-1] if isinstance(child, tuple) and child else child  # Pipeline steps: (name, step)
            if hasattr(child, "fit"):
                found = _estimator_inputs(child, depth - 1)
                if found is not None:
                    return found
    return None


def _check_card(model) -> None:
    """A card that lists fewer features than the estimator reads would score those as missing
    (a wrong score with exit 0): refuse the model."""
    unlisted = sorted((_estimator_inputs(model.estimator) or set()) - set(model.features))
    if unlisted:
        raise DataError([Problem("model", c, "is read by the model's estimator but missing from the features "
                                 "of its card.json: the model folder is inconsistent (restore card.json or "
                                 "train the model again)") for c in unlisted])


def _require_ids(columns: list[str]) -> None:
    """Scores are per lead: without the id column there is no honest id to write (never 0, 1, 2...)."""
    if "lead_id" not in columns:
        raise DataError(Problem("leads", "lead_id", "is required to score: each score is written with its "
                                "lead's id; columns are: " + ", ".join(map(str, columns[:20]))
                                + " (name yours with --map, e.g. --map 'Lead ID=lead_id' or --map Id=lead_id)"))


def _conform_chunk(chunk: pd.DataFrame, mapping, options: Mapping | None = None) -> pd.DataFrame:
    """A chunk in canonical shape, read with the options settled on the first chunk; a column whose
    format cannot be decided and leads without an id are refused (DataError), as ``data check`` does."""
    from ..data.validate import conform

    frame, problems = conform(chunk, "leads", mapping, **dict(options or {}))
    _require_ids(list(frame.columns))
    refused = [p for p in problems if p.severity == "error" and ("ambiguous" in p.message or "mixes" in p.message)]
    if frame["lead_id"].isna().any():
        rows = [f"row {i + 1}" for i in frame.index[frame["lead_id"].isna().to_numpy()]]
        refused.append(Problem("leads", "lead_id", "is missing: a score needs its lead's id", tuple(rows[:5]),
                               len(rows)))
    if refused:
        raise DataError(refused)
    return frame


def _settled_options(source, job_columns, mapping, options: Mapping) -> dict:
    """Reading options completed from the first chunk (see ``settle_options``), so every chunk
    of the file reads its dates and numbers the same way."""
    from ..data.validate import settle_options

    with closing(_wrap_read_errors(iter_chunks(source, 10_000, columns=job_columns))) as chunks:
        first = next(iter(chunks), None)
    if first is None:
        return dict(options)
    return settle_options(first, "leads", mapping, **options)

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
    engine: str = "local",
    scheduler=None,
    **read_options,
) -> ScoreResult:
    """Score every lead of a SOURCE chunk by chunk and write ``lead_id, score, grade, reasons``.

    Parameters
    ----------
    model : LeadModel or path
        A model, or a model folder (loaded safely).
    source : str or path
        CSV / Parquet (a file or a folder of files) / ``file.duckdb[:table]`` /
        SQLAlchemy URL with the leads.
    out : path
        Output: ``.parquet`` writes one Parquet file; a path without a suffix (or an
        existing folder) a folder of Parquet parts ``part-00000.parquet, ...``, read back
        in order by ``pandas.read_parquet(out)``; anything else one CSV file.
    chunksize : int
        Rows per chunk (memory is bounded by this, not by the table size).
    mapping : dict, optional
        ``{their_name: canonical_name}``.
    reasons : bool
        Add reason codes (see :meth:`~forecasting.leads.LeadModel.score`; from the coefficients or the
        trees, in one pass over each chunk).
    drift_out : path, "auto" or None
        Where to write the PSI table; ``auto``: beside ``out``, named after it
        (``scores.csv`` -> ``scores.drift.csv``, see :func:`companion_path`).
    progress : bool, optional
        Force the progress bar on or off (default: on when stderr is a terminal).
    engine : {"local", "dask"}, default "local"
        ``"dask"`` scores on a ``dask.distributed`` cluster: each part of a Parquet
        source (whole row groups, about ``chunksize`` rows) is read and scored by a
        worker with the same model; other sources are read here in chunks and scored
        on the workers. Parts of a folder output are written by the workers, so they
        must see ``out`` (a shared file system). Scores, grades, reasons, row order
        and the drift table are the same as the local engine's.
    scheduler : str or distributed.Client, optional
        Scheduler address for ``engine="dask"``; default: a local cluster of 2 worker
        processes for this call (see :func:`forecasting.engine.dask_client`).
    **read_options
        ``date_format``, ``dayfirst``, ``decimal``: as for :func:`~forecasting.data.load_table`.
        What they leave open is settled on the first chunk and kept for every chunk.

    Returns
    -------
    ScoreResult

    Raises
    ------
    DataError
        Unreadable or empty source, feature columns missing (named), no rows, an
        existing ``out`` that is not a folder of parts, an unreachable scheduler.
    """
    from ..data.io import write_csv
    from ..engine import check_engine, dask_client
    from ..progress import progress as bar
    from .drift import DriftCounter
    from .model import LeadModel

    check_engine(engine, scheduler)
    out = Path(out)
    drift_path = None if not drift_out else companion_path(out, "drift.csv") if drift_out == "auto" else Path(drift_out)
    _check_out(out, drift_path)
    if not isinstance(model, LeadModel):
        model = LeadModel.load(model)
    mapping = dict(mapping or {})
    stored = source_columns(source)
    ids = [c for c, name in _canonical_names(stored or [], mapping).items() if name == "lead_id"] or ["lead_id"]
    columns = _needed_columns(model, stored, mapping)
    options = _settled_options(source, columns, mapping, {k: v for k, v in read_options.items() if v is not None})
    job = _Job(columns, tuple(ids), mapping, reasons, chunksize, options)
    counter = DriftCounter(model.card.get("drift_reference", {}), model.features)
    rows = 0
    with _Output(out) as output, (dask_client(scheduler) if engine == "dask" else nullcontext()) as client:
        scored = (_score_on_cluster(client, model, source, job, output) if client is not None
                  else _score_here(model, source, job, output))
        with closing(scored):
            for n, counts in bar(scored, desc="leads score", enabled=progress):
                counter.counts = _add_counts(counter.counts, counts)
                rows += n
        if rows == 0:
            raise DataError(Problem("leads", None, f"{source} is empty: no rows to score"))
    drift = counter.table()
    if drift_path is not None:
        write_csv(drift, drift_path)
    return ScoreResult(rows, out, drift, drift_path)


_SUFFIXES = (".csv", ".parquet", ".pq")


def companion_path(out: str | os.PathLike, name: str) -> Path:
    """Where a file that goes with the scores at ``out`` is written: beside them, named after them.

    ``scores.csv`` -> ``scores.drift.csv``; a folder of parts ``scores`` -> ``scores.drift.csv``.
    Two outputs in one folder keep their own drift table and run.json, and no ``out`` can
    make one of them replace the scores (or the files of another command in that folder).

    Examples
    --------
    >>> companion_path("out/scores.csv", "drift.csv").as_posix()
    'out/scores.drift.csv'
    >>> companion_path("out/parts", "run.json").as_posix()
    'out/parts.run.json'
    """
    out = Path(out)
    folder = out.is_dir() or not out.suffix
    return out.with_name(f"{out.name if folder else out.stem}.{name}")


def _check_out(out: Path, drift_path: Path | None) -> None:
    """Refuse, before reading anything, an ``out`` the scores cannot be written to as asked."""
    if not (out.is_dir() or not out.suffix or out.suffix.lower() in _SUFFIXES):
        raise DataError(Problem("out", None, f"--out {out}: scores go to a .csv or .parquet file, or to "
                                "a folder of Parquet parts (a path without a suffix)"))
    if drift_path is not None and drift_path.resolve() == out.resolve():
        raise DataError(Problem("out", None, f"the drift table would replace the scores at {out}"))


@dataclass(frozen=True)
class _Job:
    """What to read of each chunk and how to score it (the same here and on every worker)."""

    columns: list[str] | None
    text_columns: tuple[str, ...]
    mapping: dict
    reasons: bool
    chunksize: int
    options: dict | None = None  # reading options settled on the first chunk


def _score_chunk(model, chunk: pd.DataFrame, job: _Job) -> tuple[pd.DataFrame, dict]:
    """Scores of one chunk and its counts in the drift bins."""
    from .drift import DriftCounter

    frame = _conform_chunk(chunk, job.mapping, job.options)
    scored = model.score(frame, reasons=job.reasons)
    counter = DriftCounter(model.card.get("drift_reference", {}), model.features)
    counter.update(frame, scored["score"].to_numpy())
    return scored, counter.counts


def _add_counts(total: dict, counts: dict) -> dict:
    """Drift-bin counts of two sets of chunks, added (bin counts are additive)."""
    return {column: total.get(column, 0) + counts.get(column, 0) for column in {*total, *counts}}


def _score_here(model, source, job: _Job, output: "_Output") -> Iterator[tuple[int, dict]]:
    chunks = _wrap_read_errors(iter_chunks(source, job.chunksize, columns=job.columns,
                                           text_columns=job.text_columns))
    for i, chunk in enumerate(c for c in chunks if not c.empty):
        scored, counts = _score_chunk(model, chunk, job)
        output.write(scored, output.part(i))
        yield len(scored), counts


# ---------------------------------------------------------------- the dask engine


def _model_payload(model) -> dict:
    """The model as the bytes of its saved folder (skops + card), to be loaded by the store on workers."""
    from .store import write_model

    with tempfile.TemporaryDirectory(prefix="forecasting-model-") as tmp:
        folder = Path(tmp) / "model"
        write_model(model.estimator, dict(model.card), folder)
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    digest = hashlib.sha256(b"".join(name.encode() + data for name, data in files.items())).hexdigest()
    return {"digest": digest, "files": files}


_WORKER_MODEL: dict = {}  # digest -> LeadModel: each worker process loads a model once


def _worker_model(payload: dict):
    """Load the model shipped in ``payload`` with :func:`~forecasting.leads.model.load_model`
    (pickles and untrusted types refused, as on the client)."""
    from .model import load_model

    if payload["digest"] not in _WORKER_MODEL:
        with tempfile.TemporaryDirectory(prefix="forecasting-model-") as tmp:
            for name, data in payload["files"].items():
                (Path(tmp) / Path(name).name).write_bytes(data)
            model = load_model(tmp)
        _WORKER_MODEL.clear()
        _WORKER_MODEL[payload["digest"]] = model
    return _WORKER_MODEL[payload["digest"]]


def _score_chunks(model, chunks, job: _Job, path: Path | None):
    """Score chunks into one frame (None once written to ``path``), its rows and drift counts."""
    frames, counts = [], {}
    for chunk in chunks:
        if not chunk.empty:
            scored, chunk_counts = _score_chunk(model, chunk, job)
            frames.append(scored)
            counts = _add_counts(counts, chunk_counts)
    scored = pd.concat(frames, ignore_index=True) if frames else None
    if path is not None and scored is not None:
        _Output.write_part(scored, path)
    return (scored if path is None else None), sum(len(f) for f in frames), counts


def _score_part(payload: dict, part, path: Path | None, job: _Job):
    """Worker task: score one part (row groups it reads itself, or a chunk read by the client)."""
    from ..engine import call_recording_warnings

    model = _worker_model(payload)
    chunks = [part] if isinstance(part, pd.DataFrame) else _wrap_read_errors(_part_batches(part, job.columns, job.chunksize))
    return call_recording_warnings(_score_chunks, model, chunks, job, path)


def _score_on_cluster(client, model, source, job: _Job, output: "_Output") -> Iterator[tuple[int, dict]]:
    from ..data.validate import DataWarning
    from ..engine import map_ordered

    src = _parse(source, "leads")
    if src.kind == "parquet":
        parts = list(_wrap_read_errors(_parquet_parts(src.location, job.chunksize)))  # footers only
    else:  # read here, score there
        parts = (c for c in _wrap_read_errors(iter_chunks(source, job.chunksize, columns=job.columns,
                                                          text_columns=job.text_columns)) if not c.empty)
    # Sent once to every worker, not once per task.
    [payload] = client.scatter([_model_payload(model)], broadcast=True, hash=False)
    tasks = ((payload, part, output.part(i)) for i, part in enumerate(parts))
    for (scored, n, counts), messages in map_ordered(client, _score_part, tasks, job=job):
        for message in messages:
            warnings.warn(message, DataWarning, stacklevel=4)
        if scored is not None:
            output.write(scored, None)
        yield n, counts


# ---------------------------------------------------------------- output

_PART = re.compile(r"part-\d{5,}\.parquet")


class _Output:
    """Where scores go: appended to one CSV / Parquet file, or one Parquet file per part in a
    folder. Either appears at ``out`` only when complete (temporary sibling, then rename)."""

    def __init__(self, out: Path):
        self.out = out
        self.folder = out.is_dir() or not out.suffix
        self._stack = ExitStack()

    def __enter__(self) -> "_Output":
        from ..data.io import atomic_path

        if self.folder:
            self.tmp = self._stack.enter_context(_atomic_folder(self.out))
        else:
            tmp = self._stack.enter_context(atomic_path(self.out))
            self.writer = self._stack.enter_context(_Writer(tmp, self.out.suffix.lower() in (".parquet", ".pq")))
        return self

    def part(self, i: int) -> Path | None:
        """Where part ``i`` goes (None when writing one file)."""
        return self.tmp / f"part-{i:05d}.parquet" if self.folder else None

    def write(self, scored: pd.DataFrame, path: Path | None) -> None:
        if path is None:
            self.writer.write(scored)
        else:
            self.write_part(scored, path)

    @staticmethod
    def write_part(scored: pd.DataFrame, path: Path) -> None:
        with _Writer(path, parquet=True) as writer:
            writer.write(scored)

    def __exit__(self, *exc):
        return self._stack.__exit__(*exc)


@contextmanager
def _atomic_folder(path: Path):
    """A temporary sibling folder, swapped in for ``path`` on success. An existing ``path`` is
    replaced only if it holds nothing but parts (a previous output)."""
    if path.exists() and (not path.is_dir() or any(not _PART.fullmatch(p.name) for p in path.iterdir())):
        raise DataError(Problem("leads", None, f"{path} exists and is not a folder of scores "
                                "(part-NNNNN.parquet files only): refusing to replace it"))
    with atomic_dir(path) as tmp:
        yield tmp


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
