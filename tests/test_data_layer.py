"""Data layer: sources, canonical types, validation, `forecasting data check`."""

from __future__ import annotations

import json
import sqlite3

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting.cli import main
from forecasting.data import DataError, Stages, atomic_path, load_table, parse_source, write_csv
from forecasting.data.io import quote_identifier


def opportunities(**changes) -> pd.DataFrame:
    """Four valid opportunities; keyword arguments replace columns."""
    frame = pd.DataFrame({
        "opportunity_id": ["O1", "O2", "O3", "O4"],
        "account_id": ["A1", "A1", "A2", "A3"],
        "owner": ["ava", "ben", "ava", "ben"],
        "amount": [1000.0, 2500.0, 400.0, 9000.0],
        "created_at": ["2025-01-05", "2025-01-10", "2025-02-01", "2025-02-15"],
        "stage": ["Demo", "Closed Won", "Closed Lost", "Proposal"],
        "close_date": ["2025-06-30", "2025-03-01", "2025-03-15", "2025-05-31"],
        "status": ["open", "won", "lost", "open"],
    })
    for column, values in changes.items():
        frame[column] = values
    return frame


def leads(n=20, converted=None) -> pd.DataFrame:
    converted = [i % 4 == 0 for i in range(n)] if converted is None else converted
    return pd.DataFrame({
        "lead_id": [f"L{i}" for i in range(n)],
        "created_at": pd.date_range("2025-01-01", periods=n, freq="D"),
        "source": ["web", "event"] * (n // 2),
        "converted": ["yes" if c else "no" for c in converted],
    })


def revenue(months=36, drop=()) -> pd.DataFrame:
    dates = pd.date_range("2022-01-01", periods=months, freq="MS")
    frame = pd.DataFrame({"date": dates, "amount": np.arange(months, dtype=float) + 100})
    return frame.drop(index=list(drop)).reset_index(drop=True)


# --- loading from every kind of source ------------------------------------------------


def test_csv_parquet_duckdb_and_sqlalchemy_sources_give_the_same_table(tmp_path):
    frame = opportunities()
    frame.to_csv(tmp_path / "opps.csv", index=False)
    frame.to_parquet(tmp_path / "opps.parquet", index=False)
    with duckdb.connect(str(tmp_path / "crm.duckdb")) as con:
        con.register("frame", frame)
        con.execute("CREATE TABLE opportunities AS SELECT * FROM frame")
        con.execute("CREATE TABLE deals AS SELECT * FROM frame")
    with sqlite3.connect(tmp_path / "crm.sqlite") as con:
        frame.to_sql("deals", con, index=False)

    sources = [
        tmp_path / "opps.csv",
        str(tmp_path / "opps.parquet"),
        str(tmp_path / "crm.duckdb"),  # table named after the kind
        f"{tmp_path / 'crm.duckdb'}:deals",
        f"{tmp_path / 'crm.duckdb'}:SELECT * FROM deals",
        f"sqlite:///{tmp_path / 'crm.sqlite'}#deals",
    ]
    loaded = [load_table("opportunities", s) for s in sources]
    for other in loaded[1:]:
        pd.testing.assert_frame_equal(loaded[0], other, check_dtype=False)
    first = loaded[0]
    assert first["amount"].dtype == np.float64
    assert first["created_at"].dtype == "datetime64[ns]"
    assert list(first["status"]) == ["open", "won", "lost", "open"]


def test_ids_keep_leading_zeros_from_csv(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("lead_id,created_at,converted\n007,2025-01-01,1\n010,2025-01-02,0\n")
    frame = load_table("leads", path)
    assert list(frame["lead_id"]) == ["007", "010"]


def test_csv_with_byte_order_mark_and_latin1_text(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes("lead_id,created_at,city\nL1,2025-01-01,Montr\xe9al\n".encode("latin-1"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbflead_id,created_at\nL1,2025-01-01\n")
    assert load_table("leads", path)["city"].iloc[0] == "Montr\xe9al"
    assert list(load_table("leads", bom).columns) == ["lead_id", "created_at"]


def test_column_mapping_renames_crm_columns():
    raw = opportunities().rename(columns={"opportunity_id": "Deal Id", "amount": "Deal Value"})
    frame = load_table("opportunities", raw, {"Deal Id": "opportunity_id", "Deal Value": "amount"})
    assert frame["amount"].sum() == 12900.0


def test_labels_from_bool_yes_no_and_numbers_become_zero_one():
    for values in ([True, False], ["Yes", "no"], [1, 0], ["1", "0"], ["TRUE", "false"]):
        frame = load_table("leads", leads(2, converted=[True, False]).assign(converted=values),
                           require_label=True)
        assert frame["converted"].tolist() == [1, 0]


def test_custom_stages_from_config_are_accepted():
    stages = Stages.from_config({"open": [{"Discovery": 0.2}, "Contract"], "won": "Won", "lost": "Lost"})
    frame = opportunities(stage=["Discovery", "Won", "Lost", "Contract"])
    assert len(load_table("opportunities", frame, stages=stages)) == 4
    assert stages.probability("Contract") == pytest.approx(2 / 3, abs=1e-3)


# --- every bad input names table, column and rows -------------------------------------


BAD_OPPORTUNITIES = {
    "missing_id": (dict(opportunity_id=["O1", None, "O3", "O4"]), "opportunity_id", "missing", "row 2"),
    "duplicate_id": (dict(opportunity_id=["O1", "O1", "O3", "O4"]), "opportunity_id", "duplicate", "O1"),
    "bad_date": (dict(created_at=["2025-01-05", "next tuesday", "2025-02-01", "2025-02-15"]),
                 "created_at", "not dates", "O2"),
    "negative_amount": (dict(amount=[1000.0, -5.0, 400.0, 9000.0]), "amount", "negative", "O2"),
    "missing_amount": (dict(amount=[1000.0, 2500.0, None, 9000.0]), "amount", "missing", "O3"),
    "unknown_stage": (dict(stage=["Demo", "Closed Won", "Closed Lost", "Haggling"]), "stage", "unknown", "O4"),
    "unknown_status": (dict(status=["open", "won", "maybe", "open"]), "status", "open / won / lost", "O3"),
    "close_before_create": (dict(close_date=["2024-12-31", "2025-03-01", "2025-03-15", "2025-05-31"]),
                            "close_date", "before created_at", "O1"),
}


@pytest.mark.parametrize("case", sorted(BAD_OPPORTUNITIES))
def test_bad_opportunities_raise_one_error_naming_table_column_rows(case):
    changes, column, words, row = BAD_OPPORTUNITIES[case]
    with pytest.raises(DataError) as info:
        load_table("opportunities", opportunities(**changes))
    err = info.value
    assert any(p.table == "opportunities" and p.column == column and words in p.message and row in p.rows
               for p in err.problems), str(err)


@pytest.mark.parametrize("case", sorted(BAD_OPPORTUNITIES))
def test_data_check_exits_2_with_a_message_and_no_traceback(case, tmp_path, capsys):
    changes, column, words, row = BAD_OPPORTUNITIES[case]
    path = tmp_path / "opps.csv"
    opportunities(**changes).to_csv(path, index=False)
    assert main(["data", "check", "opportunities", str(path)]) == 2
    err = capsys.readouterr().out  # the report is the result: stdout
    assert f"opportunities.{column}" in err and words in err and row in err
    assert "Traceback" not in err


def test_empty_table_and_missing_column(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("lead_id,created_at\n")
    assert main(["data", "check", "leads", str(empty)]) == 2
    assert "leads: is empty" in capsys.readouterr().out
    with pytest.raises(DataError, match=r"opportunities.owner: is a required column but is missing"):
        load_table("opportunities", opportunities().drop(columns="owner"))


def test_stage_history_rows_for_unknown_opportunities(tmp_path, capsys):
    opportunities().to_csv(tmp_path / "opps.csv", index=False)
    history = pd.DataFrame({"opportunity_id": ["O1", "O9", "O9"], "stage": ["Demo", "Demo", "Proposal"],
                            "entered_at": ["2025-01-05", "2025-01-06", "2025-01-09"]})
    history.to_csv(tmp_path / "history.csv", index=False)
    code = main(["data", "check", "stage_history", str(tmp_path / "history.csv"),
                 "--opportunities", str(tmp_path / "opps.csv")])
    err = capsys.readouterr().out
    assert code == 2
    assert "stage_history.opportunity_id: refers to opportunities that are not in the" in err and "O9" in err


def test_label_with_only_one_class_is_refused_for_training():
    with pytest.raises(DataError, match=r"leads.converted: label has only one class \(0\)"):
        load_table("leads", leads(8, converted=[False] * 8), require_label=True)
    # Scoring data without labels is fine.
    assert len(load_table("leads", leads(8).drop(columns="converted"))) == 8


def test_unparsable_label_names_the_rows():
    with pytest.raises(DataError) as info:
        load_table("leads", leads(4).assign(converted=["yes", "no", "perhaps", "no"]), require_label=True)
    assert info.value.problems[0].rows == ("L2",)


def test_revenue_with_gaps_lists_the_missing_periods():
    with pytest.raises(DataError, match=r"revenue.date: series 'all' has gaps.*2022-04-01"):
        load_table("revenue", revenue(36, drop=[3]))


def test_revenue_too_short_for_its_season():
    with pytest.raises(DataError, match=r"too short for its season: 18 periods, need at least 24"):
        load_table("revenue", revenue(18))
    with pytest.warns(UserWarning, match="too short"):
        load_table("revenue", revenue(18), allow_short=True)


def test_revenue_per_segment_is_checked_per_series():
    frame = pd.concat([revenue(36).assign(segment="SMB"), revenue(36, drop=[10]).assign(segment="Enterprise")])
    with pytest.raises(DataError, match="series 'Enterprise' has gaps"):
        load_table("revenue", frame)


def test_data_check_prints_summary_of_a_good_table(tmp_path, capsys):
    path = tmp_path / "leads.parquet"
    load_table("leads", leads(20)).to_parquet(path)
    assert main(["data", "check", "leads", str(path), "--label"]) == 0
    err = capsys.readouterr().out
    assert "rows: 20" in err and "conversion_rate: 0.25" in err and "OK" in err


def test_data_check_json_output(tmp_path, capsys):
    path = tmp_path / "opps.csv"
    opportunities(amount=[1.0, -1.0, 2.0, 3.0]).to_csv(path, index=False)
    assert main(["data", "check", "opportunities", str(path), "--json"]) == 2
    import json

    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["problems"][0]["column"] == "amount" and report["problems"][0]["rows"] == ["O2"]


def test_missing_file_and_unknown_table_are_bad_input(tmp_path, capsys):
    assert main(["data", "check", "leads", str(tmp_path / "nope.csv")]) == 2
    assert "source file not found" in capsys.readouterr().out
    with duckdb.connect(str(tmp_path / "crm.duckdb")) as con:
        con.execute("CREATE TABLE other AS SELECT 1 AS x")
    assert main(["data", "check", "leads", f"{tmp_path / 'crm.duckdb'}:leads"]) == 2
    assert "table 'leads' not found" in capsys.readouterr().out


# --- SQL names are never pasted ------------------------------------------------------


@pytest.mark.parametrize("name", ["leads; DROP TABLE leads", 'x" OR 1=1 --', "a.b.c", "1leads", ""])
def test_sql_text_in_a_table_name_is_refused(name):
    with pytest.raises(DataError, match="not a plain identifier"):
        quote_identifier(name)


def test_source_with_sql_in_table_name_is_refused(tmp_path):
    with pytest.raises(DataError):
        parse_source(f"{tmp_path / 'crm.duckdb'}:leads; DROP TABLE leads")


# --- atomic writes -----------------------------------------------------------------------


def test_failed_write_leaves_the_old_file_and_no_temp_files(tmp_path):
    target = tmp_path / "out.csv"
    write_csv(pd.DataFrame({"a": [1]}), target)
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "a\n1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_stages_round_trip_through_config():
    stages = Stages.from_config({"open": [{"Discovery": 0.2}, {"Contract": 0.7}], "won": "Won", "lost": "Lost"})
    assert Stages.from_config(stages.to_config()) == stages


def test_data_public_writes_a_database_every_command_can_read(tmp_path, capsys):
    from forecasting.data.adapters import shared_data_dir

    try:
        shared_data_dir()
    except FileNotFoundError:
        pytest.skip("../shared/data is absent: public datasets not available here")
    out = tmp_path / "maven.duckdb"
    assert main(["data", "public", "maven_crm", "--out", str(out)]) == 0
    stages = tmp_path / "maven.stages.yaml"
    assert main(["data", "check", "opportunities", str(out), "--stages", str(stages)]) == 0
    assert "'won': 4238" in capsys.readouterr().out


BAD_TABLES = {
    # kind, frame, extra CLI args, expected "table.column" and words in the message
    "one_class_label": ("leads", leads(8, converted=[False] * 8), ["--label"], "leads.converted", "only one class"),
    "bad_label": ("leads", leads(4).assign(converted=["yes", "no", "perhaps", "no"]), ["--label"],
                  "leads.converted", "L2"),
    "duplicate_lead": ("leads", leads(4).assign(lead_id=["L1", "L1", "L2", "L3"]), [], "leads.lead_id", "duplicate"),
    "missing_column": ("leads", leads(4).drop(columns="created_at"), [], "leads.created_at", "required column"),
    "revenue_gap": ("revenue", revenue(36, drop=[3]), [], "revenue.date", "2022-04-01"),
    "revenue_short": ("revenue", revenue(18), [], "revenue.date", "too short for its season"),
    "revenue_irregular": ("revenue", pd.DataFrame({"date": ["2024-01-01", "2024-01-09", "2024-03-17", "2024-08-02"],
                                                   "amount": [1.0, 2.0, 3.0, 4.0]}), [], "revenue.date", "irregular"),
    "revenue_text_amount": ("revenue", revenue(36).assign(amount=["ten"] + [1.0] * 35), [], "revenue.amount",
                            "not numbers"),
}


@pytest.mark.parametrize("case", sorted(BAD_TABLES))
def test_data_check_on_bad_leads_and_revenue_exits_2_naming_table_column(case, tmp_path, capsys):
    kind, frame, args, where, words = BAD_TABLES[case]
    path = tmp_path / f"{kind}.csv"
    frame.to_csv(path, index=False)
    assert main(["data", "check", kind, str(path), *args]) == 2
    err = capsys.readouterr().out
    assert where in err and words in err and "Traceback" not in err


def test_empty_csv_names_the_table_and_says_empty(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(b"\xef\xbb\xbf\n\n")  # a BOM and blank lines only
    with pytest.raises(DataError, match=r"leads: .*leads.csv is an empty file"):
        load_table("leads", str(path))


def test_padded_id_header_keeps_leading_zeros(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(" lead_id ,created_at,converted\n007,2024-01-01,1\n010,2024-01-02,0\n")
    leads = load_table("leads", str(path))
    assert list(leads["lead_id"]) == ["007", "010"]


def test_nullable_boolean_label_from_duckdb_keeps_labels_and_marks_unlabeled(tmp_path):
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE leads AS SELECT * FROM (VALUES ('1', DATE '2024-01-01', TRUE), "
                    "('2', DATE '2024-01-02', NULL), ('3', DATE '2024-01-03', FALSE)) t(lead_id, created_at, converted)")
    leads = load_table("leads", f"{path}:leads")
    assert leads["converted"].iloc[0] == 1 and leads["converted"].iloc[2] == 0
    assert np.isnan(leads["converted"].iloc[1])


def test_float_ids_too_large_for_int64_stay_text():
    from forecasting.data.conform import _as_text

    assert list(_as_text(pd.Series([1e19, 3.0]))) == ["1e+19", "3.0"]
    assert list(_as_text(pd.Series([7.0, 3.0]))) == ["7", "3"]


# The optional tables of the data contract: team, forecast_calls, targets, survey.

def _check(kind, frame, tmp_path, capsys, *extra) -> tuple[int, str]:
    path = tmp_path / f"{kind}.csv"
    frame.to_csv(path, index=False)
    code = main(["data", "check", kind, str(path), *extra])
    return code, capsys.readouterr().out


TEAM = pd.DataFrame({"owner": ["vp", "ana", "bo", "cy"], "manager": [None, "vp", "vp", "ana"]})
CALLS = pd.DataFrame({"owner": ["ana", "bo", "vp"], "period": ["2026Q3", "2026-07", "2026"],
                      "submitted_at": ["2026-06-01", "2026-06-01", "2026-06-02"],
                      "commit": [100, 200, 300], "best_case": [150, 200, 450]})
TARGETS = pd.DataFrame({"owner": ["ana", "ana", "bo"], "type": ["call", "email", "call"],
                        "freq": ["W", "D", "M"], "target": [50, 20, 200]})
SURVEY = pd.DataFrame({"respondent_id": ["r1", "r2", "r3"], "answered_at": ["2026-01-02"] * 3,
                       "score": [0, 7, 10], "kind": ["customer", "customer", "employee"]})


@pytest.mark.parametrize("kind, frame", [("team", TEAM), ("forecast_calls", CALLS), ("targets", TARGETS),
                                         ("survey", SURVEY)])
def test_data_check_accepts_each_optional_table(kind, frame, tmp_path, capsys):
    code, out = _check(kind, frame, tmp_path, capsys)
    assert code == 0, out
    assert f"table: {kind}" in out and f"rows: {len(frame)}" in out and "OK: no errors" in out


def test_team_cycle_names_the_owners_on_it(tmp_path, capsys):
    team = pd.DataFrame({"owner": ["vp", "ana", "bo", "cy"], "manager": [None, "vp", "cy", "bo"]})
    code, out = _check("team", team, tmp_path, capsys)
    assert code == 2
    assert "ERROR team.manager: has a cycle: bo -> cy -> bo" in out and "(rows: bo, cy)" in out


def test_team_owner_managing_themself_is_a_cycle():
    with pytest.raises(DataError, match=r"team\.manager: has a cycle: vp -> vp"):
        load_table("team", pd.DataFrame({"owner": ["vp", "ana"], "manager": ["vp", "vp"]}))


def test_team_manager_without_owner_row_is_fine_only_as_the_top(tmp_path, capsys):
    # "boss" has no row and is the only top: allowed.
    only_top = pd.DataFrame({"owner": ["ana", "bo"], "manager": ["boss", "ana"]})
    assert _check("team", only_top, tmp_path, capsys)[0] == 0
    # "fran" has no row while "vp" is the top (empty manager): fran is not a top, refused.
    code, out = _check("team", pd.concat([TEAM, pd.DataFrame({"owner": ["dee"], "manager": ["fran"]})]),
                       tmp_path, capsys)
    assert code == 2
    assert "team.manager: names managers with no owner row (fran) while the top of the hierarchy is vp" in out
    assert "(rows: dee)" in out


def test_team_of_several_heads_without_rows_is_a_forest_with_a_warning(tmp_path, capsys):
    # As Maven CRM's sales_teams: agents and their managers, the managers have no rows.
    team = pd.DataFrame({"owner": ["ana", "bo", "cy"], "manager": ["Dustin", "Dustin", "Melvin"]})
    code, out = _check("team", team, tmp_path, capsys)
    assert code == 0
    assert "WARNING team.manager: has 2 tops (Dustin, Melvin)" in out


def test_team_manager_spelt_like_an_owner_is_refused(tmp_path, capsys):
    team = pd.DataFrame({"owner": ["Ana Lee", "bo", "cy"], "manager": [None, "ana  lee", "Ana Lee"]})
    code, out = _check("team", team, tmp_path, capsys)
    assert code == 2
    assert "team.manager: names owners spelt another way ('ana  lee' for 'Ana Lee') (rows: bo)" in out



@settings(max_examples=40, deadline=None)
@given(st.data())
def test_team_tree_passes_and_one_back_edge_is_the_cycle_named(data):
    # A random tree: owner i reports to an earlier owner, owner 0 is the top.
    n = data.draw(st.integers(2, 12))
    bosses = [None] + [data.draw(st.integers(0, i - 1)) for i in range(1, n)]
    team = pd.DataFrame({"owner": [f"o{i}" for i in range(n)],
                         "manager": [None if b is None else f"o{b}" for b in bosses]})
    load_table("team", team)  # no error
    # Make an ancestor report to its descendant: the chain between them is the one cycle.
    low = data.draw(st.integers(1, n - 1))
    chain = [low]
    while bosses[chain[-1]] is not None:
        chain.append(bosses[chain[-1]])
    high = data.draw(st.sampled_from(chain))
    cut = chain[:chain.index(high) + 1]
    team.loc[high, "manager"] = f"o{low}"
    with pytest.raises(DataError) as err:
        load_table("team", team)
    cycles = [p for p in err.value.problems if "cycle" in p.message]
    assert len(cycles) == 1 and cycles[0].n_rows == len(cut)
    named = cycles[0].message.removeprefix("has a cycle: ").split(";")[0].split(" -> ")
    assert set(named) == {f"o{i}" for i in cut} and named[0] == named[-1]

def test_team_duplicate_owner_is_refused(tmp_path, capsys):
    code, out = _check("team", pd.concat([TEAM, TEAM.iloc[[2]]]), tmp_path, capsys)
    assert code == 2 and "team.owner: has duplicate ids (rows: bo)" in out


def test_forecast_calls_bad_rows_name_column_and_rows(tmp_path, capsys):
    calls = CALLS.copy()
    calls.loc[0, "period"] = "Q3 2026"
    calls.loc[1, "commit"] = -5
    calls = pd.concat([calls, calls.iloc[[2]]])  # vp's call twice
    code, out = _check("forecast_calls", calls, tmp_path, capsys)
    assert code == 2
    assert "forecast_calls.period: has an unknown period format ('Q3 2026')" in out and "(rows: ana)" in out
    assert "forecast_calls.commit: is negative (rows: bo)" in out
    assert "forecast_calls.submitted_at: has more than one row for the same owner, period and submitted_at " \
           "(rows: vp 2026 2026-06-02)" in out


def test_forecast_calls_best_case_below_commit_is_a_warning(tmp_path, capsys):
    code, out = _check("forecast_calls", CALLS.assign(best_case=[90, 200, 450]), tmp_path, capsys)
    assert code == 0
    assert "WARNING forecast_calls.best_case: is below commit" in out and "(rows: ana)" in out


def test_targets_freq_and_negative_target_are_refused(tmp_path, capsys):
    code, out = _check("targets", TARGETS.assign(freq=["W", "Q", "M"], target=[50, 20, -1]), tmp_path, capsys)
    assert code == 2
    assert "targets.freq: has values other than D, W or M ('Q')" in out
    assert "targets.target: is negative (rows: bo)" in out


def test_survey_score_outside_zero_to_ten_is_refused(tmp_path, capsys):
    code, out = _check("survey", SURVEY.assign(score=[-1, 7, 11]), tmp_path, capsys, "--json")
    assert code == 2
    report = json.loads(out)
    assert [(p["table"], p["column"], p["rows"]) for p in report["problems"]] == [("survey", "score", ["r1", "r3"])]


def _data_imports() -> dict[str, set[str]]:
    """``forecasting.data`` module -> the modules of the package it imports (functions' imports too)."""
    import ast
    import pathlib

    import forecasting.data

    root = pathlib.Path(forecasting.data.__file__).parent
    names = {".".join(p.relative_to(root).with_suffix("").parts).removesuffix("__init__").strip(".")
             for p in root.rglob("*.py")}
    graph = {}
    for name in names:
        path = root.joinpath(*name.split(".")).with_suffix(".py") if name else root / "__init__.py"
        if not path.exists():
            path = root.joinpath(*name.split("."), "__init__.py")
        package = name.split(".") if path.name == "__init__.py" and name else name.split(".")[:-1]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level and node.level <= len(package) + 1:
                base = package[:len(package) - node.level + 1] + (node.module.split(".") if node.module else [])
                found |= {".".join(base + [a.name]) if ".".join(base + [a.name]) in names else ".".join(base)
                          for a in node.names} & names
        graph[name] = found - {name, ""}
    return graph


def test_the_data_layer_has_no_import_cycle():
    graph = _data_imports()
    assert "embedded" not in graph["io"] and "demo" not in graph["io"]  # the reader knows no demo
    assert "validate" not in graph["outliers"]

    def reaches(start, goal, seen):
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    cycles = sorted(m for m in graph if m and reaches(m, m, set()))
    assert cycles == [], f"modules on an import cycle: {cycles}"


def test_data_check_kinds_are_the_tables_of_the_contract(tmp_path, capsys):
    from forecasting.data.schema import TABLES

    with pytest.raises(SystemExit) as done:
        main(["data", "check", "deals", str(tmp_path / "x.csv")])
    assert done.value.code == 2
    assert "invalid choice: 'deals'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["data", "check", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert ", ".join(TABLES) in shown


def test_a_year_period_stays_text_in_forecast_calls_but_a_period_feature_of_leads_is_a_number():
    calls = load_table("forecast_calls", CALLS.astype(str).assign(period=["2026", "2027", "2026"]))
    assert calls["period"].tolist() == ["2026", "2027", "2026"]
    lead_rows = leads(4).astype(str).assign(period=["3", "6", "12", "3"])
    assert load_table("leads", lead_rows)["period"].tolist() == [3, 6, 12, 3]
