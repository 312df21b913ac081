"""The glossary's worked examples through `forecasting kpis` (CSV in, kpis.csv out)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from forecasting.cli import main


@pytest.fixture()
def crm(tmp_path):
    """50 opportunities created in 2025Q1: 5 won (one a 4-year $100,000 contract), 5 lost;
    100 leads of which 15 converted; 100 customers at the start of Q2 of which 8 churn in Q2."""
    n = 50
    status = ["won"] * 5 + ["lost"] * 5 + ["open"] * 40
    opps = pd.DataFrame({
        "opportunity_id": [f"O{i}" for i in range(n)],
        "account_id": [f"A{i}" for i in range(n)],
        "owner": ["ava", "ben"] * 25,
        "amount": [100_000.0] + [10_000.0] * (n - 1),
        "created_at": ["2025-01-15"] * n,
        "stage": ["Closed Won"] * 5 + ["Closed Lost"] * 5 + ["Demo"] * 40,
        "close_date": ["2025-03-15"] * 10 + ["2025-09-30"] * 40,
        "status": status,
        "contract_months": [48] + [12] * (n - 1),
        # $500 profit on each $2,000 of revenue -> 25 % margin.
        "profit": [25_000.0] + [2_500.0] * (n - 1),
    })
    leads = pd.DataFrame({
        "lead_id": [f"L{i}" for i in range(100)],
        "created_at": ["2025-02-01"] * 100,
        "converted": [1] * 15 + [0] * 85,
    })
    accounts = pd.DataFrame({
        "account_id": [f"C{i}" for i in range(100)],
        "customer_since": ["2024-06-01"] * 100,
        "churned_at": ["2025-05-01"] * 8 + [None] * 92,
    })
    for name, frame in (("opps", opps), ("leads", leads), ("accounts", accounts)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    return tmp_path


def test_worked_examples_through_the_kpis_command(crm):
    out = crm / "out"
    code = main(["kpis", "--opportunities", str(crm / "opps.csv"), "--leads", str(crm / "leads.csv"),
                 "--accounts", str(crm / "accounts.csv"), "--commission-rate", "0.15",
                 "--as-of", "2025-06-30", "--out", str(out)])
    assert code == 0
    kpis = pd.read_csv(out / "kpis.csv").set_index(["period", "group"])
    q1, q2 = kpis.loc[("2025Q1", "all")], kpis.loc[("2025Q2", "all")]
    assert q1["close_ratio"] == pytest.approx(0.10)       # 5 won of 50 opportunities
    assert q1["conversion_rate"] == pytest.approx(0.15)   # 15 of 100 leads
    assert q1["win_rate"] == pytest.approx(0.50)          # 5 won, 5 lost
    assert q2["churn_rate"] == pytest.approx(0.08)        # 8 of 100 customers
    assert q1["profit_margin"] == pytest.approx(0.25)     # $500 on $2,000
    assert q1["commission"] == pytest.approx(0.15 * q1["revenue_won"])  # 15 % of won revenue
    assert q1["revenue_won"] == pytest.approx(140_000.0)
    # ACV: the mean per-year value of Q1's won deals: (100,000 / 4 + 4 x 10,000) / 5.
    assert q1["acv"] == pytest.approx((25_000 + 4 * 10_000) / 5)
    record = json.loads((out / "run.json").read_text())
    assert record["command"] == "kpis" and record["status"] == "ok"


def test_kpis_by_owner_adds_up_to_the_total(crm):
    out = crm / "by_owner"
    assert main(["kpis", "--opportunities", str(crm / "opps.csv"), "--by", "owner",
                 "--as-of", "2025-06-30", "--out", str(out)]) == 0
    kpis = pd.read_csv(out / "kpis.csv")
    q1 = kpis[kpis["period"] == "2025Q1"].set_index("group")
    assert set(q1.index) == {"all", "ava", "ben"}
    for column in ("deals_won", "deals_lost", "revenue_won", "pipeline_created"):
        assert q1.loc["ava", column] + q1.loc["ben", column] == pytest.approx(q1.loc["all", column])


def test_kpis_on_bad_input_exits_2_and_writes_nothing(crm, capsys):
    bad = pd.read_csv(crm / "opps.csv")
    bad.loc[3, "amount"] = -10
    bad.to_csv(crm / "bad.csv", index=False)
    out = crm / "bad_out"
    assert main(["kpis", "--opportunities", str(crm / "bad.csv"), "--out", str(out)]) == 2
    assert "opportunities.amount: is negative (rows: O3)" in capsys.readouterr().err
    assert not out.exists()
