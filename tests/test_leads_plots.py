"""Lead scoring figures: they draw the numbers of the frames they are given."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from forecasting.leads import plots
from forecasting.leads.drift import SCORE


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _board() -> pd.DataFrame:
    return pd.DataFrame({
        "model": ["logistic", "hist_gb", "rule_scorecard"], "roc_auc": [0.81, 0.80, 0.75],
        "roc_auc_lo": [0.80, 0.79, 0.74], "roc_auc_hi": [0.82, 0.81, 0.76],
        "roc_auc_diff_vs_best": [0.0, -0.01, -0.06], "p_value_vs_best": [1.0, 0.04, 0.0],
    })


def test_leaderboard_draws_each_interval_with_the_best_model_on_top():
    fig = plots.leaderboard_figure(_board())
    ax = fig.axes[0]
    by_height = {tick: label.get_text() for tick, label in zip(ax.get_yticks(), ax.get_yticklabels())}
    assert by_height == {2: "logistic", 1: "hist_gb", 0: "rule_scorecard"}
    segments = ax.collections[0].get_segments()  # one (lo, hi) segment per model, in leaderboard order
    assert [(s[0][0], s[1][0], s[0][1]) for s in segments] == [(0.80, 0.82, 2), (0.79, 0.81, 1), (0.74, 0.76, 0)]
    points = ax.collections[1].get_offsets()
    assert np.allclose(points, [[0.81, 2], [0.80, 1], [0.75, 0]])
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["0.810 [0.800, 0.820]", "0.800 [0.790, 0.810]  -0.010 vs best, p 0.04",
                      "0.750 [0.740, 0.760]  -0.060 vs best, p < 0.01"]
    assert ax.get_title() == "ROC AUC with 95 % interval (out-of-fold)"


def test_leaderboard_without_the_paired_test_labels_only_the_intervals():
    fig = plots.leaderboard_figure(_board()[["model", "roc_auc", "roc_auc_lo", "roc_auc_hi"]])
    assert [t.get_text() for t in fig.axes[0].texts][1] == "0.800 [0.790, 0.810]"


def test_capacity_point_is_share_called_and_share_of_conversions_found():
    # Scores above 0.75: two of four leads called, holding one of the two conversions.
    scores = pd.DataFrame({"model": "logistic", "y": [1, 0, 1, 0], "score": [0.9, 0.8, 0.7, 0.1]})
    fig = plots.capacity_figure(scores, 0.75)
    ax = fig.axes[0]
    assert np.allclose(ax.collections[0].get_offsets(), [[0.5, 0.5]])
    gain = ax.lines[0]
    assert np.allclose(gain.get_xdata(), [0, 0.25, 0.5, 0.75, 1])
    assert np.allclose(gain.get_ydata(), [0, 0.5, 0.5, 1, 1])
    assert gain.get_label() == "logistic"
    assert ax.get_title() == "Calling leads scoring at least 0.75"
    assert "call 50% of leads: 50% of conversions" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_grade_bars_are_the_conversion_rates_with_lead_counts():
    grades = pd.DataFrame({"leads": [10, 20, 30, 40], "conversion_rate": [0.6, 0.3, 0.1, 0.02]},
                          index=pd.Index(list("ABCD"), name="grade"))
    fig = plots.grades_figure(grades, base_rate=0.14)
    ax = fig.axes[0]
    assert [round(p.get_height(), 6) for p in ax.patches] == [0.6, 0.3, 0.1, 0.02]
    assert [t.get_text() for t in ax.texts] == ["60%\n10 leads", "30%\n20 leads", "10%\n30 leads", "2%\n40 leads"]
    assert ax.lines[0].get_ydata()[0] == 0.14


def test_drift_bars_are_psi_coloured_by_band_largest_on_top():
    drift = pd.DataFrame({"feature": ["campaign", SCORE, "web_visits"], "psi": [0.3, 0.12, 0.01],
                          "band": ["shifted", "moderate", "stable"], "n": 500})
    fig = plots.drift_figure(drift)
    ax = fig.axes[0]
    bars = ax.patches[:3]
    assert [round(b.get_width(), 6) for b in bars] == [0.01, 0.12, 0.3]  # drawn bottom to top
    assert [t.get_text() for t in ax.get_yticklabels()] == ["web_visits", SCORE, "campaign"]
    assert [b.get_facecolor() for b in bars] == [to_rgba("tab:green"), to_rgba("tab:orange"), to_rgba("tab:red")]
    assert bars[1].get_linewidth() > bars[0].get_linewidth()  # the score is outlined
    assert sorted(line.get_xdata()[0] for line in ax.lines) == [0.1, 0.25]
