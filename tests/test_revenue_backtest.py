"""Many-series forecasts (policies, total, parallelism) and rolling-origin backtests."""

import numpy as np
import pandas as pd
import pytest

from forecasting.data.errors import DataError
from forecasting.revenue import Drift, Ensemble, Naive, backtest, backtest_metrics, forecast, select_model
from forecasting.revenue.models import ETS

CONTRACT = ["series", "date", "mean", "lo_80", "hi_80", "lo_95", "hi_95", "model"]


def monthly(values, start="2021-01-01", segment=None):
    frame = pd.DataFrame({"date": pd.date_range(start, periods=len(values), freq="MS"),
                          "amount": np.asarray(values, dtype=float)})
    if segment is not None:
        frame.insert(0, "segment", segment)
    return frame


def seasonal(n, level, seed):
    t = np.arange(n)
    noise = np.random.default_rng(seed).normal(0, 1, n)
    return level + 0.5 * t + 0.1 * level * np.sin(2 * np.pi * t / 12) + noise


@pytest.fixture(scope="module")
def segments():
    return pd.concat([monthly(seasonal(36, 100, 0), segment="SMB"),
                      monthly(seasonal(36, 300, 1), segment="Enterprise")], ignore_index=True)


# ---------------------------------------------------------------- forecast: contract and total

def test_forecast_returns_the_contract_frame_with_a_coherent_total(segments):
    out = forecast(segments, horizon=4, model="drift")
    assert list(out.columns) == CONTRACT + ["flag", "outliers"]  # contract first, extras after
    assert set(out["flag"]) == {"ok"} and set(out["outliers"]) == {""}
    assert out.groupby("series", sort=False).size().to_dict() == {"Enterprise": 4, "SMB": 4, "total": 4}
    assert list(out["date"].unique()) == list(pd.date_range("2024-01-01", periods=4, freq="MS"))
    by = {k: g.reset_index(drop=True) for k, g in out.groupby("series")}
    np.testing.assert_allclose(by["total"]["mean"], by["SMB"]["mean"] + by["Enterprise"]["mean"])
    # Total intervals: half-widths of a Drift fit on the summed series, around the bottom-up mean.
    summed = segments.groupby("date")["amount"].sum()
    direct = Drift().fit(summed.asfreq("MS")).predict(4)
    np.testing.assert_allclose(by["total"]["hi_95"] - by["total"]["mean"], direct["hi_95"] - direct["mean"])
    assert set(out["model"]) == {"Drift", "bottom-up"}
    assert (out["lo_95"] <= out["mean"]).all() and (out["mean"] <= out["hi_95"]).all()


def test_single_series_without_segment_column_is_named_total():
    out = forecast(monthly(np.arange(24.0) + 5), horizon=2, model="naive")
    assert out["series"].tolist() == ["total", "total"]
    assert out["mean"].tolist() == [28.0, 28.0]


def test_parallel_run_matches_serial_and_reports_worker_warnings(segments):
    short = monthly(np.arange(10.0) + 5, start="2023-03-01", segment="New")
    data = pd.concat([segments, short], ignore_index=True)
    message = "'New' has 10 periods, too short for SeasonalNaive .* using Naive"
    with pytest.warns(UserWarning, match=message):
        serial = forecast(data, horizon=3, model="seasonal_naive")
    with pytest.warns(UserWarning, match=message):  # raised in a worker process, re-issued here
        parallel = forecast(data, horizon=3, model="seasonal_naive", n_jobs=2)
    pd.testing.assert_frame_equal(serial, parallel)
    assert serial.groupby("series")["model"].first().to_dict() == {
        "Enterprise": "SeasonalNaive", "New": "Naive", "SMB": "SeasonalNaive", "total": "bottom-up"}


# ---------------------------------------------------------------- forecast: policies

def test_gaps_are_filled_with_zero_by_default_and_warned():
    full = monthly(seasonal(30, 100, 2))
    holey = full.drop(index=[10, 11])
    with pytest.warns(UserWarning, match=r"2 missing period\(s\) \(2021-11-01, 2021-12-01\) filled with 0"):
        out = forecast(holey, horizon=3, model="naive")
    zeroed = full.assign(amount=full["amount"].where(~full.index.isin([10, 11]), 0.0))
    pd.testing.assert_frame_equal(out, forecast(zeroed, horizon=3, model="naive"))


def test_gaps_can_be_interpolated():
    full = monthly(np.arange(30.0))  # a straight line: interpolation restores it exactly
    with pytest.warns(UserWarning, match="linear interpolation"):
        out = forecast(full.drop(index=[5, 6, 7]), horizon=2, model="drift", fill_gaps="interpolate")
    pd.testing.assert_frame_equal(out, forecast(full, horizon=2, model="drift"))


def test_zeros_and_negative_values_are_forecast_with_additive_models(recwarn):
    values = seasonal(36, 10, 3) - 12  # crosses zero
    values[[4, 9]] = 0.0
    out = forecast(monthly(values), horizon=3, model="ets")
    assert set(out["model"]) == {"ETS"}
    assert not [w for w in recwarn if "too short" in str(w.message) or "failed" in str(w.message)]
    assert "M" not in ETS().fit(pd.Series(values)).form_


def test_too_short_series_fall_back_to_seasonal_naive_then_naive():
    with pytest.warns(UserWarning, match="15 periods, too short for Ensemble .* using SeasonalNaive"):
        out = forecast(monthly(np.arange(15.0) + 1), horizon=2)
    assert set(out["model"]) == {"SeasonalNaive"}
    assert out["mean"].tolist() == [4.0, 5.0]  # same month last year
    with pytest.warns(UserWarning, match="5 periods, too short .* using Naive"):
        out = forecast(monthly([3.0, 4.0, 5.0, 6.0, 7.0]), horizon=2, model="ets")
    assert out["model"].tolist() == ["Naive", "Naive"] and out["mean"].tolist() == [7.0, 7.0]


def test_all_zero_series_gets_a_zero_forecast():
    with pytest.warns(UserWarning, match="'Dormant' is all zero"):
        out = forecast(monthly(np.zeros(30), segment="Dormant"), horizon=3)
    assert (out[["mean", "lo_80", "hi_80", "lo_95", "hi_95"]] == 0).all().all()


def test_a_model_that_fails_falls_back_with_a_warning():
    values = np.abs(seasonal(30, 50, 4))
    values[3] = 0.0  # multiplicative ETS cannot fit zeros
    with pytest.warns(UserWarning, match="ETS failed .* using SeasonalNaive"):
        out = forecast(monthly(values), horizon=2, model=ETS(model="MNM"))
    assert set(out["model"]) == {"SeasonalNaive"}


def test_series_ending_early_are_extended_or_kept_by_common_end():
    data = pd.concat([monthly(np.arange(30.0) + 1, segment="A"),
                      monthly(np.arange(28.0) + 1, segment="B")], ignore_index=True)
    with pytest.warns(UserWarning, match="'B': 2 missing period"):
        out = forecast(data, horizon=1, model="naive")
    assert out.set_index("series")["mean"].to_dict() == {"A": 30.0, "B": 0.0, "total": 30.0}
    with pytest.warns(UserWarning, match="end on different dates: no total"):
        own = forecast(data, horizon=1, model="naive", common_end=False)
    assert own.set_index("series")["date"].dt.strftime("%Y-%m").to_dict() == {"A": "2023-07", "B": "2023-05"}


@pytest.mark.parametrize("frame, match", [
    (pd.DataFrame({"date": ["2024-01-01"], "value": [1.0]}), "revenue.amount: is missing"),
    (pd.concat([monthly([1.0, 2.0, 3.0]), monthly([9.0], start="2021-02-01")]), "more than one amount"),
    (pd.DataFrame({"date": ["2024-01-01", "2024-01-09", "2024-03-30", "2024-04-02"], "amount": 1.0}), "irregular"),
    (monthly([1.0, 2.0, 3.0, 4.0], segment="total").pipe(lambda f: pd.concat([f, f.assign(segment="A")])),
     "reserved"),
    (pd.DataFrame({"date": ["2024-01-01", "not a date"], "amount": [1.0, 2.0]}), "unparsable"),
    (pd.DataFrame({"date": ["2024-01-01", "2024-02-01", "2024-03-01"], "amount": ["1", "2", "n/a"]}),
     r"amount: is not a number \(rows: row 2\)"),
])
def test_bad_input_raises_a_data_error(frame, match):
    with pytest.raises(DataError, match=match):
        forecast(frame, horizon=2, model="naive")


# ---------------------------------------------------------------- backtest

def test_backtest_uses_expanding_windows_ending_at_each_cutoff():
    data = monthly(np.arange(30.0) ** 1.5, segment="A")
    cv = backtest(data, horizon=3, folds=3, models=("naive", "drift"))
    assert list(cv.columns[:10]) == ["series", "cutoff", "date", "actual", "model", "mean",
                                     "lo_80", "hi_80", "lo_95", "hi_95"]
    cutoffs = sorted(cv["cutoff"].unique())
    assert cutoffs == list(pd.date_range("2021-01-01", periods=30, freq="MS")[[20, 23, 26]])
    naive = cv[cv["model"] == "Naive"]
    y = data.set_index("date")["amount"]
    # Naive forecasts the last training value: the window ends exactly at the cutoff.
    np.testing.assert_allclose(naive["mean"], y.loc[naive["cutoff"]].to_numpy())
    np.testing.assert_allclose(naive["actual"], y.loc[naive["date"]].to_numpy())
    assert len(cv) == 3 * 3 * 2


def test_backtest_step_sets_the_distance_between_cutoffs():
    cv = backtest(monthly(np.arange(30.0)), horizon=4, folds=3, models=("naive",), step=1)
    assert [c.month for c in sorted(cv["cutoff"].unique())] == [12, 1, 2]  # 2022-12, 2023-01, 2023-02


def test_backtest_metrics_worked_example():
    # y = 10, 12, ..., 20; one fold, horizon 1: Naive says 18, actual 20; Drift is exact.
    cv = backtest(monthly(np.arange(10.0, 21.0, 2.0)), horizon=1, folds=1, models=("naive", "drift"),
                  season_length=1)
    metrics = backtest_metrics(cv).set_index("model")
    assert list(metrics.columns) == ["mase", "smape", "wape", "bias", "coverage_80", "coverage_95",
                                     "width_80", "width_95"]
    naive = metrics.loc["Naive"]
    assert naive["mase"] == pytest.approx(1.0)  # error 2 / in-sample naive MAE 2
    assert naive["smape"] == pytest.approx(200 * 2 / 38)
    assert naive["wape"] == pytest.approx(0.1) and naive["bias"] == pytest.approx(-0.1)
    assert naive["coverage_95"] == 1.0  # 18 +- 1.96 * 2 covers 20
    assert naive["width_95"] == pytest.approx(2 * 1.959963984540054 * 2 / 20)
    assert metrics.loc["Drift", ["mase", "smape", "wape", "bias"]].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert select_model(cv) == "Drift"
    assert select_model(backtest_metrics(cv), metric="smape") == "Drift"


def test_select_model_per_series_and_by_coverage():
    trend = monthly(np.arange(48.0) * 3, segment="Trend")
    t = np.arange(48)
    cycle = monthly(100 + 20 * np.sin(2 * np.pi * t / 12), segment="Cycle")
    cv = backtest(pd.concat([trend, cycle], ignore_index=True), horizon=6, folds=2,
                  models=("naive", "seasonal_naive", "drift"))
    assert select_model(cv, by_series=True).to_dict() == {"Cycle": "SeasonalNaive", "Trend": "Drift"}
    per_series = backtest_metrics(cv, by_series=True)
    assert list(per_series.columns[:2]) == ["model", "series"] and len(per_series) == 6
    metrics = pd.DataFrame({"model": ["A", "B", "C"], "coverage_80": [0.99, 0.83, 0.70]})
    assert select_model(metrics, metric="coverage_80") == "B"
    with pytest.raises(ValueError, match="unknown metric"):
        select_model(metrics, metric="rmse")


def test_backtest_reuses_members_for_the_ensemble_without_changing_it():
    data = pd.DataFrame({"date": pd.date_range("2015-01-01", periods=28, freq="QS"),
                         "amount": 50 + np.arange(28.0) + 5 * np.tile([1, -1, 2, -2], 7)
                         + np.random.default_rng(5).normal(0, 0.5, 28)})
    ensemble = Ensemble(intervals="members")
    together = backtest(data, horizon=4, folds=1, models=("ets", "arima", "theta", ensemble))
    alone = backtest(data, horizon=4, folds=1, models=(ensemble,))
    cols = ["mean", "lo_80", "hi_80", "lo_95", "hi_95"]
    np.testing.assert_allclose(together.loc[together["model"] == "Ensemble", cols].to_numpy(),
                               alone[cols].to_numpy())


def test_backtest_warns_when_a_series_is_too_short_for_all_folds():
    data = pd.concat([monthly(np.arange(30.0), segment="Long"), monthly(np.arange(8.0) + 1, segment="Short",
                                                                        start="2022-11-01")])
    with pytest.warns(UserWarning, match="fewer folds: 'Short'"):
        cv = backtest(data, horizon=3, folds=3, models=(Naive(),))
    assert cv.groupby("series")["cutoff"].nunique().to_dict() == {"Long": 3, "Short": 2}
