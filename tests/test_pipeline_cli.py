"""The `forecasting pipeline` commands: outputs, and bad input that exits 2 naming the problem."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest
from test_pipeline_forecast import hand_crm

from forecasting.cli import main
from forecasting.data.demo import make_demo


@pytest.fixture(scope="module")
def crm_db(tmp_path_factory):
    tables = make_demo(seed=4, n_leads=3000)
    path = tmp_path_factory.mktemp("crm") / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        for name in ("opportunities", "stage_history"):
            con.register("frame", tables[name])
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
    return str(path)


def _hand_files(tmp_path, opps=None, history=None) -> list[str]:
    """The hand-built CRM (optionally edited) as CSV files: the CLI's input options."""
    o, h = hand_crm()
    (tmp_path / "opps.csv").write_text((o if opps is None else opps).to_csv(index=False))
    (tmp_path / "hist.csv").write_text((h if history is None else history).to_csv(index=False))
    return ["--opportunities", str(tmp_path / "opps.csv"), "--stage-history", str(tmp_path / "hist.csv")]


def _forecast(tmp_path, inputs, as_of, period, *extra) -> int:
    return main(["pipeline", "forecast", *inputs, "--as-of", as_of, "--period", period, "--method", "default",
                 "--sims", "200", "--out", str(tmp_path / "out"), *extra])


def _refused(capsys, tmp_path, *expected) -> None:
    """Exit 2 was returned by the caller; the message names each expected piece; nothing was written."""
    err = capsys.readouterr().err
    assert "bad input" in err and "Traceback" not in err
    for piece in expected:
        assert piece in err, err
    assert not (tmp_path / "out" / "forecast.csv").exists()


# --- outputs ----------------------------------------------------------------------------


def test_cli_forecast_writes_forecast_deals_and_run_json(crm_db, tmp_path):
    out = tmp_path / "fc"
    code = main(["pipeline", "forecast", "--opportunities", crm_db, "--stage-history", crm_db,
                 "--as-of", "2026-06-30", "--period", "2026Q3", "--method", "historical", "--by", "segment",
                 "--sims", "500", "--target", "1000000", "--range-periods", "3", "--out", str(out)])
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
    # How the range was made: in the table and in run.json, the same numbers.
    total = forecast.iloc[0]
    assert total["snapshot"] == "exact" and "backtest errors of 3 past periods" in total["range_method"]
    assert run["range_periods"] == total["range_periods"] == 3
    assert run["range_shock"] == pytest.approx(total["range_shock"], abs=1e-4) and total["range_shock"] > 0


def test_cli_backtest_writes_backtest_metrics_and_figure(crm_db, tmp_path):
    out = tmp_path / "bt"
    code = main(["pipeline", "backtest", "--opportunities", crm_db, "--stage-history", crm_db,
                 "--periods", "2025Q3:2025Q4", "--methods", "default", "learned", "--sims", "300",
                 "--range-periods", "2", "--out", str(out)])
    assert code == 0
    frame = pd.read_csv(out / "backtest.csv")
    assert list(frame.columns[:6]) == ["period", "method", "actual", "p10", "p50", "p90"]
    assert len(frame) == 4
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics.columns[:4]) == ["method", "wape", "bias", "coverage_80"]
    assert (out / "backtest.png").stat().st_size > 1000 and (out / "run.json").exists()


def test_cli_forecast_without_history_says_the_snapshot_is_approximate(tmp_path, capsys):
    path = tmp_path / "opps.csv"
    hand_crm()[0].to_csv(path, index=False)
    code = main(["pipeline", "forecast", "--opportunities", str(path), "--as-of", "2025-03-31",
                 "--period", "2025Q2", "--method", "default", "--sims", "200", "--out", str(tmp_path / "out")])
    assert code == 0
    err = capsys.readouterr().err
    assert "warning: no stage history" in err and "NOTE: no --stage-history: as-of snapshots are approximate" in err
    assert pd.read_csv(tmp_path / "out" / "forecast.csv")["snapshot"].tolist() == ["approximate"]
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["exact_snapshot"] is False and any("approximate" in w for w in run["warnings"])


def test_cli_forecast_target_from_quotas(tmp_path):
    quotas = pd.DataFrame({"period": ["2025Q2", "2025Q2", "2025Q3"], "owner": ["ava", "ben", "ava"],
                           "quota": [1000.0, 1500.0, 9999.0]})
    quotas.to_csv(tmp_path / "quotas.csv", index=False)
    code = _forecast(tmp_path, _hand_files(tmp_path), "2025-03-31", "2025Q2", "--quotas", str(tmp_path / "quotas.csv"))
    assert code == 0
    row = pd.read_csv(tmp_path / "out" / "forecast.csv").iloc[0]
    # Open on 03-31 and expected in Q2: O1 1,200 + O2 500 + O3 2,000; nothing won yet in Q2.
    assert row["target"] == 2500.0 and row["pipeline_coverage"] == pytest.approx(3700 / 2500)
    health = pd.read_csv(tmp_path / "out" / "health.csv").set_index("kpi")["value"]
    assert health["pipeline_coverage"] == pytest.approx(3700 / 2500)


# --- bad input --------------------------------------------------------------------------


def test_cli_negative_amount_and_bad_period_exit_2(tmp_path, capsys):
    opps, _ = hand_crm()
    opps.loc[1, "amount"] = -5.0
    assert _forecast(tmp_path, _hand_files(tmp_path, opps), "2025-03-31", "2025Q2") == 2
    _refused(capsys, tmp_path, "opportunities.amount", "O2")
    assert _forecast(tmp_path, _hand_files(tmp_path), "2025-03-31", "someday") == 2
    _refused(capsys, tmp_path, "period: 'someday' is not a period")


def test_cli_unknown_stage_exits_2_naming_table_stage_and_rows(tmp_path, capsys):
    opps, history = hand_crm()
    opps.loc[2, "stage"] = "Discovery"  # O3, open
    assert _forecast(tmp_path, _hand_files(tmp_path, opps), "2025-03-31", "2025Q2") == 2
    _refused(capsys, tmp_path, "opportunities.stage", "Discovery", "O3")
    history.loc[history["opportunity_id"] == "O2", "stage"] = "Qualified"
    assert _forecast(tmp_path, _hand_files(tmp_path, history=history), "2025-03-31", "2025Q2") == 2
    _refused(capsys, tmp_path, "stage_history.stage", "Qualified", "O2")


def test_cli_deal_without_amount_exits_2(tmp_path, capsys):
    opps, _ = hand_crm()
    opps.loc[[1, 2], "amount"] = None  # O2, O3
    assert _forecast(tmp_path, _hand_files(tmp_path, opps), "2025-03-31", "2025Q2") == 2
    _refused(capsys, tmp_path, "opportunities.amount", "missing", "O2, O3")


def test_cli_as_of_outside_the_data_exits_2(tmp_path, capsys):
    inputs = _hand_files(tmp_path)  # first deal created 2025-01-05, last record 2025-05-15
    assert _forecast(tmp_path, inputs, "2025-01-04", "2025Q1") == 2
    _refused(capsys, tmp_path, "as_of", "2025-01-04 is before the first deal", "2025-01-05")
    # A quarter forecast tolerates a quarter's gap after the last record, not more.
    assert _forecast(tmp_path, inputs, "2025-08-16", "2025Q3") == 2
    _refused(capsys, tmp_path, "as_of", "93 days after the data's last record (2025-05-15)")
    assert _forecast(tmp_path, inputs, "2025-08-14", "2025Q3") == 0
    assert "91 days before the as-of date" in capsys.readouterr().err


def test_cli_backtest_periods_outside_the_data_exit_2(tmp_path, capsys):
    code = main(["pipeline", "backtest", *_hand_files(tmp_path), "--periods", "2024Q4:2025Q2",
                 "--methods", "default", "--out", str(tmp_path / "out")])
    assert code == 2
    _refused(capsys, tmp_path, "periods", "before the first deal was created (2025-01-05)", "2024Q4, 2025Q1")
    assert not (tmp_path / "out" / "backtest.csv").exists()


def test_cli_empty_pipeline_forecasts_closed_won_with_a_warning(tmp_path, capsys):
    opps, history = hand_crm()
    # Without O3 nothing is open on 2025-05-20; Q2 has won O1 (1500) and O5 (3000) so far, and no
    # earlier quarter starts after the first deal: no run-rate either.
    inputs = _hand_files(tmp_path, opps[opps["opportunity_id"] != "O3"],
                         history[history["opportunity_id"] != "O3"])
    assert _forecast(tmp_path, inputs, "2025-05-20", "2025Q2") == 0
    assert "warning: no open deals as of 2025-05-20" in capsys.readouterr().err
    row = pd.read_csv(tmp_path / "out" / "forecast.csv").iloc[0]
    assert (row["closed_won"], row["weighted"], row["p10"], row["p50"], row["p90"]) == (4500, 0, 4500, 4500, 4500)
    assert pd.read_csv(tmp_path / "out" / "deals.csv").empty


# --- the reserved total label -----------------------------------------------------------


def test_cli_kpis_and_forecast_keep_one_total_row_when_a_segment_is_named_all(tmp_path, capsys):
    opps, history = hand_crm()
    opps["segment"] = opps["segment"].replace({"SMB": "all"})
    inputs = _hand_files(tmp_path, opps=opps)
    assert _forecast(tmp_path, inputs, "2025-03-31", "2025Q2", "--by", "segment") == 0
    forecast = pd.read_csv(tmp_path / "out" / "forecast.csv")
    assert forecast["group"].tolist() == ["all", "Enterprise", "all (segment)"]
    assert forecast["weighted"].iloc[0] == pytest.approx(forecast["weighted"].iloc[1:].sum())
    assert main(["kpis", "--opportunities", inputs[1], "--by", "segment", "--out", str(tmp_path / "kpis")]) == 0
    kpis = pd.read_csv(tmp_path / "kpis" / "kpis.csv")
    q1 = kpis[kpis["period"] == "2025Q1"].set_index("group")
    assert sorted(q1.index) == ["Enterprise", "all", "all (segment)"]
    # 2025Q1: O4 (SMB, now "all (segment)") won 800; Enterprise nothing.
    assert q1.loc["all", "revenue_won"] == 800.0 == q1.loc["all (segment)", "revenue_won"]
    assert "reported as 'all (segment)'" in capsys.readouterr().err
