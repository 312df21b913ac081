"""NPS-style survey answers of a synthetic CRM: customers (NPS) and employees (eNPS).

A sample of customer accounts (about 300) answers once or twice between their
first win and their churn (or "today"): ``score`` is a latent satisfaction
``N(7.4, 1.8)``, 2 points lower for accounts that churn, rounded into 0..10.
Every rep, manager and the VP answers an eNPS survey in the middle of each of
the last eight quarters: ``N(7.0, 1.8)`` plus 3 points times the rep's effort
above 1. ``respondent_id`` is the ``account_id`` or the ``owner``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import month_index, month_start, text_column, to_datetime

N_CUSTOMERS = 300
N_QUARTERS = 8


def survey_table(rng, *, account, since, churned, people, effort, end: float) -> pd.DataFrame:
    """``survey``: customer answers, then employee answers, each in order of time.

    Parameters
    ----------
    account : ndarray of str
        Customer account ids.
    since, churned : ndarray of float
        First win and churn (NaN when still a customer) of each account, float days.
    people : sequence of str
        Team members answering the eNPS survey.
    effort : ndarray of float
        Effort of each member (1 for managers).
    end : float
        "Today" (float days).
    """
    pick = rng.choice(len(account), size=min(N_CUSTOMERS, len(account)), replace=False)
    twice = rng.random(len(pick)) < 0.3
    who = np.concatenate([pick, pick[twice]])
    stop = np.where(np.isfinite(churned[who]), churned[who], end + 1.0)
    at = since[who] + rng.random(len(who)) * np.maximum(stop - since[who], 0.0)
    mood = rng.normal(7.4, 1.8, len(pick))[np.concatenate([np.arange(len(pick)), np.flatnonzero(twice)])]
    score = mood - 2.0 * np.isfinite(churned[who]) + rng.normal(0.0, 0.7, len(who))
    customers = _answers(account[who], at, score, "customer")
    last_q = month_index(np.array([end]))[0]
    quarters = last_q - last_q % 3 - 3 * np.arange(N_QUARTERS)[::-1]
    mid = month_start(quarters + 1) + 14.0 + 10.0 / 24.0
    n = len(people)
    staff = rng.normal(7.0, 1.8, (N_QUARTERS, n)) + 3.0 * (np.asarray(effort) - 1.0)
    staff_at = np.repeat(mid, n) + rng.uniform(0.0, 5.0, N_QUARTERS * n)
    employees = _answers(np.tile(people, N_QUARTERS), staff_at, staff.ravel(), "employee")
    return pd.concat([customers, employees], ignore_index=True)


def _answers(who, at, score, kind: str) -> pd.DataFrame:
    order = np.argsort(at, kind="stable")
    return pd.DataFrame({
        "respondent_id": text_column(np.asarray(who)[order]),
        "answered_at": to_datetime(np.asarray(at)[order]),
        "score": np.clip(np.round(np.asarray(score)[order]), 0, 10).astype(float),
        "kind": text_column(np.full(len(order), kind)),
    })
