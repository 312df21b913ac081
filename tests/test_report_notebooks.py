"""The report notebooks through the runner: non-default parameters, same run same tables, a failing cell."""

from __future__ import annotations

import json
import re

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
    "forecast_call": {"as_of": "2026-05-31", "period": "2026Q2", "since": "2026-05-01", "method": "default",
                      "target": "8000000.0", "n_sims": "500", "seed": "1"},
}


def test_every_report_has_a_non_default_run():
    assert set(available_reports()) == set(NON_DEFAULT)


@pytest.fixture(scope="module")
def non_default_run(tmp_path_factory):
    """``run(name)``: the report's run with its NON_DEFAULT parameters, made once per module
    (a report run takes seconds; two tests read the sales_kpis one)."""
    runs = {}

    def run(name):
        if name not in runs:
            runs[name] = run_report(name, NON_DEFAULT[name], tmp_path_factory.mktemp("non_default") / name)
        return runs[name]

    return run


@pytest.mark.parametrize("name", sorted(NON_DEFAULT))
def test_report_runs_with_non_default_parameters(name, non_default_run):
    params = NON_DEFAULT[name]
    declared = report_parameters(name)
    assert set(params) <= set(declared) and "out_dir" in declared
    result = non_default_run(name)
    assert result.ok, result.error
    record = json.loads(result.run_json.read_text())
    assert record["status"] == "ok" and record["report"] == name
    assert {k: str(v) for k, v in record["parameters"].items() if k in params} == params
    assert record["tables"], "the report wrote no result tables"
    html = result.html.read_text()
    assert "<img" in html and "from forecasting" not in html  # figures embedded, code hidden


def test_sales_kpis_monthly_by_segment_tables(non_default_run):
    result = non_default_run("sales_kpis")
    kpis = pd.read_csv(result.out_dir / "tables" / "kpis.csv")
    assert set(kpis["group"]) == {"all", "SMB", "Mid-Market", "Enterprise"}
    assert kpis["period"].iloc[-1] == "2026-03"  # monthly, up to as_of


def _table_hashes(result) -> dict[str, str]:
    assert result.ok, result.error
    return json.loads(result.run_json.read_text())["tables"]


def test_sales_kpis_twice_gives_identical_tables(tmp_path):
    first, second = (_table_hashes(run_report("sales_kpis", {}, tmp_path / run)) for run in ("a", "b"))
    assert set(first) == {"kpis.csv", "funnel.csv", "activity.csv", "attribution_first_touch.csv",
                          "attribution_last_touch.csv"}
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
    # "H" passes the parameter check (a str) and fails inside the notebook, in kpi_table.
    out = tmp_path / "weekly"
    assert main(["report", "run", "sales_kpis", "-p", "freq", "H", "--out", str(out)]) == 1
    assert "report sales_kpis FAILED" in capsys.readouterr().err
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "failed" and record["parameters"]["freq"] == "H"
    assert record["error"].startswith("ValueError: freq must be") and record["tables"] == {}
    assert not (out / "sales_kpis.html").exists() and "html" not in record["outputs"]
    cells = [c for c in nbformat.read(out / "sales_kpis.ipynb", as_version=4).cells if c.cell_type == "code"]
    failed = [i for i, c in enumerate(cells) if any(o.output_type == "error" for o in c.outputs)]
    assert len(failed) == 1 and "kpi_table(" in cells[failed[0]].source
    assert all(c.execution_count is None for c in cells[failed[0] + 1:])  # execution stopped there


# --------------------------------------------------------------------------- any source
# Every report runs on data that is not the demo's: public datasets mapped by the adapters (CI has
# ../shared/data), each report's optional tables missing, its own funnel, dates from the data.
CONTRACT = {"source", "stages", "map", "date_format"}
_NAN = re.compile(r"\bnan\b", re.IGNORECASE)
_CENTS = re.compile(r"\$-?[\d,]+\.\d+\b")  # money with decimals ($1,234.50; $2.3M is fine)


@pytest.fixture(scope="module")
def public(tmp_path_factory):
    """DuckDB files of three public datasets, built by ``forecasting data public`` (Maven CRM adds its stages)."""
    folder = tmp_path_factory.mktemp("public")
    for name in ("maven_crm", "superstore", "x_education"):
        assert main(["data", "public", name, "--out", str(folder / f"{name}.duckdb")]) == 0
    return folder


def _prose(result) -> str:
    """What the report printed: the text a sales leader reads next to the figures."""
    nb = nbformat.read(result.notebook, as_version=4)
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                     if o.get("output_type") == "stream" and o.get("name") == "stdout")


def _resolved(result) -> dict:
    assert result.ok, result.error
    return json.loads(result.run_json.read_text())["resolved"]


def _readable(text: str) -> None:
    assert not _NAN.search(text), [line for line in text.splitlines() if _NAN.search(line)]
    assert not _CENTS.search(text), _CENTS.findall(text)


@pytest.mark.parametrize("name", sorted(NON_DEFAULT))
def test_every_report_takes_the_source_contract(name):
    defaults = {k: spec["default"] for k, spec in report_parameters(name).items()}
    assert CONTRACT <= set(defaults)
    assert {defaults[k] for k in CONTRACT} == {'"demo"', '""'}
    dates = {k: defaults[k] for k in ("as_of", "period", "backtest_periods", "blend_period", "blend_backtest_periods")
             if k in defaults}
    assert set(dates.values()) <= {'""'}  # dates come from the data, never from the demo


def test_sales_kpis_on_maven_crm_with_its_own_stages(public, tmp_path):
    params = {"source": str(public / "maven_crm.duckdb"), "stages": str(public / "maven_crm.stages.yaml")}
    result = run_report("sales_kpis", params, tmp_path / "kpis")
    resolved = _resolved(result)
    assert resolved["as_of"] == "2017-12-31" and resolved["last_complete_period"] == "2017Q4"
    text = _prose(result)
    _readable(text)
    assert "stage-to-stage conversion: Engaging" in text  # Maven's funnel, not the default one
    assert "Add a leads table" in text and "Add an activities table" in text  # what to add, no exception
    kpis = pd.read_csv(result.out_dir / "tables" / "kpis.csv")
    assert kpis.loc[kpis["group"] == "all", "deals_won"].sum() == 4238  # every won deal of the file


def test_pipeline_forecast_on_maven_crm_resolves_its_dates_from_the_data(public, tmp_path):
    params = {"source": str(public / "maven_crm.duckdb"), "stages": str(public / "maven_crm.stages.yaml"),
              "n_sims": "300", "method": "historical"}
    result = run_report("pipeline_forecast", params, tmp_path / "pipeline")
    resolved = _resolved(result)
    assert (resolved["as_of"], resolved["period"]) == ("2017-12-31", "2018Q1")
    assert resolved["backtest_periods"] == "2017Q1:2017Q4"  # complete quarters after the first deal
    text = _prose(result)
    _readable(text)
    assert "Add a stage_history table" in text and "No target" in text
    forecast = pd.read_csv(result.out_dir / "tables" / "forecast.csv")
    assert forecast["period"].tolist() == ["2018Q1"] and (forecast["p10"] >= 0).all()


def test_pipeline_forecast_defaults_match_the_cli(tmp_path):
    from forecasting.pipeline import forecast_period

    result = run_report("pipeline_forecast", {"backtest_periods": "2026Q1:2026Q2", "method": "default"},
                        tmp_path / "pipeline")
    resolved = _resolved(result)
    assert resolved["n_sims"] == 10_000 == forecast_period.__kwdefaults__["n_sims"]
    assert (resolved["as_of"], resolved["period"]) == ("2026-06-30", "2026Q3")


def test_revenue_forecast_on_revenue_only_data(public, tmp_path):
    params = {"source": str(public / "superstore.duckdb"), "models": "naive,seasonal_naive", "model": "auto",
              "folds": "2", "horizon": "6"}
    result = run_report("revenue_forecast", params, tmp_path / "revenue")
    resolved = _resolved(result)
    assert resolved["as_of"] == "2017-12-31"  # the end of the last month of revenue
    text = _prose(result)
    _readable(text)
    assert "No blend with the pipeline: Add an opportunities table" in text
    assert "ARIMA" not in text  # no prose written for the demo
    forecast = pd.read_csv(result.out_dir / "tables" / "forecast.csv")
    assert (forecast[["lo_80", "lo_95"]] >= 0).all().all()  # sales are never negative: neither are bounds
    assert forecast["date"].min() == "2018-01-01" and "blend.csv" not in result.tables


def test_revenue_forecast_short_history_skips_the_backtest(public, tmp_path):
    params = {"source": str(public / "superstore.duckdb"), "as_of": "2014-09-30", "models": "naive",
              "model": "auto", "horizon": "3", "backtest_horizon": "8", "folds": "2"}
    result = run_report("revenue_forecast", params, tmp_path / "short")
    text = _prose(result)
    _readable(text)
    assert "too short to backtest" in text
    assert pd.read_csv(result.out_dir / "tables" / "forecast.csv")["date"].min() == "2014-10-01"


def test_lead_scoring_on_x_education(public, tmp_path):
    params = {"source": str(public / "x_education.duckdb"), "models": "rule_scorecard,logistic",
              "folds": "2", "n_boot": "50"}
    result = run_report("lead_scoring_comparison", params, tmp_path / "leads")
    text = _prose(result)
    _readable(text)
    assert "rule_scorecard skipped" in text  # the demo's BANT rules name none of X Education's columns
    board = pd.read_csv(result.out_dir / "tables" / "leaderboard.csv")
    assert board["model"].tolist() == ["logistic"] and board["roc_auc"].iloc[0] > 0.8


def test_pipeline_forecast_on_a_zoo_world(tmp_path):
    pytest.importorskip("forecasting.data.worlds")
    out = tmp_path / "world"
    assert main(["data", "demo", "--world", "velocity_smb", "--out", str(out)]) == 0
    params = {"source": str(out / "crm.duckdb"), "stages": str(out / "crm.stages.yaml"), "n_sims": "300",
              "method": "historical"}
    result = run_report("pipeline_forecast", params, tmp_path / "pipeline")
    assert _resolved(result)["period"]
    _readable(_prose(result))


def test_sales_kpis_says_what_to_add_for_each_missing_table_or_column(tmp_path):
    # Issue 13: the report failed in turn on each of these; now each section says what to add.
    from forecasting.data import read_source
    from forecasting.data.io import write_duckdb

    opportunities = read_source("demo:opportunities", kind="opportunities").drop(columns="lead_id", errors="ignore")
    leads = read_source("demo:leads", kind="leads").drop(columns="source").iloc[:0]  # empty
    activities = read_source("demo:activities", kind="activities").drop(columns="lead_id")
    activities = activities[activities["occurred_at"] < "2026-01-01"]  # none in the last quarter
    path = tmp_path / "thin.duckdb"
    write_duckdb({"opportunities": opportunities, "leads": leads, "activities": activities}, path)
    result = run_report("sales_kpis", {"source": str(path), "as_of": "2026-06-30"}, tmp_path / "kpis")
    assert result.ok, result.error
    text = _prose(result)
    _readable(text)
    assert "The leads table of" in text and "has no rows" in text
    assert "No activity was recorded in 2026Q2" in text
    assert "Add a stage_history table" in text and "Add a quotas table" in text
    assert "attribution_first_touch.csv" not in result.tables


@pytest.mark.parametrize("name", available_reports())
def test_notebook_twins_hold_the_same_cells(name):
    """Each report is kept twice (py:percent for review, .ipynb with outputs): their cells must agree,
    else nbval tests one text and the runner or a reviewer reads another. `make notebooks` rebuilds."""
    import jupytext

    from forecasting.reports import notebooks_dir

    folder = notebooks_dir()
    twin = jupytext.read(folder / f"{name}.py")
    stored = nbformat.read(folder / f"{name}.ipynb", as_version=4)

    def cells(nb):
        return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]

    assert cells(twin) == cells(stored), f"notebooks/{name}.py and .ipynb differ: run `make notebooks`"
