"""The forecast_call report on a source with calls (every section) and without (it says what to add)."""

from __future__ import annotations

import json

import nbformat
import pandas as pd
from test_calls_accuracy import call_world

from forecasting.data.io import write_duckdb
from forecasting.reports import run_report


def _text(result) -> str:
    nb = nbformat.read(result.notebook, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")


def test_report_with_calls_shows_rollup_track_record_and_combined(tmp_path):
    team, calls, opps, hist, truth = call_world(seed=1, noise=0.15)
    db = write_duckdb({"team": team, "forecast_calls": calls, "opportunities": opps, "stage_history": hist},
                      tmp_path / "crm.duckdb")
    result = run_report("forecast_call", {"source": str(db), "as_of": "2026-05-15", "method": "default",
                                          "target": "300000.0", "n_sims": "300"}, tmp_path / "run")
    assert result.ok, result.error
    text = _text(result)
    assert "vic's call: commit" in text and "combined 2026Q2 (week 7)" in text and "to reach $300k" in text
    tables = result.out_dir / "tables"
    rollup = pd.read_csv(tables / "rollup.csv").set_index("node")
    assert rollup.loc["vic", "commit"] == rollup.loc[["mia", "leo"], "commit"].sum()
    accuracy = pd.read_csv(tables / "accuracy.csv")
    assert "2026Q2" not in set(accuracy["period"])  # still running on 2026-05-15: no track record from it
    resolved = json.loads(result.run_json.read_text())
    assert resolved["status"] == "ok"


def test_report_without_calls_says_what_to_add(tmp_path):
    _, _, opps, hist, _ = call_world(seed=2)
    db = write_duckdb({"opportunities": opps, "stage_history": hist}, tmp_path / "crm.duckdb")
    result = run_report("forecast_call", {"source": str(db), "method": "default", "n_sims": "300"},
                        tmp_path / "run")
    assert result.ok, result.error
    text = _text(result)
    assert "add team (owner, manager) and forecast_calls" in text and "bear " in text
    assert "nan" not in text.lower()
