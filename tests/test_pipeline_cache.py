"""The per-data cache of pipeline computations (training frames, learned models, raw ranges).

A warm cache must give exactly the numbers a cold one does, train each window's model
once, and never carry one table's results over to another's.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from forecasting.data import DataWarning
from forecasting.data.demo import make_demo
from forecasting.pipeline import PipelineData, backtest, forecast_period
from forecasting.pipeline.model import CloseProbabilityModel

FAST = dict(n_sims=300, seed=2, range_periods=1)  # each forecast also backtests the period before it


@pytest.fixture(scope="module")
def crm():
    tables = make_demo(seed=4, n_leads=3000)
    return tables["opportunities"], tables["stage_history"]


def _fresh(tables) -> PipelineData:
    return PipelineData.build(*tables)


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        yield


def test_a_warm_cache_gives_the_backtest_rows_of_a_cold_one(crm):
    shared = _fresh(crm)
    backtest(periods="2025Q3", methods=["learned"], data=shared, **FAST)  # trains the 2025Q2 and 2025Q3 models
    warm, warm_metrics = backtest(periods="2025Q3:2025Q4", methods=["learned", "historical"], data=shared, **FAST)
    cold, cold_metrics = backtest(periods="2025Q3:2025Q4", methods=["learned", "historical"], data=_fresh(crm), **FAST)
    pd.testing.assert_frame_equal(warm, cold, check_exact=True)
    pd.testing.assert_frame_equal(warm_metrics, cold_metrics, check_exact=True)


def test_a_warm_cache_gives_the_forecast_and_deals_of_a_cold_one(crm):
    kwargs = dict(as_of="2025-12-31", period="2026Q1", method="learned", by="segment", **{**FAST, "range_periods": 0})
    shared = _fresh(crm)
    first = forecast_period(data=shared, **kwargs)
    again = forecast_period(data=shared, **kwargs)
    cold = forecast_period(data=_fresh(crm), **kwargs)
    for warm in (first, again):
        for got, want in zip(warm, cold):
            pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert first[0].iloc[0]["probabilities"] == "learned"  # the model was used, not the fallback


def test_each_window_trains_its_model_once(crm, monkeypatch):
    fits = []
    fit = CloseProbabilityModel.fit

    def counted(self, X, y, sample_weight=None):
        fits.append(len(X))
        return fit(self, X, y, sample_weight=sample_weight)

    monkeypatch.setattr(CloseProbabilityModel, "fit", counted)
    data = _fresh(crm)
    backtest(periods="2025Q3:2025Q4", methods=["learned"], data=data, **FAST)
    # 2 periods as of their first day, each ranged by the period before it: 2025Q2 to 2025Q4.
    assert len(fits) == 3
    backtest(periods="2025Q3:2025Q4", methods=["learned", "historical"], data=data, **FAST)
    assert len(fits) == 3  # every window's model is in the cache


def test_a_cache_never_carries_results_over_to_other_data(crm):
    other_tables = make_demo(seed=5, n_leads=3000)
    other = (other_tables["opportunities"], other_tables["stage_history"])
    kwargs = dict(as_of="2025-12-31", period="2026Q1", method="learned", **{**FAST, "range_periods": 0})
    mine, _ = forecast_period(data=_fresh(crm), **kwargs)
    after_mine, _ = forecast_period(data=_fresh(other), **kwargs)
    alone, _ = forecast_period(data=_fresh(other), **kwargs)
    pd.testing.assert_frame_equal(after_mine, alone, check_exact=True)
    assert mine.iloc[0]["p50"] != alone.iloc[0]["p50"]  # the two CRMs do differ
