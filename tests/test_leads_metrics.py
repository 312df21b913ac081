"""Classification metrics: known answers, agreement with scikit-learn, bootstrap coverage."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from forecasting.metrics.classification import (
    bootstrap_ci,
    brier,
    capture_at,
    ece,
    ks,
    lift_at,
    log_loss,
    paired_bootstrap,
    pr_auc,
    roc_auc,
)


def _sample(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.round(np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1), 2)  # ties on purpose
    w = rng.integers(0, 3, n)
    return y, p, w


def test_weighted_metrics_match_scikit_learn():
    y, p, w = _sample()
    assert roc_auc(y, p, w) == pytest.approx(skm.roc_auc_score(y, p, sample_weight=w))
    assert pr_auc(y, p, w) == pytest.approx(skm.average_precision_score(y, p, sample_weight=w))
    assert log_loss(y, p, w) == pytest.approx(skm.log_loss(y, p, sample_weight=w))
    assert brier(y, p, w) == pytest.approx(skm.brier_score_loss(y, p, sample_weight=w))


def test_worked_examples():
    y = [1, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]
    assert roc_auc(y, p) == pytest.approx(13 / 16)  # 0.9 beats all 8 negatives, 0.5 beats 5; 16 pairs
    assert lift_at(y, p, 0.1) == pytest.approx(5.0)  # top lead converts: rate 1.0 vs 0.2 overall
    assert capture_at(y, p, 0.5) == pytest.approx(1.0)
    assert ks([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert ece([0, 0, 1, 1], [0.25, 0.25, 0.75, 0.75]) == pytest.approx(0.25)


def test_ece_of_true_probabilities_is_small_and_of_shifted_ones_large():
    rng = np.random.default_rng(1)
    p = rng.beta(2, 8, 50_000)
    y = rng.random(50_000) < p
    assert ece(y, p) < 0.01
    assert ece(y, np.clip(p + 0.1, 0, 1)) == pytest.approx(0.1, abs=0.01)


def test_bootstrap_interval_covers_the_true_auc_about_95_percent_of_the_time():
    # Population: score ~ N(d*y, 1); true AUC = Phi(d / sqrt 2).
    from scipy.stats import norm

    d = 1.0
    truth = norm.cdf(d / np.sqrt(2))
    rng = np.random.default_rng(7)
    hits = 0
    reps = 100
    for r in range(reps):
        y = rng.integers(0, 2, 300)
        score = rng.normal(d * y, 1.0)
        _, lo, hi = bootstrap_ci(roc_auc, y, score, n_boot=200, seed=r)
        hits += lo <= truth <= hi
    assert 0.88 <= hits / reps <= 1.0


def test_paired_bootstrap_detects_a_better_model_and_not_an_equal_one():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 1500)
    good = rng.normal(1.2 * y, 1.0)
    worse = good + rng.normal(0, 1.5, 1500)
    result = paired_bootstrap(roc_auc, y, good, worse, n_boot=300)
    assert result["diff"] > 0 and result["lo"] > 0 and result["p_value"] < 0.01
    same = paired_bootstrap(roc_auc, y, good, good, n_boot=50)
    assert same["diff"] == 0 and same["p_value"] == 1.0


def test_paired_bootstrap_p_value_is_never_zero_but_at_its_floor():
    """With every replicate on one side, 300 replicates support p = 2/301, not p = 0."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 1500)
    good = rng.normal(3.0 * y, 1.0)
    noise = rng.normal(0, 1.0, 1500)
    result = paired_bootstrap(roc_auc, y, good, noise, n_boot=300)
    assert result["p_value"] == pytest.approx(2 / 301)
