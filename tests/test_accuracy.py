"""Forecast-accuracy metrics against hand-computed answers."""

import math

import numpy as np
import pytest

from forecasting.metrics.accuracy import bias, coverage, interval_width, mase, mase_scale, smape, wape


def test_mase_of_a_perfect_forecast_is_zero():
    assert mase([5, 6, 7], [5, 6, 7], insample=[1, 2, 4, 3]) == 0.0


def test_mase_divides_mean_absolute_error_by_in_sample_naive_error():
    # in-sample |diffs| = 1, 2, 1 -> scale 4/3; errors 1 and 3 -> MAE 2 -> MASE 1.5
    assert mase([10, 10], [9, 13], insample=[1, 2, 4, 3]) == pytest.approx(1.5)


def test_mase_scale_uses_the_seasonal_lag():
    # lag 2: |5-1|, |6-2|, |9-5| -> 4, 4, 4
    assert mase_scale([1, 2, 5, 6, 9], season_length=2) == 4.0
    # a series no longer than the season falls back to lag 1: |2-1|, |5-2|
    assert mase_scale([1, 2, 5], season_length=12) == 2.0


def test_mase_is_nan_when_the_training_series_is_constant():
    assert math.isnan(mase([1, 2], [1, 1], insample=[3, 3, 3]))


def test_smape_worked_example():
    # |100-110|/210 = 0.047619, |200-180|/380 = 0.052632; mean * 200 = 10.025
    assert smape([100, 200], [110, 180]) == pytest.approx(10.0250627, rel=1e-6)


def test_smape_counts_zero_against_zero_as_perfect_and_caps_at_200():
    assert smape([0, 0], [0, 0]) == 0.0
    assert smape([0, 10], [5, 0]) == pytest.approx(200.0)


def test_wape_is_total_absolute_error_over_total_actuals():
    assert wape([100, 300], [110, 270]) == pytest.approx(40 / 400)


def test_bias_is_signed_and_positive_when_over_forecasting():
    assert bias([100, 300], [110, 270]) == pytest.approx(-20 / 400)
    assert bias([100, 100], [120, 110]) == pytest.approx(30 / 200)


def test_coverage_counts_actuals_inside_closed_intervals():
    actual = [1, 2, 3, 4]
    assert coverage(actual, [1, 0, 0, 5], [2, 1, 3, 6]) == 0.5  # 1 on the edge counts; 2 and 4 miss


def test_interval_width_raw_and_scaled():
    assert interval_width([0, 1], [2, 5]) == 3.0
    assert interval_width([0, 1], [2, 5], scale=1.5) == 2.0


def test_missing_values_are_ignored_pairwise():
    assert wape([100, np.nan, 300], [110, 5, 270]) == pytest.approx(0.1)
    assert coverage([1, np.nan], [0, 0], [2, 2]) == 1.0


def test_inconsistent_lengths_are_rejected():
    with pytest.raises(ValueError, match="inconsistent lengths"):
        smape([1, 2, 3], [1, 2])
