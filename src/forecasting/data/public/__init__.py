"""Public datasets mapped onto the canonical tables.

Each adapter reads one public dataset from the shared data folder (see
:func:`shared_data_dir`; never copied into the project) and returns an
:class:`Adapted`: canonical tables plus what a user must know to use them
honestly (leaky columns, synthetic dates, the competition horizon).

========================  =====================  ==========================================
adapter                   tables                 use
========================  =====================  ==========================================
:func:`x_education_leads` leads                  lead scoring (B2C, 38.5% converted)
:func:`bank_marketing`    leads                  lead scoring (telemarketing, 11.3% yes)
:func:`olist_funnel`      leads, closed_deals    lead scoring (MQL -> seller, 4.75%)
:func:`maven_crm`         opportunities          weighted pipeline, win rate, KPIs
:func:`superstore`        revenue, orders        monthly revenue per segment, margins
:func:`m3`                train, test, series    forecast accuracy vs. the M3 competition
:func:`tourism`           train, test, series    many short seasonal series
========================  =====================  ==========================================

Lead and opportunity tables went through :func:`forecasting.data.load_table`,
so they are exactly what the rest of the package expects. Time-series frames
are long ``series, date, amount`` frames (one row per series and period) split
into ``train`` and ``test`` the way the competitions did.

Examples
--------
>>> from forecasting.data.public import maven_crm    # doctest: +SKIP
>>> crm = maven_crm()                                   # doctest: +SKIP
>>> crm["opportunities"].status.value_counts()          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .base import ENV_VAR, LEAKY_TABLE, Adapted, shared_data_dir


from .leads_datasets import bank_marketing, x_education_leads
from .m3 import m3, m3_monthly
from .maven_crm import maven_crm
from .olist import olist_funnel
from .superstore import superstore
from .tourism import tourism

__all__ = [
    "Adapted",
    "ADAPTERS",
    "ENV_VAR",
    "LEAKY_TABLE",
    "shared_data_dir",
    "x_education_leads",
    "bank_marketing",
    "olist_funnel",
    "maven_crm",
    "superstore",
    "m3",
    "m3_monthly",
    "tourism",
]

ADAPTERS: Mapping[str, Callable[..., Adapted]] = {
    "x_education": x_education_leads,
    "bank_marketing": bank_marketing,
    "olist": olist_funnel,
    "maven_crm": maven_crm,
    "superstore": superstore,
    "m3": m3,
    "tourism": tourism,
}
"""Adapter per short name, e.g. for a ``forecasting data public NAME`` command."""
