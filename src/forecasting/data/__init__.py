"""Canonical tables: schemas, loading from any source, validation, demo data, adapters.

One module per concept: ``schema`` (the tables and stages), ``io`` (reading a SOURCE),
``sql`` (read-only SQL sources), ``files`` (atomic writing), ``formats`` (date and number
formats), ``conform`` (canonical names and types), ``validate`` (checks, ``load_table``),
``calendar`` (frequencies), ``outliers``, ``public`` (public-dataset adapters), ``demo``
and ``worlds`` (simulated CRMs).

>>> from forecasting.data import load_table
>>> leads = load_table("leads", "data/demo/crm.duckdb")          # doctest: +SKIP
>>> opps = load_table("opportunities", "crm.csv", {"Deal Id": "opportunity_id"})  # doctest: +SKIP
"""

from .calendar import infer_frequency
from .embedded import DEMO, ensure_demo
from .errors import DataError, DataWarning, Problem
from .files import atomic_path, write_csv
from .io import parse_source, read_source, register_alias
from .schema import DEFAULT_STAGES, TABLES, Stages
from .validate import CheckReport, check, check_source, conform, load_table

# ``demo`` / ``demo:table`` read the demo CRM, made on first use; the reader itself knows no demo.
register_alias(DEMO, ensure_demo)

__all__ = [
    # tables
    "load_table",
    "check_source",
    "CheckReport",
    "conform",
    "check",
    "TABLES",
    "Stages",
    "DEFAULT_STAGES",
    # bad input
    "DataError",
    "Problem",
    "DataWarning",
    # sources and outputs
    "read_source",
    "parse_source",
    "write_csv",
    "atomic_path",
    # calendars
    "infer_frequency",
]
