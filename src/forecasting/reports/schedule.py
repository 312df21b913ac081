"""Scheduled report runs: a YAML list of reports with relative dates.

``reports.yaml``::

    out: reports/weekly/{as_of}/{id}     # {as_of} (or {date}) and {id} (or {name}) are filled in
    defaults:                            # given to every report that has the parameter
      source: data/crm.duckdb            # where the data is (source: demo for the demo CRM)
      stages: config/stages.yaml         # your open stages ("" or left out: the default ones)
      map: {Deal Id: opportunity_id}     # your column names -> canonical ones
      as_of: today
    reports:
      - name: pipeline_forecast
        parameters: {period: this_quarter}
      - name: sales_kpis
        parameters: {as_of: end_of_last_month, freq: M}   # an entry's own parameters win
      - name: pipeline_forecast          # the same report again: give it an id
        id: pipeline_next_quarter       # (its folder; default: name, name_2, ...)
        parameters: {period: next_quarter}

A parameter whose value is one of :data:`RELATIVE_DATES` is resolved against the
run's as-of date (default: today), so a cron job needs no date arithmetic. Paths
are taken relative to the working directory. Every report that reads data needs a
``source`` (in ``defaults`` or its own parameters): a schedule never falls back to
the demo data. Running the same schedule for the same day again replaces its
reports (same report, same parameters); see :func:`~forecasting.reports.run_report`.

A malformed file (bad YAML, an unknown key, ``parameters`` that are not a
mapping, an unknown ``{placeholder}``, a default no report takes, a missing
source) is refused as a whole before anything runs; an unknown report or
parameter of one entry fails that entry only.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from ..data.errors import Problem
from .runner import ReportError, RunResult, report_parameters, run_report

__all__ = ["RELATIVE_DATES", "resolve_relative", "load_schedule", "run_schedule"]

_LABEL = re.compile(r"[A-Za-z0-9_-]+")
_KEYS = ("out", "defaults", "reports")  # top level of reports.yaml
_ENTRY_KEYS = ("name", "id", "parameters")  # one entry of its reports list
_PLACEHOLDERS = ("as_of", "date", "id", "name")  # of the out template


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


def _problem(column: str | None, message: str) -> Problem:
    return Problem("schedule", column, message)


def _unknown_keys(given: Mapping, allowed: tuple[str, ...], prefix: str = "") -> list[Problem]:
    problems = []
    for key in given:
        if key not in allowed:
            # A top-level `parameters:` block was once ignored silently: say where shared ones go.
            hint = "; put parameters shared by every report under defaults" if f"{prefix}{key}" == "parameters" else ""
            problems.append(_problem(f"{prefix}{key}", f"unknown key; allowed: {', '.join(allowed)}{hint}"))
    return problems


def _template_problems(template: str, column: str = "out") -> list[Problem]:
    """Problems of an output folder template: only :data:`_PLACEHOLDERS` may be filled in."""
    allowed = ", ".join("{%s}" % p for p in _PLACEHOLDERS)
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return [_problem(column, f"{template!r}: {exc} (write {{{{ and }}}} for a literal brace; "
                         f"placeholders: {allowed})")]
    return [_problem(column, f"unknown placeholder {{{f}}} in {template!r}; use {allowed}")
            for f in fields if f not in _PLACEHOLDERS]


def _entry_problems(i: int, item) -> list[Problem]:
    where = f"reports[{i + 1}]"
    if not isinstance(item, Mapping):
        return [_problem(where, f"expected a mapping with a name (- name: sales_kpis), got {item!r}")]
    problems = _unknown_keys(item, _ENTRY_KEYS, where + ".")
    if not isinstance(item.get("name"), str) or not item["name"].strip():
        problems.append(_problem(where + ".name", "each report needs a name (see `forecasting report list`)"))
    if "id" in item and not _LABEL.fullmatch(str(item["id"])):
        problems.append(_problem(where + ".id", f"{item['id']!r}: use letters, digits, '_' and '-' only "
                                 "(the id is a folder name)"))
    if not isinstance(item.get("parameters") or {}, Mapping):
        problems.append(_problem(where + ".parameters", "expected a mapping KEY: VALUE, e.g. "
                                 f"parameters: {{as_of: today}}; got {type(item['parameters']).__name__}"))
    return problems


def _check_schedule(config) -> dict:
    """Check the structure of a parsed reports.yaml; return it.

    Raises
    ------
    ReportError
        Listing every problem: unknown keys (with the allowed ones), a missing or
        empty ``reports`` list, entries without a name, ``parameters`` or
        ``defaults`` that are not mappings, unknown ``{placeholders}`` in ``out``.
    """
    if not isinstance(config, Mapping):
        raise ReportError(_problem(None, "expected a mapping with a 'reports' list (see `forecasting report "
                                   f"run --help`), got {type(config).__name__}"))
    problems = _unknown_keys(config, _KEYS)
    reports = config.get("reports")
    if not isinstance(reports, list) or not reports:
        problems.append(_problem("reports", "needs a non-empty list of reports (- name: sales_kpis)"))
    else:
        problems += [p for i, item in enumerate(reports) for p in _entry_problems(i, item)]
    if not isinstance(config.get("defaults") or {}, Mapping):
        problems.append(_problem("defaults", "expected a mapping KEY: VALUE, e.g. defaults: {source: crm.duckdb}"))
    if config.get("out") is not None:
        problems += (_template_problems(config["out"]) if isinstance(config["out"], str)
                     else [_problem("out", "expected a folder, e.g. out: reports/weekly/{as_of}")])
    if problems:
        raise ReportError(problems)
    return dict(config)


def load_schedule(path: str | Path) -> dict:
    """Read and check a reports.yaml (see module docs).

    Raises
    ------
    ReportError
        A missing or unreadable file, invalid YAML (with its line), or any
        problem of its structure (see module docs).
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ReportError(_problem(None, f"config file not found: {path} (pass --config)"))
    try:
        with open(path, encoding="utf-8") as fh:
            config = yaml.safe_load(fh)
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(_problem(None, f"cannot read {path}: {exc}")) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ReportError(_problem(None, f"{path} is not valid YAML{where}: {what}")) from None
    return _check_schedule(config if config is not None else {})


def _value(key: str, value):
    """A YAML value as the notebook parameter takes it: dates as ISO text, a ``map`` given as a
    mapping (or list) as ``"OLD=NEW,..."``."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if key == "map" and isinstance(value, Mapping):
        return ",".join(f"{old}={new}" for old, new in value.items())
    if key == "map" and isinstance(value, list):
        return ",".join(str(pair) for pair in value)
    return value


def _labels(reports: list[dict]) -> list[str]:
    """Each entry's id: given, else its report name; the same twice gets ``_2``, ``_3``..."""
    seen, labels = {}, []
    for item in reports:
        label = str(item.get("id") or item["name"])
        seen[label] = seen.get(label, 0) + 1
        labels.append(label if seen[label] == 1 else f"{label}_{seen[label]}")
    return labels


def _declared(reports: list[dict]) -> dict[str, set[str] | None]:
    """Parameters of each report named in the schedule (None for an unknown report)."""
    declared = {}
    for name in {item["name"] for item in reports}:
        try:
            declared[name] = set(report_parameters(name))
        except ReportError:
            declared[name] = None  # that entry fails alone, with the message of run_report
    return declared


def _plan(config: dict, day: date) -> list[tuple[str, str, dict]]:
    """``(id, report, parameters)`` of every entry: defaults merged, relative dates resolved.

    Raises
    ------
    ReportError
        A default that no report of the schedule takes, or a report that reads data
        without a ``source``.
    """
    reports, defaults = config["reports"], dict(config.get("defaults") or {})
    declared = _declared(reports)
    known = set().union(*(p for p in declared.values() if p is not None))
    problems = [_problem(f"defaults.{key}", f"is not a parameter of any report here; parameters: "
                         f"{', '.join(sorted(known))}") for key in defaults if known and key not in known]
    plan = []
    for i, (label, item) in enumerate(zip(_labels(reports), reports)):
        takes = declared[item["name"]]
        params = {k: v for k, v in defaults.items() if takes is not None and k in takes}
        params.update(item.get("parameters") or {})
        if takes is not None and "source" in takes and "source" not in params:
            problems.append(_problem(f"reports[{i + 1}]", f"{label} has no source: add source: "
                                     "path/to/crm.duckdb under defaults (source: demo for the demo data)"))
        plan.append((label, item["name"], {k: resolve_relative(_value(k, v), day) for k, v in params.items()}))
    if problems:
        raise ReportError(problems)
    return plan


def _folder(template: str, day: date, label: str) -> Path:
    """The output folder of entry ``label``: the template filled in, plus ``/label`` unless it has ``{id}``."""
    fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    folder = Path(template.format(as_of=day.isoformat(), date=day.isoformat(), id=label, name=label))
    return folder if fields & {"id", "name"} else folder / label


def _day(as_of) -> date:
    if not as_of:
        return date.today()
    try:
        return pd.Timestamp(as_of).date()
    except (TypeError, ValueError):
        raise ReportError(_problem("as_of", f"{as_of!r} is not a date (expected e.g. 2026-07-06)")) from None


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
        Output root; overrides the config's ``out``. ``{as_of}`` (or ``{date}``) and
        ``{id}`` (or ``{name}``) are filled in; without ``{id}`` each report gets its
        own folder below it.
    force : bool
        Replace earlier runs in those folders even with other parameters (a re-run
        with the same parameters replaces them anyway).

    Returns
    -------
    list of RunResult
        One per entry, in order, with ``id`` set. Bad parameters of one report
        give a failed result with the message.

    Raises
    ------
    ReportError
        The schedule itself is malformed (see module docs): nothing has run.
    """
    from ..paths import reports_dir

    config = _check_schedule(config) if isinstance(config, Mapping) else load_schedule(config)
    day = _day(as_of)
    template = str(out or config.get("out") or reports_dir() / "{as_of}")
    if out:
        problems = _template_problems(template, "--out")
        if problems:
            raise ReportError(problems)
    results = []
    for label, name, params in _plan(config, day):
        folder = _folder(template, day, label)
        try:
            result = run_report(name, params, folder, force=force)
        except ReportError as err:
            result = RunResult(name, "failed", folder, folder / f"{name}.ipynb", None, folder / "run.json", 0.0,
                               str(err))
        result.id = label
        results.append(result)
    return results
