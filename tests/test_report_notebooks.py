"""Every report notebook, run through the runner with non-default parameters."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from forecasting.reports import available_reports, report_parameters, run_report

# Non-default parameters per report; a new notebook must be added here.
NON_DEFAULT = {
    "revenue_forecast": {"as_of": "2026-04-30", "horizon": "7", "level": "95", "models": "naive,ets,arima",
                         "model": "auto", "backtest_horizon": "3", "folds": "2", "seed": "1"},
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
