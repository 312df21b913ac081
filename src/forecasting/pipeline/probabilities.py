"""Open deals' win and in-period probabilities: stage defaults, historical rates or the learned model.

See :mod:`forecasting.pipeline.forecast` for the methods; the learned model falls back to the
historical stage rates (and says why in the ``probabilities`` column) when it had too little
history or disagrees wildly with the observed stage win rates.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..data.validate import DataWarning
from ..metrics.sales import TOTAL_GROUP
from ._context import PipelineData
from .snapshot import DAY, expected_in_window
from .stages import win_rates_before
from .window import _Window

METHODS = ("default", "historical", "learned")
FALLBACK_TOO_LITTLE = "historical (fallback: too little history)"
FALLBACK_DISAGREES = "historical (fallback: disagrees with stage win rates)"
_TIMING_STRENGTH = 5.0
_MIN_TRAIN = 50
_MIN_TIMING = 30
_SETTLE_DAYS = 180
_ALIGNED_WEIGHT = 3.0


def _training(data: PipelineData, win: _Window) -> pd.DataFrame:
    from .model import training_frame

    key = ("train", win.cutoff, win.offset_days, win.window_days)
    if key not in data.cache:
        data.cache[key] = training_frame(data, win.cutoff, win.offset_days, win.window_days)
    return data.cache[key]


def _default(deals, data, win):
    p_win = deals["stage"].map(data.stages.probability).to_numpy(dtype=float)
    return p_win, win.expected_inside(deals).astype(float)


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
    inside = expected_in_window(won["close_date"], won["snapshot_at"], won["window_start"], won["window_end"])
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
        rates = win_rates_before(data, win.cutoff, strength=strength, by=by)
    if by is None:
        p_win = deals["stage"].map(rates.set_index("stage")["probability"])
    else:
        table = rates.set_index([by, "stage"])["probability"]
        overall = rates[rates[by] == TOTAL_GROUP].set_index("stage")["probability"]
        keys = pd.MultiIndex.from_arrays([deals["opportunity_id"].map(data.attribute(by)), deals["stage"]])
        p_win = pd.Series(table.reindex(keys).to_numpy(), index=deals.index)
        p_win = p_win.fillna(deals["stage"].map(overall))
    p_in, p_out = _timing(_training(data, win), win)
    return p_win.to_numpy(dtype=float), np.where(win.expected_inside(deals), p_in, p_out)


def _alignment_weights(train: pd.DataFrame, win: _Window) -> np.ndarray:
    """Training windows that end like the forecast window (at a quarter end, say) weigh more.

    Deals pulled into the last days of a quarter are won inside windows that end at the
    quarter boundary and not inside the others; with equal weights a regularized model
    learns that effect only partly and under-forecasts quarters (measured on the demo:
    -6 % of the open-deal revenue; -3 % with these weights).
    """
    from .model import window_end_phase

    aligned = (train["window_end_phase"] - window_end_phase(win.end)).abs() <= 3
    return np.where(aligned, _ALIGNED_WEIGHT, 1.0)


def _learned(deals, data, win, strength, seed):
    from .model import FEATURES, CloseProbabilityModel, deal_features

    key = ("model", win.cutoff, win.offset_days, win.window_days, seed)
    if key not in data.cache:
        train = _training(data, win)
        y = train["won_in_window"].to_numpy(dtype=int) if len(train) else np.array([], dtype=int)
        if len(train) < _MIN_TRAIN or len(np.unique(y)) < 2:
            data.cache[key] = None
        else:
            data.cache[key] = CloseProbabilityModel(random_state=seed).fit(
                train[list(FEATURES)], y, sample_weight=_alignment_weights(train, win))
    model = data.cache[key]
    if model is None:
        warnings.warn(f"too little history before {win.cutoff.date()} to learn close probabilities "
                      "(need won and not-won deals in past windows); using historical stage rates",
                      DataWarning, stacklevel=4)
        return (*_historical(deals, data, win, strength), FALLBACK_TOO_LITTLE)
    feats = deal_features(deals, data, win.cutoff, win.end)
    p = model.predict_proba(feats[list(FEATURES)])[:, 1]
    reference_win, reference_in = _historical(deals, data, win, strength)
    wild = disagreeing_stages(p, reference_win * reference_in, deals["stage"].to_numpy())
    if wild:
        shown = ", ".join(f"{stage} {mine:.2f} vs {theirs:.2f}" for stage, mine, theirs in wild)
        snapshots = "exact" if data.exact else "approximate (no stage history)"
        warnings.warn(f"the learned close probabilities disagree wildly with the observed stage win rates "
                      f"({shown}; mean in-period probability, learned vs historical) as of "
                      f"{(win.cutoff - DAY).date()}; the model was trained on {snapshots} snapshots: using the "
                      "historical stage rates instead", DataWarning, stacklevel=4)
        return reference_win, reference_in, FALLBACK_DISAGREES
    return p, np.full(len(p), np.nan), "learned"


def disagreeing_stages(learned, reference, stage, min_deals: int = 10, max_odds_ratio: float = 10.0) -> list:
    """Stages whose mean learned probability is off the reference's by more than ``max_odds_ratio`` in odds.

    Also flags a stage whose reference is below 0.5 while most of its deals are learned at
    0.9 or more (early-stage deals at near-certainty). Stages with fewer than
    ``min_deals`` open deals are not judged. Returns ``(stage, learned mean, reference mean)``.

    Examples
    --------
    >>> disagreeing_stages([0.99] * 10 + [0.2] * 10, [0.1] * 10 + [0.25] * 10, ["A"] * 10 + ["B"] * 10)
    [('A', 0.99, 0.1)]
    """
    frame = pd.DataFrame({"learned": np.asarray(learned, dtype=float), "reference": np.asarray(reference, dtype=float),
                          "sure": np.asarray(learned, dtype=float) >= 0.9, "stage": stage})
    means = frame.groupby("stage", sort=False).agg(learned=("learned", "mean"), reference=("reference", "mean"),
                                                   sure=("sure", "mean"), n=("learned", "size"))
    means = means[means["n"] >= min_deals]

    def logit(x):
        x = np.clip(x, 0.005, 0.995)
        return np.log(x / (1 - x))

    far = np.abs(logit(means["learned"]) - logit(means["reference"])) > np.log(max_odds_ratio)
    certain = (means["reference"] < 0.5) & (means["sure"] > 0.5)
    bad = means[far | certain]
    return [(str(s), round(float(r.learned), 3), round(float(r.reference), 3)) for s, r in bad.iterrows()]


def _probabilities(method, deals, data, win, strength, seed) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """``p_win, p_in_period, probability`` of the open deals and where they came from (the
    ``probabilities`` column: the method, or ``historical (fallback: ...)`` when the learned
    model was replaced)."""
    if deals.empty or win.window_days <= 0:
        zero = np.zeros(len(deals))
        return zero, zero, zero, method
    if method == "default":
        p_win, p_in, source = *_default(deals, data, win), method
    elif method == "historical":
        p_win, p_in, source = *_historical(deals, data, win, strength), method
    elif method == "learned":
        p_win, p_in, source = _learned(deals, data, win, strength, seed)
    else:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    probability = p_win * np.where(np.isnan(p_in), 1.0, p_in)
    return p_win, p_in, probability, source
