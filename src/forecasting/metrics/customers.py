"""Customer KPIs of the glossary: acquisition cost, lifetime value, recurring revenue, churn, growth, NPS.

Scalar functions with the same conventions as :mod:`.kpis` (numbers, arrays or
Series in; NaN for a zero denominator; ``ValueError`` for a negative count).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._base import _divide, _inputs, _part_of, _refuse

__all__ = ["cac", "clv", "churn_rate", "mrr", "arr", "revenue_growth", "clv_cac_ratio", "cac_payback_months", "nps",
           "nps_groups"]


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


def arr(mrr):
    """Annual recurring revenue: twelve months of monthly recurring revenue.

    ``arr = 12 * mrr``.

    Parameters
    ----------
    mrr : float, array-like or Series
        Monthly recurring revenue (:func:`mrr`).

    Returns
    -------
    float, ndarray or Series

    Examples
    --------
    >>> arr(10_000)
    120000.0
    """
    (monthly,), restore = _inputs("arr", ("mrr",), mrr=mrr)
    return restore(12 * monthly)


def clv_cac_ratio(clv, cac):
    """CLV:CAC ratio: lifetime value earned per unit of acquisition cost.

    ``clv_cac_ratio = clv / cac``; 3.0 reads "3:1", the usual healthy mark.

    Parameters
    ----------
    clv, cac : float, array-like or Series
        Customer lifetime value (:func:`clv`) and acquisition cost (:func:`cac`).

    Returns
    -------
    float, ndarray or Series
        NaN when CAC is zero.

    Examples
    --------
    >>> clv_cac_ratio(4_000, 1_000)
    4.0
    """
    (value, cost), restore = _inputs("clv_cac_ratio", ("cac",), clv=clv, cac=cac)
    return restore(_divide(value, cost))


def cac_payback_months(cac, monthly_revenue_per_customer, gross_margin=1.0):
    """CAC payback: months of a new customer's gross margin that pay back its acquisition cost.

    ``cac_payback_months = cac / (monthly_revenue_per_customer * gross_margin)``.

    Parameters
    ----------
    cac : float, array-like or Series
        Acquisition cost per new customer (:func:`cac`).
    monthly_revenue_per_customer : float, array-like or Series
        A new customer's revenue per month.
    gross_margin : float, array-like or Series, default 1.0
        Gross margin as a fraction (1.0 counts revenue, not margin).

    Returns
    -------
    float, ndarray or Series
        NaN when the monthly margin is zero.

    Examples
    --------
    A $1,200 CAC, $200 a month at a 50% margin:

    >>> cac_payback_months(1_200, 200, 0.5)
    12.0
    """
    (cost, monthly, margin), restore = _inputs(
        "cac_payback_months", ("cac", "monthly_revenue_per_customer"), ("gross_margin",),
        cac=cac, monthly_revenue_per_customer=monthly_revenue_per_customer, gross_margin=gross_margin)
    return restore(_divide(cost, monthly * margin))


def nps(promoters, detractors, respondents):
    """Net promoter score: percent promoters minus percent detractors, from -100 to 100.

    ``nps = 100 * (promoters - detractors) / respondents``. On the 0-10 "would you
    recommend" scale promoters answer 9-10, passives 7-8 and detractors 0-6
    (:func:`nps_groups`). eNPS is the same score from employees.

    Parameters
    ----------
    promoters, detractors, respondents : float, array-like or Series
        Counts of answers 9-10, of answers 0-6 and of all answers.

    Returns
    -------
    float, ndarray or Series
        NaN when nobody answered.

    Examples
    --------
    50 promoters, 30 passives and 20 detractors:

    >>> nps(50, 20, 100)
    30.0
    """
    (pro, det, n), restore = _inputs("nps", ("promoters", "detractors", "respondents"),
                                     promoters=promoters, detractors=detractors, respondents=respondents)
    _part_of("nps", pro + det, n, "promoters + detractors", "respondents")
    return restore(100 * _divide(pro - det, n))


def nps_groups(scores) -> pd.Series:
    """The NPS group of each 0-10 score: ``promoter`` (9-10), ``passive`` (7-8), ``detractor`` (0-6).

    Parameters
    ----------
    scores : array-like or Series
        Answers on the 0-10 scale; NaN stays NaN.

    Returns
    -------
    Series

    Raises
    ------
    ValueError
        A score outside 0-10.

    Examples
    --------
    >>> nps_groups([10, 8, 3]).tolist()
    ['promoter', 'passive', 'detractor']
    """
    values = pd.Series(scores, dtype=float)
    _refuse("nps_groups", "scores", values.to_numpy(), ((values < 0) | (values > 10)).to_numpy(), "must be 0 to 10")
    groups = np.select([values >= 9, values >= 7, values >= 0], ["promoter", "passive", "detractor"], "")
    return pd.Series(groups, index=values.index, dtype=object).where(values.notna())
