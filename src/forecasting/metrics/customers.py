"""Customer KPIs of the glossary: acquisition cost, lifetime value, recurring revenue, churn, growth.

Scalar functions with the same conventions as :mod:`.kpis` (numbers, arrays or
Series in; NaN for a zero denominator; ``ValueError`` for a negative count).
"""

from __future__ import annotations

from ._base import _divide, _inputs

__all__ = ["cac", "clv", "churn_rate", "mrr", "revenue_growth"]


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
