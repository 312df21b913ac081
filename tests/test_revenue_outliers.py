"""Forecast guards: outlier periods, collapsed forecasts, non-negative bounds, and run_forecast."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting.data.outliers import adjust_outliers, detect_outliers
from forecasting.data.validate import check
from forecasting.revenue import (
    DEFAULT_MODEL,
    Naive,
    backtest,
    backtest_metrics,
    forecast,
    run_forecast,
)
from forecasting.revenue.forecast import fit_predict

LEVEL = 850_000.0
DATES = pd.date_range("2022-01-01", periods=48, freq="MS")
MISKEYED = pd.Timestamp("2024-07-01")  # position 30


def steady(n=48, seed=0, noise=0.03):
    """A seasonal series running at about 850k a month."""
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return LEVEL * (1 + 0.1 * np.sin(2 * np.pi * t / 12)) * (1 + noise * rng.standard_normal(n))


def table(values, dates=DATES):
    return pd.DataFrame({"date": dates[:len(values)], "amount": np.asarray(values, dtype=float)})


@pytest.fixture(scope="module")
def miskeyed():
    values = steady()
    values[30] *= 1000  # one month keyed x1000
    return table(values)


# ---------------------------------------------------------------- detection

def test_a_month_keyed_x1000_is_found_by_date_with_its_expected_value():
    values = steady()
    values[30] *= 1000
    found = detect_outliers(pd.Series(values, index=DATES), season_length=12)
    assert list(found["date"]) == [MISKEYED]
    assert found["expected"].iloc[0] == pytest.approx(LEVEL, rel=0.05)  # July's noise-free value
    assert found["score"].iloc[0] > 100
    assert adjust_outliers(pd.Series(values, index=DATES), found).iloc[30] == pytest.approx(found["expected"].iloc[0])


@pytest.mark.parametrize("position, factor", [(0, 100), (47, 100), (47, 0.001), (20, 0.01)])
def test_outliers_are_found_at_either_end_above_and_below(position, factor):
    values = steady()
    values[position] *= factor
    found = detect_outliers(pd.Series(values, index=DATES), season_length=12)
    assert list(found["date"]) == [DATES[position]]


@pytest.mark.parametrize("values", [
    steady(),  # clean and seasonal
    np.where(np.arange(48) == 20, 2, 1) * steady(),  # a double month is business, not a mis-key
    np.arange(30.0) + 1,  # a noiseless ramp: robust STL bends at its start, the neighbours do not
    np.tile([0.0, 0.0, 5.0, 0.0, 40.0, 0.0], 8),  # intermittent sales: zeros and lumps
    # One year of a lumpy segment with a real February low (33x below January): without two
    # seasons nothing tells it from a mis-key, so nothing is flagged.
    np.array([5600.0, 170, 32700, 5100, 1700, 4700, 3700, 4200, 6600, 2600, 11100, 11600]),
])
def test_ordinary_series_have_no_outliers(values):
    y = pd.Series(values, index=DATES[:len(values)])
    assert detect_outliers(y, season_length=12).empty


def test_data_check_warns_about_outlier_months_by_date(miskeyed):
    problems = check(miskeyed, "revenue")
    found = [p for p in problems if "outlier" in p.message]
    assert len(found) == 1 and found[0].severity == "warning" and found[0].column == "amount"
    assert found[0].rows[0].startswith("2024-07-01")


# ---------------------------------------------------------------- forecast guards

@pytest.mark.parametrize("model", ["arima", DEFAULT_MODEL])
def test_one_miskeyed_month_no_longer_zeroes_the_forecast(miskeyed, model):
    # Before: ARIMA forecast exactly 0 for all 6 months and the ensemble 0 for 2 of 6.
    with pytest.warns(UserWarning, match=r"'total' has 1 outlier period\(s\): 2024-07-01"):
        out = forecast(miskeyed, horizon=6, model=model)
    truth = steady(54)[48:]
    assert np.abs(out["mean"].to_numpy() / truth - 1).max() < 0.15
    assert set(out["flag"]) == {"outliers_adjusted"} and set(out["outliers"]) == {"2024-07-01"}
    assert (out["lo_95"] > 0.5 * LEVEL).all()  # the outlier no longer blows up the ranges


def test_keeping_the_outlier_flags_the_collapse_and_falls_back(miskeyed):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = forecast(miskeyed, horizon=6, model="arima", outliers="keep")
    assert any("ARIMA forecast collapsed" in str(w.message) for w in caught)
    assert set(out["model"]) == {"SeasonalNaive"}
    assert set(out["flag"]) == {"outliers_kept;collapsed"}
    assert (out["mean"] > 0.5 * LEVEL).all()


def test_a_bad_outlier_policy_is_refused(miskeyed):
    with pytest.raises(ValueError, match="outliers must be one of"):
        forecast(miskeyed, horizon=2, model="naive", outliers="drop")


# ---------------------------------------------------------------- non-negative bounds

def test_a_series_that_cannot_be_negative_gets_no_negative_bound():
    # Lumpy sales near zero (like Superstore's Home Office segment): normal intervals dip below 0.
    values = np.abs(np.random.default_rng(3).normal(100, 80, 36))
    data = pd.concat([table(values).assign(segment="A"), table(values[::-1]).assign(segment="B")])
    out = forecast(data, horizon=6, model="naive")
    assert (out[["mean", "lo_80", "hi_80", "lo_95", "hi_95"]] >= 0).all().all()
    assert (out["lo_95"] == 0).any()  # clipped, not shifted: the upper bounds are the model's
    raw = Naive().fit(pd.Series(values, index=DATES[:36])).predict(6)
    a = out[out["series"] == "A"].reset_index(drop=True)
    np.testing.assert_allclose(a["hi_95"], raw["hi_95"].to_numpy())
    np.testing.assert_allclose(a["lo_95"], raw["lo_95"].clip(lower=0).to_numpy())


def test_superstore_segments_get_no_negative_bounds_and_no_outliers():
    # Public data: before, Home Office's lo_95 went down to about -12k on a series that is never negative.
    from forecasting.data import adapters

    try:
        revenue = adapters.superstore(root=adapters.shared_data_dir()).tables["revenue"]
    except FileNotFoundError as exc:
        pytest.skip(f"public datasets not available: {exc}")
    out = forecast(revenue, horizon=12, model="seasonal_naive")
    assert (out[["mean", "lo_80", "lo_95"]] >= 0).all().all() and (out["lo_95"] == 0).any()
    assert set(out["flag"]) == {"ok"}


def test_a_series_with_refunds_keeps_its_negative_bounds():
    values = np.random.default_rng(4).normal(10, 50, 36)
    assert (values < 0).any()
    out = forecast(table(values), horizon=3, model="naive")
    assert (out["lo_95"] < 0).all()


# ---------------------------------------------------------------- backtest

def test_backtest_names_outliers_and_does_not_score_them(miskeyed):
    with pytest.warns(UserWarning, match=r"2024-07-01 .*scores no forecast against them"):
        cv = backtest(miskeyed, horizon=6, folds=4, models=["seasonal_naive", "theta"])
    assert cv.loc[cv["outlier"], "date"].unique().tolist() == [MISKEYED]
    assert (cv.loc[cv["cutoff"] > MISKEYED, "flag"] == "outliers_adjusted").all()
    metrics = backtest_metrics(cv).set_index("model")
    clean = backtest_metrics(cv[~cv["outlier"]].drop(columns="outlier")).set_index("model")
    pd.testing.assert_frame_equal(metrics, clean)
    assert metrics["mase"].lt(3).all()  # an unscored, adjusted outlier leaves the errors ordinary


# ---------------------------------------------------------------- fit errors

class _Broken(Naive):
    def __init__(self, season_length=None, error="type"):
        self.season_length = season_length
        self.error = error

    def _fit(self, y):
        if self.error == "type":
            raise TypeError("a bug in the model")
        raise np.linalg.LinAlgError("singular matrix")


def test_an_expected_fit_error_falls_back_but_a_bug_surfaces():
    y = pd.Series(steady(), index=DATES)
    with pytest.warns(UserWarning, match="_Broken failed .*singular matrix.*using SeasonalNaive"):
        assert fit_predict(y, _Broken(error="linalg"), 3).model == "SeasonalNaive"
    with pytest.raises(TypeError, match="a bug in the model"):
        fit_predict(y, _Broken(error="type"), 3)


# ---------------------------------------------------------------- run_forecast

def test_run_forecast_on_a_ten_month_series_falls_back_like_the_cli():
    with pytest.warns(UserWarning, match="no backtest"):
        run = run_forecast(table(steady(10)))  # the defaults: 12 months ahead, backtested 12 ahead
    assert set(run.forecast["model"]) == {"Naive"} and run.backtest is None and run.model == "Ensemble"
    assert "No backtest: the longest series has 10 periods; a 12-period backtest needs at least 14." in run.summary
    assert "Forecast (Ensemble) for 12 months, Nov 2022 to Oct 2023" in run.summary
    assert "1 series forecast with a simpler model" in run.summary


def test_run_forecast_summary_is_computed_from_the_backtest(miskeyed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = run_forecast(miskeyed, horizon=3, model="auto", backtest_horizon=6, folds=2,
                           models=["naive", "seasonal_naive", "theta"])
    metrics = run.metrics.set_index("model")
    assert run.best == metrics["mase"].idxmin() == run.model
    second = metrics["mase"].drop(run.best).idxmin()
    gap = 1 - metrics.loc[run.best, "mase"] / metrics.loc[second, "mase"]
    assert (f"Most accurate by MASE: {run.best} ({metrics.loc[run.best, 'mase']:.2f}), {gap:.0%} lower than "
            f"the next best, {second}") in run.summary
    assert "Outlier periods (1), adjusted to their expected value before fitting: total (Jul 2024)." in run.summary
    assert list(run.outliers["date"]) == [MISKEYED]


# ---------------------------------------------------------------- CLI

def test_cli_forecast_and_backtest_report_outliers_by_date(tmp_path, miskeyed):
    from forecasting.cli import main

    source = tmp_path / "revenue.csv"
    miskeyed.to_csv(source, index=False)
    assert main(["revenue", "forecast", str(source), "--horizon", "3", "--model", "theta",
                 "--out", str(tmp_path / "fc")]) == 0
    run = json.loads((tmp_path / "fc" / "run.json").read_text())
    assert run["outliers"] == {"total": ["2024-07-01"]} and run["flags"] == {"total": "outliers_adjusted"}
    assert any("2024-07-01" in w for w in run["warnings"])
    fc = pd.read_csv(tmp_path / "fc" / "forecast.csv")
    assert list(fc.columns[:8]) == ["series", "date", "mean", "lo_80", "hi_80", "lo_95", "hi_95", "model"]
    assert (fc["mean"] > 0.5 * LEVEL).all()
    assert main(["revenue", "backtest", str(source), "--horizon", "6", "--folds", "2", "--models", "naive,theta",
                 "--out", str(tmp_path / "bt")]) == 0
    found = pd.read_csv(tmp_path / "bt" / "outliers.csv")
    assert found["date"].tolist() == ["2024-07-01"] and found["series"].tolist() == ["total"]
