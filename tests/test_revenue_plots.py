"""Revenue figures draw the numbers of the frames they are given; the CLI writes them as PNG."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from forecasting.cli import main
from forecasting.revenue import backtest, backtest_metrics, forecast
from forecasting.revenue import plots


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def revenue(n=30, freq="MS", slopes=None) -> pd.DataFrame:
    """Straight lines per segment: amount = start + slope * t, so Drift forecasts them exactly."""
    slopes = slopes or {"Enterprise": (300_000.0, 20_000.0), "SMB": (100_000.0, 5_000.0)}
    dates = pd.date_range("2023-01-01", periods=n, freq=freq)
    return pd.concat([pd.DataFrame({"date": dates, "segment": name, "amount": start + slope * np.arange(n)})
                      for name, (start, slope) in slopes.items()], ignore_index=True)


@pytest.fixture(scope="module")
def history():
    return revenue()


@pytest.fixture(scope="module")
def fc(history):
    return forecast(history, 3, model="naive")


@pytest.fixture(scope="module")
def cv(history):
    return backtest(history, 3, folds=2, models=["naive", "drift"])


def _line(ax, label):
    (line,) = [ln for ln in ax.lines if ln.get_label() == label]
    return line


def _band_y(ax, label) -> list[float]:
    """Distinct heights of the band polygon drawn with this label."""
    (band,) = [c for c in ax.collections if c.get_label() == label]
    return sorted({round(float(v), 6) for v in band.get_paths()[0].vertices[:, 1]})


# ---------------------------------------------------------------- fan charts

def test_fan_chart_draws_history_then_the_forecast_and_its_bands(history, fc):
    ax = plots.fan_chart(fc, history, series="SMB").axes[0]
    smb = history[history["segment"] == "SMB"]["amount"].to_numpy()
    assert list(_line(ax, "history").get_ydata()) == list(smb)
    rows = fc[fc["series"] == "SMB"]
    # The mean starts at the last actual (245k) so the two lines join; naive then stays flat.
    assert list(_line(ax, "forecast mean").get_ydata()) == [smb[-1]] + list(rows["mean"])
    assert _band_y(ax, "95 % interval") == sorted({round(v, 6) for v in [smb[-1], *rows["lo_95"], *rows["hi_95"]]})
    assert _band_y(ax, "80 % interval")[0] > _band_y(ax, "95 % interval")[0]  # the 80 % band is inside
    assert ax.get_title() == "Revenue forecast: SMB (Naive), next 3 months"
    assert ax.get_ylabel() == "revenue per month"


def test_total_history_is_the_sum_of_the_segments(history, fc):
    ax = plots.fan_chart(fc, history).axes[0]  # the total by default
    assert _line(ax, "history").get_ydata()[0] == 400_000.0  # 300k + 100k
    assert _line(ax, "history").get_ydata()[-1] == 400_000.0 + 29 * 25_000.0
    assert ax.get_title() == "Revenue forecast: total (sum of the series), next 3 months"


def test_money_axis_and_zero_floor_for_positive_revenue(history, fc):
    ax = plots.fan_chart(fc, history, series="Enterprise").axes[0]
    assert ax.yaxis.get_major_formatter()(1_500_000, 0) == "$1.5M"
    assert ax.get_ylim()[0] == 0


def test_fan_chart_without_history_draws_only_the_forecast(fc):
    ax = plots.fan_chart(fc, series="SMB").axes[0]
    assert [ln.get_label() for ln in ax.lines] == ["forecast mean"]
    assert list(ax.lines[0].get_ydata()) == list(fc.loc[fc["series"] == "SMB", "mean"])


def test_fan_charts_put_the_total_first_then_the_largest_series(history, fc):
    fig = plots.fan_charts(fc, history)
    assert [ax.get_title() for ax in fig.axes] == ["total (sum of the series)", "Enterprise (Naive)", "SMB (Naive)"]
    assert fig._suptitle.get_text() == "Revenue forecast for the next 3 months: mean with 80 % and 95 % intervals"


def test_fan_charts_cap_the_panels_and_say_so(history, fc):
    fig = plots.fan_charts(fc, history, max_panels=2)
    assert [ax.get_title() for ax in fig.axes] == ["total (sum of the series)", "Enterprise (Naive)"]
    assert "(2 of 3 series)" in fig._suptitle.get_text()
    chosen = plots.fan_charts(fc, history, series=["SMB"])
    assert [ax.get_title() for ax in chosen.axes] == ["SMB (Naive)"]


def test_quarterly_data_is_labelled_per_quarter():
    quarterly = revenue(12, freq="QS")
    fig = plots.fan_chart(forecast(quarterly, 4, model="naive"), quarterly)
    assert fig.axes[0].get_ylabel() == "revenue per quarter"
    assert fig.axes[0].get_title().endswith("next 4 quarters")


def test_fan_chart_rejects_an_unknown_series_or_the_wrong_frame(fc, cv):
    with pytest.raises(ValueError, match=r"series \['APAC'\] not in the frame; available: \['Enterprise', 'SMB'"):
        plots.fan_chart(fc, series="APAC")
    with pytest.raises(ValueError, match="missing column.*forecasting.revenue.forecast returns"):
        plots.fan_charts(backtest_metrics(cv))


# ---------------------------------------------------------------- backtest and leaderboard

def test_backtest_chart_highlights_the_best_model_with_its_interval(history, cv):
    fig = plots.backtest_chart(cv, history)
    assert [ax.get_title() for ax in fig.axes] == ["Enterprise", "SMB"]  # the larger series first
    ax = fig.axes[0]
    drift = [ln for ln in ax.lines if ln.get_color() == "#8c564b"]
    naive = [ln for ln in ax.lines if ln.get_color() == "#7f7f7f"]
    # One line per cutoff; Drift is exact on straight lines, so it is the best MASE and drawn thick.
    assert len(drift) == len(naive) == 2
    assert {ln.get_linewidth() for ln in drift} == {2.2} and {ln.get_linewidth() for ln in naive} == {1.0}
    last = cv[(cv["series"] == "Enterprise") & (cv["model"] == "Drift")].tail(3)
    np.testing.assert_allclose(drift[-1].get_ydata(), last["actual"])
    assert sum(c.get_label() == "Drift 80 % interval" for c in ax.collections) == 1  # labelled once, 2 bands
    assert fig._suptitle.get_text() == "Backtest: 3-month forecasts from 2 origins against what happened"


def test_backtest_chart_draws_the_cutoffs_and_the_chosen_model(cv):
    fig = plots.backtest_chart(cv, series="SMB", highlight="naive", level=95)
    ax = fig.axes[0]
    cutoffs = [ln.get_xdata()[0] for ln in ax.lines if ln.get_linestyle() == ":"]
    assert [pd.Timestamp(c) for c in cutoffs] == list(pd.to_datetime(cv["cutoff"].unique()))
    assert any(c.get_label() == "Naive 95 % interval" for c in ax.collections)
    # Without history the actuals come from the backtest: the two 3-month test windows.
    assert list(_line(ax, "actual").get_ydata()) == list(cv[(cv["series"] == "SMB") & (cv["model"] == "Naive")]
                                                         ["actual"])


def test_backtest_chart_rejects_models_and_levels_it_does_not_have(cv):
    with pytest.raises(ValueError, match=r"model\(s\) \['ETS'\] not in the backtest"):
        plots.backtest_chart(cv, highlight="ets")
    with pytest.raises(ValueError, match="level 90 not in the backtest"):
        plots.backtest_chart(cv, level=90)


def test_leaderboard_puts_the_lowest_mase_first_with_its_value():
    metrics = pd.DataFrame({"model": ["Naive", "ETS", "ARIMA"], "mase": [0.9, 0.4, 0.6],
                            "coverage_80": [0.7, 0.8, 0.75], "coverage_95": [0.9, 0.95, 0.93]})
    left, right = plots.leaderboard_chart(metrics).axes
    assert [t.get_text() for t in left.get_yticklabels()] == ["ETS", "ARIMA", "Naive"]
    assert [round(p.get_width(), 6) for p in left.patches] == [0.4, 0.6, 0.9]
    assert [t.get_text() for t in left.texts] == [" 0.40", " 0.60", " 0.90"]
    assert [p.get_facecolor() != left.patches[1].get_facecolor() for p in left.patches] == [True, False, False]
    dots = [ln for ln in right.lines if ln.get_label() == "80 % interval"][0]
    assert list(dots.get_xdata()) == [0.8, 0.75, 0.7]


def test_leaderboard_needs_one_row_per_model(cv):
    with pytest.raises(ValueError, match="one row per model"):
        plots.leaderboard_chart(backtest_metrics(cv, by_series=True))


# ---------------------------------------------------------------- CLI

def test_cli_writes_the_fan_chart_and_the_backtest_figure(tmp_path, history):
    history.to_csv(tmp_path / "revenue.csv", index=False)
    assert main(["revenue", "forecast", str(tmp_path / "revenue.csv"), "--horizon", "3", "--model", "naive",
                 "--out", str(tmp_path / "fc")]) == 0
    assert main(["revenue", "backtest", str(tmp_path / "revenue.csv"), "--horizon", "3", "--folds", "2",
                 "--models", "naive,drift", "--out", str(tmp_path / "bt")]) == 0
    for folder, name, key in (("fc", "fan_chart.png", "fan_chart"), ("bt", "backtest.png", "backtest_chart")):
        png = tmp_path / folder / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert json.loads((tmp_path / folder / "run.json").read_text())["outputs"][key] == str(png)
    assert pd.read_csv(tmp_path / "fc" / "forecast.csv")["series"].nunique() == 3  # the CSV is unchanged
