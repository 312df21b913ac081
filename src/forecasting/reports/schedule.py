"""Scheduled report runs: a YAML list of reports with relative dates.

``reports.yaml``::

    out: reports/weekly/{as_of}         # {as_of} and {name} are filled in
    reports:
      - name: pipeline_forecast
        parameters: {as_of: today, period: this_quarter}
      - name: sales_kpis
        parameters: {end: end_of_last_month}
      - name: pipeline_forecast          # the same report again: give it an id
        id: pipeline_next_quarter       # (its folder; default: name, name_2, ...)
        parameters: {as_of: today, period: next_quarter}

A parameter whose value is one of :data:`RELATIVE_DATES` is resolved against the
run's as-of date (default: today), so a cron job needs no date arithmetic.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from ..data.errors import Problem
from .runner import ReportError, RunResult, run_report

_LABEL = re.compile(r"[A-Za-z0-9_-]+")

__all__ = ["RELATIVE_DATES", "resolve_relative", "load_schedule", "run_schedule"]


def _quarter(day: date, shift: int = 0) -> pd.Period:
    return pd.Period(day, freq="Q") + shift


def _month(day: date, shift: int = 0) -> pd.Period:
    return pd.Period(day, freq="M") + shift


RELATIVE_DATES = {
    "today": lambda d: d.isoformat(),
    "yesterday": lambda d: (d - timedelta(days=1)).isoformat(),
    "start_of_month": lambda d: _month(d).start_time.date().isoformat(),
    "end_of_month": lambda d: _month(d).end_time.date().isoformat(),
    "end_of_last_month": lambda d: _month(d, -1).end_time.date().isoformat(),
    "start_of_quarter": lambda d: _quarter(d).start_time.date().isoformat(),
    "end_of_quarter": lambda d: _quarter(d).end_time.date().isoformat(),
    "end_of_last_quarter": lambda d: _quarter(d, -1).end_time.date().isoformat(),
    "start_of_year": lambda d: date(d.year, 1, 1).isoformat(),
    "this_quarter": lambda d: str(_quarter(d)),
    "last_quarter": lambda d: str(_quarter(d, -1)),
    "next_quarter": lambda d: str(_quarter(d, 1)),
    "this_month": lambda d: str(_month(d)),
}


def resolve_relative(value, as_of: date):
    """Resolve a relative date keyword against ``as_of``; other values pass through.

    Examples
    --------
    >>> resolve_relative("start_of_quarter", date(2026, 11, 23))
    '2026-10-01'
    >>> resolve_relative("this_quarter", date(2026, 11, 23))
    '2026Q4'
    >>> resolve_relative("end_of_last_month", date(2026, 3, 15))
    '2026-02-28'
    """
    if isinstance(value, str) and value.strip() in RELATIVE_DATES:
        return RELATIVE_DATES[value.strip()](as_of)
    return value


def load_schedule(path: str | Path) -> dict:
    """Read and check a reports.yaml (see module docs)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ReportError(Problem("schedule", None, f"config file not found: {path}"))
    with open(path, encoding="utf-8") as fh:
        config = yaml.safe_load(fh) or {}
    reports = config.get("reports")
    if not isinstance(reports, list) or not reports:
        raise ReportError(Problem("schedule", "reports", f"{path} needs a non-empty list 'reports'"))
    for i, item in enumerate(reports):
        if not isinstance(item, dict) or "name" not in item:
            raise ReportError(Problem("schedule", "reports", f"entry {i + 1} needs a 'name'"))
    return config


def run_schedule(
    config: str | Path | dict,
    as_of: date | str | None = None,
    out: str | Path | None = None,
    *,
    force: bool = False,
) -> list[RunResult]:
    """Run every report of a schedule; a failure does not stop the others.

    Parameters
    ----------
    config : path or dict
        reports.yaml or its parsed content.
    as_of : date or ISO string, optional
        The date relative keywords resolve against (default: today).
    out : path, optional
        Output root; overrides the config's ``out``. ``{as_of}`` and ``{name}``
        are filled in; each report gets its own folder below it.

    Returns
    -------
    list of RunResult
        Bad parameters of one report give a failed result with the message.
    """
    from ..paths import project_root

    config = config if isinstance(config, dict) else load_schedule(config)
    day = pd.Timestamp(as_of).date() if as_of else date.today()
    template = str(out or config.get("out") or project_root() / "reports" / "{as_of}")
    results, seen = [], {}
    for item in config["reports"]:
        name = item["name"]
        params = {k: resolve_relative(v, day) for k, v in (item.get("parameters") or {}).items()}
        # The same report twice (e.g. per segment) gets folders name, name_2...
        label = str(item.get("id") or name)
        seen[label] = seen.get(label, 0) + 1
        label = label if seen[label] == 1 else f"{label}_{seen[label]}"
        if not _LABEL.fullmatch(label):  # an id is a folder name: never a path out of --out
            results.append(RunResult(name, "failed", None, None, None, None, 0.0,
                                     f"report id {label!r}: use letters, digits, '_' and '-' only"))
            continue
        folder = Path(template.format(as_of=day.isoformat(), name=label))
        if "{name}" not in template:
            folder = folder / label
        try:
            results.append(run_report(name, params, folder, force=force))
        except ReportError as err:
            results.append(RunResult(name, "failed", folder, folder / f"{name}.ipynb", None,
                                     folder / "run.json", 0.0, str(err)))
    return results
