"""Canonical tables: schemas, loading from any source, validation, demo data, adapters.

>>> from forecasting.data import load_table
>>> leads = load_table("leads", "data/demo/crm.duckdb")          # doctest: +SKIP
>>> opps = load_table("opportunities", "crm.csv", {"Deal Id": "opportunity_id"})  # doctest: +SKIP
"""

from .embedded import DEMO, ensure_demo
from .errors import DataError, Problem
from .io import atomic_path, parse_source, read_source, register_alias, write_csv, write_parquet, write_text
from .schema import DEFAULT_STAGES, KINDS, STATUSES, TABLES, Stages
from .validate import CheckReport, DataWarning, check, check_source, conform, infer_frequency, load_table

# ``demo`` / ``demo:table`` read the demo CRM, made on first use; the reader itself knows no demo.
register_alias(DEMO, ensure_demo)

__all__ = [
    "DataError",
    "Problem",
    "DataWarning",
    "Stages",
    "DEFAULT_STAGES",
    "KINDS",
    "TABLES",
    "STATUSES",
    "load_table",
    "check_source",
    "CheckReport",
    "conform",
    "check",
    "infer_frequency",
    "parse_source",
    "read_source",
    "atomic_path",
    "write_text",
    "write_csv",
    "write_parquet",
]
