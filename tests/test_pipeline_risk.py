"""Deal risk flags on the hand-written CRM, and the CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_pipeline_forecast import hand_crm

from forecasting.cli import main
from forecasting.pipeline.risk import RISK_FLAGS, deal_risk


def test_pushed_deal_with_a_changed_amount_is_flagged_first():
    # As of 03-15, Q2's pipeline: O1 (Proposal 1200, close pushed 03-31 -> 04-30, amount 1000 -> 1200),
    # O2 (Qualification 500) and O3 (created that day).
    opps, hist = hand_crm()
    risk = deal_risk(opps, hist, as_of="2025-03-15", period="2025Q2").set_index("opportunity_id")
    assert list(risk.index) == ["O1", "O2", "O3"]
    o1 = risk.loc["O1"]
    assert o1["flag_pushed"] and o1["flag_amount_changed"] and o1["pushed_days"] == 30
    assert o1["value_at_risk"] == pytest.approx(1200 * 0.6) and o1["flags"] == 2
    assert risk.loc["O2", "flags"] == 0 and risk.loc["O2", "value_at_risk"] == 0


def test_overdue_inactive_and_regressed_deals_are_flagged():
    opps, hist = hand_crm()
    back = pd.DataFrame({"opportunity_id": ["O3", "O3"], "stage": ["Proposal", "Qualification"],
                         "entered_at": pd.to_datetime(["2025-04-01", "2025-05-01"]), "amount": [2000.0, 2000.0],
                         "close_date": pd.to_datetime(["2025-06-30", "2025-06-30"])})
    activities = pd.DataFrame({"activity_id": ["a1", "a2"], "owner": "ava", "type": "call",
                               "occurred_at": pd.to_datetime(["2025-05-01", "2025-08-01"]),
                               "opportunity_id": ["O3", "O3"]})
    risk = deal_risk(opps, pd.concat([hist, back]), as_of="2025-07-05", period="2025Q3", activities=activities)
    o3 = risk.set_index("opportunity_id").loc["O3"]  # due 06-30, still open on 07-05
    assert o3["flag_overdue"] and o3["flag_regressed"] and o3["regressions"] == 1
    assert o3["flag_inactive"] and o3["days_since_activity"] == 66  # to the end of 07-05; the 08-01 call is not known yet
    assert list(risk.columns[:len(RISK_FLAGS) + 3]) == ["opportunity_id", *RISK_FLAGS, "expected_value",
                                                         "value_at_risk"]


def test_without_history_the_history_signals_are_unknown_not_zero():
    opps, _ = hand_crm()
    with pytest.warns(UserWarning):
        risk = deal_risk(opps, None, as_of="2025-03-15", period="2025Q2")
    assert risk["pushed_days"].isna().all() and not risk["flag_regressed"].any()


def test_cli_risk_writes_risk_csv_and_refuses_a_bad_date(tmp_path, capsys):
    opps, hist = hand_crm()
    (tmp_path / "o.csv").write_text(opps.to_csv(index=False))
    (tmp_path / "h.csv").write_text(hist.to_csv(index=False))
    inputs = ["--opportunities", str(tmp_path / "o.csv"), "--stage-history", str(tmp_path / "h.csv")]
    out = tmp_path / "out"
    assert main(["pipeline", "risk", *inputs, "--as-of", "2025-03-15", "--period", "2025Q2", "--out", str(out)]) == 0
    assert pd.read_csv(out / "risk.csv")["opportunity_id"].iloc[0] == "O1"
    assert json.loads((out / "run.json").read_text())["period"] == "2025Q2"
    bad = tmp_path / "bad"
    assert main(["pipeline", "risk", *inputs, "--as-of", "2024-01-01", "--out", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "as_of" in err and "before the first deal" in err and not bad.exists()
