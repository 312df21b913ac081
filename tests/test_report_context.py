"""forecasting.reports.context: one source, custom stages, missing tables and defaults from the data."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from forecasting.cli import main
from forecasting.data import DataError
from forecasting.data.io import write_duckdb
from forecasting.reports.context import (
    ReportData,
    last_date,
    load_report_data,
    money,
    parse_map,
    percent,
    record_resolved,
    resolve_as_of,
    resolve_backtest_periods,
    resolve_period,
)

STAGES_YAML = "open:\n- Prospecting: 0.1\n- Engaging: 0.6\nwon: Closed Won\nlost: Closed Lost\n"


def _opportunities() -> pd.DataFrame:
    """Four deals in a two-stage funnel (Maven CRM's), the last event on 2025-03-20."""
    return pd.DataFrame({
        "opportunity_id": ["o1", "o2", "o3", "o4"],
        "account_id": ["a", "b", "c", "d"],
        "owner": ["ann", "ann", "bob", "bob"],
        "amount": [100.0, 200.0, 300.0, 400.0],
        "created_at": pd.to_datetime(["2025-01-02", "2025-01-10", "2025-02-01", "2025-03-20"]),
        "stage": ["Closed Won", "Closed Lost", "Engaging", "Prospecting"],
        "close_date": pd.to_datetime(["2025-02-15", "2025-03-01", "2025-09-30", "2025-12-31"]),
        "status": ["won", "lost", "open", "open"],
    })


@pytest.fixture
def crm(tmp_path):
    """A DuckDB source with custom-stage opportunities, an empty leads table and a stages YAML."""
    path = tmp_path / "crm.duckdb"
    leads = pd.DataFrame({"lead_id": pd.Series([], dtype=str), "created_at": pd.Series([], dtype="datetime64[ns]")})
    write_duckdb({"opportunities": _opportunities(), "leads": leads}, path)
    stages = tmp_path / "stages.yaml"
    stages.write_text(STAGES_YAML)
    return path, stages


def test_custom_stages_load_and_missing_optional_tables_say_what_to_add(crm):
    path, stages = crm
    data = load_report_data(str(path), ["opportunities", "stage_history", "leads", "quotas"],
                            optional=["stage_history", "leads", "quotas"], stages=str(stages))
    assert list(data["opportunities"]["stage"]) == ["Closed Won", "Closed Lost", "Engaging", "Prospecting"]
    assert data["stage_history"] is None and data["leads"] is None and data["quotas"] is None
    assert data.missing("stage_history").startswith("Add a stage_history table (opportunity_id, stage, entered_at)")
    assert "has no rows" in data.missing("leads")  # the table is there, but empty
    assert data.missing("quotas").startswith("Add a quotas table (period, owner, quota)")
    assert data.missing("opportunities") == ""
    assert data.missing("opportunities", ["segment"]).startswith("Add a segment column to the opportunities table")


def test_default_stages_refuse_another_funnel(crm):
    path, _ = crm
    with pytest.raises(DataError) as err:
        load_report_data(str(path), ["opportunities"])
    assert err.value.problems[0].table == "opportunities" and err.value.problems[0].column == "stage"


def test_a_missing_required_table_is_refused_with_what_to_add(crm):
    path, _ = crm
    with pytest.raises(DataError) as err:
        load_report_data(str(path), ["revenue", "opportunities"], optional=["opportunities"])
    problem = err.value.problems[0]
    assert problem.table == "revenue" and "Add a revenue table (date, amount)" in problem.message


def test_map_renames_columns_for_every_table(tmp_path):
    path = tmp_path / "theirs.duckdb"
    write_duckdb({"opportunities": _opportunities().rename(columns={"opportunity_id": "Deal Id", "amount": "Amt"})},
                 path)
    data = load_report_data(str(path), ["opportunities"], stages={"open": ["Prospecting", "Engaging"]},
                            map="Deal Id=opportunity_id, Amt=amount")
    assert data["opportunities"]["amount"].sum() == 1000.0


def test_parse_map_refuses_a_pair_without_equals():
    assert parse_map("A=b,C=d") == {"A": "b", "C": "d"}
    with pytest.raises(DataError) as err:
        parse_map("A=b,oops")
    assert err.value.problems[0].table == "map" and "oops" in err.value.problems[0].rows


def test_as_of_is_the_last_event_not_an_open_deals_planned_close():
    data = {"opportunities": _opportunities()}
    assert last_date(data) == pd.Timestamp("2025-03-20")  # o4's creation; o3/o4 close dates are plans
    assert resolve_as_of("", data) == "2025-03-20"
    assert resolve_as_of("2025-02-28 13:00", data) == "2025-02-28"


def test_monthly_revenue_runs_to_the_end_of_its_last_month():
    revenue = pd.DataFrame({"date": pd.date_range("2017-01-01", "2017-12-01", freq="MS"), "amount": 1.0})
    assert resolve_as_of("", {"revenue": revenue}) == "2017-12-31"


def test_period_is_the_one_still_open_after_as_of():
    assert resolve_period("", "2017-12-31") == "2018Q1"
    assert resolve_period("", "2017-12-30") == "2017Q4"
    assert resolve_period("", "2026-06-30", "M") == "2026-07"


def test_backtest_periods_are_the_complete_ones_after_the_first_date():
    assert resolve_backtest_periods("", "2026-06-30") == "2024Q3:2026Q2"  # the last 8
    assert resolve_backtest_periods("", "2026-06-29") == "2024Q2:2026Q1"  # 2026Q2 not complete
    assert resolve_backtest_periods("", "2017-12-31", first="2016-10-20") == "2017Q1:2017Q4"
    assert resolve_backtest_periods("", "2026-06-30", period="2026-07", n=3) == "2026-04:2026-06"
    assert resolve_backtest_periods("2020Q1:2020Q2", "2026-06-30") == "2020Q1:2020Q2"  # given: kept
    with pytest.raises(DataError):
        resolve_backtest_periods("", "2025-03-20", first="2025-01-02")


def test_resolved_values_are_written_as_json(tmp_path):
    path = record_resolved(str(tmp_path), {"as_of": "2026-06-30", "n_sims": 10_000, "stamp": pd.Period("2026Q3")})
    assert json.loads(path.read_text()) == {"as_of": "2026-06-30", "n_sims": 10_000, "stamp": "2026Q3"}
    assert record_resolved("", {"as_of": "x"}) is None


def test_prose_numbers_have_no_decimals_and_no_nan():
    assert [money(v) for v in (2_345_678, 57_300.25, 900.4, float("nan"))] == ["$2.3M", "$57k", "$900", "n/a"]
    assert [percent(v) for v in (0.2912, float("nan"))] == ["29%", "n/a"]


def test_missing_columns_of_a_present_table():
    data = ReportData("x.duckdb", None, {"activities": pd.DataFrame({"lead_id": [None, None]})})
    assert "lead_id" in data.missing("activities", ["lead_id"])  # present but empty counts as missing


def test_kpis_command_takes_custom_stages(crm, tmp_path):
    path, stages = crm
    out = tmp_path / "kpis"
    assert main(["kpis", "--opportunities", f"{path}:opportunities", "--out", str(out)]) == 2  # default stages
    assert main(["kpis", "--opportunities", f"{path}:opportunities", "--stages", str(stages),
                 "--as-of", "2025-03-31", "--out", str(out)]) == 0
    kpis = pd.read_csv(out / "kpis.csv").set_index("period")
    assert kpis.loc["2025Q1", "deals_won"] == 1 and kpis.loc["2025Q1", "revenue_won"] == 100.0
    assert kpis.loc["2025Q1", "win_rate"] == 0.5


def test_date_format_reads_day_first_dates_of_a_one_file_source(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("lead_id,created_at,converted\nL1,02/03/2025,1\nL2,04/05/2025,0\n")
    data = load_report_data(str(path), ["leads", "activities"], optional=["activities"], date_format="%d/%m/%Y")
    assert list(data["leads"]["created_at"]) == [pd.Timestamp("2025-03-02"), pd.Timestamp("2025-05-04")]
    assert data["activities"] is None  # a file holds one table: the others are missing, not misread
    assert resolve_as_of("", data) == "2025-05-04"


def test_show_prints_dates_without_a_time_of_day_as_dates():
    from forecasting.reports.context import show

    frame = pd.DataFrame({"close_date": pd.to_datetime(["2026-07-31", None]),
                          "seen_at": pd.to_datetime(["2026-07-31 10:00", "2026-01-01 00:00"])})
    cells = show(frame).to_html()
    assert ">2026-07-31<" in cells and "2026-07-31 00:00:00" not in cells
    assert "2026-07-31 10:00:00" in cells  # a time of day stays
