"""The report notebooks through the runner: non-default parameters, same run same tables, a failing cell."""

from __future__ import annotations

import json

import nbformat
import pandas as pd
import pytest

from forecasting.cli import main
from forecasting.reports import available_reports, report_parameters, run_report

# Non-default parameters per report; a new notebook must be added here.
NON_DEFAULT = {
    "revenue_forecast": {"as_of": "2026-04-30", "horizon": "7", "level": "95", "models": "naive,ets,arima",
                         "model": "auto", "backtest_horizon": "3", "folds": "2", "seed": "1",
                         "blend_period": "2026Q2", "blend_backtest_periods": "2025Q2:2026Q1", "blend_metric": "wape"},
    "lead_scoring_comparison": {"models": "logistic,learned_scorecard", "folds": "2", "n_boot": "100",
                                "seed": "1", "exclude": "campaign", "min_age_days": "60",
                                "capacity_per_week": "100"},
    "sales_kpis": {"freq": "M", "by": "segment", "as_of": "2026-03-31"},
    "pipeline_forecast": {"period": "2026Q2", "as_of": "2026-04-01", "method": "historical",
                          "target": "5000000.0", "backtest_periods": "2025Q3:2026Q1", "n_sims": "500",
                          "seed": "1"},
}


def test_every_report_has_a_non_default_run():
    assert set(available_reports()) == set(NON_DEFAULT)


@pytest.mark.parametrize("name", sorted(NON_DEFAULT))
def test_report_runs_with_non_default_parameters(name, tmp_path):
    params = NON_DEFAULT[name]
    declared = report_parameters(name)
    assert set(params) <= set(declared) and "out_dir" in declared
    result = run_report(name, params, tmp_path / name)
    assert result.ok, result.error
    record = json.loads(result.run_json.read_text())
    assert record["status"] == "ok" and record["report"] == name
    assert {k: str(v) for k, v in record["parameters"].items() if k in params} == params
    assert record["tables"], "the report wrote no result tables"
    html = result.html.read_text()
    assert "<img" in html and "from forecasting" not in html  # figures embedded, code hidden


def test_sales_kpis_monthly_by_segment_tables(tmp_path):
    result = run_report("sales_kpis", NON_DEFAULT["sales_kpis"], tmp_path / "kpis")
    kpis = pd.read_csv(result.out_dir / "tables" / "kpis.csv")
    assert set(kpis["group"]) == {"all", "SMB", "Mid-Market", "Enterprise"}
    assert kpis["period"].iloc[-1] == "2026-03"  # monthly, up to as_of


def _table_hashes(result) -> dict[str, str]:
    assert result.ok, result.error
    return json.loads(result.run_json.read_text())["tables"]


def test_sales_kpis_twice_gives_identical_tables(tmp_path):
    first, second = (_table_hashes(run_report("sales_kpis", {}, tmp_path / run)) for run in ("a", "b"))
    assert set(first) == {"kpis.csv", "funnel.csv", "attribution_first_touch.csv"}
    assert first == second


def test_lead_scoring_twice_gives_identical_tables_apart_from_timings(tmp_path):
    small = {"models": "logistic,learned_scorecard", "folds": "2", "n_boot": "100"}
    first, second = (run_report("lead_scoring_comparison", small, tmp_path / run) for run in ("a", "b"))
    assert _table_hashes(first) == _table_hashes(second)
    # The leaderboard does hold the timings of its run; only the hash leaves them out.
    boards = [pd.read_csv(run.out_dir / "tables" / "leaderboard.csv") for run in (first, second)]
    assert (boards[0]["fit_seconds"] > 0).all() and "predict_seconds" in boards[0]
    columns = [c for c in boards[0].columns if not c.endswith("_seconds")]
    pd.testing.assert_frame_equal(boards[0][columns], boards[1][columns])


def test_pipeline_forecast_simulation_is_seeded(tmp_path):
    small = {"n_sims": "300", "backtest_periods": "2025Q4:2026Q1"}
    first, second = (run_report("pipeline_forecast", small, tmp_path / run) for run in ("a", "b"))
    assert _table_hashes(first) == _table_hashes(second)
    # The hashed tables hold simulated quantiles with a real spread, so unseeded draws would show.
    forecast = pd.read_csv(first.out_dir / "tables" / "forecast.csv")
    assert (forecast["p10"] < forecast["p90"]).all()


def test_a_failing_cell_of_a_real_report(tmp_path, capsys):
    # "W" passes the parameter check (a str) and fails inside the notebook, in kpi_table.
    out = tmp_path / "weekly"
    assert main(["report", "run", "sales_kpis", "-p", "freq", "W", "--out", str(out)]) == 1
    assert "report sales_kpis FAILED" in capsys.readouterr().err
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "failed" and record["parameters"]["freq"] == "W"
    assert record["error"].startswith("ValueError: freq must be") and record["tables"] == {}
    assert not (out / "sales_kpis.html").exists() and "html" not in record["outputs"]
    cells = [c for c in nbformat.read(out / "sales_kpis.ipynb", as_version=4).cells if c.cell_type == "code"]
    failed = [i for i, c in enumerate(cells) if any(o.output_type == "error" for o in c.outputs)]
    assert len(failed) == 1 and "kpi_table(" in cells[failed[0]].source
    assert all(c.execution_count is None for c in cells[failed[0] + 1:])  # execution stopped there
