"""Bad revenue input through ``forecasting revenue forecast/backtest``: exit 2 with a message, or a
documented fallback with a warning and exit 0."""

import json

import numpy as np
import pandas as pd
import pytest

from forecasting.cli import main

HORIZON = ["--horizon", "3"]
BACKTEST = ["--folds", "2", "--models", "naive,seasonal_naive"]


def monthly(n, start="2021-01-01", segment=None, seed=0):
    t = np.arange(n)
    noise = np.random.default_rng(seed).normal(0, 1, n)
    frame = pd.DataFrame({"date": pd.date_range(start, periods=n, freq="MS").strftime("%Y-%m-%d"),
                          "amount": np.round(100 + t + 10 * np.sin(2 * np.pi * t / 12) + noise, 2)})
    if segment is not None:
        frame.insert(0, "segment", segment)
    return frame


def non_numeric():
    frame = monthly(30).astype({"amount": object})
    frame.loc[7, "amount"] = "12,5x"
    return frame


def duplicate_dates():
    frame = monthly(30)
    return pd.concat([frame, frame.iloc[[5]]], ignore_index=True)


def irregular_dates():
    frame = monthly(30)
    frame.loc[4, "date"] = "2021-05-17"
    return frame


def unparsable_dates():
    frame = monthly(30)
    frame.loc[6, "date"] = "not a date"
    return frame


def gaps():
    return monthly(30).drop(index=[10, 11])


def run(tmp_path, frame, command, *options):
    path = tmp_path / "revenue.csv"
    frame.to_csv(path, index=False)
    extra = BACKTEST if command == "backtest" else ["--model", "naive"]
    out = tmp_path / "out"
    return main(["revenue", command, str(path), *HORIZON, *extra, *options, "--out", str(out)]), out


# ---------------------------------------------------------------- errors: exit 2

@pytest.mark.parametrize("command", ["forecast", "backtest"])
@pytest.mark.parametrize("make, column, message, rows", [
    (non_numeric, "amount", "has values that are not numbers", "row 8"),
    (duplicate_dates, "date", "more than one amount for the same date", "row 6, row 31"),
    (irregular_dates, "date", "has irregular dates", "2021-05-17"),
    (unparsable_dates, "date", "has values that are not dates", "row 7"),
    (gaps, "date", "has gaps: periods with no row", "2021-11-01, 2021-12-01"),
])
def test_bad_input_exits_2_naming_table_column_and_rows(tmp_path, capsys, command, make, column, message, rows):
    code, out = run(tmp_path, make(), command)
    err = capsys.readouterr().err
    assert code == 2
    assert f"revenue.{column}: " in err and message in err
    assert "(rows: " in err and rows in err.split("(rows: ", 1)[1]
    assert "Traceback" not in err
    assert not out.exists()  # nothing half-written


def test_irregular_date_late_in_the_series_is_named(tmp_path, capsys):
    frame = monthly(30)
    frame.loc[20, "date"] = "2022-09-17"
    code, _ = run(tmp_path, frame, "forecast")
    assert code == 2
    assert "2022-09-17" in capsys.readouterr().err


def test_off_grid_date_that_looks_like_a_gap_is_named_after_filling(tmp_path, capsys):
    dates = list(pd.date_range("2021-01-01", periods=10, freq="QS").strftime("%Y-%m-%d")) + ["2023-08-01"]
    frame = pd.DataFrame({"date": dates, "amount": np.arange(11.0) + 5})
    code, out = run(tmp_path, frame, "forecast", "--fill-gaps", "zero")
    err = capsys.readouterr().err
    assert code == 2
    assert "revenue.date: dates do not fall on one QS grid (rows: 2023-08-01)" in err
    assert not out.exists()


@pytest.mark.parametrize("frame, message", [
    (monthly(2), "has irregular dates (need monthly, quarterly, weekly or daily periods, at least 3)"),
    (monthly(0), "revenue: is empty"),
])
def test_too_few_rows_to_tell_the_frequency_or_none_exit_2(tmp_path, capsys, frame, message):
    code, _ = run(tmp_path, frame, "forecast")
    assert code == 2
    assert message in capsys.readouterr().err


def test_backtest_of_a_series_shorter_than_horizon_plus_two_exits_2(tmp_path, capsys):
    path = tmp_path / "revenue.csv"
    monthly(5).to_csv(path, index=False)
    code = main(["revenue", "backtest", str(path), "--horizon", "4", "--folds", "1", "--models", "naive",
                 "--out", str(tmp_path / "out")])
    assert code == 2
    assert "no series is long enough to backtest 4 periods ahead" in capsys.readouterr().err


# ---------------------------------------------------------------- documented fallbacks: exit 0

def test_series_shorter_than_two_seasons_falls_back_to_seasonal_naive(tmp_path, capsys):
    frame = monthly(20)
    path = tmp_path / "revenue.csv"
    frame.to_csv(path, index=False)
    # The default model (the ensemble) needs two seasons.
    assert main(["revenue", "forecast", str(path), *HORIZON, "--out", str(tmp_path / "fc")]) == 0
    err = capsys.readouterr().err
    assert "warning: revenue.date: series 'all' is too short for its season: 20 periods, need at least 24" in err
    assert "too short for Ensemble (needs 24): using SeasonalNaive" in err
    out = pd.read_csv(tmp_path / "fc" / "forecast.csv")
    assert out["model"].tolist() == ["SeasonalNaive"] * 3
    np.testing.assert_allclose(out["mean"], frame["amount"].iloc[8:11])  # same months last year
    assert any("using SeasonalNaive" in w for w in json.loads((tmp_path / "fc" / "run.json").read_text())["warnings"])


def test_series_shorter_than_one_season_falls_back_to_naive(tmp_path, capsys):
    frame = monthly(8)
    code, out = run(tmp_path, frame, "forecast", "--model", "ets")
    assert code == 0
    assert "too short for ETS (needs 24): using Naive" in capsys.readouterr().err
    result = pd.read_csv(out / "forecast.csv")
    assert result["model"].tolist() == ["Naive"] * 3
    assert result["mean"].tolist() == [frame["amount"].iloc[-1]] * 3


def test_only_the_short_segment_falls_back(tmp_path, capsys):
    frame = pd.concat([monthly(36, segment="SMB"), monthly(20, start="2022-05-01", segment="New", seed=1)])
    code, out = run(tmp_path, frame, "forecast", "--model", "theta")
    assert code == 0
    assert "series 'New' has 20 periods, too short for Theta" in capsys.readouterr().err
    used = pd.read_csv(out / "forecast.csv").drop_duplicates("series").set_index("series")["model"]
    assert used.to_dict() == {"SMB": "Theta", "New": "SeasonalNaive", "total": "bottom-up"}


def test_backtest_of_a_short_series_falls_back_in_every_fold(tmp_path, capsys):
    path = tmp_path / "revenue.csv"
    monthly(20).to_csv(path, index=False)
    assert main(["revenue", "backtest", str(path), *HORIZON, "--folds", "2", "--models", "ets",
                 "--out", str(tmp_path / "bt")]) == 0
    assert "has 14 periods, too short for ETS (needs 24): using SeasonalNaive" in capsys.readouterr().err
    cv = pd.read_csv(tmp_path / "bt" / "cv.csv")
    assert set(cv["fitted_model"]) == {"SeasonalNaive"} and cv["cutoff"].nunique() == 2


@pytest.mark.parametrize("how, filled", [("zero", 0.0), ("interpolate", 125.0)])
def test_gaps_are_filled_with_fill_gaps_and_warned(tmp_path, capsys, how, filled):
    t = np.arange(30)
    frame = pd.DataFrame({"date": pd.date_range("2021-01-01", periods=30, freq="MS").strftime("%Y-%m-%d"),
                          "amount": 100.0 + t}).drop(index=[25])
    path = tmp_path / "revenue.csv"
    frame.to_csv(path, index=False)
    assert main(["revenue", "forecast", str(path), "--horizon", "12", "--model", "seasonal_naive",
                 "--fill-gaps", how, "--out", str(tmp_path / "fc")]) == 0
    err = capsys.readouterr().err
    assert "warning: revenue.date: series 'all' has gaps: periods with no row (rows: 2023-02-01)" in err
    assert "1 missing period(s) (2023-02-01) filled" in err
    mean = pd.read_csv(tmp_path / "fc" / "forecast.csv")["mean"].to_numpy()
    assert mean[7] == filled  # 2024-02 repeats the filled 2023-02
    np.testing.assert_allclose(np.delete(mean, 7), np.delete(100.0 + t[18:30], 7))


def test_gaps_in_a_backtest_are_filled_with_fill_gaps(tmp_path, capsys):
    code, out = run(tmp_path, gaps(), "backtest", "--fill-gaps", "zero")
    assert code == 0
    assert "filled with 0" in capsys.readouterr().err
    assert set(pd.read_csv(out / "metrics.csv")["model"]) == {"Naive", "SeasonalNaive"}


def test_negative_amounts_are_a_warning_not_an_error(tmp_path, capsys):
    frame = monthly(30).assign(amount=lambda f: f["amount"] - 120)
    code, out = run(tmp_path, frame, "forecast")
    assert code == 0
    assert "warning: revenue.amount: is negative (refunds?)" in capsys.readouterr().err
    assert pd.read_csv(out / "forecast.csv")["mean"].iloc[0] == frame["amount"].iloc[-1]
