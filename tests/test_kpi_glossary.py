"""Every KPI of the glossary (docs/kpis.md): its worked example through the function, the CLI
and the sales_kpis report.

Each case builds the smallest CRM whose period holds exactly the worked example's inputs,
runs ``forecasting kpis`` on it (CSV in, kpis.csv out) and checks that the number the
glossary promises is in the KPI's column, and that the function gives it too; then runs the
``sales_kpis`` report on the same tables (one DuckDB) and finds the number in its saved table.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from forecasting import metrics
from forecasting.cli import main
from forecasting.data.io import write_duckdb
from forecasting.reports import run_report


def deals(n, *, status="won", amount=10_000.0, created="2025-01-10", closed="2025-02-15", owner="ava",
          prefix="O", **extra):
    """``n`` opportunities alike (extra columns as given)."""
    stage = {"won": "Closed Won", "lost": "Closed Lost", "open": "Demo"}[status]
    return pd.DataFrame({"opportunity_id": [f"{prefix}{i}" for i in range(n)],
                         "account_id": [f"{prefix}A{i}" for i in range(n)], "owner": owner,
                         "amount": amount, "created_at": created, "stage": stage, "close_date": closed,
                         "status": status, **extra})


def customers(n, *, since="2024-06-01", churned=None, prefix="C"):
    return pd.DataFrame({"account_id": [f"{prefix}{i}" for i in range(n)], "customer_since": since,
                         "churned_at": churned})


def run_kpis(tmp_path, *flags, **tables) -> pd.DataFrame:
    """``forecasting kpis`` on ``tables`` written as CSV; kpis.csv indexed by (period, group)."""
    args = ["kpis"]
    for name, frame in tables.items():
        path = tmp_path / f"{name}.csv"
        frame.to_csv(path, index=False)
        args += [f"--{name.replace('_', '-')}", str(path)]
    out = tmp_path / "out"
    code = main(args + ["--tables", "kpis", *flags, "--out", str(out)])
    assert code == 0
    return pd.read_csv(out / "kpis.csv", dtype={"period": str, "group": str}).set_index(["period", "group"])


def concat(*frames):
    return pd.concat(frames, ignore_index=True)


# (glossary term, function call, result, CLI column, period, tables, flags)
def _cases():
    won3 = concat(deals(3, amount=50_000.0), deals(7, status="lost", prefix="L"))
    velocity = concat(deals(40, status="open", created="2025-02-01", closed="2025-09-30", prefix="P"),
                      deals(1, amount=25_000.0, created="2025-04-01", closed="2025-05-21"),
                      deals(3, status="lost", created="2025-04-02", closed="2025-04-20", prefix="L"))
    quota = pd.DataFrame({"period": ["2025Q2"], "owner": ["ava"], "quota": [300_000.0]})
    coverage = deals(3, status="open", amount=300_000.0, created="2025-03-01", closed="2025-06-20")
    gap = concat(deals(1, amount=100_000.0, created="2025-03-01", closed="2025-04-20"),
                 deals(2, status="open", amount=300_000.0, created="2025-03-01", closed="2025-06-20", prefix="P"))
    clv_accounts = concat(customers(98), customers(2, churned="2025-02-01", prefix="X"),
                          customers(2, since="2025-02-01", prefix="N"))
    clv_deals = deals(1, amount=10_000.0, cost=2_000.0)
    upsell = concat(deals(1, created="2025-01-05", closed="2025-02-01", product="X", prefix="W"),
                    deals(5, status="open", created="2025-04-10", closed="2025-09-30", product="X", prefix="U"),
                    deals(10, status="open", created="2025-04-10", closed="2025-09-30", product="Y", prefix="S"),
                    deals(25, status="open", created="2025-04-10", closed="2025-09-30", product="X", prefix="N"))
    upsell.loc[upsell["opportunity_id"].str.match(r"[US]\d"), "account_id"] = "WA0"
    survey = pd.DataFrame({"respondent_id": [f"R{i}" for i in range(100)], "answered_at": "2025-02-01",
                           "score": [10] * 50 + [8] * 30 + [3] * 20, "kind": "customer"})
    leads8 = pd.DataFrame({"lead_id": [f"L{i}" for i in range(8)], "created_at": "2025-01-06 09:00",
                           "converted": 0})
    touches = pd.DataFrame({"activity_id": [f"T{i}" for i in range(30)], "owner": "ava", "type": "call",
                            "occurred_at": "2025-01-07", "lead_id": [f"L{i % 8}" for i in range(30)]})
    timed = pd.DataFrame({"lead_id": ["a", "b", "c"], "created_at": "2025-01-06 09:00", "converted": 0})
    first = pd.DataFrame({"activity_id": ["1", "2", "3"], "owner": "ava", "type": "call", "lead_id": ["a", "b", "c"],
                          "occurred_at": ["2025-01-06 09:30", "2025-01-06 10:00", "2025-01-06 11:30"]})
    answered = pd.DataFrame({"activity_id": [f"E{i}" for i in range(60)], "owner": "ava", "type": "email",
                             "occurred_at": "2025-02-03", "responded": [1] * 12 + [0] * 48})
    calls = pd.DataFrame({"activity_id": [f"K{i}" for i in range(40)], "owner": "ann", "type": "call",
                          "occurred_at": "2025-01-07"})
    targets = pd.DataFrame({"owner": ["ann"], "type": ["call"], "freq": ["D"], "target": [10]})
    reps = concat(*[deals(1, amount=150_000.0, owner=o, prefix=o) for o in ("ava", "ben", "cy", "di")])
    contracts = deals(200, amount=600.0, contract_months=12)
    payback = deals(1, amount=2_400.0, contract_months=12, cost=1_200.0)
    spend = pd.DataFrame({"month": ["2025-02-01"], "amount": [1_200.0]})
    opp = deals(1)
    return [
        ("win_rate", metrics.win_rate(3, 7), 0.3, "win_rate", "2025Q1", dict(opportunities=won3), ()),
        ("close_ratio", metrics.close_ratio(5, 50), 0.1, "close_ratio", "2025Q1",
         dict(opportunities=concat(deals(5), deals(45, status="open", closed="2025-09-30", prefix="P"))), ()),
        ("conversion_rate", metrics.conversion_rate(15, 100), 0.15, "conversion_rate", "2025Q1",
         dict(opportunities=opp, leads=pd.DataFrame({"lead_id": range(100), "created_at": "2025-01-20",
                                                     "converted": [1] * 15 + [0] * 85})), ()),
        ("average_deal_size", metrics.average_deal_size(150_000, 3), 50_000.0, "avg_deal_size", "2025Q1",
         dict(opportunities=won3), ()),
        ("sales_cycle_days", 45.0, 45.0, "sales_cycle_days", "2025Q1",
         dict(opportunities=concat(deals(1, created="2025-01-01", closed="2025-01-31"),
                                   deals(1, created="2025-01-01", closed="2025-03-02", prefix="P"))), ()),
        ("acv", metrics.acv(100_000, 4), 25_000.0, "acv", "2025Q1",
         dict(opportunities=deals(1, amount=100_000.0, contract_months=48)), ()),
        ("commission", metrics.commission(100_000, 0.15), 15_000.0, "commission", "2025Q1",
         dict(opportunities=deals(1, amount=100_000.0)), ("--commission-rate", "0.15")),
        ("profit_margin", metrics.profit_margin(500, 2_000), 0.25, "profit_margin", "2025Q1",
         dict(opportunities=deals(1, amount=2_000.0, cost=1_500.0)), ()),
        ("sales_volume", 7.0, 7.0, "sales_volume", "2025Q1",
         dict(opportunities=concat(deals(1, quantity=3), deals(1, quantity=4, prefix="P"))), ()),
        ("pipeline_coverage", metrics.pipeline_coverage(900_000, 300_000), 3.0, "pipeline_coverage", "2025Q2",
         dict(opportunities=coverage, quotas=quota), ("--as-of", "2025-06-30")),
        ("gap_coverage", metrics.gap_coverage(600_000, 300_000, 100_000), 3.0, "gap_coverage", "2025Q2",
         dict(opportunities=gap, quotas=quota), ("--as-of", "2025-05-15")),
        ("pipeline_velocity", metrics.pipeline_velocity(40, 25_000, 0.25, 50), 5_000.0, "pipeline_velocity",
         "2025Q2", dict(opportunities=velocity), ("--as-of", "2025-06-30")),
        ("attainment", metrics.attainment(270_000, 300_000), 0.9, "attainment", "2025Q2",
         dict(opportunities=deals(1, amount=270_000.0, closed="2025-05-01"), quotas=quota), ()),
        ("revenue_growth", metrics.revenue_growth(120_000, 100_000), 0.2, "revenue_growth", "2025Q2",
         dict(opportunities=concat(deals(1, amount=100_000.0), deals(1, amount=120_000.0, closed="2025-05-01",
                                                                      prefix="P"))), ()),
        ("cac", metrics.cac(50_000, 10), 5_000.0, "cac", "2025Q1",
         dict(opportunities=opp, accounts=customers(10, since="2025-02-01"),
              spend=pd.DataFrame({"month": ["2025-01-01"], "amount": [50_000.0]})), ()),
        ("churn_rate", metrics.churn_rate(8, 100), 0.08, "churn_rate", "2025Q1",
         dict(opportunities=opp, accounts=concat(customers(92), customers(8, churned="2025-03-01", prefix="X"))),
         ("--as-of", "2025-03-31")),
        ("clv", metrics.clv(100, 0.8, 0.02), 4_000.0, "clv", "2025Q1",
         dict(opportunities=clv_deals, accounts=clv_accounts), ()),
        ("clv_cac_ratio", metrics.clv_cac_ratio(4_000, 1_000), 4.0, "clv_cac_ratio", "2025Q1",
         dict(opportunities=clv_deals, accounts=clv_accounts,
              spend=pd.DataFrame({"month": ["2025-01-01"], "amount": [2_000.0]})), ()),
        ("cac_payback_months", metrics.cac_payback_months(1_200, 200, 0.5), 12.0, "cac_payback_months", "2025Q1",
         dict(opportunities=payback, accounts=customers(1, since="2025-02-01"), spend=spend), ()),
        ("mrr", metrics.mrr(200, 50), 10_000.0, "mrr", "2025Q1", dict(opportunities=contracts), ()),
        ("arr", metrics.arr(10_000), 120_000.0, "arr", "2025Q1", dict(opportunities=contracts), ()),
        ("upsell_rate", metrics.upsell_rate(5, 40), 0.125, "upsell_rate", "2025Q2", dict(opportunities=upsell),
         ("--as-of", "2025-06-30")),
        ("cross_sell_rate", metrics.cross_sell_rate(10, 40), 0.25, "cross_sell_rate", "2025Q2",
         dict(opportunities=upsell), ("--as-of", "2025-06-30")),
        ("persistence", metrics.persistence(30, 8), 3.75, "persistence", "2025Q1",
         dict(opportunities=opp, leads=leads8, activities=touches), ()),
        ("lead_response_minutes_mean", 80.0, 80.0, "lead_response_minutes_mean", "2025Q1",
         dict(opportunities=opp, leads=timed, activities=first), ()),
        ("lead_response_minutes_median", 60.0, 60.0, "lead_response_minutes_median", "2025Q1",
         dict(opportunities=opp, leads=timed, activities=first), ()),
        ("activity_response_rate", metrics.activity_response_rate(12, 60), 0.2, "activity_response_rate",
         "2025Q1", dict(opportunities=opp, activities=answered), ()),
        ("sales_productivity", metrics.sales_productivity(600_000, 4), 150_000.0, "revenue_per_rep", "2025Q1",
         dict(opportunities=reps), ()),
        ("activity_completion_rate", metrics.activity_completion_rate(9, 12), 0.75, "activity_completion_rate",
         "2025Q1", dict(opportunities=opp, activities=answered.head(12).assign(
             type="demo", completed=pd.array([True] * 9 + [False] * 3, dtype="boolean"))), ()),
        ("activity_duration_minutes_mean", 15.0, 15.0, "activity_duration_minutes_mean", "2025Q1",
         dict(opportunities=opp, activities=answered.head(2).assign(duration_minutes=[10, 20])), ()),
        ("nps", metrics.nps(50, 20, 100), 30.0, "nps", "2025Q1", dict(opportunities=opp, survey=survey), ()),
        ("activity attainment", metrics.attainment(40, 50), 0.8, "attainment_call", "2025-01-06/2025-01-12",
         dict(opportunities=deals(1, created="2025-01-06", closed="2025-01-08"), activities=calls,
              targets=targets), ("--freq", "W", "--as-of", "2025-01-12")),
    ]


CASES = _cases()


@pytest.mark.parametrize("term, computed, expected, column, period, tables, flags", CASES,
                         ids=[c[0] for c in CASES])
def test_worked_example_through_function_and_cli(tmp_path, term, computed, expected, column, period, tables, flags):
    assert computed == pytest.approx(expected)
    kpis = run_kpis(tmp_path, *flags, **tables)
    assert kpis.loc[(period, "all"), column] == pytest.approx(expected), term


# The CLI flags of the cases as sales_kpis parameters.
REPORT_PARAMETERS = {"--as-of": "as_of", "--freq": "freq", "--commission-rate": "commission_rate"}
_REPORTS: dict = {}


def run_report_kpis(folder_factory, flags, tables) -> pd.DataFrame:
    """The sales_kpis report on ``tables`` (as one DuckDB): its saved kpis.csv indexed by (period, group).

    A run takes about ten seconds, so cases sharing their tables and flags share one run.
    """
    key = (tuple((name, id(frame)) for name, frame in tables.items()), flags)
    if key not in _REPORTS:
        folder = folder_factory.mktemp("report")
        db = write_duckdb(tables, folder / "crm.duckdb")
        options = {REPORT_PARAMETERS[flag]: value for flag, value in zip(flags[::2], flags[1::2])}
        result = run_report("sales_kpis", {"source": str(db), "by": "", **options}, folder / "out")
        assert result.ok, result.error
        _REPORTS[key] = pd.read_csv(folder / "out" / "tables" / "kpis.csv",
                                    dtype={"period": str, "group": str}).set_index(["period", "group"])
    return _REPORTS[key]


# Four reports run with the fast tests (the first period still running, a parameter, side tables, weeks);
# the other 24 (about four minutes) with the slow ones.
FAST_REPORTS = {"win_rate", "average_deal_size", "commission", "cac", "activity attainment"}
REPORT_CASES = [pytest.param(*case, id=case[0], marks=() if case[0] in FAST_REPORTS else pytest.mark.slow)
                for case in CASES]


@pytest.mark.parametrize("term, computed, expected, column, period, tables, flags", REPORT_CASES)
def test_worked_example_through_the_report(tmp_path_factory, term, computed, expected, column, period, tables,
                                           flags):
    kpis = run_report_kpis(tmp_path_factory, flags, tables)
    assert kpis.loc[(period, "all"), column] == pytest.approx(expected), term


def test_activity_targets_per_rep_and_week_by_owner(tmp_path):
    """10 calls a day is 50 a week; ann made 40 in the week of 6 January, ben (no target) 5."""
    calls = pd.DataFrame({"activity_id": [f"K{i}" for i in range(45)], "owner": ["ann"] * 40 + ["ben"] * 5,
                          "type": "call", "occurred_at": "2025-01-07"})
    targets = pd.DataFrame({"owner": ["ann"], "type": ["call"], "freq": ["D"], "target": [10]})
    kpis = run_kpis(tmp_path, "--freq", "W", "--by", "owner", "--as-of", "2025-01-12",
                    opportunities=deals(1, created="2025-01-06", closed="2025-01-08"), activities=calls,
                    targets=targets)
    week = "2025-01-06/2025-01-12"
    assert kpis.loc[(week, "ann"), ["activities_call", "target_call", "attainment_call"]].tolist() == [40, 50, 0.8]
    assert kpis.loc[(week, "ben"), "activities_call"] == 5
    assert kpis.loc[(week, "all"), "target_call"] == 50


def test_by_team_and_combinations_join_the_team_table(tmp_path):
    team = pd.DataFrame({"owner": ["ava", "ben", "cy"], "manager": ["m", "m", "n"],
                         "team": ["east", "east", "west"], "territory": ["NY", "NY", "CA"]})
    opps = concat(deals(2, amount=100.0, owner="ava"), deals(1, amount=50.0, owner="ben", prefix="B"),
                  deals(1, amount=70.0, owner="cy", prefix="C"))
    kpis = run_kpis(tmp_path, "--by", "team", opportunities=opps, team=team)
    assert kpis.loc[("2025Q1", "east"), "revenue_won"] == 250.0
    assert kpis.loc[("2025Q1", "west"), "revenue_won"] == 70.0
    both = run_kpis(tmp_path, "--by", "territory,owner", opportunities=opps, team=team)
    assert both.loc[("2025Q1", "NY / ava"), "deals_won"] == 2
    assert both.loc[("2025Q1", "CA / cy"), "revenue_won"] == 70.0


@pytest.mark.parametrize("freq, label", [("D", "2025-02-15"), ("W", "2025-02-10/2025-02-16"), ("M", "2025-02"),
                                         ("Q", "2025Q1"), ("Y", "2025")])
def test_every_period_length_counts_the_same_deal(tmp_path, freq, label):
    kpis = run_kpis(tmp_path, "--freq", freq, opportunities=deals(2, amount=10.0))
    assert kpis.loc[(label, "all"), "revenue_won"] == 20.0
    assert kpis["revenue_won"].sum() == 20.0  # in that period only


def test_pipeline_and_gap_coverage_are_two_columns_of_one_period(tmp_path):
    """As of mid-Q2: 600,000 open and due, 100,000 won, quota 300,000 -> gap coverage 3.0."""
    quota = pd.DataFrame({"period": ["2025Q2"], "owner": ["ava"], "quota": [300_000.0]})
    opps = concat(deals(1, amount=100_000.0, created="2025-03-01", closed="2025-04-20"),
                  deals(2, status="open", amount=300_000.0, created="2025-03-01", closed="2025-06-20", prefix="P"))
    kpis = run_kpis(tmp_path, "--as-of", "2025-05-15", opportunities=opps, quotas=quota)
    q2 = kpis.loc[("2025Q2", "all")]
    assert q2["pipeline_coverage"] == pytest.approx(700_000 / 300_000)  # all three were open on 1 April
    assert q2["gap_coverage"] == pytest.approx(3.0)
    assert pd.isna(kpis.loc[("2025Q1", "all"), "gap_coverage"])  # only the as-of period has a gap


def test_enps_comes_from_employee_answers(tmp_path):
    survey = pd.DataFrame({"respondent_id": list("abcd"), "answered_at": "2025-02-01", "score": [10, 9, 2, 10],
                           "kind": ["employee", "employee", "employee", "customer"]})
    kpis = run_kpis(tmp_path, opportunities=deals(1), survey=survey)
    assert kpis.loc[("2025Q1", "all"), "enps"] == pytest.approx(100 * (2 - 1) / 3)
    assert kpis.loc[("2025Q1", "all"), "nps"] == pytest.approx(100.0)


# --- funnel, activity and attribution outputs ----------------------------------------------------


def _outputs(tmp_path, tables, *flags):
    args = ["kpis"]
    for name, frame in tables.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        args += [f"--{name.replace('_', '-')}", str(tmp_path / f"{name}.csv")]
    return main(args + [*flags, "--out", str(tmp_path / "out")]), tmp_path / "out"


def test_funnel_csv_follows_leads_to_won_per_cohort_as_of(tmp_path):
    """Four January leads: two became opportunities (10 and 20 days later), one of them won 30 days
    after; a third converts after as_of and does not count."""
    leads = pd.DataFrame({"lead_id": ["a", "b", "c", "d"], "created_at": "2025-01-01", "converted": [1, 1, 1, 0]})
    opps = pd.DataFrame({"opportunity_id": ["1", "2", "3"], "lead_id": ["a", "b", "c"], "account_id": "x",
                         "owner": "ava", "amount": 10.0, "stage": ["Closed Won", "Demo", "Demo"],
                         "status": ["won", "open", "open"],
                         "created_at": ["2025-01-11", "2025-01-21", "2025-04-10"],
                         "close_date": ["2025-02-10", "2025-06-30", "2025-06-30"]})
    code, out = _outputs(tmp_path, dict(opportunities=opps, leads=leads), "--tables", "funnel", "--freq", "M",
                         "--as-of", "2025-03-31")
    assert code == 0
    funnel = pd.read_csv(out / "funnel.csv").query("period == '2025-01'").set_index("step")
    assert funnel.loc["lead", "reached"] == 4
    assert funnel.loc["opportunity", "reached"] == 2 and funnel.loc["opportunity", "conversion"] == 0.5
    assert funnel.loc["opportunity", "days_from_previous_mean"] == pytest.approx(15.0)
    assert funnel.loc["opportunity", "days_from_previous_median"] == pytest.approx(15.0)
    assert funnel.loc["Closed Won", "reached"] == 1
    assert funnel.loc["Closed Won", "days_from_previous_mean"] == pytest.approx(30.0)
    assert not (out / "kpis.csv").exists()


def test_activity_and_attribution_csv_respect_as_of(tmp_path):
    acts = pd.DataFrame({"activity_id": ["1", "2", "3"], "owner": "ann", "type": "call", "lead_id": ["a", "a", "b"],
                         "occurred_at": ["2025-01-07", "2025-01-08", "2025-03-01"]})
    leads = pd.DataFrame({"lead_id": ["a", "b"], "created_at": ["2025-01-06", "2025-02-20"], "source": "web",
                          "converted": [1, 1], "converted_at": ["2025-01-09", "2025-03-05"]})
    code, out = _outputs(tmp_path, dict(opportunities=deals(1, created="2025-01-06", closed="2025-01-08"),
                                        activities=acts, leads=leads), "--as-of", "2025-02-28")
    assert code == 0
    activity = pd.read_csv(out / "activity.csv")
    assert activity["total"].sum() == 2  # the March call is after as_of
    attribution = pd.read_csv(out / "attribution.csv").set_index("channel")
    assert attribution.loc["web", "leads"] == 2 and attribution.loc["web", "converted"] == 1  # b converts later


@pytest.mark.parametrize("tables, flags, message", [
    ({}, ("--tables", "activity"), "activities: is needed for activity.csv: pass --activities"),
    ({"targets": pd.DataFrame({"owner": ["ann"], "type": ["call"], "freq": ["X"], "target": [5]}),
      "activities": pd.DataFrame({"activity_id": ["1"], "owner": ["ann"], "type": ["call"],
                                  "occurred_at": ["2025-01-07"]})}, (),
     r"targets.freq: has values other than D, W or M .*\(rows: ann\)"),
    ({}, ("--by", "region"), "opportunities.region: is not a column of any table"),
    ({"survey": pd.DataFrame({"respondent_id": ["r1", "r2"], "answered_at": "2025-02-01", "score": [5, 11]})}, (),
     r"survey.score: is outside 0\.\.10 \(rows: r2\)"),
    ({"team": pd.DataFrame({"owner": ["ava", "ava"], "manager": ["m", "n"]})}, (), r"team.owner: .*(rows: ava)"),
    ({}, ("--tables", "kpis,charts"), "--tables: has 'charts'"),
])
def test_bad_inputs_exit_2_naming_table_and_column(tmp_path, capsys, tables, flags, message):
    code, out = _outputs(tmp_path, dict(opportunities=deals(1), **tables), *flags)
    assert code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (out / "kpis.csv").exists()


def test_source_database_uses_every_table_in_it(tmp_path):
    from forecasting.data.io import write_duckdb

    calls = pd.DataFrame({"activity_id": [f"K{i}" for i in range(40)], "owner": "ann", "type": "call",
                          "occurred_at": pd.Timestamp("2025-01-07")})
    targets = pd.DataFrame({"owner": ["ann"], "type": ["call"], "freq": ["W"], "target": [50]})
    opps = deals(1, created="2025-01-06", closed="2025-01-08").astype({"created_at": "datetime64[ns]",
                                                                       "close_date": "datetime64[ns]"})
    db = write_duckdb({"opportunities": opps, "activities": calls, "targets": targets}, tmp_path / "crm.duckdb")
    assert main(["kpis", "--source", str(db), "--freq", "W", "--by", "owner", "--as-of", "2025-01-12",
                 "--out", str(tmp_path / "out")]) == 0
    kpis = pd.read_csv(tmp_path / "out" / "kpis.csv").set_index(["period", "group"])
    assert kpis.loc[("2025-01-06/2025-01-12", "ann"), "attainment_call"] == pytest.approx(0.8)
    activity = pd.read_csv(tmp_path / "out" / "activity.csv").set_index(["period", "owner"])
    assert activity.loc[("2025-01-06/2025-01-12", "ann"), "attainment_call"] == pytest.approx(0.8)


def test_weekly_spread_of_a_monthly_quota_goes_by_days():
    quotas = pd.DataFrame({"period": ["2025-01"], "quota": [310.0]})
    weeks = metrics.spread_by_period(quotas, column="period", value="quota", freq="W", table="quotas")
    assert weeks["quota"].sum() == pytest.approx(310.0)
    assert weeks["quota"].iloc[0] == pytest.approx(50.0)  # 1-5 January: 5 of 31 days


def test_health_reports_both_coverages():
    from forecasting.pipeline.health import pipeline_health

    opps = concat(deals(1, amount=100_000.0, created="2025-03-01", closed="2025-04-20"),
                  deals(2, status="open", amount=300_000.0, created="2025-03-01", closed="2025-06-20", prefix="P"))
    opps = opps.assign(stage=opps["stage"].replace({"Demo": "Proposal"}))
    for column in ("created_at", "close_date"):
        opps[column] = pd.to_datetime(opps[column])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        health = pipeline_health(opps, as_of="2025-05-15", period="2025Q2", target=300_000.0)
    kpi = health.set_index("kpi")["value"]
    assert kpi["pipeline_coverage"] == pytest.approx(2.0)  # 600,000 open / 300,000
    assert kpi["gap_coverage"] == pytest.approx(3.0)       # 600,000 / (300,000 - 100,000 won)


def test_the_glossary_document_names_real_functions_and_tested_columns():
    """docs/kpis.md: every function it names exists, and every KPI column it names is one the
    worked-example tests above check through the CLI (or a table column the tests read)."""
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "kpis.md").read_text()
    rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith("| ") and "`" in line]
    functions = {name for row in rows for name in re.findall(r"`(\w+)`", row[2])}
    columns = {name for row in rows for name in re.findall(r"`(\w+)`", row[3])}
    assert functions and all(hasattr(metrics, name) for name in functions), functions - set(dir(metrics))
    tested = {case[3] for case in CASES} | {"revenue_per_activity", "activities", "activities_<type>", "enps",
                                            "target_<type>", "attainment_<type>"}
    assert columns - tested == set()
    # Every worked example (a bold result) is a case, so it runs through function, CLI and report.
    cases = {case[3] for case in CASES} | {re.sub(r"_call$", "_<type>", case[3]) for case in CASES}
    worked = {row[0].strip(): set(re.findall(r"`([\w<>]+)`", row[3])) for row in rows if "**" in row[5]}
    assert len(worked) >= 30 and {term for term, named in worked.items() if not named & cases} == set()


def test_the_running_week_is_measured_against_its_working_days_so_far(tmp_path):
    """As of Tuesday, 10 calls a day is a target of 20: ann's 15 calls are 75 %."""
    calls = pd.DataFrame({"activity_id": [f"K{i}" for i in range(15)], "owner": "ann", "type": "call",
                          "occurred_at": "2025-01-07"})
    targets = pd.DataFrame({"owner": ["ann"], "type": ["call"], "freq": ["D"], "target": [10]})
    kpis = run_kpis(tmp_path, "--freq", "W", "--by", "owner", "--as-of", "2025-01-07",
                    opportunities=deals(1, created="2025-01-06", closed="2025-01-07"), activities=calls,
                    targets=targets)
    assert kpis.loc[("2025-01-06/2025-01-12", "ann"), ["target_call", "attainment_call"]].tolist() == [20, 0.75]


def test_pipeline_health_funnel_is_the_metrics_funnel_of_the_closed_deals():
    """Closed by 1 April: one won, one lost at Demo, one lost at Prospecting; the open deal does not count."""
    import warnings

    from forecasting.pipeline import PipelineData
    from forecasting.pipeline.health import funnel

    opps = pd.DataFrame({"opportunity_id": ["W", "D", "P", "O"], "account_id": "a", "owner": "ava", "amount": 10.0,
                         "created_at": pd.to_datetime(["2025-01-02"] * 4),
                         "stage": ["Closed Won", "Closed Lost", "Closed Lost", "Proposal"],
                         "close_date": pd.to_datetime(["2025-03-01", "2025-03-01", "2025-02-01", "2025-06-30"]),
                         "status": ["won", "lost", "lost", "open"]})
    history = pd.DataFrame({
        "opportunity_id": ["W", "W", "W", "D", "D", "D", "P", "P", "O", "O"],
        "stage": ["Prospecting", "Demo", "Closed Won", "Prospecting", "Demo", "Closed Lost", "Prospecting",
                  "Closed Lost", "Prospecting", "Proposal"],
        "entered_at": pd.to_datetime(["2025-01-02", "2025-01-20", "2025-03-01", "2025-01-02", "2025-01-25",
                                      "2025-03-01", "2025-01-02", "2025-02-01", "2025-01-02", "2025-02-10"])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = funnel(PipelineData.build(opps, history), "2025-03-31")
    assert table["reached"].tolist() == [3, 2, 2, 1, 1]  # a skipped stage still counts as passed
    assert table["conversion_to_next"].tolist() == pytest.approx([2 / 3, 1.0, 0.5, 1.0, 1.0])
    closed = metrics.funnel_report(opps.iloc[:3], history[history["opportunity_id"] != "O"])
    assert closed["reached"].tolist()[:-1] == table["reached"].tolist()


def test_kpis_without_opportunities_says_which_flag_to_pass(tmp_path, capsys):
    assert main(["kpis", "--out", str(tmp_path / "out")]) == 2
    assert "opportunities: is needed: pass --opportunities SRC or a --source database" in capsys.readouterr().err


def test_nullable_boolean_flags_count_as_known_or_unknown():
    """Response flags as pandas' nullable booleans (what DuckDB gives): NA is unknown, not a no."""
    acts = pd.DataFrame({"activity_id": ["1", "2", "3"], "owner": "ann", "type": "email",
                         "occurred_at": pd.to_datetime(["2025-01-07"] * 3),
                         "responded": pd.array([True, False, pd.NA], dtype="boolean")})
    report = metrics.activity_report(acts, freq="M")
    assert report["response_rate"].tolist() == [0.5]
