"""Scenarios: re-simulate a period's forecast with changed assumptions, and what it takes to hit a target.

Starting from one forecast (:func:`~forecasting.pipeline.forecast_period`): the
closed won so far, every open deal with its in-period win probability and the
expected revenue from deals not yet created. A :class:`Scenario` multiplies the
win probabilities (overall, per stage or per owner/segment), lets a share of the
deals slip out of the period, scales the creation of new pipeline and the deal
sizes. Each scenario is simulated with the same random draws (so scenarios
differ only by their assumptions), times the forecast's period-wide shock.

New deals are a Poisson number of deals of the open pipeline's average size
with the expected total of the forecast's ``new_deals``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem

__all__ = ["Scenario", "SCENARIOS", "simulate_scenarios", "what_it_takes", "SCENARIO_COLUMNS"]

SCENARIO_COLUMNS = ("scenario", "p10", "p50", "p90")


@dataclass(frozen=True)
class Scenario:
    """Assumptions changed against the forecast (1 / 0: unchanged).

    Attributes
    ----------
    name : str
    win_rate : float
        Multiplies every open deal's win probability (capped at 1).
    slippage : float
        Share of the deals that would have been won in the period that slip out of it.
    new_pipeline : float
        Multiplies the revenue expected from deals not yet created.
    deal_size : float
        Multiplies the amounts of open and new deals.
    factors : dict
        Extra win-rate factors by stage name or by the value of ``factor_by`` (e.g. an owner).
    factor_by : str
        ``"stage"`` (default) or a deal column such as ``owner`` or ``segment``.
    """

    name: str
    win_rate: float = 1.0
    slippage: float = 0.0
    new_pipeline: float = 1.0
    deal_size: float = 1.0
    factors: dict = field(default_factory=dict)
    factor_by: str = "stage"


SCENARIOS = (
    Scenario("bear", win_rate=0.8, slippage=0.2, new_pipeline=0.8, deal_size=0.95),
    Scenario("base"),
    Scenario("bull", win_rate=1.2, new_pipeline=1.2, deal_size=1.05),
)


@dataclass
class _Draws:
    """Common random numbers shared by every scenario."""

    win: np.ndarray  # (n_sims, n_deals) uniforms
    slip: np.ndarray  # (n_sims, n_deals) uniforms
    new: np.ndarray  # (n_sims,) uniforms for the Poisson count of new deals
    shock: np.ndarray  # (n_sims,) standard normals


def _draws(n_deals: int, n_sims: int, seed: int) -> _Draws:
    rng = np.random.default_rng(seed)
    return _Draws(rng.random((n_sims, n_deals)), rng.random((n_sims, n_deals)), rng.random(n_sims),
                  rng.standard_normal(n_sims))


def _check(deals: pd.DataFrame, scenario: Scenario) -> None:
    problems = []
    for name in ("win_rate", "new_pipeline", "deal_size"):
        if not getattr(scenario, name) >= 0:
            problems.append(problem("scenario", name, f"of {scenario.name} must be >= 0, got {getattr(scenario, name)}"))
    if not 0 <= scenario.slippage <= 1:
        problems.append(problem("scenario", "slippage", f"of {scenario.name} must be between 0 and 1"))
    if scenario.factors and scenario.factor_by not in deals.columns:
        problems.append(problem("scenario", "factor_by", f"{scenario.factor_by!r} is not a deal column"))
    if problems:
        raise DataError(problems)


def _revenue(forecast: pd.Series, deals: pd.DataFrame, scenario: Scenario, draws: _Draws,
             extra_win: float = 1.0) -> np.ndarray:
    """Revenue won in the period per simulation under a scenario."""
    factor = np.full(len(deals), scenario.win_rate * extra_win)
    if scenario.factors:
        factor *= deals[scenario.factor_by].map(scenario.factors).fillna(1.0).to_numpy(dtype=float)
    p = np.clip(deals["probability"].to_numpy(dtype=float) * factor, 0, 1)
    amount = deals["amount"].to_numpy(dtype=float) * scenario.deal_size
    won = (draws.win < p) & (draws.slip >= scenario.slippage)
    open_part = won.astype(float) @ amount
    mean_size = float(deals["amount"].mean()) if len(deals) else 1.0
    lam = max(float(forecast.get("new_deals", 0.0)), 0.0) * scenario.new_pipeline / max(mean_size, 1e-9)
    from scipy.stats import poisson

    new_part = poisson.ppf(draws.new, lam) * mean_size * scenario.deal_size if lam > 0 else 0.0
    shock = float(forecast.get("range_shock", 0.0) or 0.0)
    uncertain = (open_part + new_part) * np.exp(shock * draws.shock - shock ** 2 / 2)
    return float(forecast["closed_won"]) + uncertain


def simulate_scenarios(forecast: pd.DataFrame, deals: pd.DataFrame, scenarios=SCENARIOS, *, target: float | None = None,
                       n_sims: int = 5000, seed: int = 0) -> pd.DataFrame:
    """P10 / P50 / P90 of the period's revenue under each scenario.

    Parameters
    ----------
    forecast, deals : DataFrame
        The two results of :func:`~forecasting.pipeline.forecast_period` (its ``all`` row is used).
    scenarios : sequence of Scenario
        Default: bear (win rate x0.8, 20% slippage, new pipeline x0.8, deal size x0.95),
        base, bull (x1.2, no slippage, x1.2, x1.05).
    target : float, optional
        Adds ``prob_target``: the probability of reaching it.
    n_sims, seed : int

    Returns
    -------
    DataFrame
        ``scenario, p10, p50, p90, mean`` (then ``prob_target``) and the assumptions.

    Examples
    --------
    >>> forecast = pd.DataFrame({"group": ["all"], "closed_won": [100.0], "new_deals": [0.0]})
    >>> deals = pd.DataFrame({"amount": [50.0, 50.0], "probability": [1.0, 0.5], "stage": "Proposal"})
    >>> simulate_scenarios(forecast, deals, [Scenario("base"), Scenario("all slip", slippage=1.0)])[
    ...     ["scenario", "p10", "p90", "mean"]].round(0)
       scenario    p10    p90   mean
    0      base  150.0  200.0  175.0
    1  all slip  100.0  100.0  100.0
    """
    total = forecast[forecast["group"] == "all"].iloc[0]
    draws = _draws(len(deals), n_sims, seed)
    rows = []
    for scenario in scenarios:
        _check(deals, scenario)
        revenue = _revenue(total, deals, scenario, draws)
        p10, p50, p90 = np.quantile(revenue, [0.1, 0.5, 0.9])
        row = {"scenario": scenario.name, "p10": p10, "p50": p50, "p90": p90, "mean": float(revenue.mean())}
        if target is not None:
            row["prob_target"] = float((revenue >= target).mean())
        row |= {k: getattr(scenario, k) for k in ("win_rate", "slippage", "new_pipeline", "deal_size")}
        rows.append(row)
    return pd.DataFrame(rows)


def what_it_takes(forecast: pd.DataFrame, deals: pd.DataFrame, *, target: float, probability: float = 0.8,
                  n_sims: int = 5000, seed: int = 0) -> dict:
    """What reaching ``target`` with ``probability`` takes: extra pipeline, or a win-rate factor.

    ``extra_pipeline`` is the open pipeline to add (won at the amount-weighted average
    probability of the open deals that can still be won in the period) so that the ``1 - probability`` quantile of revenue reaches the
    target; ``win_rate_factor`` multiplies every open deal's win probability for the same
    (NaN when even winning every open deal is not enough).

    Examples
    --------
    >>> forecast = pd.DataFrame({"group": ["all"], "closed_won": [100.0], "new_deals": [0.0]})
    >>> deals = pd.DataFrame({"amount": [100.0] * 10, "probability": [0.5] * 10, "stage": "Proposal"})
    >>> out = what_it_takes(forecast, deals, target=1000.0, probability=0.8)  # 9 of 10 deals, 80% of the time
    >>> round(out["current_probability"], 2), out["extra_pipeline"], round(out["win_rate_factor"], 1)
    (0.01, 1000.0, 1.8)
    """
    if not 0 < probability < 1:
        raise DataError([problem("what_it_takes", "probability", f"must be between 0 and 1, got {probability}")])
    total = forecast[forecast["group"] == "all"].iloc[0]
    draws = _draws(len(deals), n_sims, seed)
    base = Scenario("base")
    revenue = _revenue(total, deals, base, draws)
    floor = float(np.quantile(revenue, 1 - probability))
    inside = deals[deals["probability"] > 0]  # the pipeline that can still be won in the period
    amount = inside["amount"].to_numpy(dtype=float)
    p_bar = float((amount * inside["probability"]).sum() / amount.sum()) if amount.sum() > 0 else np.nan
    extra = max(0.0, (target - floor) / p_bar) if p_bar and p_bar > 0 else np.nan

    def reaches(k: float) -> bool:
        return float(np.quantile(_revenue(total, deals, base, draws, extra_win=k), 1 - probability)) >= target

    factor = np.nan
    if reaches(1.0):
        factor = 1.0
    elif len(inside) and reaches(1.0 / float(inside["probability"].min())):
        lo, hi = 1.0, 1.0 / float(inside["probability"].min())
        for _ in range(40):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if reaches(mid) else (mid, hi)
        factor = hi
    return {"target": float(target), "probability": float(probability),
            "current_probability": float((revenue >= target).mean()), "extra_pipeline": float(extra),
            "win_rate_factor": float(factor)}
