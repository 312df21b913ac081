"""The world zoo's lead processes: each takes ``(rng, n, when in [0, 1])`` and returns the feature
columns and the true conversion logit without its intercept.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .common import WEEKDAY, make_ids, sigmoid, text_column, to_datetime
from .leads import convert
from .process import arrivals, season_weights
from .zoo import WorldSpec


CONVERSION_LAG = 5.0  # scale (days) of the Gamma(2) lag after one day


def _zipf_levels(rng, n: int, n_levels: int, prefix: str, power: float = 1.1) -> tuple[np.ndarray, np.ndarray]:
    p = 1.0 / np.arange(1, n_levels + 1) ** power
    idx = rng.choice(n_levels, size=n, p=p / p.sum())
    return np.char.add(prefix, np.char.zfill(idx.astype(str), 4)), idx


def _pick(rng, names: tuple, n: int, p=None) -> tuple[np.ndarray, np.ndarray]:
    idx = rng.choice(len(names), size=n, p=p)
    return np.array(names)[idx], idx


_CHANNELS = ("web", "paid_search", "referral", "event", "outbound")


def _leads_linear(rng, n, when):
    """Logit linear in (transformed) features."""
    channel, ci = _pick(rng, _CHANNELS, n, [0.35, 0.2, 0.1, 0.15, 0.2])
    visits = rng.poisson(3.0, n)
    employees = np.maximum(np.round(np.exp(rng.normal(np.log(30), 1.2, n))), 1.0)
    score = rng.normal(50, 15, n)
    eta = (0.5 * np.log1p(visits) + 0.03 * (score - 50) + 0.25 * np.log10(employees)
           + np.array([0.0, -0.3, 0.8, 0.2, -0.6])[ci])
    return {"channel": channel, "web_visits": visits, "employees": employees, "fit_score": np.round(score, 1)}, eta


def _leads_interactions(rng, n, when):
    """Seniority x company size (sign flip), trial x usage, channel x region."""
    seniority, si = _pick(rng, ("ic", "manager", "director", "vp", "c_level"), n, [0.35, 0.3, 0.18, 0.1, 0.07])
    log_size = rng.normal(2.5, 0.8, n)
    trial = rng.random(n) < 0.4
    usage = rng.gamma(2.0, 2.0, n)
    region, ri = _pick(rng, ("NA", "EMEA", "APAC", "LATAM"), n, [0.45, 0.3, 0.15, 0.1])
    channel, ci = _pick(rng, _CHANNELS, n, [0.35, 0.2, 0.1, 0.15, 0.2])
    slope = np.array([0.8, 0.4, 0.0, -0.4, -0.9])[si]  # c-levels decide in small firms, ICs in large ones
    region_channel = np.array([[0.0, 0.3, 0.6, 0.2, -0.5], [0.0, -0.3, 0.9, 0.5, -0.2],
                               [0.0, 0.2, 0.2, -0.4, 0.4], [0.0, -0.5, 0.5, 0.0, -0.8]])[ri, ci]
    eta = slope * (log_size - 2.5) + np.where(trial, 0.35 * np.log1p(usage) * 2 - 0.5, 0.0) + region_channel
    return {"seniority": seniority, "company_size": np.round(10 ** log_size), "trial_user": trial,
            "product_usage": np.where(trial, np.round(usage, 2), 0.0), "region": region, "channel": channel}, eta


def _leads_thresholds(rng, n, when):
    """Steps, saturation and a U shape."""
    score = rng.uniform(0, 100, n)
    visits = rng.poisson(2.5, n)
    days_idle = rng.exponential(20.0, n)
    budget_k = np.round(np.exp(rng.normal(np.log(20), 1.0, n)), 1)
    eta = (1.2 * (score > 60) + 0.6 * (score > 85) + 0.45 * np.minimum(visits, 4)
           - 0.8 * ((np.log10(budget_k) - 1.3) ** 2) + 0.9 * np.exp(-days_idle / 7.0))
    return {"lead_score": np.round(score, 1), "web_visits": visits, "days_since_touch": np.round(days_idle, 1),
            "budget_k": budget_k}, eta


def _leads_high_cardinality(rng, n, when):
    """Most signal in a 1,500-level account domain and a 300-level campaign (long tails)."""
    domain, di = _zipf_levels(rng, n, 1500, "dom", 1.05)
    campaign, ci = _zipf_levels(rng, n, 300, "cmp", 1.2)
    title, ti = _zipf_levels(rng, n, 200, "title", 1.0)
    effects = [rng.normal(0.0, sd, k) for sd, k in ((1.0, 1500), (0.6, 300), (0.3, 200))]
    visits = rng.poisson(2.0, n)
    eta = effects[0][di] + effects[1][ci] + effects[2][ti] + 0.3 * np.log1p(visits)
    return {"account_domain": domain, "campaign": campaign, "job_title": title, "web_visits": visits}, eta


def _leads_missing_informative(rng, n, when):
    """Intent drives both the label and which fields are filled in (missing not at random)."""
    intent = rng.normal(size=n)
    revenue_m = np.round(np.exp(rng.normal(1.5, 1.2, n)), 2)
    industry, ii = _pick(rng, ("software", "finance", "health", "retail", "manufacturing", "public"), n)
    last_active = rng.exponential(10.0, n)
    active = rng.random(n) < sigmoid(0.3 + 1.2 * intent)
    phone = rng.random(n) < sigmoid(-0.2 + 1.0 * intent)
    eta = (1.0 * intent + 0.2 * np.log(revenue_m) + np.array([0.3, 0.2, 0.0, -0.2, -0.1, -0.5])[ii]
           + 0.6 * np.where(active, np.exp(-last_active / 10.0), -0.5))
    return {
        "annual_revenue_m": np.where(rng.random(n) < sigmoid(-0.8 - 0.9 * intent), np.nan, revenue_m),
        "industry": np.where(rng.random(n) < 0.25, None, industry).astype(object),
        "days_since_last_activity": np.where(active, np.round(last_active, 1), np.nan),
        "has_phone": phone,
        "form_fields_filled": rng.binomial(8, sigmoid(0.5 * intent)),
    }, eta


def _leads_rare(rng, n, when):
    """A low conversion rate: two real signals among ten noise columns."""
    signal = rng.normal(size=(n, 2))
    noise = rng.normal(size=(n, 10))
    eta = 1.3 * signal[:, 0] + 0.8 * np.maximum(signal[:, 1], 0.0)
    cols = {f"signal_{i + 1}": np.round(signal[:, i], 3) for i in range(2)}
    cols.update({f"noise_{i + 1}": np.round(noise[:, i], 3) for i in range(10)})
    return cols, eta


def _leads_drift(rng, n, when):
    """Label drift: the engagement effect goes from +1.5 to -1.0 and webinars stop working."""
    engagement = rng.normal(size=n)
    channel, ci = _pick(rng, ("web", "webinar", "referral", "outbound"), n, [0.4, 0.25, 0.15, 0.2])
    employees = np.maximum(np.round(np.exp(rng.normal(np.log(50), 1.0, n))), 1.0)
    webinar = np.where(when < 0.5, 1.0, -0.8) * (ci == 1)
    eta = ((1.5 - 2.5 * when) * engagement + webinar + np.array([0.0, 0.0, 0.7, -0.5])[ci]
           + 0.2 * np.log10(employees))
    return {"engagement": np.round(engagement, 3), "channel": channel, "employees": employees}, eta


LEAD_PROCESSES: dict[str, Callable] = {
    "linear": _leads_linear,
    "interactions": _leads_interactions,
    "thresholds": _leads_thresholds,
    "high_cardinality": _leads_high_cardinality,
    "missing_informative": _leads_missing_informative,
    "rare": _leads_rare,
    "drift": _leads_drift,
}


def world_leads(rng, spec: WorldSpec, size: float, start: float, cutoff: float):
    n = max(int(round(spec.n_leads * size)), 200)
    day = np.arange(np.floor(start), np.floor(cutoff))
    per_day = n / (season_weights(day, start, spec.deals.season, spec.deals.growth) / WEEKDAY.mean()).sum()
    created = arrivals(rng, start, cutoff, per_day, spec.deals.season, spec.deals.growth, start)
    n = len(created)
    cols, eta = LEAD_PROCESSES[spec.leads](rng, n, (created - start) / (cutoff - start))
    _, converted, lag, p_true = convert(rng, created, eta, spec.lead_rate, cutoff, scale=CONVERSION_LAG)
    frame = {"lead_id": text_column(make_ids("L", n, 6)), "created_at": to_datetime(created)}
    for c, v in cols.items():
        v = np.asarray(v)
        frame[c] = text_column(v) if v.dtype.kind in "OUS" else v
    frame["converted"] = converted.astype("int64")
    frame["converted_at"] = to_datetime(np.where(converted, created + lag, np.nan))
    leads = pd.DataFrame(frame)
    return leads, pd.Series(p_true, index=leads.index, name="p_true")
