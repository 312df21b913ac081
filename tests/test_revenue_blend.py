"""Blending the pipeline forecast with the time-series forecast: period totals, weights, backtest."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from forecasting.data.errors import DataError
from forecasting.revenue.blend import (
    BLEND_COLUMNS,
    blend,
    blend_backtest,
    blend_metrics,
    blend_weights,
    blend_with_pipeline,
    bookings,
    forecast_periods,
    period_forecast,
    time_series_backtest,
)
from forecasting.revenue.models import _z

Z80 = _z(80)


def past(actual, pipeline, time_series, periods=None, spread=10.0):
    """A backtest frame: both methods' P50 for each period, P10/P90 at +-spread."""
    periods = periods or [str(p) for p in pd.period_range("2024Q1", periods=len(actual), freq="Q")]
    rows = []
    for method, p50 in (("pipeline", pipeline), ("time_series", time_series)):
        for period, a, f in zip(periods, actual, p50):
            rows.append({"period": period, "method": method, "actual": float(a),
                         "p10": f - spread, "p50": float(f), "p90": f + spread})
    return pd.DataFrame(rows)


def monthly_forecast(means, lower, upper, start="2026-07-01", series="total"):
    means = np.asarray(means, dtype=float)
    return pd.DataFrame({"series": series, "date": pd.date_range(start, periods=len(means), freq="MS"),
                         "mean": means, "lo_80": means - np.asarray(lower, dtype=float),
                         "hi_80": means + np.asarray(upper, dtype=float)})


# ---------------------------------------------------------------- weights

@pytest.mark.parametrize("metric", ["mse", "wape"])
def test_equal_errors_give_equal_weights(metric):
    bt = past([100, 200], pipeline=[110, 190], time_series=[90, 210])
    assert blend_weights(bt, metric).to_dict() == {"pipeline": 0.5, "time_series": 0.5}


@pytest.mark.parametrize("metric", ["mse", "wape"])
def test_a_method_without_error_gets_all_the_weight(metric):
    bt = past([100, 200], pipeline=[100, 200], time_series=[90, 210])
    assert blend_weights(bt, metric).to_dict() == {"pipeline": 1.0, "time_series": 0.0}


def test_two_methods_without_error_share_the_weight():
    bt = past([100, 200], pipeline=[100, 200], time_series=[100, 200])
    assert blend_weights(bt).to_dict() == {"pipeline": 0.5, "time_series": 0.5}


def test_inverse_mse_and_inverse_wape_worked_examples():
    # Errors 10 vs 20: MSE 100 vs 400 -> 1/100 : 1/400 = 0.8 : 0.2.
    bt = past([100, 100], pipeline=[110, 90], time_series=[120, 80])
    np.testing.assert_allclose(blend_weights(bt, "mse"), [0.8, 0.2])
    # WAPE 0.1 vs 0.3 -> 10 : 3.33 = 0.75 : 0.25.
    bt = past([100, 100], pipeline=[110, 90], time_series=[130, 70])
    np.testing.assert_allclose(blend_weights(bt, "wape"), [0.75, 0.25])


def test_only_periods_both_methods_forecast_count():
    bt = past([100, 100], pipeline=[110, 90], time_series=[120, 80])
    extra = pd.DataFrame([{"period": "2023Q4", "method": "pipeline", "actual": 100.0, "p50": 1000.0}])
    np.testing.assert_allclose(blend_weights(pd.concat([bt, extra]), "mse"), [0.8, 0.2])


def test_no_common_period_weights_equally_with_a_warning():
    bt = past([100, 100], pipeline=[110, 90], time_series=[120, 80]).iloc[[0, 3]]  # 2024Q1 vs 2024Q2
    with pytest.warns(UserWarning, match="no period with a backtest of every method"):
        assert blend_weights(bt).to_dict() == {"pipeline": 0.5, "time_series": 0.5}


def test_actuals_that_differ_between_methods_are_warned():
    bt = past([100, 100], pipeline=[110, 90], time_series=[120, 80])
    bt.loc[bt["method"] == "time_series", "actual"] = [150.0, 150.0]
    with pytest.warns(UserWarning, match="actuals differ for period.* 2024Q1, 2024Q2.*same quantity"):
        blend_weights(bt)


def test_duplicate_backtest_rows_unknown_methods_and_metrics_are_refused():
    bt = past([100, 100], pipeline=[110, 90], time_series=[120, 80])
    with pytest.raises(DataError, match=r"backtest.method: has no rows for 'pipeline' \(methods found: "
                       r"learned, time_series\); relabel"):
        blend_weights(bt.replace({"method": {"pipeline": "learned"}}))
    with pytest.raises(DataError, match="backtest.period: has more than one row .* 2024Q1 pipeline"):
        blend_weights(pd.concat([bt, bt.iloc[[0]]]))
    with pytest.raises(ValueError, match="metric must be one of"):
        blend_weights(bt, "mape")


# ---------------------------------------------------------------- blend

def test_blend_weights_the_quantiles_of_both_forecasts():
    pipe = pd.DataFrame({"period": ["2026Q3", "2026Q3", "2026Q4"], "group": ["all", "SMB", "all"],
                         "p10": [80.0, 1.0, 60.0], "p50": [100.0, 2.0, 90.0], "p90": [120.0, 3.0, 140.0]})
    ts = pd.DataFrame({"period": ["2026Q3", "2026Q4"], "method": "time_series",
                       "p10": [90.0, 70.0], "p50": [110.0, 100.0], "p90": [150.0, 130.0]})
    bt = past([100, 100], pipeline=[110, 90], time_series=[120, 80])  # weights 0.8 / 0.2
    out = blend(pipe, ts, bt)
    assert list(out.columns) == list(BLEND_COLUMNS)
    assert out[["period", "method"]].values.tolist() == [
        ["2026Q3", "pipeline"], ["2026Q3", "time_series"], ["2026Q3", "blend"],
        ["2026Q4", "pipeline"], ["2026Q4", "time_series"], ["2026Q4", "blend"]]
    mixed = out[out["method"] == "blend"]
    np.testing.assert_allclose(mixed[["p10", "p50", "p90"]], [[82, 102, 126], [62, 92, 138]])
    np.testing.assert_allclose(out["weight"], [0.8, 0.2, 1.0] * 2)


def test_blend_with_fixed_weights_and_a_segment_group():
    pipe = pd.DataFrame({"period": ["2026Q3", "2026Q3"], "group": ["all", "SMB"],
                         "p10": [80.0, 10.0], "p50": [100.0, 20.0], "p90": [120.0, 30.0]})
    ts = pd.DataFrame({"period": ["2026Q3"], "p10": [20.0], "p50": [40.0], "p90": [50.0]})
    out = blend(pipe, ts, weights={"pipeline": 3, "time_series": 1}, group="SMB")
    np.testing.assert_allclose(out.loc[out["method"] == "blend", ["p10", "p50", "p90"]], [[12.5, 25, 35]])
    with pytest.raises(DataError, match="has no rows for group 'West'"):
        blend(pipe, ts, weights={"pipeline": 1, "time_series": 1}, group="West")


def test_blend_needs_a_common_period():
    pipe = pd.DataFrame({"period": ["2026Q3"], "group": ["all"], "p10": [1.0], "p50": [2.0], "p90": [3.0]})
    ts = pd.DataFrame({"period": ["2026Q4"], "p10": [1.0], "p50": [2.0], "p90": [3.0]})
    with pytest.raises(DataError, match="no period in common"):
        blend(pipe, ts, weights={"pipeline": 1, "time_series": 1})


# ---------------------------------------------------------------- period totals

def test_period_total_sums_monthly_means_and_bounds_when_errors_move_together():
    fc = monthly_forecast([10, 20, 30, 40], lower=[1, 2, 2, 9], upper=[3, 4, 5, 9])
    out = period_forecast(fc, "2026Q3")
    assert out[["period", "method"]].values.tolist() == [["2026Q3", "time_series"]]
    assert out[["p10", "p50", "p90"]].values.tolist() == [[55.0, 60.0, 72.0]]  # asymmetric stays asymmetric
    assert out["n_forecast"].tolist() == [3]


@pytest.mark.parametrize("correlation", [0.0, 0.5])
def test_period_total_combines_widths_with_the_stated_correlation(correlation):
    fc = monthly_forecast([10, 20, 30], lower=[1, 2, 2], upper=[3, 4, 5])
    out = period_forecast(fc, "2026Q3", correlation=correlation).iloc[0]

    def width(w):
        return np.sqrt((1 - correlation) * np.sum(np.square(w)) + correlation * np.sum(w) ** 2)

    assert out["p10"] == pytest.approx(60 - width([1, 2, 2]))
    assert out["p90"] == pytest.approx(60 + width([3, 4, 5]))
    if correlation == 0:
        assert out["p10"] == pytest.approx(57.0)  # sqrt(1 + 4 + 4)


def test_period_ranges_are_calibrated_for_the_matching_correlation():
    rng = np.random.default_rng(0)
    n, sd = 4000, np.array([1.0, 2.0, 3.0])
    fc = monthly_forecast([0, 0, 0], lower=Z80 * sd, upper=Z80 * sd)
    independent = rng.normal(0, sd, size=(n, 3)).sum(axis=1)
    common = rng.normal(0, 1, size=n) * sd.sum()

    def cover(totals, correlation):
        row = period_forecast(fc, "2026Q3", correlation=correlation).iloc[0]
        return np.mean((totals >= row["p10"]) & (totals <= row["p90"]))

    assert cover(independent, 0.0) == pytest.approx(0.80, abs=0.02)
    assert cover(common, 1.0) == pytest.approx(0.80, abs=0.02)
    assert cover(independent, 1.0) > 0.90  # assuming common errors is conservative


def test_period_total_counts_months_in_the_history_as_actuals():
    fc = monthly_forecast([20, 30], lower=[2, 2], upper=[2, 2], start="2026-08-01")
    history = pd.DataFrame({"date": pd.to_datetime(["2026-06-01", "2026-07-01"] * 2),
                            "segment": ["SMB", "SMB", "ENT", "ENT"], "amount": [5.0, 7.0, 1.0, 2.0]})
    out = period_forecast(fc, ["2026Q3"], history=history).iloc[0]
    assert out["actual_to_date"] == 9.0 and out["n_forecast"] == 2
    assert (out["p10"], out["p50"], out["p90"]) == (55.0, 59.0, 63.0)


def test_period_total_uses_another_level_rescaled_to_80():
    fc = pd.DataFrame({"date": pd.date_range("2026-07-01", periods=3, freq="MS"), "mean": [10.0] * 3,
                       "lo_95": [10 - _z(95)] * 3, "hi_95": [10 + _z(95)] * 3})
    out = period_forecast(fc, "2026Q3").iloc[0]
    assert out["p90"] - out["p50"] == pytest.approx(3 * Z80)


def test_period_total_refuses_a_period_it_cannot_cover():
    fc = monthly_forecast([10, 20], lower=[1, 1], upper=[1, 1])
    with pytest.raises(DataError, match=r"period 2026Q3: .* neither the history nor the forecast.*2026-09-01"):
        period_forecast(fc, "2026Q3")
    with pytest.raises(DataError, match="has no series 'West'"):
        period_forecast(fc, "2026Q3", series="West")
    with pytest.raises(DataError, match="'2026-Q9' is not a period"):
        period_forecast(fc, "2026-Q9")


# ---------------------------------------------------------------- backtests

def test_blend_backtest_weights_each_period_by_earlier_periods_only():
    bt = past([100, 100, 100], pipeline=[110, 90, 105], time_series=[80, 120, 90])
    frame, metrics = blend_backtest(bt)
    weights = frame.pivot(index="period", columns="method", values="weight")
    np.testing.assert_allclose(weights["pipeline"], [0.5, 0.8, 0.8])  # 2024Q1 has no past: equal
    blended = frame.loc[frame["method"] == "blend", "p50"].to_numpy()
    np.testing.assert_allclose(blended, [95.0, 96.0, 102.0])
    assert metrics["method"].tolist() == ["pipeline", "time_series", "blend"]
    np.testing.assert_allclose(metrics["wape"], [25 / 300, 50 / 300, 11 / 300])  # the blend beats both
    np.testing.assert_allclose(metrics["coverage_80"], [1.0, 1 / 3, 1.0])


def test_blend_backtest_sorts_periods_and_honours_min_periods():
    bt = past([100, 100, 100], pipeline=[110, 90, 105], time_series=[80, 120, 90])
    frame, _ = blend_backtest(bt.iloc[::-1], min_periods=2)
    assert frame["period"].unique().tolist() == ["2024Q1", "2024Q2", "2024Q3"]
    np.testing.assert_allclose(frame.loc[frame["method"] == "pipeline", "weight"], [0.5, 0.5, 0.8])


def test_blend_metrics_worked_example():
    frame = pd.DataFrame({"method": ["m", "m"], "actual": [100.0, 200.0], "p10": [90.0, 100.0],
                          "p50": [110.0, 180.0], "p90": [120.0, 190.0]})
    row = blend_metrics(frame).iloc[0]
    assert row["wape"] == pytest.approx(0.1) and row["bias"] == pytest.approx(-10 / 300)
    assert row["coverage_80"] == 0.5 and row["width_80"] == pytest.approx(60 / 150)
    assert row["rmse"] == pytest.approx(np.sqrt(250)) and row["n_periods"] == 2


def test_time_series_backtest_is_exact_on_a_straight_line():
    revenue = pd.DataFrame({"date": pd.date_range("2021-01-01", periods=36, freq="MS"),
                            "amount": 100.0 + 10 * np.arange(36)})
    out = time_series_backtest(revenue, "2023Q3:2023Q4", model="drift")
    assert out.columns.tolist() == ["period", "method", "actual", "p10", "p50", "p90"]
    # 2023Q3 = months 30..32: 400 + 410 + 420.
    np.testing.assert_allclose(out["actual"], [1230.0, 1320.0])
    np.testing.assert_allclose(out[["p10", "p50", "p90"]], np.repeat(out[["actual"]].to_numpy(), 3, axis=1))
    with pytest.raises(DataError, match="period 2024Q1 is not complete in the revenue table"):
        time_series_backtest(revenue, "2024Q1", model="drift")


def test_forecast_periods_forecasts_just_far_enough_and_counts_the_current_months():
    # 2024-01 .. 2026-07 (31 months); Q3 2026 has July in the history.
    revenue = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=31, freq="MS"),
                            "amount": 10.0 * np.arange(1, 32)})
    out = forecast_periods(revenue, ["2026Q3", "2026Q4"], model="drift")
    assert out["period"].tolist() == ["2026Q3", "2026Q4"]
    assert out["actual_to_date"].tolist() == [310.0, 0.0] and out["n_forecast"].tolist() == [2, 3]
    np.testing.assert_allclose(out["p50"], [310 + 320 + 330, 340 + 350 + 360])
    np.testing.assert_allclose(out["p10"], out["p50"])  # a straight line: no forecast error


def test_time_series_backtest_of_the_total_sums_the_segments():
    dates = pd.date_range("2021-01-01", periods=24, freq="MS")
    revenue = pd.concat([pd.DataFrame({"date": dates, "segment": s, "amount": level + np.arange(24.0)})
                         for s, level in (("SMB", 10.0), ("ENT", 50.0))])
    out = time_series_backtest(revenue, "2022Q4", model="drift").iloc[0]
    assert out["actual"] == pytest.approx(3 * 60 + 2 * (21 + 22 + 23)) == out["p50"]


# ---------------------------------------------------------------- bookings

def test_bookings_sum_won_deals_per_month_with_zero_months():
    opps = pd.DataFrame({
        "opportunity_id": ["O1", "O2", "O3", "O4", "O5"],
        "amount": [10.0, 5.0, 7.0, 3.0, 4.0],
        "status": ["won", "won", "lost", "won", "open"],
        "segment": ["SMB", "ENT", "SMB", "SMB", "SMB"],
        "close_date": pd.to_datetime(["2026-01-15", "2026-03-02", "2026-02-01", "2026-03-31", "2026-04-20"]),
    })
    total = bookings(opps)
    assert total["date"].dt.strftime("%Y-%m").tolist() == ["2026-01", "2026-02", "2026-03"]
    assert total["amount"].tolist() == [10.0, 0.0, 8.0]
    by = bookings(opps, by="segment", as_of="2026-04-15")  # April is not complete
    assert by.groupby("segment")["amount"].apply(list).to_dict() == {"ENT": [0.0, 0.0, 5.0],
                                                                    "SMB": [10.0, 0.0, 3.0]}
    assert bookings(opps, as_of="2026-02-28")["amount"].tolist() == [10.0, 0.0]
    with pytest.raises(DataError, match="opportunities.status: has no won deals"):
        bookings(opps.assign(status="lost"))


# ---------------------------------------------------------------- import direction

def test_blend_does_not_import_the_pipeline():
    code = ("import sys, forecasting.revenue.blend; "
            "sys.exit(any(m.startswith('forecasting.pipeline') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# ---------------------------------------------------------------- end to end

def straight_line_deals(months=36, start="2024-01-01"):
    """One won deal per month, 100 + 10 i: bookings on a straight line (drift forecasts them exactly)."""
    dates = pd.date_range(start, periods=months, freq="MS") + pd.Timedelta(days=14)
    return pd.DataFrame({"opportunity_id": [f"O{i}" for i in range(months)], "status": "won",
                         "amount": 100.0 + 10 * np.arange(months), "close_date": dates})


def test_blend_with_pipeline_uses_the_forecasts_method_and_an_exact_time_series():
    opps = straight_line_deals()  # Jan 2024 .. Dec 2026; as of 2026-06-30 the history ends in June
    pipeline = pd.DataFrame({"period": ["2026Q3"], "group": ["all"], "method": ["learned"],
                             "p10": [900.0], "p50": [1000.0], "p90": [1100.0]})
    past = pd.DataFrame({"period": ["2026Q1", "2026Q2"] * 2, "method": ["learned"] * 2 + ["default"] * 2,
                         "actual": [1050.0, 1140.0] * 2, "p10": 0.0, "p50": [1000.0, 1200.0, 1050.0, 1140.0],
                         "p90": 2000.0})
    blended, frame, metrics = blend_with_pipeline(opps, pipeline, past, "2026-06-30", model="drift")
    # Months 30..32 (Jul-Sep 2026): 400 + 410 + 420; drift has no backtest error, so it takes all the weight.
    rows = blended.set_index("method")
    assert rows.loc["time_series", "p50"] == pytest.approx(1230.0)
    assert rows["weight"].to_dict() == {"pipeline": 0.0, "time_series": 1.0, "blend": 1.0}
    assert rows.loc["blend", "p50"] == pytest.approx(1230.0)
    # The pipeline rows are the learned ones (the forecast's method), not the perfect default ones.
    assert frame.loc[frame["method"] == "pipeline", "p50"].tolist() == [1000.0, 1200.0]
    assert metrics.set_index("method").loc["time_series", "wape"] == pytest.approx(0.0)


def test_blend_with_pipeline_needs_the_forecasts_method_in_the_backtest():
    pipeline = pd.DataFrame({"period": ["2026Q3"], "group": ["all"], "method": ["learned"],
                             "p10": [1.0], "p50": [2.0], "p90": [3.0]})
    past = pd.DataFrame({"period": ["2026Q1"], "method": ["default"], "actual": [1.0], "p10": [1.0],
                         "p50": [1.0], "p90": [1.0]})
    with pytest.raises(DataError, match=r"pipeline_backtest.method: has no rows for the pipeline forecast's "
                       r"method \(learned\); methods found: default"):
        blend_with_pipeline(straight_line_deals(), pipeline, past, "2026-06-30", model="drift")


def test_blend_chart_draws_each_methods_p50_and_range_with_its_weight():
    import matplotlib.pyplot as plt

    from forecasting._figures import figure_title
    from forecasting.revenue.plots import blend_chart

    pipe = pd.DataFrame({"period": ["2026Q3", "2026Q4"], "group": "all", "p10": [80.0, 60.0],
                         "p50": [100.0, 90.0], "p90": [120.0, 140.0]})
    ts = pd.DataFrame({"period": ["2026Q3", "2026Q4"], "p10": [90.0, 70.0], "p50": [110.0, 100.0],
                       "p90": [150.0, 130.0]})
    fig = blend_chart(blend(pipe, ts, weights={"pipeline": 3, "time_series": 1}))
    first = fig.axes[0]
    assert [ax.get_title() for ax in fig.axes] == ["2026Q3", "2026Q4"]
    assert [bar.get_width() for bar in first.patches] == [100.0, 110.0, 102.5]  # P50s; blend 0.75/0.25
    assert [t.get_text() for t in first.get_yticklabels()] == ["pipeline (weight 75%)", "time series (weight 25%)",
                                                              "blend"]
    ranges = first.collections[0].get_segments()  # the P10-P90 lines
    np.testing.assert_allclose([(s[0][0], s[1][0]) for s in ranges], [(80, 120), (90, 150), (82.5, 127.5)])
    assert figure_title(fig).startswith("Pipeline and time-series forecasts blended by their backtest errors")
    plt.close(fig)
