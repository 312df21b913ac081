"""Pipeline backtests and health KPIs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_pipeline_forecast import hand_crm

from forecasting.data import DataWarning
from forecasting.data.demo import make_demo
from forecasting.pipeline import PipelineData, backtest, backtest_metrics
from forecasting.pipeline.health import pipeline_health


@pytest.fixture(scope="module")
def demo():
    tables = make_demo(seed=4, n_leads=3000)
    return tables["opportunities"], tables["stage_history"]


# --- backtest ---------------------------------------------------------------------------


def test_backtest_metrics_by_hand():
    frame = pd.DataFrame({
        "period": ["2025Q1", "2025Q2", "2025Q1", "2025Q2"], "method": ["a", "a", "b", "b"],
        "actual": [100.0, 300.0, 100.0, 300.0],
        "p10": [80.0, 200.0, 0.0, 310.0], "p50": [110.0, 270.0, 100.0, 330.0], "p90": [120.0, 290.0, 200.0, 400.0],
    })
    m = backtest_metrics(frame).set_index("method")
    assert m.loc["a", "wape"] == pytest.approx((10 + 30) / 400)
    assert m.loc["a", "bias"] == pytest.approx((10 - 30) / 400)
    assert m.loc["a", "coverage_80"] == 0.5  # 300 is above a's P90 of 290
    assert m.loc["b", "wape"] == pytest.approx(30 / 400) and m.loc["b", "bias"] == pytest.approx(30 / 400)
    assert m.loc["b", "coverage_80"] == 0.5  # 300 is below b's P10 of 310
    assert m.loc["a", "width_80"] == pytest.approx(((40 + 90) / 2) / 200)


def test_backtest_forecasts_each_period_as_of_its_first_day(demo):
    opps, history = demo
    data = PipelineData.build(opps, history)
    frame, metrics = backtest(None, periods="2025Q1:2025Q3", methods=("default", "historical"), n_sims=300,
                              range_periods=2, data=data)
    assert frame[["period", "method"]].values.tolist() == [
        ["2025Q1", "default"], ["2025Q1", "historical"], ["2025Q2", "default"], ["2025Q2", "historical"],
        ["2025Q3", "default"], ["2025Q3", "historical"]]
    assert frame["as_of"].tolist()[::2] == ["2025-01-01", "2025-04-01", "2025-07-01"]
    won = opps[(opps["status"] == "won") & (opps["close_date"] >= "2025-04-01") & (opps["close_date"] < "2025-07-01")]
    assert frame.loc[2, "actual"] == pytest.approx(won["amount"].sum())
    assert (frame["p10"] <= frame["p50"]).all() and (frame["p50"] <= frame["p90"]).all()
    # Each range is the one published that day: widened by the 2 quarters finished before it.
    assert (frame["range_periods"] == 2).all() and (frame["range_shock"] > 0).all()
    # The metrics are those of the frame's own numbers.
    hist = frame[frame["method"] == "historical"]
    wape = np.abs(hist["p50"] - hist["actual"]).sum() / hist["actual"].sum()
    assert metrics.set_index("method").loc["historical", "wape"] == pytest.approx(wape)


# --- health -----------------------------------------------------------------------------


def test_health_kpis_of_the_hand_built_crm():
    opps, history = hand_crm()
    with pytest.warns(DataWarning, match="last record is on 2025-05-15, 46 days before"):
        kpi = pipeline_health(opps, history, as_of="2025-06-30", period="2025Q3", target=2500.0)
    kpi = kpi.set_index("kpi")["value"]
    # Closed in the past year: O1 (1500, 105 days), O4 (800, 49 days), O5 (3000, 35 days) won; O2 lost.
    assert kpi["win_rate"] == pytest.approx(0.75)
    assert kpi["avg_deal_size"] == pytest.approx(5300 / 3)
    assert kpi["sales_cycle_days"] == pytest.approx(63.0, abs=0.5)
    assert kpi["open_deals"] == 1 and kpi["open_pipeline"] == 2000.0  # O3
    assert kpi["pipeline_velocity"] == pytest.approx(1 * (5300 / 3) * 0.75 / kpi["sales_cycle_days"])
    assert kpi["pipeline_coverage"] == pytest.approx(2000 / 2500)
    # Expected in Q2 as of 04-01: O1, O2, O3; O3 was still open at the end of Q2.
    assert kpi["slippage_rate"] == pytest.approx(1 / 3)
    assert kpi["win_rate:Prospecting"] == pytest.approx(0.75)


def test_backtest_refuses_periods_outside_the_data_and_warns_on_unfinished_ones():
    from forecasting.data import DataError

    opps, history = hand_crm()  # first deal created 2025-01-05, last record 2025-05-15
    kwargs = dict(methods=["default"], n_sims=50)
    with pytest.raises(DataError, match=r"periods: start before the first deal was created.*2024Q4, 2025Q1"):
        backtest(opps, history, periods="2024Q4:2025Q2", **kwargs)
    with pytest.raises(DataError, match=r"start after the data's last record \(2025-05-15\).*2025Q3"):
        backtest(opps, history, periods="2025Q2:2025Q3", **kwargs)
    with pytest.warns(DataWarning, match="2025Q2 end after the data's last record"):
        frame, _ = backtest(opps, history, periods="2025Q2", **kwargs)
    assert frame["actual"].tolist() == [1500.0 + 3000.0]  # O1 and O5, won in Q2
