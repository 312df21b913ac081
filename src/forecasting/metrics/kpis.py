"""Sales KPIs of the glossary as scalar functions: deals, pipeline and reps.

Each takes numbers, numpy arrays or pandas Series (elementwise, by position) and
returns a float, an array or a Series. A zero denominator gives NaN, not an
exception; a negative count or amount raises ``ValueError``. The tables
(:func:`~forecasting.metrics.kpi_table`...) count events and call these, so a rate
in a table is exactly the scalar definition applied to the counts beside it.
The customer KPIs (CAC, CLV, MRR, churn, NPS) are in :mod:`.customers`.
"""

from __future__ import annotations

import numpy as np

from ._base import _divide, _inputs, _part_of

__all__ = [
    "win_rate",
    "close_ratio",
    "conversion_rate",
    "acv",
    "commission",
    "profit_margin",
    "average_deal_size",
    "pipeline_coverage",
    "gap_coverage",
    
    "pipeline_velocity",
    "attainment",
    "upsell_rate",
    "cross_sell_rate",
    "activity_response_rate",
    "activity_completion_rate",
    "persistence",
    "sales_productivity",
]


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
    return _share("close_ratio", won, opportunities, "won", "opportunities")


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
    return _share("conversion_rate", converted, leads, "converted", "leads")


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


def gap_coverage(pipeline, target, won):
    """Gap coverage: open pipeline per unit of the quota still to win.

    ``gap_coverage = pipeline / (target - won)``, with ``won`` the revenue already won
    in the period. Mid-period this says whether the pipeline left can close the gap;
    :func:`pipeline_coverage` divides by the whole target instead.

    Parameters
    ----------
    pipeline : float, array-like or Series
        Amount of the open deals expected to close in the period.
    target : float, array-like or Series
        The period's target or quota.
    won : float, array-like or Series
        Revenue won so far in the period.

    Returns
    -------
    float, ndarray or Series
        NaN when the target is already met (nothing left to cover).

    Examples
    --------
    $600,000 of pipeline, a $300,000 quota of which $100,000 is won:

    >>> gap_coverage(600_000, 300_000, 100_000)
    3.0
    """
    (pipeline, target, won), restore = _inputs("gap_coverage", ("pipeline", "target", "won"),
                                               pipeline=pipeline, target=target, won=won)
    gap = target - won
    return restore(_divide(pipeline, np.where(gap > 0, gap, 0.0)))


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



def _share(kpi: str, part, whole, part_name: str, whole_name: str):
    """``part / whole`` for a count that is a subset of another (a rate between 0 and 1)."""
    (part, whole), restore = _inputs(kpi, (part_name, whole_name), **{part_name: part, whole_name: whole})
    _part_of(kpi, part, whole, part_name, whole_name)
    return restore(_divide(part, whole))


def upsell_rate(upsells, opportunities):
    """Upsell rate: the share of opportunities that sell an existing customer more of a product it has.

    ``upsell_rate = upsells / opportunities``; an upsell is an opportunity on an account
    that already won a deal for the same product (compare :func:`cross_sell_rate`).

    Parameters
    ----------
    upsells, opportunities : float, array-like or Series
        Upsell opportunities and all opportunities.

    Returns
    -------
    float, ndarray or Series
        NaN when there were no opportunities.

    Examples
    --------
    >>> upsell_rate(5, 40)
    0.125
    """
    return _share("upsell_rate", upsells, opportunities, "upsells", "opportunities")


def cross_sell_rate(cross_sells, opportunities):
    """Cross-sell rate: the share of opportunities that sell an existing customer a product it has not got.

    ``cross_sell_rate = cross_sells / opportunities``; a cross-sell is an opportunity on an
    account that already won a deal, for a product it never won (compare :func:`upsell_rate`).

    Parameters
    ----------
    cross_sells, opportunities : float, array-like or Series

    Returns
    -------
    float, ndarray or Series
        NaN when there were no opportunities.

    Examples
    --------
    >>> cross_sell_rate(10, 40)
    0.25
    """
    return _share("cross_sell_rate", cross_sells, opportunities, "cross_sells", "opportunities")


def activity_response_rate(responded, activities):
    """Activity response rate: the share of activities (emails, calls) that got a response.

    ``activity_response_rate = responded / activities``, over activities whose
    ``responded`` flag is known.

    Parameters
    ----------
    responded, activities : float, array-like or Series

    Returns
    -------
    float, ndarray or Series
        NaN when there were no activities.

    Examples
    --------
    >>> activity_response_rate(12, 60)
    0.2
    """
    return _share("activity_response_rate", responded, activities, "responded", "activities")


def activity_completion_rate(completed, activities):
    """Activity completion rate: the share of scheduled meetings or demos that took place.

    ``activity_completion_rate = completed / activities``, over activities whose
    ``completed`` flag is known.

    Parameters
    ----------
    completed, activities : float, array-like or Series

    Returns
    -------
    float, ndarray or Series
        NaN when there were no activities.

    Examples
    --------
    >>> activity_completion_rate(9, 12)
    0.75
    """
    return _share("activity_completion_rate", completed, activities, "completed", "activities")


def persistence(touches, leads):
    """Persistence: mean touches (activities) per lead before it converted or was dropped.

    ``persistence = touches / leads``: a **mean** over the leads.

    Parameters
    ----------
    touches : float, array-like or Series
        Activities on the leads, up to their conversion (or up to now for the others).
    leads : float, array-like or Series

    Returns
    -------
    float, ndarray or Series
        NaN when there were no leads.

    Examples
    --------
    30 touches on 8 leads:

    >>> persistence(30, 8)
    3.75
    """
    (touches, leads), restore = _inputs("persistence", ("touches", "leads"), touches=touches, leads=leads)
    return restore(_divide(touches, leads))


def sales_productivity(revenue_won, per):
    """Sales productivity: revenue won per rep (or per activity) in a period.

    ``sales_productivity = revenue_won / per``, with ``per`` the number of reps who sold
    or worked in the period (``revenue_per_rep``) or the activities they logged
    (``revenue_per_activity``).

    Parameters
    ----------
    revenue_won : float, array-like or Series
    per : float, array-like or Series
        Reps or activities.

    Returns
    -------
    float, ndarray or Series
        NaN when ``per`` is zero.

    Examples
    --------
    $600,000 won by 4 reps:

    >>> sales_productivity(600_000, 4)
    150000.0
    """
    (revenue, per), restore = _inputs("sales_productivity", ("revenue_won", "per"), revenue_won=revenue_won, per=per)
    return restore(_divide(revenue, per))
