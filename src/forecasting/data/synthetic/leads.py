"""The demo's leads and their true conversion process (see :mod:`.demo` for the model).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import make_ids, sigmoid, solve_shift, text_column, to_datetime
from .company import choice, sample_times


SOURCES = {  # share of leads, effect on the conversion logit, shift of log web visits
    "web": (0.34, 0.0, 0.2),
    "paid_search": (0.20, -0.3, 0.1),
    "referral": (0.10, 0.9, -0.1),
    "event": (0.10, 0.2, -0.2),
    "outbound": (0.16, -0.7, -0.5),
    "partner": (0.10, 0.5, 0.0),
}


_CAMPAIGNS = {
    "web": ("Organic Search", "Pricing Page", "Free Trial", "Product Tour", "Blog Newsletter",
            "ROI Calculator", "Forecasting Guide", "Chatbot"),
    "paid_search": ("Google Brand", "Google Generic", "Bing Brand", "LinkedIn Ads",
                    "Competitor Keywords", "Capterra Listing", "G2 Listing", "Retargeting"),
    "referral": ("Customer Referral", "Employee Referral", "Advocate Program", "Investor Intro",
                 "Community Slack"),
    "event": ("SaaStr", "Dreamforce Booth", "Regional Roadshow", "Webinar: Pipeline 101",
              "Webinar: Forecast Accuracy", "RevOps Summit", "Partner Dinner"),
    "outbound": ("Cold Sequence A", "Cold Sequence B", "ABM Tier 1", "ABM Tier 2",
                 "Intent Data Plays", "Trigger Events"),
    "partner": ("Reseller North", "Reseller South", "Agency Program", "Marketplace",
                "SI Alliance", "Tech Partner Co-sell"),
}


INDUSTRIES = {  # share, logit effect
    "Software": (0.20, 0.30), "Financial Services": (0.12, 0.15), "Healthcare": (0.10, -0.10),
    "Manufacturing": (0.10, -0.15), "Retail": (0.09, -0.20), "Education": (0.06, -0.30),
    "Media": (0.06, 0.05), "Logistics": (0.06, -0.05), "Professional Services": (0.08, 0.20),
    "Telecom": (0.05, 0.0), "Energy": (0.04, -0.10), "Public Sector": (0.04, -0.40),
}


COUNTRIES = {
    "US": (0.38, 0.0), "UK": (0.12, 0.05), "DE": (0.09, -0.10), "FR": (0.07, -0.15),
    "CA": (0.06, 0.05), "AU": (0.05, 0.0), "NL": (0.05, 0.10), "SE": (0.04, 0.10),
    "ES": (0.04, -0.20), "IN": (0.04, -0.30), "BR": (0.03, -0.25), "JP": (0.03, -0.20),
}


_SENIORITY = {  # share, logit effect at 100 employees, slope per decade of company size
    "ic": (0.35, -0.6, 0.6),
    "manager": (0.30, -0.1, 0.25),
    "director": (0.18, 0.3, 0.0),
    "vp": (0.10, 0.5, -0.35),
    "c_level": (0.07, 0.6, -0.75),
}


LEAD_MODEL = {
    "log_visits": 0.9, "opens": 0.2, "opens_cap": 4, "clicks_threshold": 0.9, "bant": 0.35,
    "bant_all": 0.6, "size_curvature": -0.4, "size_peak": 2.3, "response": 0.8,
    "response_minutes": 60.0, "campaign_sd": 0.3, "target_rate": 0.16,
}


_CONVERSION_LAG_DAYS = 6.0  # scale of the Gamma(2) lag after 1 day + the response time


def convert(rng, created, eta, rate: float, cutoff: float, *, scale: float, delay=0.0):
    """Which leads convert by the cut-off, when, and the true probability of it.

    A lead converts eventually with ``sigmoid(b0 + eta)``, ``b0`` solved so the
    mean is ``rate``, after ``1 day + delay + Gamma(2, scale)``: recent leads are
    censored. Returns ``b0``, ``converted``, the lag (days) and ``p_true``.
    """
    b0 = solve_shift(lambda b: sigmoid(b + eta).mean(), rate)
    p_eventual = sigmoid(b0 + eta)
    lag = 1.0 + delay + rng.gamma(2.0, scale, len(created))
    converted = (rng.random(len(created)) < p_eventual) & (created + lag < cutoff)
    x = np.maximum(cutoff - created - 1.0 - delay, 0.0) / scale
    return b0, converted, lag, p_eventual * (1.0 - np.exp(-x) * (1.0 + x))  # Gamma(2) CDF in closed form


def make_leads(rng, start: float, cutoff: float, n: int) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Leads, their truth, and hidden columns the other tables need."""
    created = sample_times(rng, start, cutoff, n)
    f = _lead_features(rng, n)
    eta = _lead_logit(f)
    b0, converted, lag, p_true = convert(rng, created, eta, LEAD_MODEL["target_rate"], cutoff,
                                         scale=_CONVERSION_LAG_DAYS, delay=f["response"] / 1440.0)

    lead_id = make_ids("L", n, 6)
    leads = pd.DataFrame({
        "lead_id": text_column(lead_id),
        "created_at": to_datetime(created),
        **{c: text_column(f[c]) for c in ("source", "campaign")},
        "industry": text_column(f["industry"], rng.random(n) < 0.05),
        "company_size": np.where(rng.random(n) < 0.10, np.nan, f["size"]),
        **{c: text_column(f[c]) for c in ("seniority", "country")},
        **{c: f[c].astype("int64") for c in ("web_visits", "email_opens", "email_clicks")},
        "response_minutes": _response_minutes(created, f["response"], cutoff),
        **{c: f[c] for c in ("budget", "authority", "need", "timeline")},
        "note": _lead_notes(rng, f),
        "lead_status": _lead_status(rng, converted, cutoff - created, f["bant"]),
        "converted": converted.astype("int64"),
        "converted_at": to_datetime(np.where(converted, created + lag, np.nan)),
    })
    truth = pd.DataFrame({"lead_id": text_column(lead_id), "p_true": p_true})
    hidden = {"created": created, "converted_at": created + lag, "converted": converted,
              "logit": b0 + eta, **{k: f[k] for k in ("size", "industry", "country", "source", "response")}}
    return leads, truth, hidden


def first_touch(created: np.ndarray, response: np.ndarray) -> np.ndarray:
    """Time (float days) of each lead's first activity: ``response`` minutes after creation."""
    return created + response / 1440.0


def _response_minutes(created: np.ndarray, response: np.ndarray, cutoff: float) -> np.ndarray:
    """Minutes from ``created_at`` to the first activity, from the stored (second-rounded) times.

    Exactly what the ``activities`` table gives; missing for a lead not touched by the cut-off.
    """
    first = first_touch(created, response)
    seconds = np.round(first * 86_400) - np.round(created * 86_400)
    return np.where(first < cutoff, seconds / 60.0, np.nan)


def _lead_features(rng, n: int) -> dict[str, np.ndarray]:
    """Lead attributes; latent engagement and intent drive the signals, not the label directly."""
    f: dict[str, np.ndarray] = {}
    for name, table in (("source", SOURCES), ("industry", INDUSTRIES), ("country", COUNTRIES),
                        ("seniority", _SENIORITY)):
        f[name], f[name + "_i"] = choice(rng, table, n)
    f["campaign"], f["campaign_effect"] = _campaigns(rng, f["source_i"])
    f["size"] = np.clip(np.round(np.exp(rng.normal(np.log(80.0), 1.8, n))), 1.0, 300_000.0)
    large = np.log10(f["size"]) > 2.3
    engagement = rng.normal(size=n)
    intent = 0.6 * engagement + 0.8 * rng.normal(size=n)
    visit_shift = np.array([v[2] for v in SOURCES.values()])[f["source_i"]]
    f["web_visits"] = rng.poisson(np.exp(0.9 + 0.6 * engagement + visit_shift))
    f["email_opens"] = rng.poisson(np.exp(0.7 + 0.45 * engagement))
    f["email_clicks"] = rng.binomial(f["email_opens"], np.where(engagement > 0, 0.3, 0.15))
    says_authority = np.array([-0.8, -0.2, 0.3, 0.7, 1.0])[f["seniority_i"]]
    f["budget"] = rng.random(n) < sigmoid(-0.4 + 0.9 * intent + 0.3 * large)
    f["authority"] = rng.random(n) < sigmoid(-0.3 + 0.5 * intent + says_authority)
    f["need"] = rng.random(n) < sigmoid(0.2 + 0.9 * intent)
    f["timeline"] = rng.random(n) < sigmoid(-0.6 + 0.8 * intent)
    f["bant"] = f["budget"].astype(int) + f["authority"] + f["need"] + f["timeline"]
    f["response"] = np.clip(np.exp(rng.normal(np.log(90.0), 1.7, n)), 1.0, 14 * 1440.0)  # minutes
    return f


def _lead_logit(f: dict) -> np.ndarray:
    """The true conversion logit without its intercept (module docstring)."""
    m = LEAD_MODEL
    sen = np.array(list(_SENIORITY.values()))[f["seniority_i"]]
    log_size = np.log10(f["size"])
    return (
        m["log_visits"] * np.log1p(f["web_visits"])
        + m["opens"] * np.minimum(f["email_opens"], m["opens_cap"])
        + m["clicks_threshold"] * (f["email_clicks"] >= 2)
        + m["bant"] * f["bant"] + m["bant_all"] * (f["bant"] == 4)
        + sen[:, 1] + sen[:, 2] * (log_size - 2.0)
        + m["size_curvature"] * (log_size - m["size_peak"]) ** 2
        + m["response"] * np.exp(-f["response"] / m["response_minutes"])
        + np.array([v[1] for v in SOURCES.values()])[f["source_i"]]
        + np.array([v[1] for v in INDUSTRIES.values()])[f["industry_i"]]
        + np.array([v[1] for v in COUNTRIES.values()])[f["country_i"]]
        + f["campaign_effect"]
    )


def _campaigns(rng, src_i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Campaign of each lead (Zipf within its source) and the campaign's logit effect."""
    names = np.array([c for cs in _CAMPAIGNS.values() for c in cs])
    effect = rng.normal(0.0, LEAD_MODEL["campaign_sd"], len(names))
    out = np.empty(len(src_i), dtype=np.int64)
    first = 0
    for s, cs in enumerate(_CAMPAIGNS.values()):
        rows = np.flatnonzero(src_i == s)
        p = 1.0 / np.arange(1, len(cs) + 1) ** 2.5  # a long tail of rare campaigns
        out[rows] = first + rng.choice(len(cs), size=len(rows), p=p / p.sum())
        first += len(cs)
    return names[out], effect[out]


_OPENERS = {
    "web": ("Filled in the contact form.", "Signed up for a free trial."),
    "paid_search": ("Clicked a search ad.", "Came in through a comparison site."),
    "referral": ("Referred by a happy customer.", "Intro from a former colleague."),
    "event": ("Met at our booth.", "Attended the webinar and asked questions."),
    "outbound": ("Replied to a cold email.", "Picked up a cold call."),
    "partner": ("Introduced by a partner.", "Passed on by a reseller."),
}


_PAINS = np.array(["better forecasting", "pipeline visibility", "lead scoring", "a CRM cleanup",
                   "quota planning", "faster reporting", "territory planning", "a board dashboard"])


_CLOSERS = np.array(["Asked for a case study.", "Requested pricing.", "Call back next week.",
                     "Prefers email.", "Evaluating a competitor.", "Wants references.", ""])


def _lead_notes(rng, f: dict) -> pd.Series:
    """Short free-text notes whose sentences echo the lead's BANT answers."""
    src_i, budget, authority, need, timeline = (f[k] for k in ("source_i", "budget", "authority", "need", "timeline"))
    visits, n = f["web_visits"], len(f["source_i"])
    openers = np.array([o for pair in _OPENERS.values() for o in pair], dtype=object)
    text = openers[2 * src_i + rng.integers(0, 2, n)]

    def sentence(mask, values) -> np.ndarray:
        return np.where(mask, " " + np.asarray(values, dtype=object), "")

    quarter = rng.integers(1, 5, n).astype(str).astype(object)
    months = rng.integers(1, 7, n).astype(str).astype(object)
    seats = (5 * rng.integers(1, 41, n)).astype(str).astype(object)
    text = text + sentence(budget, "Budget approved for Q" + quarter + ".")
    text = text + sentence(~budget & (rng.random(n) < 0.3), "No budget yet.")
    text = text + sentence(need, "Needs " + _PAINS[rng.integers(0, len(_PAINS), n)].astype(object) + ".")
    text = text + sentence(timeline, "Wants to buy within " + months + " months.")
    text = text + sentence(~authority & (rng.random(n) < 0.5), "Not the decision maker.")
    text = text + sentence(rng.random(n) < 0.4, "Team of " + seats + " reps.")
    text = text + sentence(visits >= 8, "Keeps visiting the pricing page.")
    text = text + sentence(True, _CLOSERS[rng.integers(0, len(_CLOSERS), n)].astype(object))
    return text_column(np.char.strip(text.astype(str)))


def _lead_status(rng, converted, age_days, signals) -> pd.Series:
    """A CRM status set after the outcome: near-perfect, not exactly the label."""
    n = len(converted)
    u = rng.random(n)
    disqualify = rng.random(n) < 0.75 - 0.12 * signals
    other = np.where(age_days < 30, np.where(u < 0.8, "Open", "Nurture"),
                     np.where(disqualify, "Disqualified", "Nurture"))
    status = np.where(converted, np.where(u < 0.97, "Converted", "Nurture"),
                      np.where(u < 0.005, "Converted", other))
    return text_column(status)
