"""Report notebooks run with papermill: one function, a name, parameters, an output folder."""

from .runner import (
    ReportError,
    RunResult,
    available_reports,
    coerce_parameters,
    notebooks_dir,
    report_parameters,
    run_report,
)
from .schedule import RELATIVE_DATES, load_schedule, resolve_relative, run_schedule

__all__ = [
    "ReportError",
    "RunResult",
    "available_reports",
    "coerce_parameters",
    "notebooks_dir",
    "report_parameters",
    "run_report",
    "RELATIVE_DATES",
    "load_schedule",
    "resolve_relative",
    "run_schedule",
]
