"""Writing a synthetic CRM: one DuckDB file with every table, plus CSV / Parquet copies on request."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..io import write_csv, write_duckdb, write_parquet

FORMATS = ("duckdb", "csv", "parquet")


def check_formats(formats) -> tuple[str, ...]:
    """``formats`` as a tuple; ValueError naming any that is not duckdb, csv or parquet."""
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown formats {unknown}; choose from {', '.join(FORMATS)}")
    return formats


def write_tables(out: Path, tables: dict[str, pd.DataFrame], formats, extra: dict[str, pd.DataFrame]) -> Path:
    """Write ``tables`` and ``extra`` to ``out/crm.duckdb``, and ``tables`` as CSV / Parquet per ``formats``.

    Every file is written under a temporary name and renamed, so readers never
    see a half-written database.
    """
    out.mkdir(parents=True, exist_ok=True)
    path = write_duckdb({**tables, **extra}, out / "crm.duckdb")
    for name, frame in tables.items():
        if "csv" in formats:
            write_csv(frame, out / f"{name}.csv")
        if "parquet" in formats:
            write_parquet(frame, out / f"{name}.parquet")
    return path
