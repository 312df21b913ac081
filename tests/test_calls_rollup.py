"""Team hierarchy and call roll-ups: worked examples, validation that names rows, and the CLI."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting.calls import hierarchy, rollup
from forecasting.cli import main
from forecasting.data.errors import DataError


def small_team() -> pd.DataFrame:
    """vic (VP) <- mia, leo (managers) <- ava, bo (mia's reps), cy (leo's rep)."""
    return pd.DataFrame({"owner": ["vic", "mia", "leo", "ava", "bo", "cy"],
                         "manager": [None, "vic", "vic", "mia", "mia", "leo"],
                         "team": ["all", "east", "west", "east", "east", "west"]})


def small_calls() -> pd.DataFrame:
    rows = [
        ("ava", "2026Q3", "2026-07-06", 100.0, 150.0, ""),
        ("bo", "2026Q3", "2026-07-06", 50.0, 90.0, ""),
        ("cy", "2026Q3", "2026-07-06", 70.0, 70.0, ""),
        ("ava", "2026Q3", "2026-07-13", 120.0, 160.0, "signed PO"),
        ("mia", "2026Q3", "2026-07-14", 150.0, 230.0, "haircut bo: deal slips"),
        ("leo", "2026Q3", "2026-07-20", 90.0, 100.0, "cy's renewal upsized"),
        ("ava", "2026Q2", "2026-04-06", 999.0, 999.0, "other period"),
    ]
    calls = pd.DataFrame(rows, columns=["owner", "period", "submitted_at", "commit", "best_case", "note"])
    calls["submitted_at"] = pd.to_datetime(calls["submitted_at"])
    return calls


def _by_node(frame: pd.DataFrame) -> dict:
    return frame.set_index("node")[["commit", "best_case", "override"]].to_dict("index")


def test_rollup_sums_reports_until_a_manager_overrides():
    frame = rollup(small_team(), small_calls(), as_of="2026-07-10", period="2026Q3")
    got = _by_node(frame)
    assert got["mia"] == {"commit": 150.0, "best_case": 240.0, "override": False}  # 100 + 50
    assert got["vic"]["commit"] == 220.0 and got["vic"]["best_case"] == 310.0  # mia 150 + leo (cy 70)
    assert list(frame["node"]) == ["vic", "leo", "cy", "mia", "ava", "bo"]  # depth first
    assert list(frame.columns[:8]) == ["node", "level", "as_of", "period", "commit", "best_case", "override", "note"]


def test_rollup_on_the_21st_uses_the_latest_call_of_each_node_and_reports_the_overrides():
    frame = rollup(small_team(), small_calls(), as_of="2026-07-21", period="2026Q3").set_index("node")
    assert frame.loc["ava", "commit"] == 120.0 and frame.loc["ava", "note"] == "signed PO"
    # mia overrides 120 + 50 = 170 down to 150; leo overrides cy's 70 up to 90; vic = 150 + 90.
    assert frame.loc["mia", "rolled_commit"] == 170.0 and frame.loc["mia", "override_commit"] == -20.0
    assert frame.loc["mia", "override"] and frame.loc["mia", "note"] == "haircut bo: deal slips"
    assert frame.loc["leo", "override_commit"] == 20.0
    assert frame.loc["vic", "commit"] == 240.0 and not frame.loc["vic", "override"]
    assert frame.loc["vic", "level"] == 0 and frame.loc["ava", "level"] == 2


def test_a_call_submitted_later_in_the_day_counts_as_of_that_day():
    calls = small_calls()
    calls.loc[3, "submitted_at"] = pd.Timestamp("2026-07-13 17:30")
    frame = rollup(small_team(), calls, as_of="2026-07-13", period="2026Q3").set_index("node")
    assert frame.loc["ava", "commit"] == 120.0


def test_reps_without_a_call_count_zero_and_are_counted_missing():
    calls = small_calls()
    calls = calls[calls["owner"] != "bo"]
    frame = rollup(small_team(), calls, as_of="2026-07-10", period="2026Q3").set_index("node")
    assert pd.isna(frame.loc["bo", "commit"]) and frame.loc["bo", "missing_calls"] == 1
    assert frame.loc["mia", "commit"] == 100.0 and frame.loc["vic", "missing_calls"] == 1


def test_manager_cycle_names_the_owners_on_it():
    team = pd.DataFrame({"owner": ["a", "b", "c", "d"], "manager": ["b", "c", "a", None]})
    with pytest.raises(DataError, match=r"team\.manager: has a cycle: a -> b -> c -> a"):
        hierarchy(team)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c.assign(owner=c["owner"].replace("cy", "zed")), "forecast_calls.owner: has owners not in the team"),
    (lambda c: pd.concat([c, c.iloc[[0]]]), "same owner for the same period at the same time"),
    (lambda c: c.assign(submitted_at=c["submitted_at"].where(c.index != 6, pd.Timestamp("2026-07-01"))),
     "forecast_calls.period: was already over when the call was submitted (rows: ava 2026-07-01"),
    (lambda c: c.assign(period=c["period"].replace("2026Q2", "next")), "is not a period"),
])
def test_bad_calls_are_refused_naming_column_and_rows(edit, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(".", r"\.")):
        rollup(small_team(), edit(small_calls()), as_of="2026-07-21", period="2026Q3")


# --- CLI ------------------------------------------------------------------------------------


def _db(tmp_path, team=None, calls=None) -> str:
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        for name, frame in (("team", small_team() if team is None else team),
                            ("forecast_calls", small_calls() if calls is None else calls)):
            con.register("frame", frame)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
    return str(path)


def test_cli_rollup_writes_rollup_csv_and_run_json(tmp_path):
    out = tmp_path / "out"
    assert main(["calls", "rollup", "--source", _db(tmp_path), "--as-of", "2026-07-21", "--period", "2026Q3",
                 "--out", str(out)]) == 0
    frame = pd.read_csv(out / "rollup.csv").set_index("node")
    assert frame.loc["vic", "commit"] == 240.0 and frame.loc["mia", "override_commit"] == -20.0
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "ok" and run["period"] == "2026Q3"


def test_cli_rollup_default_period_is_the_quarter_open_after_the_date(tmp_path):
    out = tmp_path / "out"
    assert main(["calls", "rollup", "--source", _db(tmp_path), "--as-of", "2026-07-21", "--out", str(out)]) == 0
    assert set(pd.read_csv(out / "rollup.csv")["period"]) == {"2026Q3"}


@pytest.mark.parametrize("team, calls, expected", [
    (pd.DataFrame({"owner": ["a", "b"], "manager": ["b", "a"]}), None, ["team.manager", "cycle", "a -> b"]),
    (None, small_calls().assign(owner=lambda c: c["owner"].replace("bo", "zed")),
     ["forecast_calls.owner", "not in the team", "zed"]),
])
def test_cli_rollup_bad_input_exits_2_naming_table_column_rows(tmp_path, capsys, team, calls, expected):
    out = tmp_path / "out"
    assert main(["calls", "rollup", "--source", _db(tmp_path, team, calls), "--as-of", "2026-07-21",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(piece in err for piece in expected), err
    assert not out.exists()


def test_cli_rollup_without_a_source_says_which_flag(tmp_path, capsys):
    assert main(["calls", "rollup", "--as-of", "2026-07-21", "--out", str(tmp_path / "out")]) == 2
    assert "--team SRC or --source SRC" in capsys.readouterr().err


# --- property: every node is its override or the sum of its reports ---------------------------

@settings(max_examples=40, deadline=None)
@given(parents=st.lists(st.integers(0, 10**6), min_size=1, max_size=12), data=st.data())
def test_each_node_is_its_own_call_or_the_sum_of_its_reports(parents, data):
    names = [f"p{i}" for i in range(len(parents) + 1)]
    team = pd.DataFrame({"owner": names, "manager": [None] + [names[p % (i + 1)] for i, p in enumerate(parents)]})
    h = hierarchy(team)
    callers = data.draw(st.lists(st.sampled_from(names), unique=True))
    amounts = data.draw(st.lists(st.integers(0, 10**6), min_size=len(callers), max_size=len(callers)))
    calls = pd.DataFrame({"owner": callers, "period": "2026Q3", "submitted_at": pd.Timestamp("2026-07-06"),
                          "commit": [a / 100 for a in amounts], "best_case": [a / 50 for a in amounts]})
    frame = rollup(h, calls, as_of="2026-07-10", period="2026Q3").set_index("node")
    own = dict(zip(callers, calls["commit"]))
    for node in names:
        reports = h.reports(node)
        if node in own:
            assert frame.loc[node, "commit"] == own[node]
            assert frame.loc[node, "override"] == bool(reports)
        elif reports and frame.loc[reports, "commit"].notna().any():
            assert frame.loc[node, "commit"] == pytest.approx(frame.loc[reports, "commit"].fillna(0).sum())
        else:
            assert pd.isna(frame.loc[node, "commit"])
    assert list(frame.index) == list(h.nodes) and frame.loc[h.nodes[0], "level"] == 0
