"""What every report notebook does first: read its tables from one SOURCE, resolve its defaults.

A report runs on any source (DESIGN.md, *Reports*): the parameters ``source``,
``stages``, ``map`` and ``date_format`` say how to read it, and every date
parameter left empty is resolved from the data, never from the demo:

- ``as_of``: the last date in the data (:func:`resolve_as_of`);
- ``period``: the period still open at the end of ``as_of`` (:func:`resolve_period`);
- backtest ranges: the last complete periods before ``as_of`` (:func:`resolve_backtest_periods`).

An optional table that the source lacks (or that has no rows) is ``None`` in
:class:`ReportData`, with one sentence saying what to add; a section that needs it
prints that sentence instead of failing. The resolved values go to ``resolved.json``
(:func:`record_resolved`), which the runner copies into run.json.

>>> from forecasting.reports.context import load_report_data, resolve_as_of
>>> data = load_report_data("demo", ["opportunities", "leads"])      # doctest: +SKIP
>>> resolve_as_of("", data)                                          # doctest: +SKIP
'2026-06-30'
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..data import DataError, Problem, Stages, load_table
from ..data.embedded import resolve_source
from ..data.io import list_tables, parse_source, write_text
from ..data.schema import TABLES
# Period defaults live with the other period rules; re-exported for the notebooks.
from ..pipeline.snapshot import BACKTEST_PERIODS, resolve_backtest_periods, resolve_period
from ..formatting import money, percent  # re-exported: notebooks import their helpers from one place

__all__ = [
    "ReportData",
    "parse_map",
    "load_stages",
    "load_report_data",
    "show_by_row",
    "KPI_LABELS",
    "KPI_THEMES",
    "last_date",
    "resolve_as_of",
    "resolve_period",
    "resolve_backtest_periods",
    "library_default",
    "record_resolved",
    "money",
    "percent",
    "show",
    "BACKTEST_PERIODS",
]

_DAY = pd.Timedelta(days=1)
_EMPTY = "is empty: no rows"  # the validator's message for a table without rows
# Date columns that say when something happened (an open deal's close_date is a plan, not an event).
_EVENT_DATES = {
    "opportunities": ("created_at",),
    "stage_history": ("entered_at",),
    "activities": ("occurred_at",),
    "leads": ("created_at", "converted_at"),
}
_PURPOSE = {
    "opportunities": "deals, pipeline and win rates",
    "stage_history": "exact as-of snapshots and the funnel of past stages",
    "leads": "lead conversion, response time and attribution",
    "activities": "the activity report and lead response time",
    "revenue": "the revenue history",
    "spend": "customer acquisition cost (CAC)",
    "quotas": "quota attainment and pipeline coverage",
    "accounts": "churn",
    "team": "KPIs per team, manager and territory, and the roll-up of the forecast call",
    "forecast_calls": "the weekly forecast call: the roll-up, each rep's track record and the combined forecast",
    "targets": "activity targets and their attainment per rep",
    "survey": "NPS and eNPS",
}
# Columns of the side tables the metrics read as they are (they have no canonical schema).
_EXTRA_COLUMNS = {
    "spend": ("month", "source", "amount"),
    "quotas": ("period", "owner", "quota"),
    "accounts": ("account_id", "customer_since", "churned_at"),
}


def _columns_of(kind: str) -> tuple[str, ...]:
    if kind in _EXTRA_COLUMNS:
        return _EXTRA_COLUMNS[kind]
    return TABLES[kind].required if kind in TABLES else ()


def _add_table(kind: str, source: str) -> str:
    columns = ", ".join(_columns_of(kind))
    article = "an" if kind[0] in "aeiou" else "a"
    return f"Add {article} {kind} table ({columns}) to the source {source} for {_PURPOSE.get(kind, kind)}."


@dataclass
class ReportData:
    """The tables of one SOURCE for a report, and why the missing ones are missing.

    Attributes
    ----------
    source : str
        The SOURCE as the user gave it.
    stages : Stages
        The funnel the tables were checked against.
    tables : dict of str to DataFrame or None
        Canonical tables by kind; ``None`` when the source lacks the table or it has no rows.
    notes : dict of str to str
        For each missing table, one sentence on what to add.
    """

    source: str
    stages: Stages
    tables: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> pd.DataFrame | None:
        return self.tables.get(kind)

    def missing(self, kind: str, columns: Iterable[str] = ()) -> str:
        """One sentence on what to add for a section that needs ``kind`` (and ``columns``); "" if nothing.

        Examples
        --------
        >>> data = ReportData("crm.duckdb", Stages(), {"leads": pd.DataFrame({"lead_id": ["1"]})})
        >>> data.missing("leads", ["source"])
        'Add a source column to the leads table (or map yours with map="Your column=source").'
        >>> data.missing("leads")
        ''
        """
        frame = self.tables.get(kind)
        if frame is None:
            return self.notes.get(kind) or _add_table(kind, self.source)
        absent = [c for c in columns if c not in frame.columns or frame[c].isna().all()]
        if not absent:
            return ""
        names = ", ".join(absent)
        noun = "column" if len(absent) == 1 else "columns"
        return (f"Add a {names} {noun} to the {kind} table "
                f"(or map yours with map=\"Your column={absent[0]}\").")


def parse_map(text: str | Mapping[str, str] | None) -> dict[str, str]:
    """The ``map`` parameter ``"Deal Id=opportunity_id,Amt=amount"`` as ``{old: new}``.

    Examples
    --------
    >>> parse_map("Deal Id=opportunity_id, Amt=amount")
    {'Deal Id': 'opportunity_id', 'Amt': 'amount'}
    >>> parse_map("")
    {}
    """
    if isinstance(text, Mapping):
        return dict(text)
    mapping, bad = {}, []
    for pair in (text or "").split(","):
        if not pair.strip():
            continue
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            bad.append(pair.strip())
            continue
        mapping[old.strip()] = new.strip()
    if bad:
        raise DataError(Problem("map", None, "expected OLD=NEW pairs separated by commas, e.g. "
                                "map=\"Deal Id=opportunity_id,Amt=amount\"", bad))
    return mapping


def load_stages(stages: str | os.PathLike | Stages | None) -> Stages:
    """The ``stages`` parameter: a stages YAML path, or "" for the default stages.

    Examples
    --------
    >>> load_stages("").open[0]
    'Prospecting'
    """
    if isinstance(stages, Stages):
        return stages
    return Stages.from_config(stages) if stages else Stages()


def _tables_in(source: str) -> set[str] | None:
    """Table names of a database SOURCE; None when the SOURCE is one table (a file, a named table)."""
    src = parse_source(resolve_source(source))
    if src.table or src.query or src.kind not in ("duckdb", "sql"):
        return None
    return list_tables(src)


def _load_one(kind: str, source: str, mapping: dict, date_format: str, check_kwargs: dict) -> pd.DataFrame:
    kwargs = dict(check_kwargs)
    if date_format:  # else the format is detected per column
        kwargs["date_format"] = date_format
    return load_table(kind, source, mapping, **kwargs)


def _read_extra(kind: str, source: str) -> pd.DataFrame:
    from ..data import read_source

    return read_source(source, table=kind, kind=kind)


def _is_empty(err: DataError, kind: str) -> bool:
    return all(p.table == kind and p.message == _EMPTY for p in err.problems)


def load_report_data(
    source: str,
    kinds: Iterable[str],
    *,
    optional: Iterable[str] = (),
    stages: str | os.PathLike | Stages | None = "",
    map: str | Mapping[str, str] | None = "",  # noqa: A002 - the report parameter's name
    date_format: str = "",
    check_kwargs: Mapping[str, dict] | None = None,
) -> ReportData:
    """Read a report's tables from one SOURCE, each validated as the CLI validates it.

    Parameters
    ----------
    source : str
        ``demo``, ``path.duckdb``, a SQLAlchemy URL, or one file / ``path.duckdb:table``
        holding the report's first table only.
    kinds : iterable of str
        Tables the report needs; the first one is its main table. Canonical kinds
        (``opportunities``, ``stage_history``, ``leads``, ``activities``, ``revenue``)
        are validated; ``spend``, ``quotas``, ``accounts`` are read as they are.
    optional : iterable of str
        Those of ``kinds`` the report can do without: missing or empty, they are
        ``None`` with a note on what to add. Any other table missing is an error.
    stages : str, path or Stages
        Stages YAML; "" for the default stages.
    map : str or mapping
        Column renames, ``"Deal Id=opportunity_id,Amt=amount"``.
    date_format : str
        A strptime format for every date column; "" detects the format per column.
    check_kwargs : mapping of str to dict, optional
        Extra :func:`~forecasting.data.load_table` keywords per kind (``allow_short``...).

    Returns
    -------
    ReportData

    Raises
    ------
    DataError
        A required table is missing, or any table has bad rows (table, column, row ids).
    """
    kinds, optional = list(kinds), set(optional)
    stages_ = load_stages(stages)
    mapping = parse_map(map)
    present = _tables_in(source)
    data = ReportData(str(source), stages_)
    for i, kind in enumerate(kinds):
        one_file = present is None
        if (one_file and i > 0) or (not one_file and kind not in present):
            if kind not in optional:
                where = "the source holds one table" if one_file else f"tables: {', '.join(sorted(present))}"
                raise DataError(Problem(kind, None, f"not found in {source} ({where}); "
                                        + _add_table(kind, source)))
            data.tables[kind], data.notes[kind] = None, _add_table(kind, source)
            continue
        try:
            where = source if one_file else _with_table(source, kind)
            data.tables[kind] = _read_table(kind, where, data, mapping, date_format, check_kwargs or {})
        except DataError as err:
            if kind not in optional or not _is_empty(err, kind):
                raise
            data.tables[kind] = None
            data.notes[kind] = f"The {kind} table of {source} has no rows. " + _add_table(kind, source)
    return data


def _read_table(kind, source, data, mapping, date_format, check_kwargs) -> pd.DataFrame:
    if kind in _EXTRA_COLUMNS:
        frame = _read_extra(kind, source)
        if not len(frame):
            raise DataError(Problem(kind, None, _EMPTY))
        return frame
    kwargs = dict(check_kwargs.get(kind, {}))
    if kind in ("opportunities", "stage_history"):
        kwargs["stages"] = data.stages
    if kind == "stage_history" and data["opportunities"] is not None:
        kwargs["opportunities"] = data["opportunities"]
    return _load_one(kind, source, mapping, date_format, kwargs)


def _with_table(source: str, kind: str) -> str:
    text = os.fspath(source)
    return f"{text}#{kind}" if "://" in text else f"{text}:{kind}"


def _event_dates(kind: str, frame: pd.DataFrame) -> list[pd.Series]:
    """Date columns of ``frame`` that record events; a revenue period counts up to its last day."""
    if kind == "revenue":
        from ..data import infer_frequency

        dates = pd.DatetimeIndex(frame["date"].dropna().unique()).sort_values()
        freq, _ = infer_frequency(dates)
        if freq and freq.endswith("S"):  # period starts: the period runs to the day before the next start
            ends = pd.DatetimeIndex([d + pd.tseries.frequencies.to_offset(freq) for d in dates]) - _DAY
            return [pd.Series(ends)]
        return [frame["date"]]
    columns = list(_EVENT_DATES.get(kind, ()))
    if kind == "opportunities" and "status" in frame.columns:  # a closed deal's close_date did happen
        return [frame[c] for c in columns if c in frame.columns] + [
            frame.loc[frame["status"].isin(["won", "lost"]), "close_date"]]
    return [frame[c] for c in columns if c in frame.columns]


def last_date(data: ReportData | Mapping[str, pd.DataFrame | None]) -> pd.Timestamp:
    """The last day on which anything in the tables happened (a deal created or closed, a stage
    entered, an activity, a lead, the end of the last revenue period).

    Examples
    --------
    >>> opps = pd.DataFrame({"created_at": pd.to_datetime(["2025-01-05", "2025-02-01"]),
    ...                      "close_date": pd.to_datetime(["2025-03-10", "2025-09-30"]),
    ...                      "status": ["won", "open"]})
    >>> last_date({"opportunities": opps})      # the open deal's close date is only planned
    Timestamp('2025-03-10 00:00:00')
    >>> revenue = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=6, freq="MS"), "amount": 1.0})
    >>> last_date({"revenue": revenue})         # June's revenue runs to June 30
    Timestamp('2024-06-30 00:00:00')
    """
    tables = data.tables if isinstance(data, ReportData) else data
    found = [s.max() for kind, frame in tables.items() if frame is not None and len(frame)
             for s in _event_dates(kind, frame) if s.notna().any()]
    if not found:
        raise DataError(Problem("as_of", None, "the tables hold no dates: pass as_of, e.g. as_of=2026-06-30"))
    return max(pd.Timestamp(t).tz_localize(None) if pd.Timestamp(t).tzinfo else pd.Timestamp(t)
               for t in found).normalize()


def resolve_as_of(as_of: str, data: ReportData | Mapping[str, pd.DataFrame | None]) -> str:
    """``as_of`` as given, or the last date in the data (ISO ``YYYY-MM-DD``).

    Examples
    --------
    >>> resolve_as_of("2026-03-31", {})
    '2026-03-31'
    """
    if as_of:
        try:
            return str(pd.Timestamp(as_of).date())
        except (TypeError, ValueError):
            raise DataError(Problem("as_of", None, f"{as_of!r} is not a date (expected e.g. 2026-06-30)")) from None
    return str(last_date(data).date())


def library_default(function, name: str):
    """The default of ``function``'s parameter ``name``: reports and the CLI share it.

    Examples
    --------
    >>> library_default(resolve_period, "freq")
    'Q'
    """
    return inspect.signature(function).parameters[name].default


# Column names (the glossary's and the outputs') shown as whole dollars / as percentages in tables.
MONEY_COLUMNS = frozenset({
    "amount", "revenue_won", "avg_deal_size", "pipeline_created", "open_pipeline", "pipeline_velocity",
    "closed_won", "weighted", "new_deals", "expected", "p10", "p50", "p90", "commit", "best_case",
    "expected_value", "value_at_risk", "quota", "target", "spend", "cac", "clv", "acv", "commission",
    "profit_won", "mean", "lo_80", "hi_80", "lo_95", "hi_95", "actual", "revenue_won_lead",
    "revenue_per_rep", "revenue_per_activity", "mrr", "arr",
})
RATE_COLUMNS = frozenset({
    "win_rate", "close_ratio", "conversion_rate", "churn_rate", "attainment", "probability", "p_win", "prior",
    "observed", "wape", "bias", "coverage_80", "coverage_95", "weight", "cumulative", "conversion",
    "conversion_to_next", "win_rate_shrunk", "profit_margin", "share", "capture_top20",
    "revenue_growth", "upsell_rate", "cross_sell_rate", "activity_response_rate", "activity_completion_rate",
    "response_rate", "completion_rate",
})
COUNT_COLUMNS = frozenset({"deals_won", "deals_lost", "sales_volume", "activities"})

# The glossary names of the kpi_table columns (docs/kpis.md), in the order reports show them.
KPI_LABELS = {
    "deals_won": "deals won", "win_rate": "win rate", "close_ratio": "close ratio", "revenue_won": "revenue won",
    "avg_deal_size": "average deal size", "sales_cycle_days": "sales cycle (days, mean)",
    "acv": "ACV (mean)", "profit_margin": "profit margin", "sales_volume": "sales volume (units)",
    "pipeline_created": "pipeline created", "pipeline_coverage": "pipeline coverage (of quota)",
    "gap_coverage": "gap coverage (of quota left)", "pipeline_velocity": "pipeline velocity (per day)",
    "attainment": "quota attainment", "revenue_growth": "revenue growth", "revenue_per_rep": "revenue per rep",
    "revenue_per_activity": "revenue per activity", "upsell_rate": "upsell rate", "cross_sell_rate": "cross-sell rate",
    "conversion_rate": "lead conversion rate", "lead_response_minutes_mean": "lead response (minutes, mean)",
    "lead_response_minutes_median": "lead response (minutes, median)", "persistence": "touches per lead (mean)",
    "activities": "activities", "activity_response_rate": "activity response rate",
    "activity_completion_rate": "meetings and demos held",
    "activity_duration_minutes_mean": "activity duration (minutes, mean)", "cac": "CAC",
    "churn_rate": "churn rate", "clv": "CLV", "clv_cac_ratio": "CLV:CAC", "cac_payback_months": "CAC payback (months)",
    "mrr": "MRR", "arr": "ARR", "nps": "NPS", "enps": "eNPS", "commission": "commission",
}
# Three tables, by theme, so each stays a readable summary.
_LEAD_KPIS = ["conversion_rate", "lead_response_minutes_mean", "lead_response_minutes_median", "persistence",
             "activities", "activity_response_rate", "activity_completion_rate", "activity_duration_minutes_mean"]
_CUSTOMER_KPIS = ["cac", "churn_rate", "clv", "clv_cac_ratio", "cac_payback_months", "mrr", "arr", "nps", "enps"]
KPI_THEMES = {"Deals, pipeline and reps": [c for c in KPI_LABELS if c not in _LEAD_KPIS + _CUSTOMER_KPIS],
          "Leads and activities": _LEAD_KPIS, "Customers": _CUSTOMER_KPIS}


def show(frame: pd.DataFrame, money: Iterable[str] | str = (), rates: Iterable[str] = (), digits: int = 2):
    """A table for sales leaders: whole dollars, rates as %, other numbers rounded, blanks for NaN.

    Columns named in :data:`MONEY_COLUMNS` / :data:`RATE_COLUMNS` are formatted
    without being listed; ``money="all"`` makes every numeric column money (a
    frame of series by quarter, say). Returns a pandas ``Styler`` (its HTML is
    what the report shows); the frame itself is left unchanged.

    Examples
    --------
    >>> frame = pd.DataFrame({"revenue_won": [1234.5], "win_rate": [0.25], "deals": [3.0], "x": [float("nan")]})
    >>> show(frame).format_index().data.equals(frame)
    True
    """
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    money = set(numeric) if money == "all" else (set(money) | MONEY_COLUMNS) & set(numeric)
    rates = (set(rates) | RATE_COLUMNS) & set(numeric) - money
    formats = {c: ("${:,.0f}" if c in money else "{:.1%}" if c in rates else f"{{:,.{digits}f}}")
               for c in numeric if not pd.api.types.is_integer_dtype(frame[c]) or c in money}
    # Dates without a time of day read as dates (2026-07-31, not 2026-07-31 00:00:00).
    formats.update({c: "{:%Y-%m-%d}" for c in frame.columns if _whole_days(frame[c])})
    return frame.style.format(formats, na_rep="")


def show_by_row(frame: pd.DataFrame, labels: dict | None = None):
    """A table whose rows are KPIs (periods as columns), each row formatted as its KPI: money,
    %, a count or a number; ``labels`` names the rows (the frame itself is left unchanged).

    Examples
    --------
    >>> table = pd.DataFrame({"2025Q1": [0.25, 1234.5]}, index=["win_rate", "revenue_won"])
    >>> "25.0%" in show_by_row(table).to_html() and "$1,234" in show_by_row(table).to_html()
    True
    """
    styler = frame.style.format("{:,.2f}", na_rep="")
    for formats, keys in (("${:,.0f}", MONEY_COLUMNS), ("{:.1%}", RATE_COLUMNS), ("{:,.0f}", COUNT_COLUMNS)):
        rows = [k for k in frame.index if k in keys]
        if rows:
            styler = styler.format(formats, subset=pd.IndexSlice[rows, :], na_rep="")
    labels = labels or {}
    return styler.format_index(lambda key: labels.get(key, key), axis=0)


def _whole_days(values: pd.Series) -> bool:
    if not pd.api.types.is_datetime64_any_dtype(values):
        return False
    stamps = values.dropna()
    return bool((stamps == stamps.dt.normalize()).all())


def _plain(value):
    if isinstance(value, (pd.Timestamp, pd.Period)):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def record_resolved(out_dir: str, values: Mapping) -> Path | None:
    """Write every resolved parameter value to ``{out_dir}/resolved.json``; nothing when ``out_dir`` is "".

    Examples
    --------
    >>> import json, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = record_resolved(folder, {"as_of": "2026-06-30", "n_sims": 10_000})
    >>> json.loads(path.read_text())["n_sims"]
    10000
    >>> record_resolved("", {"as_of": "2026-06-30"}) is None
    True
    """
    if not out_dir:
        return None
    text = json.dumps({k: _plain(v) for k, v in values.items()}, indent=2, sort_keys=True, default=str)
    return write_text(Path(out_dir) / "resolved.json", text + "\n")
