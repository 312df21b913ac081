"""Sales KPIs of the glossary: one definition each, for numbers and for period tables.

Two layers share the same definitions:

* **scalar KPIs** (:func:`win_rate`, :func:`close_ratio`, :func:`acv`, ...) take
  numbers, numpy arrays or pandas Series (elementwise, by position) and return a
  float, an array or a Series. A zero denominator gives NaN, not an exception;
  a negative count or amount raises ``ValueError``;
* **tables** (:func:`kpi_table`, :func:`activity_report`, :func:`lead_response_times`,
  :func:`funnel_report`) count events per period and group in the canonical
  frames and then call the scalar KPIs, so a rate in a table is exactly the
  scalar definition applied to the counts beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ..data.schema import Stages
from ..data.validate import parse_dates

__all__ = [
    "win_rate",
    "close_ratio",
    "conversion_rate",
    "acv",
    "churn_rate",
    "commission",
    "profit_margin",
    "average_deal_size",
    "pipeline_coverage",
    "pipeline_velocity",
    "cac",
    "clv",
    "revenue_growth",
    "mrr",
    "attainment",
    "kpi_table",
    "KPI_COLUMNS",
    "activity_report",
    "lead_response_times",
    "funnel_report",
    "lead_attribution",
    "last_complete_period",
]

# ---------------------------------------------------------------------------
# Scalar KPIs
# ---------------------------------------------------------------------------


def _inputs(kpi: str, nonnegative=(), fractions=(), **values) -> tuple[list[np.ndarray], Callable]:
    """Check the arguments of ``kpi``; return them as float arrays and a function
    that gives the result back in the caller's type (float, array or Series)."""
    index = None
    arrays: dict[str, np.ndarray] = {}
    for name, value in values.items():
        if isinstance(value, pd.Series):
            index = value.index if index is None else index
            value = value.to_numpy(dtype=float, na_value=np.nan)
        try:
            arrays[name] = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{kpi}: {name} must be a number, got {value!r}") from exc
    for name in nonnegative:
        _refuse(kpi, name, arrays[name], arrays[name] < 0, "must be >= 0")
    for name in fractions:
        a = arrays[name]
        _refuse(kpi, name, a, (a < 0) | (a > 1), "must be a fraction between 0 and 1 (0.15 for 15%)")
    scalar = all(a.ndim == 0 for a in arrays.values())

    def restore(out):
        if scalar:
            return float(out)
        if index is not None and np.ndim(out) == 1 and len(out) == len(index):
            return pd.Series(out, index=index, name=kpi)
        return out

    return list(arrays.values()), restore


def _refuse(kpi: str, name: str, values: np.ndarray, bad: np.ndarray, rule: str) -> None:
    if np.any(bad):
        first = np.broadcast_to(values, np.shape(bad))[bad].flat[0]
        raise ValueError(f"{kpi}: {name} {rule}, got {first:g}")


def _part_of(kpi: str, part: np.ndarray, whole: np.ndarray, part_name: str, whole_name: str) -> None:
    _refuse(kpi, part_name, part, part > whole, f"cannot exceed {whole_name}")


def _divide(numerator, denominator) -> np.ndarray:
    """Elementwise ratio with NaN (not inf, not an exception) where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(numerator, denominator)
    return np.where(np.asarray(denominator) == 0, np.nan, out)


def win_rate(won, lost):
    """Win rate: the share of closed deals that were won.

    ``win_rate = won / (won + lost)``. Only closed deals count; open deals are
    neither wins nor losses (compare :func:`close_ratio`).

    Parameters
    ----------
    won, lost : float, array-like or Series
        Numbers of deals closed won and closed lost.

    Returns
    -------
    float, ndarray or Series
        Between 0 and 1; NaN when no deal closed.

    Examples
    --------
    Three deals won and seven lost:

    >>> win_rate(3, 7)
    0.3
    """
    (won, lost), restore = _inputs("win_rate", ("won", "lost"), won=won, lost=lost)
    return restore(_divide(won, won + lost))


def close_ratio(won, opportunities):
    """Close ratio: the share of all opportunities that were won.

    ``close_ratio = won / opportunities``, where the opportunities include the
    ones lost and the ones still open (compare :func:`win_rate`).

    Parameters
    ----------
    won : float, array-like or Series
        Opportunities won.
    opportunities : float, array-like or Series
        All opportunities worked, won or not.

    Returns
    -------
    float, ndarray or Series
        Between 0 and 1; NaN when there were no opportunities.

    Examples
    --------
    Five deals won out of fifty opportunities:

    >>> close_ratio(5, 50)
    0.1
    """
    (won, opps), restore = _inputs("close_ratio", ("won", "opportunities"), won=won, opportunities=opportunities)
    _part_of("close_ratio", won, opps, "won", "opportunities")
    return restore(_divide(won, opps))


def conversion_rate(converted, leads):
    """Conversion rate: the share of leads that converted.

    ``conversion_rate = converted / leads``.

    Parameters
    ----------
    converted : float, array-like or Series
        Leads that converted (became an opportunity or a customer, as your label says).
    leads : float, array-like or Series
        All leads.

    Returns
    -------
    float, ndarray or Series
        Between 0 and 1; NaN when there were no leads.

    Examples
    --------
    Fifteen of a hundred leads converted:

    >>> conversion_rate(15, 100)
    0.15
    """
    (conv, leads), restore = _inputs("conversion_rate", ("converted", "leads"), converted=converted, leads=leads)
    _part_of("conversion_rate", conv, leads, "converted", "leads")
    return restore(_divide(conv, leads))


def acv(total_contract_value, years):
    """Annual contract value: a contract's value per year.

    ``acv = total_contract_value / years``.

    Parameters
    ----------
    total_contract_value : float, array-like or Series
        Value of the whole contract.
    years : float, array-like or Series
        Contract length in years (18 months is 1.5).

    Returns
    -------
    float, ndarray or Series
        NaN for a zero-length contract.

    Examples
    --------
    A $100,000 contract over four years:

    >>> acv(100_000, 4)
    25000.0
    """
    (tcv, years), restore = _inputs("acv", ("total_contract_value", "years"),
                                    total_contract_value=total_contract_value, years=years)
    return restore(_divide(tcv, years))


def churn_rate(customers_lost, customers_at_start):
    """Churn rate: the share of the customers at the start of a period lost during it.

    ``churn_rate = customers_lost / customers_at_start``.

    Parameters
    ----------
    customers_lost : float, array-like or Series
        Customers who left during the period.
    customers_at_start : float, array-like or Series
        Customers at the start of the period.

    Returns
    -------
    float, ndarray or Series
        NaN when there were no customers at the start.

    Examples
    --------
    Eight of the hundred customers at the start of the quarter left:

    >>> churn_rate(8, 100)
    0.08
    """
    (lost, start), restore = _inputs("churn_rate", ("customers_lost", "customers_at_start"),
                                     customers_lost=customers_lost, customers_at_start=customers_at_start)
    return restore(_divide(lost, start))


def commission(amount, rate):
    """Commission: the rep's share of a sale.

    ``commission = amount * rate``.

    Parameters
    ----------
    amount : float, array-like or Series
        Sale amount (revenue won).
    rate : float, array-like or Series
        Commission rate as a fraction: 0.15 for 15%.

    Returns
    -------
    float, ndarray or Series

    Examples
    --------
    A 15% commission on a $100,000 deal:

    >>> commission(100_000, 0.15)
    15000.0
    """
    (amount, rate), restore = _inputs("commission", ("amount",), ("rate",), amount=amount, rate=rate)
    return restore(amount * rate)


def profit_margin(profit, revenue):
    """Profit margin: profit as a share of revenue.

    ``profit_margin = profit / revenue``. A loss (negative profit) gives a
    negative margin.

    Parameters
    ----------
    profit : float, array-like or Series
        Revenue minus costs.
    revenue : float, array-like or Series

    Returns
    -------
    float, ndarray or Series
        NaN when revenue is zero.

    Examples
    --------
    A $500 profit on $2,000 of revenue:

    >>> profit_margin(500, 2_000)
    0.25
    """
    (profit, revenue), restore = _inputs("profit_margin", ("revenue",), profit=profit, revenue=revenue)
    return restore(_divide(profit, revenue))


def average_deal_size(revenue_won, deals_won):
    """Average deal size: revenue won per deal won.

    ``average_deal_size = revenue_won / deals_won``.

    Parameters
    ----------
    revenue_won : float, array-like or Series
        Total amount of the deals won.
    deals_won : float, array-like or Series
        Number of deals won.

    Returns
    -------
    float, ndarray or Series
        NaN when no deal was won.

    Examples
    --------
    >>> average_deal_size(150_000, 3)
    50000.0
    """
    (revenue, deals), restore = _inputs("average_deal_size", ("revenue_won", "deals_won"),
                                        revenue_won=revenue_won, deals_won=deals_won)
    return restore(_divide(revenue, deals))


def pipeline_coverage(pipeline, target):
    """Pipeline coverage: open pipeline per unit of target (quota).

    ``pipeline_coverage = pipeline / target``; 3.0 reads "3x coverage".

    Parameters
    ----------
    pipeline : float, array-like or Series
        Amount of the open deals expected to close in the period.
    target : float, array-like or Series
        The period's target or quota.

    Returns
    -------
    float, ndarray or Series
        NaN when the target is zero.

    Examples
    --------
    $900,000 of pipeline against a $300,000 quota:

    >>> pipeline_coverage(900_000, 300_000)
    3.0
    """
    (pipeline, target), restore = _inputs("pipeline_coverage", ("pipeline", "target"),
                                          pipeline=pipeline, target=target)
    return restore(_divide(pipeline, target))


def pipeline_velocity(opportunities, average_deal_size, win_rate, sales_cycle_days):
    """Pipeline velocity: revenue the pipeline turns into per day.

    ``pipeline_velocity = opportunities * average_deal_size * win_rate / sales_cycle_days``.

    Parameters
    ----------
    opportunities : float, array-like or Series
        Number of open opportunities.
    average_deal_size : float, array-like or Series
        Average amount of a won deal.
    win_rate : float, array-like or Series
        Share of closed deals won, between 0 and 1.
    sales_cycle_days : float, array-like or Series
        Average days from opportunity creation to close.

    Returns
    -------
    float, ndarray or Series
        Revenue per day; NaN for a zero-day sales cycle.

    Examples
    --------
    40 open deals of $25,000 on average, a 25% win rate and a 50-day cycle:

    >>> pipeline_velocity(40, 25_000, 0.25, 50)
    5000.0
    """
    (n, deal, win, cycle), restore = _inputs(
        "pipeline_velocity", ("opportunities", "average_deal_size", "sales_cycle_days"), ("win_rate",),
        opportunities=opportunities, average_deal_size=average_deal_size, win_rate=win_rate,
        sales_cycle_days=sales_cycle_days,
    )
    return restore(_divide(n * deal * win, cycle))


def cac(spend, new_customers):
    """Customer acquisition cost: sales and marketing spend per new customer.

    ``cac = spend / new_customers``.

    Parameters
    ----------
    spend : float, array-like or Series
        Sales and marketing spend of the period.
    new_customers : float, array-like or Series
        Customers won in the period.

    Returns
    -------
    float, ndarray or Series
        NaN when no customer was won.

    Examples
    --------
    >>> cac(50_000, 10)
    5000.0
    """
    (spend, new), restore = _inputs("cac", ("spend", "new_customers"), spend=spend, new_customers=new_customers)
    return restore(_divide(spend, new))


def clv(average_revenue_per_customer, gross_margin, churn_rate):
    """Customer lifetime value: the gross margin a customer brings over their lifetime.

    ``clv = average_revenue_per_customer * gross_margin / churn_rate``, with revenue
    and churn per the same period (a customer stays ``1 / churn_rate`` periods on average).

    Parameters
    ----------
    average_revenue_per_customer : float, array-like or Series
        Revenue per customer per period (ARPA).
    gross_margin : float, array-like or Series
        Gross margin as a fraction, between 0 and 1.
    churn_rate : float, array-like or Series
        Share of customers lost per period, between 0 and 1.

    Returns
    -------
    float, ndarray or Series
        NaN when churn is zero (no finite lifetime).

    Examples
    --------
    $100 a month at an 80% margin with 2% monthly churn:

    >>> clv(100, 0.8, 0.02)
    4000.0
    """
    (arpa, margin, churn), restore = _inputs(
        "clv", ("average_revenue_per_customer",), ("gross_margin", "churn_rate"),
        average_revenue_per_customer=average_revenue_per_customer, gross_margin=gross_margin,
        churn_rate=churn_rate,
    )
    return restore(_divide(arpa * margin, churn))


def revenue_growth(current, previous):
    """Revenue growth: change of revenue relative to the previous period.

    ``revenue_growth = (current - previous) / previous``.

    Parameters
    ----------
    current, previous : float, array-like or Series
        Revenue of this period and of the period compared with.

    Returns
    -------
    float, ndarray or Series
        NaN when the previous revenue is zero.

    Examples
    --------
    >>> revenue_growth(120_000, 100_000)
    0.2
    """
    (current, previous), restore = _inputs("revenue_growth", ("current", "previous"),
                                           current=current, previous=previous)
    return restore(_divide(current - previous, previous))


def mrr(customers, average_revenue_per_customer):
    """Monthly recurring revenue: paying customers times their average monthly fee.

    ``mrr = customers * average_revenue_per_customer``.

    Parameters
    ----------
    customers : float, array-like or Series
        Paying customers in the month.
    average_revenue_per_customer : float, array-like or Series
        Recurring revenue per customer per month (ARPA).

    Returns
    -------
    float, ndarray or Series

    Examples
    --------
    >>> mrr(200, 50)
    10000.0
    """
    (n, arpa), restore = _inputs("mrr", ("customers", "average_revenue_per_customer"),
                                 customers=customers, average_revenue_per_customer=average_revenue_per_customer)
    return restore(n * arpa)


def attainment(revenue_won, quota):
    """Quota attainment: revenue won as a share of quota.

    ``attainment = revenue_won / quota``; 1.0 means the quota was met.

    Parameters
    ----------
    revenue_won, quota : float, array-like or Series

    Returns
    -------
    float, ndarray or Series
        NaN when the quota is zero.

    Examples
    --------
    >>> attainment(270_000, 300_000)
    0.9
    """
    (revenue, quota), restore = _inputs("attainment", ("revenue_won", "quota"), revenue_won=revenue_won, quota=quota)
    return restore(_divide(revenue, quota))


# ---------------------------------------------------------------------------
# Period tables
# ---------------------------------------------------------------------------

TOTAL_GROUP = _ALL = "all"  # the total row's group label: reserved (see group_labels)
_NO_GROUP = "(none)"
_FREQS = {"Q": "Q", "M": "M", "Y": "Y", "A": "Y"}
_DAY = pd.Timedelta(days=1)

KPI_COLUMNS = (
    "win_rate", "close_ratio", "deals_won", "deals_lost", "revenue_won", "avg_deal_size",
    "sales_cycle_days", "pipeline_created", "pipeline_coverage", "pipeline_velocity", "conversion_rate",
)
"""The KPI columns :func:`kpi_table` always returns (DESIGN.md, ``kpis.csv``), after ``period, group``."""

_COUNTS = ("deals_won", "deals_lost", "opportunities_created", "open_opportunities", "leads_created",
           "leads_converted", "activities", "new_customers", "active_customers", "churned_customers")


def _freq(freq: str) -> str:
    key = str(freq).upper()
    if key not in _FREQS:
        raise ValueError(f"freq must be 'Q' (quarter), 'M' (month) or 'Y' (year), got {freq!r}")
    return _FREQS[key]


def _ids(frame: pd.DataFrame, mask, id_column: str | None) -> list[str]:
    mask = np.asarray(mask, dtype=bool)
    if id_column and id_column in frame.columns:
        return frame[id_column].to_numpy()[mask].astype(str).tolist()
    return [f"row {n + 1}" for n in np.flatnonzero(mask)]


def _table(frame, table: str, required, dates=(), id_column: str | None = None, numbers=()) -> pd.DataFrame:
    """A frame with the ``required`` columns, its ``dates`` as datetime64 and its ``numbers``
    as finite floats, or a DataError."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{table} must be a pandas DataFrame, got {type(frame).__name__}", table=table)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns[:20]))
        raise DataError([problem(table, c, f"is a required column but is missing; columns are: {have}")
                         for c in missing])
    twice = frame.columns[frame.columns.duplicated()]
    if len(twice):
        raise DataError([problem(table, str(twice[0]), "appears more than once in the header")])
    fixed = {}
    for column in dates:
        if column not in frame.columns or frame[column].dtype == "datetime64[ns]":
            continue
        parsed = parse_dates(frame[column])
        bad = parsed.isna() & frame[column].notna()
        if bad.any():
            raise DataError([problem(table, column, "has values that are not dates", _ids(frame, bad, id_column))])
        fixed[column] = parsed
    for column in numbers:
        parsed = pd.to_numeric(frame[column], errors="coerce").astype(float)
        bad = (parsed.isna() & frame[column].notna()) | np.isinf(parsed)
        if bad.any():
            raise DataError([problem(table, column, "has values that are not numbers", _ids(frame, bad, id_column))])
        fixed[column] = parsed
    return frame.assign(**fixed) if fixed else frame


def _group_key(frame: pd.DataFrame, by: str) -> pd.Series:
    """Group labels as strings; missing ones form their own group so groups add up to the total."""
    if "_group" in frame.columns:  # computed once by _with_groups
        return frame["_group"]
    values = frame[by].astype(object)
    return group_labels(values.where(values.notna(), _NO_GROUP), by)


def group_labels(values: pd.Series, by: str) -> pd.Series:
    """Group labels as strings that cannot be mistaken for the total row (``"all"``).

    A real group named ``all`` is renamed ``all (<by>)`` with a :class:`DataWarning`,
    so tables with a total row (``kpis``, ``pipeline forecast``) keep one ``all`` row.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     group_labels(pd.Series(["all", "SMB"]), "segment").tolist()
    ['all (segment)', 'SMB']
    """
    labels = values.astype(str)
    clash = labels == _ALL
    if clash.any():
        import warnings

        from ..data.validate import DataWarning

        renamed = f"{_ALL} ({by})"
        warnings.warn(f"{by} has a group named {_ALL!r} ({int(clash.sum())} rows), the name of the total row: "
                      f"it is reported as {renamed!r}", DataWarning, stacklevel=3)
        labels = labels.where(~clash, renamed)
    return labels


def _with_groups(frame: pd.DataFrame | None, by) -> pd.DataFrame | None:
    """``frame`` with its group labels cached in ``_group`` (they are used many times)."""
    if frame is None or by is None or by not in frame.columns:
        return frame
    return frame.assign(_group=_group_key(frame, by))


def _tally(frame, when, panel: pd.MultiIndex, by, *, value=None, how="count") -> pd.Series:
    """Aggregate ``frame`` by the period of column ``when`` and by group, on the rows of ``panel``.

    ``how`` is "count", "sum", "mean" or "median". Counts and sums are 0 where nothing
    happened. Group rows are NaN when ``frame`` has no ``by`` column (it cannot be split).
    """
    freq = panel.levels[0].freq
    dates = frame[when]
    period = dates if isinstance(dates.dtype, pd.PeriodDtype) else dates.dt.to_period(freq)
    data = pd.Series(1.0, index=frame.index) if value is None else frame[value].astype(float)
    agg = "sum" if how == "count" else how
    split = by is not None and by in frame.columns
    total = data.groupby(period.rename("period")).agg(agg)
    pieces = [pd.Series(total.to_numpy(), index=pd.MultiIndex.from_arrays(
        [total.index, np.full(len(total), _ALL, dtype=object)], names=["period", "group"]))]
    if split:
        pieces.append(data.groupby([period.rename("period"), _group_key(frame, by).rename("group")]).agg(agg))
    out = pd.concat(pieces).reindex(panel)
    if how in ("count", "sum"):
        fillable = (panel.get_level_values("group") == _ALL) | split
        out = out.where(out.notna() | ~fillable, 0.0)
    return out


def _stock(frame, begin: str, end: str, panel: pd.MultiIndex, by) -> pd.Series:
    """Rows alive at the start of each period: ``begin`` before the start and ``end``
    missing or not before it (open deals, active customers)."""
    periods = pd.PeriodIndex(panel.get_level_values("period").unique())
    starts = periods.start_time.to_numpy().astype("datetime64[ns]")
    parts = [(_ALL, frame)]
    if by is not None and by in frame.columns:
        parts += list(frame.groupby(_group_key(frame, by), sort=False))
    alive = {}
    for name, part in parts:
        began = np.sort(part[begin].dropna().to_numpy().astype("datetime64[ns]"))
        ended = np.sort(part[end].dropna().to_numpy().astype("datetime64[ns]"))
        alive[name] = np.searchsorted(began, starts, "left") - np.searchsorted(ended, starts, "left")
    names = list(alive)
    index = pd.MultiIndex.from_product([periods, names], names=["period", "group"])
    values = np.column_stack([alive[name] for name in names]).ravel()  # period-major, like the index
    out = pd.Series(values.astype(float), index=index).reindex(panel)
    if by is not None and by in frame.columns:
        out = out.fillna(0.0)  # a group with no rows has nothing alive
    return out


def _before_period(frame, early: str, late: str, freq: str) -> pd.Series:
    """Whether ``early`` falls before the start of the period that holds ``late``."""
    start = frame[late].dt.to_period(freq).dt.start_time
    return frame[early].astype("datetime64[ns]") < start.astype("datetime64[ns]")


def _spread(frame, column: str, value: str, freq: str, table: str) -> pd.DataFrame:
    """Rows with a ``_period`` column at ``freq``: dates fall in their period, period labels
    ("2026Q3", "2026-07") longer than ``freq`` are split evenly over the periods they cover."""
    dates = frame[column]
    if pd.api.types.is_datetime64_any_dtype(dates):
        return frame.assign(_period=dates.dt.to_period(freq))
    if dates.isna().any():
        raise DataError([problem(table, column, "is missing a period (like 2026Q3 or 2026-07)",
                                 _ids(frame, dates.isna(), None))])
    labels = dates.astype(str)
    pieces = []
    for label in labels.unique():
        try:
            p = pd.Period(label)
            if p is pd.NaT:  # "", "nan", "NaT" as text
                raise ValueError(label)
        except (TypeError, ValueError):
            rows = _ids(frame, labels == label, None)
            raise DataError([problem(table, column, f"has {label!r}, not a period like 2026Q3 or 2026-07",
                                     rows)]) from None
        covered = pd.period_range(p.start_time.to_period(freq), p.end_time.to_period(freq), freq=freq)
        rows = frame[labels == label]
        for q in covered:
            pieces.append(rows.assign(_period=q, **{value: rows[value].astype(float) / len(covered)}))
    return pd.concat(pieces) if pieces else frame.assign(_period=pd.Series(dtype=f"period[{freq}]"))


def _flag(series: pd.Series) -> pd.Series:
    """0/1 labels (bool, numbers, yes/no) as booleans; anything else is False."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.fillna(0).astype(float) == 1
    return series.astype(str).str.strip().str.lower().isin({"1", "1.0", "yes", "y", "true", "t"})


def _prepare_opportunities(opportunities, by) -> pd.DataFrame:
    required = ["opportunity_id", "amount", "created_at", "close_date", "status"] + ([by] if by else [])
    opps = _table(opportunities, "opportunities", required, ("created_at", "close_date"), "opportunity_id")
    if opps.empty:
        raise DataError([problem("opportunities", None, "is empty: no rows")])
    status = opps["status"].astype(str).str.strip().str.lower()
    checks = [
        ("status", ~status.isin(["open", "won", "lost"]), "has values other than open / won / lost"),
        ("amount", opps["amount"].isna() | (opps["amount"] < 0), "is missing or negative"),
        ("created_at", opps["created_at"].isna(), "is missing a date"),
        ("close_date", status.isin(["won", "lost"]) & opps["close_date"].isna(), "is missing for closed deals"),
        ("close_date", status.isin(["won", "lost"]) & (opps["close_date"] < opps["created_at"]),
         "is before created_at"),
    ]
    problems = [problem("opportunities", col, msg, _ids(opps, bad, "opportunity_id"))
                for col, bad, msg in checks if bad.any()]
    if problems:
        raise DataError(problems)
    return opps.assign(status=status, amount=opps["amount"].astype(float))


def _until(as_of, opps, leads, activities) -> pd.Timestamp:
    """The last instant counted: ``as_of`` (a bare date counts its whole day) or else
    the latest event in the data (expected closes of open deals are not events)."""
    if as_of is not None:
        stamp = pd.Timestamp(as_of)
        return stamp + _DAY - pd.Timedelta(1, "ns") if stamp == stamp.normalize() else stamp
    events = [opps["created_at"], opps.loc[opps["status"] != "open", "close_date"]]
    events += [leads["created_at"]] if leads is not None else []
    events += [activities["occurred_at"]] if activities is not None else []
    return max(e.max() for e in events if e.notna().any())


def _deal_kpis(opps, panel, by, freq) -> dict[str, pd.Series]:
    won = opps[opps["status"] == "won"]
    lost = opps[opps["status"] == "lost"]
    cycle = (won["close_date"] - won["created_at"]).dt.total_seconds() / 86_400
    closed_end = opps["close_date"].where(opps["status"] != "open")
    ahead = opps[_before_period(opps, "created_at", "close_date", freq)]
    cols = {
        "deals_won": _tally(won, "close_date", panel, by),
        "deals_lost": _tally(lost, "close_date", panel, by),
        "revenue_won": _tally(won, "close_date", panel, by, value="amount", how="sum"),
        "sales_cycle_days": _tally(won.assign(_cycle=cycle), "close_date", panel, by, value="_cycle", how="mean"),
        "pipeline_created": _tally(opps, "created_at", panel, by, value="amount", how="sum"),
        "opportunities_created": _tally(opps, "created_at", panel, by),
        "cohort_won": _tally(won, "created_at", panel, by),
        "open_opportunities": _stock(opps.assign(_end=closed_end), "created_at", "_end", panel, by),
        "open_pipeline": _tally(ahead, "close_date", panel, by, value="amount", how="sum"),
    }
    if "contract_months" in opps.columns:
        per_deal = acv(won["amount"], won["contract_months"].astype(float) / 12)
        cols["acv"] = _tally(won.assign(_acv=per_deal), "close_date", panel, by, value="_acv", how="mean")
    if "profit" in opps.columns or "cost" in opps.columns:
        profit = won["profit"] if "profit" in won.columns else won["amount"] - won["cost"]
        cols["profit_won"] = _tally(won.assign(_profit=profit.astype(float)), "close_date", panel, by,
                                    value="_profit", how="sum")
        cols["profit_margin"] = profit_margin(cols["profit_won"], cols["revenue_won"])
    cols["win_rate"] = win_rate(cols["deals_won"], cols["deals_lost"])
    cols["close_ratio"] = close_ratio(cols.pop("cohort_won"), cols["opportunities_created"])
    cols["avg_deal_size"] = average_deal_size(cols["revenue_won"], cols["deals_won"])
    cols["pipeline_velocity"] = pipeline_velocity(cols["open_opportunities"], cols["avg_deal_size"],
                                                  cols["win_rate"], cols["sales_cycle_days"])
    return cols


def _lead_kpis(leads, activities, panel, by, until) -> dict[str, pd.Series]:
    converted = _flag(leads["converted"]) if "converted" in leads.columns else leads["converted_at"].notna()
    if "converted_at" in leads.columns:
        converted &= ~(leads["converted_at"] > until)  # converted after as_of: not yet
    cols = {
        "leads_created": _tally(leads, "created_at", panel, by),
        "leads_converted": _tally(leads[converted.to_numpy()], "created_at", panel, by),
    }
    cols["conversion_rate"] = conversion_rate(cols["leads_converted"], cols["leads_created"])
    if activities is not None and "lead_id" in activities.columns:
        minutes = lead_response_times(leads, activities).to_numpy()
        cols["lead_response_minutes"] = _tally(leads.assign(_minutes=minutes), "created_at", panel, by,
                                               value="_minutes", how="median")
    return cols


def _customer_kpis(opps, accounts, panel, by, freq) -> dict[str, pd.Series]:
    if accounts is None:
        if "account_id" not in opps.columns:
            return {}
        # Without an accounts table a new customer is an account's first won deal.
        first = opps[opps["status"] == "won"].sort_values("close_date").drop_duplicates("account_id")
        return {"new_customers": _tally(first, "close_date", panel, by)}
    stayed = accounts[accounts["customer_since"].notna()]
    churned = stayed[stayed["churned_at"].notna()]
    # Churn counts only customers there at the start, so it stays within 0..1.
    churned = churned[_before_period(churned, "customer_since", "churned_at", freq)]
    cols = {
        "new_customers": _tally(stayed, "customer_since", panel, by),
        "active_customers": _stock(stayed, "customer_since", "churned_at", panel, by),
        "churned_customers": _tally(churned, "churned_at", panel, by),
    }
    cols["churn_rate"] = churn_rate(cols["churned_customers"], cols["active_customers"])
    return cols


def _prepare_accounts(accounts, until) -> pd.DataFrame:
    accounts = _table(accounts, "accounts", ["account_id", "customer_since"],
                      ("customer_since", "churned_at"), "account_id")
    if "churned_at" not in accounts.columns:
        accounts = accounts.assign(churned_at=pd.NaT)
    accounts = accounts[~(accounts["customer_since"] > until)]
    return accounts.assign(churned_at=accounts["churned_at"].where(~(accounts["churned_at"] > until)))


def _targets(target, panel) -> pd.Series:
    """The coverage target of the total rows: a number for every period or a mapping
    ``{"2026Q3": 1e6}``; group rows (and everything, without a target) get NaN."""
    if target is None:
        return pd.Series(np.nan, index=panel)
    periods = panel.get_level_values("period")
    is_total = panel.get_level_values("group") == _ALL
    if isinstance(target, (Mapping, pd.Series)):
        labels = {str(k): float(v) for k, v in dict(target).items()}
        values = np.array([labels.get(str(p), np.nan) for p in periods])
    else:
        values = np.full(len(panel), float(target))
    return pd.Series(np.where(is_total, values, np.nan), index=panel)


def kpi_table(
    opportunities: pd.DataFrame,
    leads: pd.DataFrame | None = None,
    activities: pd.DataFrame | None = None,
    *,
    freq: str = "Q",
    by: str | None = None,
    spend: pd.DataFrame | None = None,
    quotas: pd.DataFrame | None = None,
    accounts: pd.DataFrame | None = None,
    target: float | Mapping | pd.Series | None = None,
    as_of=None,
    commission_rate: float | None = None,
) -> pd.DataFrame:
    """Sales KPIs per period (and per owner or segment) from canonical tables.

    One row per period for the total (``group == "all"``) and, with ``by``, one
    row per period and group value. A period P runs from its first instant to the
    next period's; "at the start of P" means before that first instant.

    Definitions, from the opportunities:

    - ``deals_won``, ``deals_lost``: deals with status won / lost whose close_date is in P;
    - ``win_rate``: deals_won / (deals_won + deals_lost), deals closed in P (:func:`win_rate`);
    - ``close_ratio``: of the opportunities created in P, the share won by ``as_of``
      (a cohort: recent periods rise as their open deals close) (:func:`close_ratio`);
    - ``revenue_won``: sum of amount of the deals won in P;
    - ``avg_deal_size``: revenue_won / deals_won (:func:`average_deal_size`);
    - ``sales_cycle_days``: **mean** days from created_at to close_date of the deals won in P;
    - ``opportunities_created``, ``pipeline_created``: number and amount of opportunities created in P;
    - ``open_opportunities``: deals open at the start of P (created before it, not closed before it);
    - ``open_pipeline``: amount of the deals open at the start of P whose close_date is in P.
      Without stage history the expected close of a deal closed since is its actual close_date;
    - ``pipeline_coverage``: open_pipeline / target, the target being ``target`` (total rows)
      or else the summed quotas of P; NaN without either (:func:`pipeline_coverage`);
    - ``pipeline_velocity``: open_opportunities x avg_deal_size x win_rate / sales_cycle_days,
      with P's deal size, win rate and cycle: revenue per day (:func:`pipeline_velocity`);
    - ``acv`` (when opportunities have ``contract_months``): mean amount per contract year of
      the deals won in P (:func:`acv`);
    - ``profit_won``, ``profit_margin`` (when opportunities have ``profit`` or ``cost``): profit of
      the deals won in P and its share of revenue_won (:func:`profit_margin`);
    - ``commission`` (with ``commission_rate``): revenue_won x rate (:func:`commission`).

    From the other tables, when given:

    - ``leads_created``, ``leads_converted``, ``conversion_rate``: leads created in P, those of
      them converted (by ``as_of`` when ``converted_at`` is known), and their ratio;
    - ``lead_response_minutes`` (leads and activities with ``lead_id``): median, over the leads
      created in P that were touched, of minutes to the first activity (:func:`lead_response_times`);
    - ``activities``: activities that occurred in P;
    - ``new_customers``: accounts whose ``customer_since`` is in P; without ``accounts``, accounts
      whose first won deal (in the data) closed in P, which overcounts the first periods;
    - ``active_customers``, ``churned_customers``, ``churn_rate`` (``accounts``): customers at the
      start of P, those of them whose ``churned_at`` is in P, and their ratio (:func:`churn_rate`);
    - ``spend``, ``cac`` (``spend``): spend dated in P and spend / new_customers (:func:`cac`);
    - ``quota``, ``attainment`` (``quotas``): the quotas of P and revenue_won / quota (:func:`attainment`).

    A side table without the ``by`` column cannot be split, so its columns are NaN in
    the group rows (e.g. spend by owner). Counts and sums are 0 where nothing happened;
    a ratio with a zero denominator is NaN.

    Parameters
    ----------
    opportunities : DataFrame
        Canonical opportunities (``opportunity_id, amount, created_at, close_date, status``
        at least; ``account_id`` for new customers).
    leads : DataFrame, optional
        Canonical leads with ``converted`` (or ``converted_at``).
    activities : DataFrame, optional
        Canonical activities.
    freq : {"Q", "M", "Y"}
        Period length. Labels are "2025Q3", "2025-07" or "2025".
    by : str, optional
        A column to split by, usually ``"owner"`` or ``"segment"``.
    spend : DataFrame, optional
        ``amount`` and a ``month`` / ``date`` / ``period`` column (dates or labels like 2026Q3).
    quotas : DataFrame, optional
        ``period`` (labels like "2026Q3", or dates), ``quota`` and usually ``owner``. A quota
        longer than ``freq`` is split evenly over its periods; shorter ones are summed.
    accounts : DataFrame, optional
        ``account_id``, ``customer_since``, optional ``churned_at`` and segment.
    target : float or mapping, optional
        Coverage target of the total rows: one number for every period or ``{"2026Q3": 1e6}``.
    as_of : date-like, optional
        Count only events up to this instant (a bare date includes the whole day); deals
        closed later count as open. Default: the latest event in the data.
    commission_rate : float, optional
        Commission paid on won revenue (0.15 for 15 %): adds a ``commission`` column.

    Returns
    -------
    DataFrame
        ``period, group``, then :data:`KPI_COLUMNS`, then the extra columns above;
        sorted by period, then group with ``"all"`` first. Periods run from the first
        created opportunity, lead or activity to ``as_of``.

    Raises
    ------
    DataError
        When a table misses a column it needs, or holds unusable values.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({
    ...     "opportunity_id": ["1", "2", "3"], "owner": ["ann", "bob", "bob"],
    ...     "amount": [100.0, 300.0, 50.0],
    ...     "created_at": pd.to_datetime(["2025-01-10", "2025-02-01", "2025-03-01"]),
    ...     "close_date": pd.to_datetime(["2025-03-01", "2025-03-20", "2025-05-01"]),
    ...     "status": ["won", "lost", "open"]})
    >>> kpis = kpi_table(opps, by="owner", as_of="2025-03-31")
    >>> kpis[["period", "group", "deals_won", "win_rate", "close_ratio"]]
       period group  deals_won  win_rate  close_ratio
    0  2025Q1   all          1       0.5     0.333333
    1  2025Q1   ann          1       1.0     1.000000
    2  2025Q1   bob          0       0.0     0.000000
    """
    freq = _freq(freq)
    opps = _with_groups(_prepare_opportunities(opportunities, by), by)
    if leads is not None:
        leads = _table(leads, "leads", ["lead_id", "created_at"], ("created_at", "converted_at"), "lead_id")
        if "converted" not in leads.columns and "converted_at" not in leads.columns:
            raise DataError([problem("leads", "converted", "is missing: conversion needs the converted label")])
    if activities is not None:
        activities = _table(activities, "activities", ["activity_id", "occurred_at"], ("occurred_at",),
                            "activity_id")
    if spend is not None:
        spend_when = next((c for c in ("month", "date", "period") if c in spend.columns), "month")
        spend = _table(spend, "spend", [spend_when, "amount"], numbers=("amount",))
    if quotas is not None:
        quotas = _table(quotas, "quotas", ["period", "quota"], numbers=("quota",))

    until = _until(as_of, opps, leads, activities)
    # Forget what happened after as_of: later records vanish, later closes are still open.
    opps = opps[opps["created_at"] <= until]
    opps = opps.assign(status=opps["status"].mask(opps["close_date"] > until, "open"))
    leads = None if leads is None else leads[leads["created_at"] <= until]
    activities = None if activities is None else activities[activities["occurred_at"] <= until]
    accounts = None if accounts is None else _prepare_accounts(accounts, until)
    leads, activities, accounts = (_with_groups(f, by) for f in (leads, activities, accounts))
    periods = _periods(freq, until, opps, leads, activities)
    panel = _panel(periods, by, [opps, leads, activities, accounts, quotas, spend])

    cols = _deal_kpis(opps, panel, by, freq)
    if leads is not None:
        cols.update(_lead_kpis(leads, activities, panel, by, until))
    if activities is not None:
        cols["activities"] = _tally(activities, "occurred_at", panel, by)
    cols.update(_customer_kpis(opps, accounts, panel, by, freq))
    if spend is not None:
        spread = _spread(spend, spend_when, "amount", freq, "spend")
        cols["spend"] = _tally(spread, "_period", panel, by, value="amount", how="sum")
        cols["cac"] = cac(cols["spend"], cols["new_customers"])
    if quotas is not None:
        spread = _spread(quotas, "period", "quota", freq, "quotas")
        cols["quota"] = _tally(spread, "_period", panel, by, value="quota", how="sum")
        cols["attainment"] = attainment(cols["revenue_won"], cols["quota"])
    goal = _targets(target, panel)
    if "quota" in cols:
        goal = goal.fillna(cols["quota"])
    cols["pipeline_coverage"] = pipeline_coverage(cols["open_pipeline"], goal)
    if commission_rate is not None:
        cols["commission"] = commission(cols["revenue_won"], commission_rate)
    cols.setdefault("conversion_rate", pd.Series(np.nan, index=panel))
    return _finish(cols, panel)


def _periods(freq, until, opps, leads, activities) -> pd.PeriodIndex:
    """Periods from the first recorded opportunity, lead or activity to ``until``."""
    firsts = [f[c].min() for f, c in ((opps, "created_at"), (leads, "created_at"), (activities, "occurred_at"))
              if f is not None and f[c].notna().any()]
    if not firsts:
        raise DataError([problem("opportunities", "created_at", f"has no records on or before as_of ({until})")])
    return pd.period_range(min(firsts).to_period(freq), until.to_period(freq), freq=freq)


def _panel(periods: pd.PeriodIndex, by, frames) -> pd.MultiIndex:
    """Every period x group: "all" first, then the group values found in any table."""
    groups = set()
    if by is not None:
        for f in frames:
            if f is not None and by in f.columns:
                groups |= set(_group_key(f, by).unique())
    groups.discard(_ALL)
    return pd.MultiIndex.from_product([periods, [_ALL, *sorted(groups)]], names=["period", "group"])


def _finish(cols: dict[str, pd.Series], panel: pd.MultiIndex) -> pd.DataFrame:
    order = list(KPI_COLUMNS) + [c for c in cols if c not in KPI_COLUMNS]
    out = pd.DataFrame({c: cols[c].reindex(panel).to_numpy() for c in order}, index=panel)
    for c in _COUNTS:
        if c in out.columns and out[c].notna().all():
            out[c] = out[c].astype("int64")
    out = out.reset_index()
    out["period"] = out["period"].astype(str)
    out["group"] = out["group"].astype(str)
    return out


def lead_response_times(leads: pd.DataFrame, activities: pd.DataFrame) -> pd.Series:
    """Lead response time: minutes from each lead's creation to its first activity.

    Activities are matched on ``lead_id``; those before the lead was created are
    ignored (they cannot be a response).

    Parameters
    ----------
    leads : DataFrame
        ``lead_id``, ``created_at``.
    activities : DataFrame
        ``lead_id``, ``occurred_at``.

    Returns
    -------
    Series
        Named ``lead_response_minutes``, indexed by ``lead_id`` in the order of
        ``leads``; NaN for a lead never touched.

    Examples
    --------
    >>> import pandas as pd
    >>> leads = pd.DataFrame({"lead_id": ["a", "b"],
    ...                       "created_at": pd.to_datetime(["2025-01-01 09:00", "2025-01-01 10:00"])})
    >>> acts = pd.DataFrame({"lead_id": ["a", "a"],
    ...                      "occurred_at": pd.to_datetime(["2025-01-01 09:30", "2025-01-02 09:00"])})
    >>> lead_response_times(leads, acts).tolist()
    [30.0, nan]
    """
    leads = _table(leads, "leads", ["lead_id", "created_at"], ("created_at",), "lead_id")
    activities = _table(activities, "activities", ["lead_id", "occurred_at"], ("occurred_at",), "activity_id")
    touches = activities.loc[activities["lead_id"].notna(), ["lead_id", "occurred_at"]]
    touches = touches.assign(lead_id=touches["lead_id"].astype(str))
    created = leads[["lead_id", "created_at"]].assign(lead_id=leads["lead_id"].astype(str))
    joined = touches.merge(created.drop_duplicates("lead_id"), on="lead_id")
    joined = joined[joined["occurred_at"] >= joined["created_at"]]
    first = joined.groupby("lead_id")["occurred_at"].min()
    response = pd.Series(first.reindex(created["lead_id"]).to_numpy(), index=created["lead_id"])
    minutes = (response - created["created_at"].to_numpy()).dt.total_seconds() / 60
    return minutes.rename("lead_response_minutes")


def activity_report(activities: pd.DataFrame, *, freq: str = "M", by: str | None = "owner") -> pd.DataFrame:
    """Activity report: activities per period and rep, by type.

    Parameters
    ----------
    activities : DataFrame
        Canonical activities (``activity_id, owner, type, occurred_at``).
    freq : {"M", "Q", "Y"}
        Period length.
    by : str or None
        Column to split by (default ``owner``); None for one row per period.

    Returns
    -------
    DataFrame
        ``period``, the ``by`` column, one count column per activity type (sorted by
        name) and ``total``; every period from the first to the last activity for
        every group, with 0 where nothing happened.

    Examples
    --------
    >>> import pandas as pd
    >>> acts = pd.DataFrame({"activity_id": ["1", "2", "3"], "owner": ["ann", "ann", "bob"],
    ...                      "type": ["call", "email", "call"],
    ...                      "occurred_at": pd.to_datetime(["2025-01-05", "2025-02-07", "2025-01-09"])})
    >>> activity_report(acts)
        period owner  call  email  total
    0  2025-01   ann     1      0      1
    1  2025-01   bob     1      0      1
    2  2025-02   ann     0      1      1
    3  2025-02   bob     0      0      0
    """
    freq = _freq(freq)
    required = ["activity_id", "type", "occurred_at"] + ([by] if by else [])
    activities = _table(activities, "activities", required, ("occurred_at",), "activity_id")
    when = activities["occurred_at"].dropna()
    if when.empty:
        raise DataError([problem("activities", "occurred_at", "has no dated activities")])
    periods = pd.period_range(when.min().to_period(freq), when.max().to_period(freq), freq=freq, name="period")
    period = activities["occurred_at"].dt.to_period(freq).rename("period")
    keys = [period] + ([_group_key(activities, by).rename(by)] if by else [])
    types = activities["type"].astype(object).where(activities["type"].notna(), "unknown").astype(str)
    counts = pd.crosstab(keys, types.rename(None))
    if by:
        full = pd.MultiIndex.from_product([periods, sorted(keys[1].unique())], names=["period", by])
    else:
        full = periods
    counts = counts.reindex(full, fill_value=0).reindex(columns=sorted(types.unique()), fill_value=0)
    counts = counts.astype("int64").assign(total=lambda t: t.sum(axis=1))
    counts.columns.name = None
    out = counts.reset_index()
    out["period"] = out["period"].astype(str)
    return out


def funnel_report(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame | None = None,
    stages: Stages | Mapping | None = None,
) -> pd.DataFrame:
    """Funnel report: how many deals reached each stage, and the stage-to-stage conversion.

    A deal reached a stage if it got to that stage or any later one (deals that skip
    a stage still passed it). Its furthest stage is, in order of preference: the
    furthest stage in ``stage_history``; its current ``stage``; for a lost deal whose
    current stage is the closed-lost stage, the first stage (pass ``stage_history``
    to know where lost deals were lost).

    Parameters
    ----------
    opportunities : DataFrame
        ``opportunity_id``, ``stage``, ``status``.
    stage_history : DataFrame, optional
        ``opportunity_id``, ``stage``.
    stages : Stages or dict, optional
        Stage names in funnel order (default :class:`~forecasting.data.schema.Stages`).

    Returns
    -------
    DataFrame
        One row per open stage and the won stage, in funnel order: ``stage``, ``reached``,
        ``conversion`` (share of the previous stage's deals that reached this one; NaN for
        the first) and ``cumulative`` (share of the first stage's deals).

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["1", "2", "3", "4"],
    ...                      "stage": ["Closed Won", "Demo", "Prospecting", "Negotiation"],
    ...                      "status": ["won", "open", "open", "open"]})
    >>> funnel_report(opps)[["stage", "reached", "conversion"]].round(2)
               stage  reached  conversion
    0    Prospecting        4         NaN
    1  Qualification        3        0.75
    2           Demo        3        1.00
    3       Proposal        2        0.67
    4    Negotiation        2        1.00
    5     Closed Won        1        0.50
    """
    stages = Stages.from_config(stages)
    opps = _table(opportunities, "opportunities", ["opportunity_id", "stage", "status"])
    funnel = [*stages.open, stages.won]
    rank = {name: i for i, name in enumerate(funnel)}
    rank[stages.lost] = -1  # lost without history: only the first stage is known
    unknown = ~opps["stage"].isin(list(rank))
    if unknown.any():
        raise DataError([problem("opportunities", "stage", f"has unknown stages; known: {', '.join(stages.all)}",
                                 _ids(opps, unknown, "opportunity_id"))])
    ids = opps["opportunity_id"].astype(str)
    furthest = pd.Series(opps["stage"].map(rank).clip(lower=0).to_numpy(), index=ids)
    furthest[opps["status"].to_numpy() == "won"] = rank[stages.won]
    if stage_history is not None:
        history = _table(stage_history, "stage_history", ["opportunity_id", "stage"])
        seen = history.assign(_rank=history["stage"].map(rank))
        seen = seen[seen["_rank"] >= 0].groupby(seen["opportunity_id"].astype(str))["_rank"].max()
        furthest = np.maximum(furthest, seen.reindex(furthest.index).fillna(-1)).astype(int)
    reached = np.array([(furthest >= i).sum() for i in range(len(funnel))])
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.r_[np.nan, np.where(reached[:-1] > 0, reached[1:] / np.maximum(reached[:-1], 1), np.nan)]
    return pd.DataFrame({
        "stage": funnel,
        "reached": reached,
        "conversion": step,
        "cumulative": _divide(reached, reached[0]),
    })


def lead_attribution(
    leads: pd.DataFrame,
    activities: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    *,
    by: str = "source",
    touch: str = "first",
) -> pd.DataFrame:
    """Lead attribution report: leads, conversions and won revenue credited to a channel.

    First-touch credits each lead to its own ``by`` attribute (the source or campaign
    that brought it in). Last-touch credits it to the ``type`` of the last activity
    on the lead before it converted (or before now, if it did not), so a channel that
    closes leads shows up even if it did not bring them in. Won revenue comes from
    the won opportunities linked to the lead by ``lead_id``.

    Parameters
    ----------
    leads : DataFrame
        ``lead_id``, ``converted`` and, for first touch, the ``by`` column.
    activities : DataFrame, optional
        ``lead_id``, ``type``, ``occurred_at``; needed for last touch.
    opportunities : DataFrame, optional
        ``lead_id``, ``status``, ``amount``: adds ``deals_won`` and ``revenue_won``.
    by : str
        Lead column credited by first touch (``source``, ``campaign``...).
    touch : {"first", "last"}

    Returns
    -------
    DataFrame
        ``channel, leads, converted, conversion_rate`` (+ ``deals_won, revenue_won``),
        largest revenue (or conversions) first.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["1", "2", "3", "4"], "source": ["web", "web", "event", "event"],
    ...                       "converted": [1, 0, 1, 1]})
    >>> lead_attribution(leads)[["channel", "leads", "converted", "conversion_rate"]]
      channel  leads  converted  conversion_rate
    0   event      2          2              1.0
    1     web      2          1              0.5
    """
    if touch not in ("first", "last"):
        raise ValueError(f"touch must be 'first' or 'last', got {touch!r}")
    leads = leads.assign(converted=_flag(leads["converted"]).astype(int))
    if touch == "first":
        if by not in leads.columns:
            raise DataError([problem("leads", by, "is missing: first-touch attribution needs it")])
        channel = leads[by].astype(object).where(leads[by].notna(), "(none)")
    else:
        if activities is None or "lead_id" not in activities.columns:
            raise DataError([problem("activities", "lead_id", "is needed for last-touch attribution")])
        ends = leads.set_index("lead_id")["converted_at"] if "converted_at" in leads.columns else None
        touches = activities.dropna(subset=["lead_id"])
        if ends is not None:
            end = touches["lead_id"].map(ends)
            touches = touches[end.isna() | (touches["occurred_at"] <= end)]
        last = touches.sort_values("occurred_at").drop_duplicates("lead_id", keep="last")
        channel = leads["lead_id"].map(last.set_index("lead_id")["type"]).fillna("(no touch)")
    frame = leads.assign(channel=channel.astype(str))
    out = frame.groupby("channel").agg(leads=("lead_id", "size"), converted=("converted", "sum"))
    out["conversion_rate"] = conversion_rate(out["converted"], out["leads"])
    sort = "converted"
    if opportunities is not None and "lead_id" in opportunities.columns:
        won = opportunities[opportunities["status"] == "won"].dropna(subset=["lead_id"])
        won = won.assign(channel=won["lead_id"].map(frame.set_index("lead_id")["channel"]))
        deals = won.groupby("channel").agg(deals_won=("opportunity_id", "size"), revenue_won=("amount", "sum"))
        out = out.join(deals).fillna({"deals_won": 0, "revenue_won": 0.0})
        out["deals_won"] = out["deals_won"].astype(int)
        sort = "revenue_won"
    return out.sort_values([sort, "leads"], ascending=False).reset_index()


def last_complete_period(periods, as_of) -> str:
    """The latest of ``periods`` (labels like "2026Q2" or "2026-05") that ended by ``as_of``.

    Examples
    --------
    >>> last_complete_period(["2026Q1", "2026Q2"], "2026-06-30")
    '2026Q2'
    >>> last_complete_period(["2026Q1", "2026Q2"], "2026-06-29")
    '2026Q1'
    """
    cutoff = pd.Timestamp(as_of).normalize() + _DAY
    done = [p for p in periods if pd.Period(str(p)).end_time < cutoff]
    if not done:
        raise ValueError(f"no period in {list(periods)[:3]}... ended by {as_of}")
    return str(done[-1])
