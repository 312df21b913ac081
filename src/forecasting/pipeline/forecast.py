"""Weighted and Monte Carlo pipeline forecast of one period at an as-of date.

The period's revenue is split in three parts, each known or estimated from data
stamped on or before the as-of date only:

1. **closed won** so far in the period (known);
2. **open deals**: each deal of the as-of snapshot is won within what is left of
   the period with probability ``probability = p_win * p_in_period``;
3. **deals not yet created**: in each of the last ``lookback_periods`` finished
   periods, the won revenue from deals created after the same point of the
   period is counted; its average is the run-rate (so the share of the period
   still to come is accounted for exactly, not linearly).

Methods for the open-deal probability:

- ``"default"``: the stages' default probabilities (the CRM's weighted pipeline),
  counted only for deals expected to close by the period end (overdue deals
  included): ``p_win`` = stage default, ``p_in_period`` = 1 or 0;
- ``"historical"``: stage win rates from the deals closed before the date, shrunk
  toward the defaults (per segment when there is one, see
  :func:`~forecasting.pipeline.stage_win_rates`), times the historical share of
  won deals that closed inside the window, for deals expected inside it and for
  those expected after it (slippage);
- ``"learned"``: :class:`~forecasting.pipeline.CloseProbabilityModel` trained on
  month-start snapshots before the date (``p_in_period`` is then NaN: the model
  predicts "won within the window" directly).

Monte Carlo (seeded, vectorized): per simulation each open deal is won
(Bernoulli ``p_win``) and closes in the period (Bernoulli ``p_in_period``), its
amount is multiplied by a historical amount change (won amount / amount at
the snapshot, resampled); the not-yet-created part is compound Poisson (count
with the run-rate's mean, amounts resampled from past new-deal wins).

Forecast categories of open deals, by their in-period probability:
``Commit`` (>= 0.7), ``Best case`` (>= 0.4), ``Pipeline`` (> 0, expected in the
period) and ``Omitted`` (expected after the period or probability 0).
Won deals are ``Closed``. ``commit`` = closed won + commit deals; ``best_case`` =
commit + best-case deals.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.errors import DataError
from ..data.validate import DataWarning
from ._context import PipelineData, log_ratios
from .snapshot import DAY, cutoff_of, period_bounds
from .stages import stage_win_rates

__all__ = ["forecast_period", "METHODS", "FORECAST_COLUMNS", "DEAL_COLUMNS", "categorize"]

METHODS = ("default", "historical", "learned")
FORECAST_COLUMNS = ("period", "group", "closed_won", "open_pipeline", "weighted", "p10", "p50", "p90", "method")
DEAL_COLUMNS = (
    "opportunity_id", "owner", "segment", "stage", "amount", "close_date", "days_in_stage", "age_days",
    "pushes", "p_win", "p_in_period", "probability", "expected_value", "category",
)
COMMIT, BEST_CASE = 0.7, 0.4
_TIMING_STRENGTH = 5.0
_MIN_TRAIN = 50
_MIN_TIMING = 30
_SETTLE_DAYS = 180


@dataclass(frozen=True)
class _Window:
    period: pd.Period
    start: pd.Timestamp
    end: pd.Timestamp       # exclusive
    cutoff: pd.Timestamp    # exclusive as-of cutoff
    begin: pd.Timestamp     # where open deals can still close in the period

    @property
    def offset_days(self) -> float:
        return (self.begin - self.cutoff) / DAY

    @property
    def window_days(self) -> float:
        return max(0.0, (self.end - self.begin) / DAY)


def _window(period, cutoff: pd.Timestamp) -> _Window:
    p, start, end = period_bounds(period)
    return _Window(p, start, end, cutoff, max(start, cutoff))


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


# --- probabilities --------------------------------------------------------------------


def _training(data: PipelineData, win: _Window) -> pd.DataFrame:
    from .model import training_frame

    key = ("train", win.cutoff, win.offset_days, win.window_days)
    if key not in data.cache:
        data.cache[key] = training_frame(data, win.cutoff, win.offset_days, win.window_days)
    return data.cache[key]


def _default(deals, data, win):
    p_win = deals["stage"].map(data.stages.probability).to_numpy(dtype=float)
    return p_win, (deals["close_date"] < win.end).to_numpy(dtype=float)


def _timing(train: pd.DataFrame, win: _Window) -> tuple[float, float]:
    """Share of later-won deals that were won inside the window: expected inside it / after it.

    Uses snapshots whose window ended at least ``_SETTLE_DAYS`` before the cutoff (so
    late wins are known: no censoring toward early wins) and, when there are enough,
    only windows aligned with quarters like the forecast window (quarter-end rush).
    """
    from .model import window_end_phase

    if train.empty:
        return 1.0, 0.0
    won = train[(train["won_by_cutoff"] == 1)]
    settled = won[won["window_end"] <= win.cutoff - pd.Timedelta(days=_SETTLE_DAYS)]
    won = settled if len(settled) >= _MIN_TIMING else won
    phase = window_end_phase(win.end)
    aligned = won[(won["window_end_phase"] - phase).abs() <= 3]
    won = aligned if len(aligned) >= _MIN_TIMING else won
    inside = (won["close_date"] < won["window_end"]).to_numpy()
    hits = won["won_in_window"].to_numpy()
    s = _TIMING_STRENGTH
    p_in = (hits[inside].sum() + s * 1.0) / (inside.sum() + s)
    p_out = (hits[~inside].sum() + s * 0.0) / ((~inside).sum() + s)
    return float(p_in), float(p_out)


def _historical(deals, data, win, strength):
    # Per-segment stage rates need the stages deals reached: stage history.
    by = "segment" if data.exact and "segment" in data.opportunities.columns else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # the approximate path was announced once
        rates = stage_win_rates(data.opportunities, None, data.stages, strength=strength, by=by,
                                _prepared=data.prepared, _cutoff=win.cutoff)
    if by is None:
        p_win = deals["stage"].map(rates.set_index("stage")["probability"])
    else:
        table = rates.set_index([by, "stage"])["probability"]
        overall = rates[rates[by] == "all"].set_index("stage")["probability"]
        keys = pd.MultiIndex.from_arrays([deals["segment"].astype(str), deals["stage"]])
        p_win = pd.Series(table.reindex(keys).to_numpy(), index=deals.index)
        p_win = p_win.fillna(deals["stage"].map(overall))
    p_in, p_out = _timing(_training(data, win), win)
    inside = (deals["close_date"] < win.end).to_numpy()
    return p_win.to_numpy(dtype=float), np.where(inside, p_in, p_out)


def _learned(deals, data, win, strength, seed):
    from .model import FEATURES, CloseProbabilityModel, deal_features

    key = ("model", win.cutoff, win.offset_days, win.window_days, seed)
    if key not in data.cache:
        train = _training(data, win)
        y = train["won_in_window"].to_numpy(dtype=int) if len(train) else np.array([], dtype=int)
        if len(train) < _MIN_TRAIN or len(np.unique(y)) < 2:
            data.cache[key] = None
        else:
            data.cache[key] = CloseProbabilityModel(random_state=seed).fit(train[list(FEATURES)], y)
    model = data.cache[key]
    if model is None:
        warnings.warn(f"too little history before {win.cutoff.date()} to learn close probabilities "
                      "(need won and not-won deals in past windows); using historical stage rates",
                      DataWarning, stacklevel=4)
        return _historical(deals, data, win, strength)
    feats = deal_features(deals, data, win.cutoff, win.end)
    p = model.predict_proba(feats[list(FEATURES)])[:, 1]
    return p, np.full(len(p), np.nan)


def _probabilities(method, deals, data, win, strength, seed) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if deals.empty or win.window_days <= 0:
        zero = np.zeros(len(deals))
        return zero, zero, zero
    if method == "default":
        p_win, p_in = _default(deals, data, win)
    elif method == "historical":
        p_win, p_in = _historical(deals, data, win, strength)
    elif method == "learned":
        p_win, p_in = _learned(deals, data, win, strength, seed)
    else:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    probability = p_win * np.where(np.isnan(p_in), 1.0, p_in)
    return p_win, p_in, probability


# --- deals not yet created --------------------------------------------------------------


def _new_deal_wins(data: PipelineData, win: _Window, lookback: int) -> tuple[pd.DataFrame, int]:
    """Won deals created after the as-of point of each of the last finished periods."""
    if win.cutoff >= win.end:
        return pd.DataFrame(columns=["opportunity_id", "amount"]), 0
    known = data.opportunities["created_at"] < win.cutoff
    earliest = data.opportunities.loc[known, "created_at"].min() if known.any() else win.cutoff
    parts, used, k = [], 0, 1
    while used < lookback:
        past = win.period - k
        k += 1
        _, start, end = period_bounds(past)
        if start < earliest:
            break
        if end > win.cutoff:
            continue
        point = start + (win.cutoff - win.start)
        won = data.won_between(start, end)
        parts.append(won[won["created_at"] >= point][["opportunity_id", "amount"]])
        used += 1
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["opportunity_id", "amount"])
    return frame, used


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


def _simulate_new(rng, lam: float, pool: np.ndarray, n_sims: int) -> np.ndarray:
    """Compound Poisson: a Poisson number of wins, amounts resampled from ``pool``."""
    if lam <= 0 or not len(pool):
        return np.zeros(n_sims)
    counts = rng.poisson(lam, size=n_sims)
    amounts = pool[rng.integers(0, len(pool), size=int(counts.sum()))]
    return np.bincount(np.repeat(np.arange(n_sims), counts), weights=amounts, minlength=n_sims)


# --- the forecast -----------------------------------------------------------------------


def _amount_ratios(data: PipelineData, win: _Window) -> np.ndarray:
    train = _training(data, win)
    if train.empty:
        return np.array([])
    won = train[train["won_in_window"] == 1]
    return log_ratios(won["won_amount"].to_numpy(dtype=float) / won["amount"].to_numpy(dtype=float))


def _deals_frame(deals, p_win, p_in, probability, win, method) -> pd.DataFrame:
    out = deals.copy()
    out["p_win"], out["p_in_period"], out["probability"] = p_win, p_in, probability
    out["expected_value"] = out["amount"] * probability
    out["category"] = categorize(probability, (deals["close_date"] < win.end).to_numpy())
    out["period"] = str(win.period)
    out["as_of"] = (win.cutoff - DAY).date().isoformat()
    out["method"] = method
    first = list(DEAL_COLUMNS)
    return out[first + [c for c in out.columns if c not in first]]


def _groups(data: PipelineData, by: str | None, ids: pd.Series) -> list[str]:
    """Group names of the deals involved (sorted); ``["all"]`` without a breakdown."""
    if by is None:
        return ["all"]
    if by not in data.opportunities.columns:
        raise DataError(f"cannot break down by {by!r}: opportunities have no {by!r} column",
                        table="opportunities")
    return sorted(set(ids.map(data.attribute(by)).fillna("unknown")))


def _forecast(data: PipelineData, win: _Window, method: str, by, n_sims, seed, strength, lookback,
              target=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    deals = data.open_deals(win.cutoff)
    p_win, p_in, probability = _probabilities(method, deals, data, win, strength, seed)
    deals_out = _deals_frame(deals, p_win, p_in, probability, win, method)

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
    new_amounts = new["amount"].to_numpy(dtype=float)
    for g in range(n_groups):
        pool = new_amounts[g_new == g]
        sims[g] += _simulate_new(rng, len(pool) / max(n_past, 1), pool, n_sims)
    closed_won = np.bincount(g_closed, weights=closed["amount"].to_numpy(dtype=float), minlength=n_groups)
    sims += closed_won[:, None]

    inside = (deals["close_date"] < win.end).to_numpy()
    cat = deals_out["category"].to_numpy()

    def per_group(values):
        return np.bincount(g_deals, weights=values, minlength=n_groups) if len(values) else np.zeros(n_groups)

    rows = pd.DataFrame({
        "group": names,
        "closed_won": closed_won,
        "open_pipeline": per_group(amount * inside),
        "weighted": per_group(amount * probability),
        "new_deals": np.bincount(g_new, weights=new_amounts, minlength=n_groups) / max(n_past, 1),
        "commit": closed_won + per_group(amount * (cat == "Commit")),
        "n_open": per_group(np.ones(len(amount))),
        "sims": list(sims),
    })
    if by is not None:
        total = rows.drop(columns=["group", "sims"]).sum()
        rows = pd.concat([pd.DataFrame([{**total, "group": "all", "sims": sims.sum(axis=0)}]), rows],
                         ignore_index=True)
    best = np.bincount(g_deals, weights=amount * (cat == "Best case"), minlength=n_groups)
    rows["best_case"] = rows["commit"] + (best if by is None else np.r_[best.sum(), best])
    q = np.array([np.quantile(s, [0.1, 0.5, 0.9]) for s in rows["sims"]])
    rows["p10"], rows["p50"], rows["p90"] = q[:, 0], q[:, 1], q[:, 2]
    rows["expected"] = rows["closed_won"] + rows["weighted"] + rows["new_deals"]
    rows["period"], rows["method"] = str(win.period), method
    rows["as_of"] = (win.cutoff - DAY).date().isoformat()
    rows["n_open"] = rows["n_open"].astype(int)
    if target is not None:
        from ..metrics import pipeline_coverage

        remaining = np.where(rows["group"] == "all", float(target) - rows["closed_won"], np.nan)
        rows["target"] = np.where(rows["group"] == "all", float(target), np.nan)
        rows["pipeline_coverage"] = pipeline_coverage(rows["open_pipeline"].to_numpy(),
                                                      np.where(remaining > 0, remaining, np.nan))
    rows = rows.drop(columns=["sims"])
    first = list(FORECAST_COLUMNS)
    return rows[first + [c for c in rows.columns if c not in first]], deals_out


def forecast_period(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame | None = None,
    as_of=None,
    period="2026Q3",
    method: str = "learned",
    by: str | None = None,
    n_sims: int = 10_000,
    seed: int = 0,
    *,
    stages=None,
    target: float | None = None,
    strength: float = 10.0,
    lookback_periods: int = 4,
    data: PipelineData | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast the revenue won in ``period`` with what was known at the end of ``as_of``.

    Parameters
    ----------
    opportunities : DataFrame
        Canonical opportunities.
    stage_history : DataFrame, optional
        Canonical stage history (exact snapshots). Without it the snapshot is
        approximate and a :class:`~forecasting.data.DataWarning` is issued.
    as_of : date-like
        The forecast date (inclusive); nothing stamped later is used.
    period : str or Period, default "2026Q3"
        Period to forecast (``2026Q3``, ``2026-07``...), current or future.
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
        Period target: adds ``target`` and ``pipeline_coverage`` (open pipeline over
        the target still to win) to the ``all`` row.
    strength : float, default 10
        Prior strength of the stage win rates (``historical``).
    lookback_periods : int, default 4
        Finished periods averaged for the not-yet-created run-rate.
    data : PipelineData, optional
        Prepared inputs, to reuse across calls (then the tables are ignored).

    Returns
    -------
    forecast : DataFrame
        One row per group: ``period, group, closed_won, open_pipeline`` (open deals
        expected to close by the period end, overdue included), ``weighted``
        (sum of amount x probability), ``p10, p50, p90`` (of the period total: closed
        won + open deals + deals not yet created), ``method``, then ``new_deals``
        (expected from deals not yet created), ``commit``, ``best_case``,
        ``expected`` (closed_won + weighted + new_deals), ``n_open``, ``as_of``.
    deals : DataFrame
        The open deals as of the date: snapshot columns, ``p_win, p_in_period,
        probability, expected_value, category``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if n_sims < 1:
        raise ValueError(f"n_sims must be at least 1, got {n_sims}")
    data = data or PipelineData.build(opportunities, stage_history, stages)
    win = _window(period, cutoff_of(as_of))
    return _forecast(data, win, method, by, n_sims, seed, strength, lookback_periods, target)
