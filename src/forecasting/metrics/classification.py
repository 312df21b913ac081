"""Classification metrics for lead scores, with bootstrap confidence intervals.

Pure functions of a 0/1 label ``y`` and a score ``p`` (a probability for the
calibration metrics). Every metric takes an optional ``sample_weight``: the
bootstrap draws integer weights (how many times each row is resampled), so one
sort of the scores serves every replicate and 1,000 replicates of 100k rows take
seconds, not minutes.

Conventions:

- :func:`roc_auc`, :func:`pr_auc` (average precision), :func:`ks` are 0..1;
- :func:`log_loss` is natural-log; :func:`brier` is the mean squared error;
- :func:`ece` (expected calibration error) uses ``n_bins`` equal-width bins;
- :func:`lift_at` is the conversion rate in the top ``share`` of leads divided
  by the overall rate; :func:`capture_at` the share of all conversions found there.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    "ece",
    "ks",
    "lift_at",
    "capture_at",
    "bootstrap_ci",
    "paired_bootstrap",
    "METRICS",
]

_EPS = 1e-15


def _prepare(y, p, sample_weight=None):
    y = np.asarray(y, dtype=float).ravel()
    p = np.asarray(p, dtype=float).ravel()
    if len(y) != len(p):
        raise ValueError(f"Found y and p of inconsistent lengths: [{len(y)}, {len(p)}]")
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float).ravel()
    if len(w) != len(y):
        raise ValueError(f"sample_weight has length {len(w)}, expected {len(y)}")
    return y, p, w


def _grouped(y, p, w, descending=True):
    """Weighted positives and negatives per distinct score, in score order."""
    order = np.argsort(-p if descending else p, kind="mergesort")
    p, y, w = p[order], y[order], w[order]
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    pos = np.add.reduceat(w * y, starts) if len(p) else np.array([])
    neg = np.add.reduceat(w * (1 - y), starts) if len(p) else np.array([])
    return pos, neg


def roc_auc(y, p, sample_weight=None) -> float:
    """Area under the ROC curve: chance that a converted lead outscores a lost one.

    Ties count one half. Returns NaN when only one class is present.

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y, p, w = _prepare(y, p, sample_weight)
    pos, neg = _grouped(y, p, w, descending=False)
    n_pos, n_neg = pos.sum(), neg.sum()
    if n_pos <= 0 or n_neg <= 0:
        return float("nan")
    below = np.cumsum(neg) - neg  # negatives with a strictly lower score
    return float(np.sum(pos * (below + 0.5 * neg)) / (n_pos * n_neg))


def pr_auc(y, p, sample_weight=None) -> float:
    """Average precision: precision averaged over the recall steps (sklearn's definition).

    Examples
    --------
    >>> round(pr_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    y, p, w = _prepare(y, p, sample_weight)
    pos, neg = _grouped(y, p, w, descending=True)
    tp, fp = np.cumsum(pos), np.cumsum(neg)
    if tp.size == 0 or tp[-1] <= 0:
        return float("nan")
    precision = tp / np.maximum(tp + fp, _EPS)
    return float(np.sum(pos / tp[-1] * precision))


def log_loss(y, p, sample_weight=None) -> float:
    """Mean negative log-likelihood of the labels (natural log), scores clipped to (0, 1)."""
    y, p, w = _prepare(y, p, sample_weight)
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(-np.sum(w * (y * np.log(p) + (1 - y) * np.log1p(-p))) / w.sum())


def brier(y, p, sample_weight=None) -> float:
    """Brier score: mean squared difference between score and label.

    Examples
    --------
    >>> round(brier([0, 1], [0.2, 0.6]), 4)
    0.1
    """
    y, p, w = _prepare(y, p, sample_weight)
    return float(np.sum(w * (p - y) ** 2) / w.sum())


def ece(y, p, sample_weight=None, n_bins: int = 10) -> float:
    """Expected calibration error: |conversion rate - mean score| per equal-width bin,
    weighted by the bin's share of leads.

    Examples
    --------
    >>> ece([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])
    0.0
    >>> ece([0, 0, 0, 0], [0.3, 0.3, 0.3, 0.3])
    0.3
    """
    y, p, w = _prepare(y, p, sample_weight)
    bins = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    weight = np.bincount(bins, w, n_bins)
    gap = np.abs(np.bincount(bins, w * y, n_bins) - np.bincount(bins, w * p, n_bins))
    return float(gap.sum() / weight.sum())


def ks(y, p, sample_weight=None) -> float:
    """Kolmogorov-Smirnov statistic: largest gap between the score distributions of
    converted and not converted leads.

    Examples
    --------
    >>> ks([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    1.0
    """
    y, p, w = _prepare(y, p, sample_weight)
    pos, neg = _grouped(y, p, w, descending=True)
    if pos.sum() <= 0 or neg.sum() <= 0:
        return float("nan")
    return float(np.max(np.abs(np.cumsum(pos) / pos.sum() - np.cumsum(neg) / neg.sum())))


def _top_share(y, p, w, share):
    """Weighted conversions and leads in the top ``share`` of leads by score.

    The row at the boundary is counted fractionally, so the result does not depend
    on how ties or resampled duplicates happen to be ordered.
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    order = np.argsort(-p, kind="mergesort")
    y, w = y[order], w[order]
    cum = np.cumsum(w)
    want = share * cum[-1]
    take = np.clip(want - (cum - w), 0, w)  # part of each row's weight inside the top share
    return float(np.sum(take * y)), float(np.sum(take))


def lift_at(y, p, share: float = 0.1, sample_weight=None) -> float:
    """Conversion rate in the top ``share`` of leads by score over the overall rate.

    Examples
    --------
    >>> lift_at([1, 0, 0, 0, 1, 0, 0, 0, 0, 0], [.9, .8, .7, .6, .5, .4, .3, .2, .1, 0], share=0.1)
    5.0
    """
    y, p, w = _prepare(y, p, sample_weight)
    hits, leads = _top_share(y, p, w, share)
    rate = np.sum(w * y) / np.sum(w)
    return float((hits / leads) / rate) if rate > 0 else float("nan")


def capture_at(y, p, share: float = 0.2, sample_weight=None) -> float:
    """Share of all conversions found in the top ``share`` of leads by score.

    Examples
    --------
    >>> capture_at([1, 0, 0, 0, 1, 0, 0, 0, 0, 0], [.9, .8, .7, .6, .5, .4, .3, .2, .1, 0], share=0.2)
    0.5
    """
    y, p, w = _prepare(y, p, sample_weight)
    hits, _ = _top_share(y, p, w, share)
    total = np.sum(w * y)
    return float(hits / total) if total > 0 else float("nan")


METRICS: dict[str, Callable] = {
    "roc_auc": roc_auc,
    "pr_auc": pr_auc,
    "log_loss": log_loss,
    "brier": brier,
    "ece": ece,
    "ks": ks,
    "lift_top10": lambda y, p, sample_weight=None: lift_at(y, p, 0.1, sample_weight),
    "lift_top20": lambda y, p, sample_weight=None: lift_at(y, p, 0.2, sample_weight),
    "capture_top10": lambda y, p, sample_weight=None: capture_at(y, p, 0.1, sample_weight),
    "capture_top20": lambda y, p, sample_weight=None: capture_at(y, p, 0.2, sample_weight),
}
"""Name -> metric ``f(y, p, sample_weight=None)``: the leaderboard's columns."""


def _weights(n: int, n_boot: int, seed):
    """Bootstrap replicates as integer weights: row i drawn w[i] times in a replicate.

    A generator, so memory stays at one replicate; the same seed gives the same
    replicates, which makes two models' bootstraps paired.
    """
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield np.bincount(rng.integers(0, n, n), minlength=n)


def bootstrap_ci(
    metric: Callable, y, p, *, n_boot: int = 1000, level: float = 0.95, seed=0
) -> tuple[float, float, float]:
    """A metric and its percentile bootstrap confidence interval.

    Parameters
    ----------
    metric : callable
        ``metric(y, p, sample_weight=None) -> float``, e.g. :func:`roc_auc`.
    y, p : array-like
        Labels and scores.
    n_boot : int
        Number of bootstrap replicates (rows resampled with replacement).
    level : float
        Coverage of the interval.
    seed : int
        Seed of the resampling.

    Returns
    -------
    (estimate, lo, hi) : tuple of float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 500); p = np.clip(y * 0.3 + rng.random(500) * 0.7, 0, 1)
    >>> est, lo, hi = bootstrap_ci(roc_auc, y, p, n_boot=200)
    >>> bool(lo < est < hi)
    True
    """
    y, p, _ = _prepare(y, p)
    stats = np.array([metric(y, p, sample_weight=w) for w in _weights(len(y), n_boot, seed)])
    alpha = (1 - level) / 2
    lo, hi = np.nanquantile(stats, [alpha, 1 - alpha])
    return float(metric(y, p)), float(lo), float(hi)


def paired_bootstrap(
    metric: Callable, y, p_a, p_b, *, n_boot: int = 1000, level: float = 0.95, seed=0
) -> dict[str, float]:
    """Difference ``metric(p_a) - metric(p_b)`` on the same rows, with a paired bootstrap.

    Both scores are resampled with the same rows in each replicate, so the test
    uses the correlation between two models scored on the same leads.

    Returns
    -------
    dict
        ``diff``, ``lo``, ``hi`` (interval of the difference) and ``p_value``
        (two-sided: twice the share of replicates on the other side of zero, counted
        as ``(k + 1) / (n + 1)`` so that ``n`` replicates never claim a p-value of 0:
        the smallest is about ``2 / n_boot``).

    Examples
    --------
    >>> y = np.array([0, 0, 1, 1] * 50); good = y * 0.5 + 0.25; bad = np.full(200, 0.5)
    >>> paired_bootstrap(roc_auc, y, good, bad, n_boot=100)["p_value"] < 0.05
    True
    """
    y, p_a, _ = _prepare(y, p_a)
    _, p_b, _ = _prepare(y, p_b)
    diffs = np.array([metric(y, p_a, sample_weight=w) - metric(y, p_b, sample_weight=w)
                      for w in _weights(len(y), n_boot, seed)])
    diffs = diffs[~np.isnan(diffs)]
    alpha = (1 - level) / 2
    lo, hi = np.quantile(diffs, [alpha, 1 - alpha]) if len(diffs) else (np.nan, np.nan)
    diff = metric(y, p_a) - metric(y, p_b)
    if len(diffs) == 0 or np.all(diffs == 0):
        p_value = 1.0
    else:
        other_side = min(np.sum(diffs <= 0), np.sum(diffs >= 0))
        p_value = min(1.0, 2 * (other_side + 1) / (len(diffs) + 1))
    return {"diff": float(diff), "lo": float(lo), "hi": float(hi), "p_value": float(p_value)}
