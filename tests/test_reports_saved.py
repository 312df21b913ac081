"""Reports read what a CLI step saved (`pipeline backtest`, `revenue blend`) only when it was made
with the report's settings, and then get exactly the numbers they would have computed."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from test_pipeline_cli import crm_db  # noqa: F401  (a fixture: the small demo CRM as a DuckDB file)

from forecasting.cli import main
from forecasting.data import DataError, DataWarning, load_table
from forecasting.pipeline import PipelineData, backtest, forecast_period
from forecasting.reports.saved import load_blend, load_pipeline_backtest, report_inputs
from forecasting.revenue.blend import blend_with_pipeline

BACKTEST = dict(periods="2025Q3:2025Q4", methods=["default", "historical"], n_sims=2000, seed=2)
BLEND = dict(as_of="2025-12-31", period="2026Q1", backtest_periods="2025Q3:2025Q4", pipeline_method="historical",
             model="naive", metric="mse", seed=2)


@pytest.fixture(scope="module")
def tables(crm_db):
    opportunities = load_table("opportunities", crm_db)
    return opportunities, load_table("stage_history", crm_db, opportunities=opportunities)


def _inputs(crm_db, source=None, stage_history=True, map=""):
    return report_inputs(source or crm_db, stage_history=stage_history, map=map)


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        yield


@pytest.fixture(scope="module")
def saved_backtest(crm_db, tmp_path_factory):
    """A backtest of more periods and methods than the report asks for, methods in another order."""
    out = tmp_path_factory.mktemp("saved") / "pipeline_backtest"
    assert main(["pipeline", "backtest", "--opportunities", crm_db, "--stage-history", crm_db,
                 "--periods", "2025Q2:2025Q4", "--methods", "historical", "default", "--seed", "2",
                 "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def saved_blend(crm_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("saved") / "revenue_blend"
    assert main(_blend_argv(crm_db, str(out), "--seed", "2")) == 0
    return out


def test_the_saved_backtest_rows_are_the_backtest_of_the_reports_periods(crm_db, tables, saved_backtest):
    frame, metrics = load_pipeline_backtest(saved_backtest, inputs=_inputs(crm_db), **BACKTEST)
    made, made_metrics = backtest(*tables, **BACKTEST)
    pd.testing.assert_frame_equal(frame, made, check_dtype=False, check_exact=True)
    pd.testing.assert_frame_equal(metrics, made_metrics, check_exact=True)
    assert frame["period"].tolist() == ["2025Q3", "2025Q3", "2025Q4", "2025Q4"]  # 2025Q2 left out


@pytest.mark.parametrize("change, key", [
    ({"seed": 3}, "seed"), ({"n_sims": 300}, "sims"), ({"stage_history": False}, "stage_history"),
    ({"source": "other.duckdb"}, "opportunities"), ({"map": "Deal=opportunity_id"}, "mapping"),
    ({"periods": "2025Q1:2025Q3"}, "periods"), ({"methods": ["learned"]}, "methods"),
])
def test_a_saved_backtest_of_other_settings_or_periods_is_refused(crm_db, saved_backtest, change, key):
    change = dict(change)
    reading = {k: change.pop(k) for k in ("source", "stage_history", "map") if k in change}
    with pytest.raises(DataError, match=rf"backtest\.{key}: the saved backtest (used|has no) .*saved_backtest=''"):
        load_pipeline_backtest(saved_backtest, inputs=_inputs(crm_db, **reading), **{**BACKTEST, **change})


def test_the_saved_blend_is_the_blend_of_the_reports_settings(crm_db, tables, saved_blend):
    loaded = load_blend(saved_blend, inputs=_inputs(crm_db), **BLEND)
    data = PipelineData.build(*tables)
    method, seed = BLEND["pipeline_method"], BLEND["seed"]
    forecast, _ = forecast_period(as_of=BLEND["as_of"], period=BLEND["period"], method=method, seed=seed, data=data)
    past, _ = backtest(periods=BLEND["backtest_periods"], methods=[method], seed=seed, data=data)
    made = blend_with_pipeline(tables[0], forecast, past, BLEND["as_of"], model="naive", metric="mse", seed=seed)
    for got, want in zip(loaded, made):
        pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=True)


@pytest.mark.parametrize("change", [{"as_of": "2025-12-30"}, {"period": "2026Q2"},
                                    {"backtest_periods": "2025Q2:2025Q4"}, {"pipeline_method": "learned"},
                                    {"model": "ensemble"}, {"metric": "wape"}, {"seed": 0}])
def test_a_saved_blend_of_other_settings_is_refused(crm_db, saved_blend, change):
    key = next(iter(change))
    with pytest.raises(DataError, match=rf"blend\.{key}: the saved blend used .* pass the same value"):
        load_blend(saved_blend, inputs=_inputs(crm_db), **{**BLEND, **change})


@pytest.mark.parametrize("kind", ["backtest", "blend"])
def test_a_saved_run_with_a_setting_the_reader_does_not_know_is_refused(crm_db, saved_backtest, saved_blend,
                                                                          kind, tmp_path):
    import json
    import shutil

    folder = tmp_path / kind
    shutil.copytree(saved_backtest if kind == "backtest" else saved_blend, folder)
    record = json.loads((folder / "run.json").read_text())
    record["parameters"]["features"] = "activity"  # an option added after this reader was written
    (folder / "run.json").write_text(json.dumps(record))
    with pytest.raises(DataError, match=rf"{kind}\.features: the saved {kind} was made with features='activity'"):
        if kind == "backtest":
            load_pipeline_backtest(folder, inputs=_inputs(crm_db), **BACKTEST)
        else:
            load_blend(folder, inputs=_inputs(crm_db), **BLEND)
    record["parameters"]["features"] = None  # unset: the numbers are the reader's
    (folder / "run.json").write_text(json.dumps(record))
    (load_pipeline_backtest(folder, inputs=_inputs(crm_db), **BACKTEST) if kind == "backtest"
     else load_blend(folder, inputs=_inputs(crm_db), **BLEND))


def _blend_argv(crm_db, out, *options) -> list[str]:
    return ["revenue", "blend", crm_db, "--stage-history", crm_db, "--as-of", BLEND["as_of"], "--backtest-periods",
            BLEND["backtest_periods"], "--pipeline-method", "historical", "--model", "naive", *options, "--out", out]


def test_the_blend_reading_the_saved_backtest_writes_the_same_numbers(crm_db, saved_backtest, saved_blend, tmp_path):
    out = tmp_path / "blend"
    assert main(_blend_argv(crm_db, str(out), "--seed", "2", "--pipeline-backtest", str(saved_backtest))) == 0
    for name in ("blend.csv", "blend_backtest.csv", "blend_metrics.csv"):
        assert (out / name).read_bytes() == (saved_blend / name).read_bytes(), name


def test_the_blend_refuses_a_saved_backtest_of_another_seed(crm_db, saved_backtest, tmp_path, capsys):
    out = tmp_path / "blend"
    assert main(_blend_argv(crm_db, str(out), "--seed", "5", "--pipeline-backtest", str(saved_backtest))) == 2
    err = capsys.readouterr().err
    assert "backtest.seed: the saved backtest used 2, this run asks for 5" in err and "drop --pipeline-backtest" in err
    assert not out.exists()


def test_a_folder_of_another_command_is_refused(crm_db, saved_backtest):
    with pytest.raises(DataError, match=r"blend: .* lacks blend.csv.*`forecasting revenue blend`"):
        load_blend(saved_backtest, inputs=_inputs(crm_db), **BLEND)



def test_the_pipeline_report_fails_naming_what_differs_rather_than_show_another_backtest(crm_db, saved_backtest,
                                                                                        tmp_path):
    from forecasting.reports import run_report

    params = {"source": crm_db, "as_of": "2025-12-31", "backtest_periods": "2025Q3:2025Q4", "method": "default",
              "seed": 3, "saved_backtest": str(saved_backtest)}
    result = run_report("pipeline_forecast", params, tmp_path / "report")
    assert not result.ok and result.error.startswith("DataError")
    assert "backtest.seed: the saved backtest used 2, this run asks for 3" in result.error
    assert "backtest.methods: the saved backtest has no learned" in result.error  # the report backtests all three
