"""Pipeline backtests, health KPIs and the `forecasting pipeline` commands."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from test_pipeline_forecast import hand_crm

from forecasting.cli import main
from forecasting.data.demo import make_demo
from forecasting.pipeline import PipelineData, backtest, backtest_metrics
from forecasting.pipeline.health import pipeline_health


@pytest.fixture(scope="module")
def demo():
    tables = make_demo(seed=4, n_leads=3000)
    return tables["opportunities"], tables["stage_history"]


@pytest.fixture(scope="module")
def crm_db(tmp_path_factory, demo):
    path = tmp_path_factory.mktemp("crm") / "crm.duckdb"
    opps, history = demo
    with duckdb.connect(str(path)) as con:
        for name, frame in (("opportunities", opps), ("stage_history", history)):
            con.register("frame", frame)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
    return str(path)


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
                              data=data)
    assert frame[["period", "method"]].values.tolist() == [
        ["2025Q1", "default"], ["2025Q1", "historical"], ["2025Q2", "default"], ["2025Q2", "historical"],
        ["2025Q3", "default"], ["2025Q3", "historical"]]
    assert frame["as_of"].tolist()[::2] == ["2025-01-01", "2025-04-01", "2025-07-01"]
    won = opps[(opps["status"] == "won") & (opps["close_date"] >= "2025-04-01") & (opps["close_date"] < "2025-07-01")]
    assert frame.loc[2, "actual"] == pytest.approx(won["amount"].sum())
    assert (frame["p10"] <= frame["p50"]).all() and (frame["p50"] <= frame["p90"]).all()
    # The metrics are those of the frame's own numbers.
    hist = frame[frame["method"] == "historical"]
    wape = np.abs(hist["p50"] - hist["actual"]).sum() / hist["actual"].sum()
    assert metrics.set_index("method").loc["historical", "wape"] == pytest.approx(wape)


# --- health -----------------------------------------------------------------------------


def test_health_kpis_of_the_hand_built_crm():
    opps, history = hand_crm()
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


# --- CLI --------------------------------------------------------------------------------


def test_cli_forecast_writes_forecast_deals_and_run_json(crm_db, tmp_path):
    out = tmp_path / "fc"
    code = main(["pipeline", "forecast", "--opportunities", crm_db, "--stage-history", crm_db,
                 "--as-of", "2026-06-30", "--period", "2026Q3", "--method", "historical", "--by", "segment",
                 "--sims", "500", "--target", "1000000", "--out", str(out)])
    assert code == 0
    forecast = pd.read_csv(out / "forecast.csv")
    assert list(forecast.columns[:9]) == ["period", "group", "closed_won", "open_pipeline", "weighted",
                                          "p10", "p50", "p90", "method"]
    assert forecast["group"].iloc[0] == "all" and len(forecast) >= 3
    deals = pd.read_csv(out / "deals.csv")
    assert {"opportunity_id", "probability", "expected_value", "category"} <= set(deals.columns)
    assert forecast["weighted"].iloc[0] == pytest.approx(deals["expected_value"].sum())
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "ok" and run["parameters"]["period"] == "2026Q3"


def test_cli_backtest_writes_backtest_metrics_and_figure(crm_db, tmp_path):
    out = tmp_path / "bt"
    code = main(["pipeline", "backtest", "--opportunities", crm_db, "--stage-history", crm_db,
                 "--periods", "2025Q3:2025Q4", "--methods", "default", "learned", "--sims", "300",
                 "--out", str(out)])
    assert code == 0
    frame = pd.read_csv(out / "backtest.csv")
    assert list(frame.columns[:6]) == ["period", "method", "actual", "p10", "p50", "p90"]
    assert len(frame) == 4
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics.columns[:4]) == ["method", "wape", "bias", "coverage_80"]
    assert (out / "backtest.png").stat().st_size > 1000 and (out / "run.json").exists()


def test_cli_bad_input_exits_2_naming_the_problem(tmp_path, capsys):
    opps, _ = hand_crm()
    opps.loc[1, "amount"] = -5.0
    path = tmp_path / "opps.csv"
    opps.to_csv(path, index=False)
    code = main(["pipeline", "forecast", "--opportunities", str(path), "--as-of", "2025-03-31",
                 "--period", "2025Q2", "--out", str(tmp_path / "out")])
    assert code == 2
    assert "opportunities.amount" in capsys.readouterr().err
    hand_crm()[0].to_csv(path, index=False)  # valid table, invalid period
    code = main(["pipeline", "forecast", "--opportunities", str(path), "--as-of", "2025-03-31",
                 "--period", "someday", "--out", str(tmp_path / "out")])
    assert code == 2
    assert "period 'someday'" in capsys.readouterr().err
    assert not (tmp_path / "out" / "forecast.csv").exists()


def test_cli_forecast_without_history_says_the_snapshot_is_approximate(tmp_path, capsys):
    path = tmp_path / "opps.csv"
    hand_crm()[0].to_csv(path, index=False)
    code = main(["pipeline", "forecast", "--opportunities", str(path), "--as-of", "2025-03-31",
                 "--period", "2025Q2", "--method", "default", "--sims", "200", "--out", str(tmp_path / "out")])
    assert code == 0
    assert "warning: no stage history" in capsys.readouterr().err
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["exact_snapshot"] is False and any("approximate" in w for w in run["warnings"])
