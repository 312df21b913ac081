"""The tables of a synthetic CRM's sales organisation, shared by the demo and every zoo world.

:func:`org_tables` turns a generator's reps, deals and accounts into ``team``,
``targets``, ``forecast_calls`` and ``survey``, plus the truth behind them:
``call_truth`` (each rep's call ``behaviour``, ``bias`` and ``noise_sd``) and
``activity_truth`` (each rep's ``effort``, the expected activity attainment).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .calls import call_truth, forecast_calls
from .common import text_column
from .survey import survey_table
from .team import VP, SalesOrg, targets_table, team_table

ORG_TABLES = ("team", "forecast_calls", "targets", "survey")
ORG_TRUTH = ("call_truth", "activity_truth")


def org_tables(rng, org: SalesOrg, *, deals: dict, customers: dict, start: float, end: float,
               optimists=None) -> dict[str, pd.DataFrame]:
    """The organisation's tables (:data:`ORG_TABLES`) and their truth (:data:`ORG_TRUTH`).

    Parameters
    ----------
    rng : numpy Generator
    org : SalesOrg
    deals : dict
        Per deal, as it eventually happens: ``owner`` (rep code), ``created``,
        ``closed`` (float days), ``won`` (bool), ``amount``.
    customers : dict
        ``account`` (ids), ``since`` and ``churned`` (float days, NaN: still a customer).
    start, end : float
        First and last day of the window (float days).
    optimists : ndarray of bool, optional
        Reps that must call optimistically (a world whose reps inflate amounts).
    """
    truth = call_truth(rng, org, optimists)
    people = [*org.reps, *org.managers, VP]
    effort = np.r_[org.effort, np.ones(len(org.managers) + 1)]
    return {
        "team": team_table(org),
        "forecast_calls": forecast_calls(rng, org, truth, deals, start, end),
        "targets": targets_table(org),
        "survey": survey_table(rng, **customers, people=people, effort=effort, end=end),
        "call_truth": truth,
        "activity_truth": pd.DataFrame({"owner": text_column(org.reps), "effort": org.effort}),
    }
