"""Pipeline forecast figures: they draw the numbers of the frames they are given."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from forecasting.pipeline import plots


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _forecast(groups=("all",), target=None) -> pd.DataFrame:
    n = len(groups)
    frame = pd.DataFrame({
        "period": "2026Q3", "group": list(groups), "closed_won": [100e3 * (i + 1) for i in range(n)],
        "open_pipeline": 2000e3, "weighted": 900e3, "p10": 700e3, "p50": 1000e3 + 10e3 * np.arange(n),
        "p90": 1500e3, "method": "learned", "new_deals": 50e3, "commit": 700e3, "best_case": 1000e3,
        "as_of": "2026-06-30",
    })
    if target is not None:
        frame["target"] = np.where(frame["group"] == "all", target, np.nan)
    return frame


def _deals() -> pd.DataFrame:
    # Commit 600k, Best case 300k, Pipeline 200k + 100k, Omitted 5M (expected after the period).
    return pd.DataFrame({
        "opportunity_id": ["D1", "D2", "D3", "D4", "D5"], "owner": ["ava", "ben", "ava", "ben", "ava"],
        "stage": ["Negotiation", "Proposal", "Demo", "Prospecting", "Prospecting"],
        "amount": [600e3, 300e3, 200e3, 100e3, 5000e3], "probability": [0.8, 0.5, 0.2, 0.1, 0.0],
        "expected_value": [480e3, 150e3, 40e3, 10e3, 0.0],
        "category": ["Commit", "Best case", "Pipeline", "Pipeline", "Omitted"], "period": "2026Q3",
    })


def _bar_spans(ax) -> list[tuple[float, float]]:
    """Where each bar starts and ends, in thousands."""
    return [(round(p.get_x() / 1e3, 6), round((p.get_x() + p.get_width()) / 1e3, 6)) for p in ax.patches]


def test_category_roll_up_adds_each_category_to_the_ones_before():
    fig = plots.period_forecast_chart(_forecast(), _deals())
    top, bottom = fig.axes
    # Closed 100k, + Commit 600k, + Best case 300k, + Pipeline 300k: (before, increment) bars per row.
    assert _bar_spans(bottom) == [(0, 0), (0, 100), (0, 100), (100, 700), (0, 700), (700, 1000),
                                  (0, 1000), (1000, 1300)]
    assert [t.get_text() for t in bottom.get_yticklabels()] == ["Closed", "+ Commit", "+ Best case", "+ Pipeline"]
    assert top.get_title() == "Forecast of 2026Q3 as of 2026-06-30 (learned)"
    assert bottom.get_xlabel() == "revenue won in the period"


def test_period_chart_draws_the_range_and_the_expected_parts():
    fig = plots.period_forecast_chart(_forecast(), _deals())
    spans = _bar_spans(fig.axes[0])
    assert spans[0] == (700, 1500)  # P10-P90
    assert spans[1:4] == [(0, 100), (100, 1000), (1000, 1050)]  # closed, weighted, not yet created
    assert spans[4] == (100, 2100)  # open pipeline on top of what is closed
    assert [t.get_text() for t in fig.axes[0].texts] == [
        "  P10 $700k / P50 $1.0M / P90 $1.5M", "  $1.1M", "  $2.1M"]


def test_period_chart_draws_a_target_line_only_with_a_target():
    with_target = plots.period_forecast_chart(_forecast(target=1200e3), _deals())
    without = plots.period_forecast_chart(_forecast(), _deals())
    labels = [line.get_label() for line in with_target.axes[0].lines]
    assert "target $1.2M" in labels
    assert not any(line.get_label().startswith("target") for line in without.axes[0].lines)


def test_period_chart_needs_the_all_row():
    with pytest.raises(ValueError, match="'all' row"):
        plots.period_forecast_chart(_forecast(groups=("ava",)), _deals())


def test_group_chart_leaves_out_the_total_and_sorts_by_p50():
    forecast = _forecast(groups=("all", "ava", "ben", "cy"))
    forecast.loc[1:, "p50"] = [1200e3, 800e3, 1000e3]
    fig = plots.group_forecast_chart(forecast, "owner")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ben", "cy", "ava"]
    assert ax.get_title() == "Forecast of 2026Q3 by owner" and ax.get_ylabel() == "owner"
    assert len(ax.patches) == 3 * 3  # three parts per group


def test_funnel_chart_labels_conversion_and_days():
    funnel = pd.DataFrame({"stage": ["Prospecting", "Demo"], "reached": [100, 40],
                           "conversion_to_next": [0.4, 0.5], "median_days_in_stage": [10.0, np.nan]})
    fig = plots.funnel_chart(funnel)
    left, right = fig.axes
    assert [p.get_width() for p in left.patches] == [100, 40]
    assert [t.get_text() for t in left.texts] == [" 100 (40% move on)", " 40 (50% move on)"]
    assert [t.get_text() for t in right.texts] == [" 10 d"]  # no label for an unknown duration


def test_stage_rates_chart_puts_history_next_to_defaults_with_group_dots():
    rates = pd.DataFrame({
        "segment": ["all", "all", "SMB", "SMB"], "stage": ["Demo", "Proposal", "Demo", "Proposal"],
        "prior": [0.4, 0.6, 0.55, 0.75], "probability": [0.55, 0.75, 0.5, 0.8],
    })
    ax = plots.stage_rates_chart(rates, by="segment").axes[0]
    heights = [round(p.get_height(), 6) for p in ax.patches]
    assert heights == [0.4, 0.6, 0.55, 0.75]  # defaults, then the all-deals history
    (dots,) = ax.lines
    assert dots.get_label() == "segment SMB" and list(dots.get_ydata()) == [0.5, 0.8]
    assert ax.get_ylim() == (0, 1)


def test_top_deals_chart_shows_the_biggest_deals_first():
    ax = plots.top_deals_chart(_deals(), n=3).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "D5 ava (Prospecting)", "D1 ava (Negotiation)", "D2 ben (Proposal)"]
    widths = [p.get_width() / 1e3 for p in ax.patches]
    assert widths == [5000.0, 600.0, 300.0, 0.0, 480.0, 150.0]  # amounts, then expected values
    assert [t.get_text() for t in ax.texts] == [" 0%", " 80%", " 50%"]
    assert ax.get_title() == "The 3 biggest open deals for 2026Q3"


def test_period_chart_title_names_the_probabilities_used_not_the_method_requested():
    frame = _forecast().assign(probabilities="historical (fallback: too little history)")
    top = plots.period_forecast_chart(frame, _deals()).axes[0]
    assert top.get_title() == "Forecast of 2026Q3 as of 2026-06-30 (historical (fallback: too little history))"
