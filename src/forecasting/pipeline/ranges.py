"""Honest forecast ranges: widen the Monte Carlo by what the data's own backtest shows.

The deal-by-deal Monte Carlo treats outcomes as independent and probabilities as
exact. Real pipelines have quarters that go well or badly as a whole (a budget
freeze, a big launch), probabilities that are off, and deals that slip, so its
P10-P90 is too narrow: on Maven CRM it was +-4 % and missed every quarter.

The remedy here is a **period-wide shock**: every simulation's still-uncertain revenue
(open deals + deals not yet created; the closed won so far is known) is multiplied by
``exp(tau * Z)``, one standard normal ``Z`` per simulation shared by every deal and
group. ``tau`` is estimated from rolling as-of backtests of the same method on the
periods before the as-of date (same position of the as-of date in the period): their
log errors ``e`` against the P50 are compared with the spread ``s`` the simulation
itself claimed, and what the simulation did not explain becomes the shock,

    tau^2 = (n * max(mean(e^2) - mean(s^2), 0) + w * tau0^2) / (n + w),

shrunk toward an assumed ``tau0`` with the weight of ``w`` periods, so a short history
falls back gracefully to the assumption (and says so). The shock has median 1: the P50
barely moves, the band widens by what the past errors (bias included) demand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RangeCalibration", "period_shock", "log_error", "apply_shock", "MIN_PERIODS"]

PRIOR_SHOCK = 0.2    # log-sd assumed without history: +-20 % on a typical quarter
PRIOR_WEIGHT = 2.0   # the assumption weighs as much as this many past periods
MIN_PERIODS = 3      # fewer past periods: the range is mostly assumed (warned)
_Z90 = 1.2815515655446004  # standard normal 90 % quantile
_MAX_ERROR = 3.0     # |log error| cap: one absurd period (e ~ 20x) must not set the range alone


@dataclass(frozen=True)
class RangeCalibration:
    """How the P10-P90 of a forecast was made (reported next to the range)."""

    shock: float       # log-sd of the period-wide shock (0: independent deals only)
    periods: int       # past periods backtested to estimate it
    observed: float    # the unshrunk estimate from those periods (NaN without any)

    @property
    def description(self) -> str:
        if self.periods >= MIN_PERIODS:
            return (f"monte carlo of independent deals x period-wide shock (log-sd {self.shock:.2f}) "
                    f"from backtest errors of {self.periods} past periods")
        return (f"monte carlo of independent deals x period-wide shock (log-sd {self.shock:.2f}), mostly "
                f"assumed: only {self.periods} past period(s) to backtest")


def log_error(actual: float, p10: float, p50: float, p90: float) -> tuple[float, float] | None:
    """Log error of a P50 and the log-sd the simulation claimed, for the still-uncertain revenue.

    All four are revenue beyond what was already won at the as-of date. ``None`` when
    nothing was uncertain (P50 of 0). A zero actual counts as 2 % of the P50 (a log
    cannot take 0); errors are capped at +-3 (a factor 20).

    Examples
    --------
    >>> e, s = log_error(200.0, 50.0, 100.0, 200.0)
    >>> round(e, 3), round(s, 3)
    (0.693, 0.541)
    """
    if not p50 > 0:
        return None
    floor = 0.02 * p50
    e = float(np.clip(np.log(max(actual, floor) / p50), -_MAX_ERROR, _MAX_ERROR))
    s = float(np.log(max(p90, floor) / max(p10, floor)) / (2 * _Z90))
    return e, s


def period_shock(errors, spreads, prior: float = PRIOR_SHOCK, weight: float = PRIOR_WEIGHT) -> RangeCalibration:
    """The shock's log-sd from past log errors and the log-sds the simulation claimed.

    Examples
    --------
    A simulation that claimed +-10 % when the errors were +-50 %: the shock makes up
    the difference (shrunk a little toward the 0.2 assumed):

    >>> cal = period_shock([0.5, -0.5, 0.5, -0.5, 0.5, -0.5], [0.1] * 6)
    >>> round(cal.observed, 3), round(cal.shock, 3), cal.periods
    (0.49, 0.436, 6)
    >>> period_shock([], []).shock  # no history: the assumption
    0.2
    """
    e, s = np.asarray(errors, dtype=float), np.asarray(spreads, dtype=float)
    n = len(e)
    observed = float(max(np.mean(e ** 2) - np.mean(s ** 2), 0.0)) if n else float("nan")
    variance = ((n * observed if n else 0.0) + weight * prior ** 2) / (n + weight)
    return RangeCalibration(float(np.sqrt(variance)), n, float(np.sqrt(observed)) if n else float("nan"))


def apply_shock(rng: np.random.Generator, sims: np.ndarray, known: np.ndarray, shock: float) -> np.ndarray:
    """Multiply each simulation's uncertain revenue (``sims - known``, per group row) by ``exp(shock * Z)``.

    One ``Z`` per simulation for every group, so groups still add up to the total.
    """
    if shock <= 0:
        return sims
    factor = np.exp(shock * rng.standard_normal(sims.shape[1]))
    return known[:, None] + (sims - known[:, None]) * factor[None, :]
