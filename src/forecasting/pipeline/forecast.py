"""Weighted and Monte Carlo pipeline forecast of one period at an as-of date.

The period's revenue is split in three parts, each known or estimated from data
stamped on or before the as-of date only:

1. **closed won** so far in the period (known);
2. **open deals**: each deal of the as-of snapshot is won within what is left of
   the period with probability ``probability = p_win * p_in_period``;
3. **deals not yet created**: in each of the last ``lookback_periods`` finished
   periods, the won revenue from deals created after the same point of the
   period is counted, scaled by the yearly growth of deal creation since then;
   its average is the run-rate (so the share of the period still to come is
   accounted for exactly, not linearly), times the period's season: how much the
   same quarter (month) of the last up to 3 years brought over their average
   period, shrunk toward no season (by two thirds with one year of history).

Methods for the open-deal probability:

- ``"default"``: the stages' default probabilities (the CRM's weighted pipeline),
  counted only for deals expected to close inside the period (overdue deals count
  in the current period only; a later period never counts the deals due before
  it): ``p_win`` = stage default, ``p_in_period`` = 1 or 0. Every method, table and
  training label decides "expected inside" with one rule,
  :func:`~forecasting.pipeline.expected_in_window`;
- ``"historical"``: stage win rates from the deals closed before the date, shrunk
  toward the defaults (per segment when there is one, see
  :func:`~forecasting.pipeline.stage_win_rates`), times the historical share of
  won deals that closed inside the window, for deals expected inside it and for
  those expected after it (slippage);
- ``"learned"``: :class:`~forecasting.pipeline.model.CloseProbabilityModel` trained
  on snapshots before the date labelled over windows like the forecast window
  (see :mod:`forecasting.pipeline.model`; windows that end like the forecast
  window, at a quarter end say, weigh three times as much). ``p_in_period`` is
  then NaN: the model predicts "won within the window" directly.

Monte Carlo (seeded, vectorized): per simulation each open deal is won
(Bernoulli ``p_win``) and closes in the period (Bernoulli ``p_in_period``), its
amount is multiplied by a historical amount change (won amount / amount at
the snapshot, resampled); the not-yet-created part is compound Poisson (count
with the run-rate's mean, amounts resampled from past new-deal wins). Outcomes
are drawn once for the total and summed per group, so the ``all`` row does not
depend on ``by``. Deals are independent given their probabilities, so the
published range (``ranges="calibrated"``) multiplies each simulation's uncertain
revenue by a period-wide shock sized by the method's own backtest errors on the
periods before the date, centred on their persistent bias when there is one
(:mod:`forecasting.pipeline.ranges`); the ``range_method``, ``range_shock``,
``range_shift`` and ``range_periods`` columns say how. The ``all`` row is the
total; a real group named ``all`` is reported as ``all (<by>)`` (with a warning).

Open deals without an expected close date are expected after the median
remaining sales cycle of past deals of their age (``close_date_estimated``, with a
warning giving the count). The learned model's probabilities are checked against
the historical stage rates: a stage more than 10x off in odds (or early-stage deals
at near-certainty) makes the forecast use the historical rates, with a warning.

Forecast categories of open deals, by their in-period probability:
``Commit`` (>= 0.7), ``Best case`` (>= 0.4), ``Pipeline`` (> 0, expected in the
period) and ``Omitted`` (expected after the period or probability 0).
Won deals are ``Closed``. ``commit`` = closed won + commit deals; ``best_case`` =
commit + best-case deals.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..data.errors import DataError
from ..data.validate import DataWarning
from ..metrics.sales import TOTAL_GROUP
from ._context import PipelineData, log_ratios, resolve
from .ranges import MIN_PERIODS, RangeCalibration, apply_shock, log_error, period_shock
from .snapshot import DAY, cutoff_of, period_bounds
from .new_deals import _new_deal_wins
from .probabilities import METHODS, _probabilities, _training
from .window import _Window, _window

__all__ = ["forecast_period", "METHODS", "FORECAST_COLUMNS", "DEAL_COLUMNS", "categorize"]

FORECAST_COLUMNS = ("period", "group", "closed_won", "open_pipeline", "weighted", "p10", "p50", "p90", "method",
                    "probabilities")
DEAL_COLUMNS = (
    "opportunity_id", "owner", "segment", "stage", "amount", "close_date", "days_in_stage", "age_days",
    "pushes", "p_win", "p_in_period", "probability", "expected_value", "category",
)
COMMIT, BEST_CASE = 0.7, 0.4


def categorize(probability, in_period, commit: float = COMMIT, best_case: float = BEST_CASE) -> np.ndarray:
    """Forecast category of open deals from their in-period probability.

    Examples
    --------
    >>> categorize([0.8, 0.5, 0.1, 0.0], [True, True, True, False]).tolist()
    ['Commit', 'Best case', 'Pipeline', 'Omitted']
    """
    p = np.asarray(probability, dtype=float)
    expected = np.asarray(in_period, dtype=bool) & (p > 0)
    return np.select([~expected, p >= commit, p >= best_case], ["Omitted", "Commit", "Best case"], "Pipeline")


# --- Monte Carlo ------------------------------------------------------------------------


def _simulate_open(rng, amount, p_win, p_in, group, n_groups, ratios, n_sims, chunk=256) -> np.ndarray:
    out = np.zeros((n_groups, n_sims))
    p_in = np.where(np.isnan(p_in), 1.0, p_in)
    for i in range(0, len(amount), chunk):
        sl = slice(i, i + chunk)
        k = len(amount[sl])
        won = rng.random((k, n_sims)) < p_win[sl, None]
        inside = rng.random((k, n_sims)) < p_in[sl, None]
        value = amount[sl, None] * (won & inside)
        if len(ratios):
            value = value * np.exp(ratios[rng.integers(0, len(ratios), size=(k, n_sims))])
        onehot = np.zeros((n_groups, k))
        onehot[group[sl], np.arange(k)] = 1.0
        out += onehot @ value
    return out


def _simulate_new(rng, lam: float, pool: np.ndarray, weight: np.ndarray, group: np.ndarray, n_groups: int,
                  n_sims: int) -> np.ndarray:
    """Compound Poisson per group: a Poisson number of wins, amounts (and groups) resampled from ``pool``
    in proportion to ``weight``.

    Drawn once for the total and split by the group of each resampled win, so the total
    does not depend on the breakdown (a thinned Poisson is Poisson: each group still gets
    its own share of the rate).
    """
    out = np.zeros(n_groups * n_sims)
    if lam > 0 and len(pool):
        counts = rng.poisson(lam, size=n_sims)
        pick = rng.choice(len(pool), size=int(counts.sum()), p=weight / weight.sum())
        cell = group[pick] * n_sims + np.repeat(np.arange(n_sims), counts)
        out += np.bincount(cell, weights=pool[pick], minlength=n_groups * n_sims)
    return out.reshape(n_groups, n_sims)


# --- honest ranges (see forecasting.pipeline.ranges) ------------------------------------

RANGE_PERIODS = 8  # most recent past periods backtested to size the period-wide shock
RANGES = ("calibrated", "independent")
INDEPENDENT = "monte carlo of independent deals (no period-wide shock: too narrow on real pipelines)"


def _raw_key(win: _Window, method, n_sims, seed, strength, lookback) -> tuple:
    return ("raw", method, str(win.period), win.cutoff, n_sims, seed, strength, lookback)


def _past_windows(data: PipelineData, win: _Window, k: int) -> list[_Window]:
    """The ``k`` latest periods finished by the cutoff, each seen at the same point of its period.

    A period counts only when the period before it started on or after the first deal
    (as :func:`_new_deal_wins` requires): earlier forecasts have no finished period for
    the run-rate of new deals, and their errors (measured: x7 on a two-week-cycle world)
    say nothing about today's.
    """
    shift, out, j = win.cutoff - win.start, [], 1
    while len(out) < k:  # k = 0: no backtest, the assumed shock
        p, start, end = period_bounds(win.period - j)
        j += 1
        cutoff = start + shift
        if period_bounds(p - 1)[1] < data.first_date:
            break
        if end <= win.cutoff:
            out.append(_Window(p, start, end, cutoff, max(start, cutoff)))
    return out


def _calibration(data: PipelineData, win: _Window, method, n_sims, seed, strength, lookback,
                 k: int) -> RangeCalibration:
    """The period-wide shock from backtests of ``method`` on the ``k`` past periods (raw ranges, cached)."""
    errors, spreads = [], []
    for past in _past_windows(data, win, k):
        key = _raw_key(past, method, n_sims, seed, strength, lookback)
        if key not in data.cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataWarning)  # about past forecasts, not this one
                _forecast(data, past, method, None, n_sims, seed, strength, lookback, ranges="independent")
        closed, p10, p50, p90 = data.cache[key]
        actual = float(data.won_between(past.start, past.end)["amount"].sum())
        scored = log_error(actual - closed, p10 - closed, p50 - closed, p90 - closed)
        if scored is not None:
            errors.append(scored[0])
            spreads.append(scored[1])
    calibration = period_shock(errors, spreads)
    if calibration.periods < MIN_PERIODS:
        warnings.warn(f"only {calibration.periods} past period(s) before {(win.cutoff - DAY).date()} to backtest "
                      f"the {method} method: the P10-P90 of {win.period} assumes a period-wide shock of log-sd "
                      f"{calibration.shock:.2f} (alone: x{np.exp(-1.2816 * calibration.shock):.2f} to "
                      f"x{np.exp(1.2816 * calibration.shock):.2f}) on top of the deal simulation",
                      DataWarning, stacklevel=4)
    return calibration


def _warn_estimated_close_dates(deals: pd.DataFrame, data: PipelineData, win: _Window) -> None:
    n = int(deals["close_date_estimated"].sum()) if "close_date_estimated" in deals else 0
    if n and win.window_days > 0:
        hidden = "" if data.exact else " (without stage history these include every deal that closed after the date)"
        warnings.warn(f"{n} of {len(deals)} open deals as of {(win.cutoff - DAY).date()} have no expected close "
                      f"date{hidden}: each is expected after the median remaining sales cycle of past deals of its "
                      "age (close_date_estimated in deals.csv)", DataWarning, stacklevel=4)


# --- the forecast -----------------------------------------------------------------------


def _amount_ratios(data: PipelineData, win: _Window) -> np.ndarray:
    train = _training(data, win)
    if train.empty:
        return np.array([])
    won = train[train["won_in_window"] == 1]
    return log_ratios(won["won_amount"].to_numpy(dtype=float) / won["amount"].to_numpy(dtype=float))


def _deals_frame(deals, p_win, p_in, probability, win, method, source) -> pd.DataFrame:
    out = deals.copy()
    out["p_win"], out["p_in_period"], out["probability"] = p_win, p_in, probability
    out["expected_value"] = out["amount"] * probability
    out["category"] = categorize(probability, win.expected_inside(deals))
    out["period"] = str(win.period)
    out["as_of"] = (win.cutoff - DAY).date().isoformat()
    out["method"], out["probabilities"] = method, source
    first = list(DEAL_COLUMNS)
    return out[first + [c for c in out.columns if c not in first]]


def _groups(data: PipelineData, by: str | None, ids: pd.Series) -> list[str]:
    """Group names of the deals involved (sorted); ``["all"]`` without a breakdown."""
    if by is None:
        return [TOTAL_GROUP]
    if by not in data.opportunities.columns:
        raise DataError(f"cannot break down by {by!r}: opportunities have no {by!r} column",
                        table="opportunities")
    return sorted(set(ids.map(data.attribute(by)).fillna("unknown")))


def _forecast(data: PipelineData, win: _Window, method: str, by, n_sims, seed, strength, lookback,
              target=None, ranges: str = "calibrated",
              range_periods: int = RANGE_PERIODS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast rows and deals of one window (``ranges="independent"``: the raw Monte Carlo range)."""
    deals = data.open_deals(win.cutoff)
    if deals.empty and win.window_days > 0:
        warnings.warn(f"no open deals as of {(win.cutoff - DAY).date()}: the forecast of {win.period} is the "
                      "closed won so far plus the run-rate of deals not yet created", DataWarning, stacklevel=3)
    _warn_estimated_close_dates(deals, data, win)
    p_win, p_in, probability, source = _probabilities(method, deals, data, win, strength, seed)
    deals_out = _deals_frame(deals, p_win, p_in, probability, win, method, source)

    closed = data.won_between(win.start, min(win.cutoff, win.end))
    new, n_past = _new_deal_wins(data, win, lookback)
    all_ids = pd.concat([deals["opportunity_id"], closed["opportunity_id"], new["opportunity_id"]])
    names = _groups(data, by, all_ids)
    index = {n: i for i, n in enumerate(names)}

    def grp(ids: pd.Series) -> np.ndarray:
        if by is None:
            return np.zeros(len(ids), dtype=int)
        return np.array([index[v] for v in ids.map(data.attribute(by)).fillna("unknown")], dtype=int)

    g_deals, g_closed, g_new = grp(deals["opportunity_id"]), grp(closed["opportunity_id"]), grp(new["opportunity_id"])
    n_groups = len(names)

    rng = np.random.default_rng(seed)
    amount = deals["amount"].to_numpy(dtype=float)
    sims = _simulate_open(rng, amount, p_win, p_in, g_deals, n_groups, _amount_ratios(data, win), n_sims)
    new_amounts, new_weights = new["amount"].to_numpy(dtype=float), new["weight"].to_numpy(dtype=float)
    sims += _simulate_new(rng, new_weights.sum() / max(n_past, 1), new_amounts, new_weights, g_new, n_groups,
                          n_sims)
    closed_won = np.bincount(g_closed, weights=closed["amount"].to_numpy(dtype=float), minlength=n_groups)
    sims += closed_won[:, None]
    data.cache[_raw_key(win, method, n_sims, seed, strength, lookback)] = (
        float(closed_won.sum()), *np.quantile(sims.sum(axis=0), [0.1, 0.5, 0.9]))
    calibration = RangeCalibration(0.0, 0, float("nan"))  # independent deals: no period-wide shock
    if ranges == "calibrated":
        calibration = _calibration(data, win, method, n_sims, seed, strength, lookback, range_periods)
        sims = apply_shock(np.random.default_rng([seed, 1]), sims, closed_won, calibration.shock,
                           calibration.shift)

    inside = win.expected_inside(deals)
    cat = deals_out["category"].to_numpy()

    def per_group(values):
        return np.bincount(g_deals, weights=values, minlength=n_groups) if len(values) else np.zeros(n_groups)

    rows = pd.DataFrame({
        "group": names,
        "closed_won": closed_won,
        "open_pipeline": per_group(amount * inside),
        "weighted": per_group(amount * probability),
        "new_deals": np.bincount(g_new, weights=new_amounts * new_weights, minlength=n_groups) / max(n_past, 1),
        "commit": closed_won + per_group(amount * (cat == "Commit")),
        "n_open": per_group(np.ones(len(amount))),
        "sims": list(sims),
    })
    if by is not None:
        total = rows.drop(columns=["group", "sims"]).sum()
        rows = pd.concat([pd.DataFrame([{**total, "group": TOTAL_GROUP, "sims": sims.sum(axis=0)}]), rows],
                         ignore_index=True)
    best = np.bincount(g_deals, weights=amount * (cat == "Best case"), minlength=n_groups)
    rows["best_case"] = rows["commit"] + (best if by is None else np.r_[best.sum(), best])
    q = np.array([np.quantile(s, [0.1, 0.5, 0.9]) for s in rows["sims"]])
    rows["p10"], rows["p50"], rows["p90"] = q[:, 0], q[:, 1], q[:, 2]
    rows["expected"] = rows["closed_won"] + rows["weighted"] + rows["new_deals"]
    rows["period"], rows["method"], rows["probabilities"] = str(win.period), method, source
    rows["as_of"] = (win.cutoff - DAY).date().isoformat()
    rows["n_open"] = rows["n_open"].astype(int)
    rows["snapshot"] = "exact" if data.exact else "approximate"
    rows["range_method"] = calibration.description if ranges == "calibrated" else INDEPENDENT
    rows["range_shock"], rows["range_periods"] = calibration.shock, calibration.periods
    rows["range_shift"] = calibration.shift
    if target is not None:
        from ..metrics import gap_coverage, pipeline_coverage

        total_row = rows["group"] == TOTAL_GROUP
        rows["target"] = np.where(total_row, float(target), np.nan)
        rows["pipeline_coverage"] = pipeline_coverage(rows["open_pipeline"].to_numpy(), rows["target"].to_numpy())
        rows["gap_coverage"] = gap_coverage(rows["open_pipeline"].to_numpy(), rows["target"].to_numpy(),
                                            rows["closed_won"].to_numpy())
    rows = rows.drop(columns=["sims"])
    first = list(FORECAST_COLUMNS)
    return rows[first + [c for c in rows.columns if c not in first]], deals_out


def forecast_period(
    opportunities: pd.DataFrame | None = None,
    stage_history: pd.DataFrame | None = None,
    *,
    as_of,
    period,
    method: str = "learned",
    by: str | None = None,
    n_sims: int = 10_000,
    seed: int = 0,
    stages=None,
    target: float | None = None,
    strength: float = 10.0,
    lookback_periods: int = 4,
    ranges: str = "calibrated",
    range_periods: int = RANGE_PERIODS,
    data: PipelineData | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast the revenue won in ``period`` with what was known at the end of ``as_of``.

    Parameters
    ----------
    opportunities : DataFrame, optional
        Canonical opportunities (not needed when ``data`` is given).
    stage_history : DataFrame, optional
        Canonical stage history (exact snapshots). Without it the snapshot is
        approximate and a :class:`~forecasting.data.DataWarning` is issued.
    as_of : date-like
        The forecast date (inclusive); nothing stamped later is used. It must fall
        on or after the first deal's creation day and at most one period length after
        the data's last record (a warning beyond a week): see Raises.
    period : str or Period
        Period to forecast (``2026Q3``, ``2026-07``...), current or future. Only deals
        expected to close inside it count (:func:`~forecasting.pipeline.expected_in_window`).
    method : {"learned", "historical", "default"}
        How open deals get their probability (see module docs).
    by : {"owner", "segment"} or None
        Also forecast each group (rows after the ``all`` row).
    n_sims : int, default 10000
        Monte Carlo simulations.
    seed : int, default 0
        Seed of the simulations and of the learned model.
    stages : Stages or dict, optional
    target : float, optional
        Period target: adds ``target``, ``pipeline_coverage`` (open pipeline over the target)
        and ``gap_coverage`` (over the target still to win) to the ``all`` row.
    strength : float, default 10
        Prior strength of the stage win rates (``historical``).
    lookback_periods : int, default 4
        Finished periods averaged for the not-yet-created run-rate (each scaled
        by the yearly growth of deal creation since).
    ranges : {"calibrated", "independent"}, default "calibrated"
        ``"calibrated"``: the Monte Carlo of independent deals times a period-wide
        shock sized by the method's own backtest errors on the ``range_periods``
        periods before the as-of date, seen at the same point of their period, and
        centred on their bias when it is persistent (the P50 moves too:
        :mod:`forecasting.pipeline.ranges`; an assumed shock, with a warning, when
        fewer than 3 such periods exist). ``"independent"``: deals independent and
        probabilities exact (too narrow on real pipelines).
    range_periods : int, default 8
        Past periods backtested for the calibrated range (0: the assumed shock only;
        each costs one forecast, cached in ``data``).
    data : PipelineData, optional
        Prepared inputs, to reuse across calls (then the tables are ignored).

    Returns
    -------
    forecast : DataFrame
        One row per group: ``period, group, closed_won, open_pipeline`` (open deals
        expected to close by the period end, overdue included), ``weighted``
        (sum of amount x probability), ``p10, p50, p90`` (of the period total: closed
        won + open deals + deals not yet created), ``method`` (as requested), ``probabilities``
        (where the open deals' probabilities came from: the method, or ``historical (fallback:
        <reason>)`` when the learned model was replaced), then ``new_deals``
        (expected from deals not yet created), ``commit``, ``best_case``,
        ``expected`` (closed_won + weighted + new_deals), ``n_open``, ``as_of``,
        ``snapshot`` (exact / approximate), ``range_method`` (how P10-P90 was made),
        ``range_shock`` (log-sd of the period-wide shock), ``range_shift`` (log of the
        bias correction of the uncertain revenue, 0 without a persistent bias) and
        ``range_periods`` (past periods they were estimated from).
    deals : DataFrame
        The open deals as of the date: snapshot columns, ``p_win, p_in_period,
        probability, expected_value, category``, then ``close_date_estimated``
        (no expected close date known: estimated from past cycles, with a warning)...

    Raises
    ------
    DataError
        Bad tables (missing or negative amounts, unknown stages, duplicate ids...),
        a bad period, or an as-of date the data cannot speak for: before the first
        deal was created, or more than the period's length after the data's last
        record (a created deal, a stage change or a close).

    Warns
    -----
    DataWarning
        No stage history (approximate snapshot); no open deals at the date (the
        forecast is then the closed won so far plus the run-rate of deals not yet
        created); data ending more than a week before the as-of date; open deals
        without an expected close date (count); a learned model that disagrees
        wildly with the observed stage win rates (historical rates are used); fewer
        than 3 past periods to calibrate the range.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if ranges not in RANGES:
        raise ValueError(f"unknown ranges {ranges!r}; expected one of {', '.join(RANGES)}")
    if n_sims < 1:
        raise ValueError(f"n_sims must be at least 1, got {n_sims}")
    data = resolve(opportunities, stage_history, stages, data)
    win = _window(period, cutoff_of(as_of))
    data.check_as_of(win.cutoff, win.end - win.start)
    return _forecast(data, win, method, by, n_sims, seed, strength, lookback_periods, target, ranges=ranges,
                     range_periods=range_periods)

