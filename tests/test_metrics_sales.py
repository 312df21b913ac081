"""Sales KPIs: the glossary's worked examples, as scalars and through kpi_table on hand-built frames."""

import math

import numpy as np
import pandas as pd
import pytest

from forecasting.data.errors import DataError
from forecasting.data.schema import Stages
from forecasting.metrics import (
    KPI_COLUMNS,
    acv,
    activity_report,
    attainment,
    average_deal_size,
    cac,
    churn_rate,
    close_ratio,
    clv,
    commission,
    conversion_rate,
    funnel_report,
    kpi_table,
    lead_response_times,
    mrr,
    pipeline_coverage,
    pipeline_velocity,
    profit_margin,
    revenue_growth,
    win_rate,
)

STAGES = Stages()
DAY = pd.Timedelta(days=1)


# --- small canonical frames --------------------------------------------------------------------


def deal(created, close, status="open", amount=1_000.0, owner="ann", **extra):
    """One opportunity as a dict; dates as strings or Timestamps."""
    return {"created_at": created, "close_date": close, "status": status, "amount": amount, "owner": owner, **extra}


def opportunities(deals):
    """Canonical opportunities frame: str ids, datetime64 dates, float amounts, Stages() names."""
    frame = pd.DataFrame(deals)
    n = len(frame)
    stage = frame["status"].map({"won": STAGES.won, "lost": STAGES.lost}).fillna(STAGES.open[0])
    if "stage" in frame.columns:
        stage = frame["stage"].fillna(stage)
    out = pd.DataFrame({
        "opportunity_id": [f"O-{i}" for i in range(n)],
        "account_id": frame["account_id"] if "account_id" in frame else [f"A-{i}" for i in range(n)],
        "owner": frame["owner"].astype(str),
        "amount": frame["amount"].astype(float),
        "created_at": pd.to_datetime(frame["created_at"]).astype("datetime64[ns]"),
        "stage": stage.astype(str),
        "close_date": pd.to_datetime(frame["close_date"]).astype("datetime64[ns]"),
        "status": frame["status"].astype(str),
    })
    for column in frame.columns.difference(out.columns.tolist() + ["stage"]):
        out[column] = frame[column].to_numpy()
    return out


def leads(created, converted):
    """Canonical leads: one per created_at, converted as 0/1 ints."""
    return pd.DataFrame({
        "lead_id": [f"L-{i}" for i in range(len(created))],
        "created_at": pd.to_datetime(pd.Series(created)).astype("datetime64[ns]"),
        "converted": np.asarray(converted, dtype=int),
    })


def row(table, period, group="all"):
    """The one row of ``table`` for a period and group, as a Series."""
    hit = table[(table["period"] == period) & (table["group"] == group)]
    assert len(hit) == 1, f"expected one row for {period}/{group}, found {len(hit)}"
    return hit.iloc[0]


ONE_DEAL = opportunities([deal("2025-01-10", "2025-02-10", "won")])


# --- scalar KPIs: the worked examples -----------------------------------------------------------


def test_win_rate_three_won_seven_lost_is_thirty_percent():
    assert win_rate(3, 7) == pytest.approx(0.30)


def test_close_ratio_five_of_fifty_is_ten_percent():
    assert close_ratio(5, 50) == pytest.approx(0.10)


def test_conversion_rate_fifteen_of_hundred_leads_is_fifteen_percent():
    assert conversion_rate(15, 100) == pytest.approx(0.15)


def test_acv_of_hundred_thousand_over_four_years_is_twenty_five_thousand():
    assert acv(100_000, 4) == pytest.approx(25_000)


def test_churn_rate_eight_of_hundred_customers_is_eight_percent():
    assert churn_rate(8, 100) == pytest.approx(0.08)


def test_commission_fifteen_percent_of_hundred_thousand_is_fifteen_thousand():
    assert commission(100_000, 0.15) == pytest.approx(15_000)


def test_profit_margin_of_500_on_2000_revenue_is_a_quarter():
    assert profit_margin(500, 2_000) == pytest.approx(0.25)


def test_profit_margin_of_a_loss_is_negative():
    assert profit_margin(-200, 1_000) == pytest.approx(-0.2)


@pytest.mark.parametrize(
    "func, args, expected",
    [
        (average_deal_size, (150_000, 3), 50_000),
        (pipeline_coverage, (900_000, 300_000), 3.0),
        (pipeline_velocity, (40, 25_000, 0.25, 50), 40 * 25_000 * 0.25 / 50),
        (cac, (50_000, 10), 5_000),
        (clv, (100, 0.8, 0.02), 100 * 0.8 / 0.02),
        (revenue_growth, (120_000, 100_000), 0.2),
        (revenue_growth, (80_000, 100_000), -0.2),
        (mrr, (200, 50), 10_000),
        (attainment, (270_000, 300_000), 0.9),
    ],
)
def test_other_glossary_kpis_follow_their_formula(func, args, expected):
    assert func(*args) == pytest.approx(expected)


def test_scalar_kpis_return_python_floats():
    assert type(win_rate(3, 7)) is float
    assert type(commission(100, 0.1)) is float


@pytest.mark.parametrize(
    "func, args",
    [
        (win_rate, (0, 0)),
        (close_ratio, (0, 0)),
        (conversion_rate, (0, 0)),
        (acv, (100_000, 0)),
        (churn_rate, (0, 0)),
        (profit_margin, (500, 0)),
        (average_deal_size, (0, 0)),
        (pipeline_coverage, (900_000, 0)),
        (pipeline_velocity, (40, 25_000, 0.25, 0)),
        (cac, (50_000, 0)),
        (clv, (100, 0.8, 0)),
        (revenue_growth, (100, 0)),
        (attainment, (100, 0)),
    ],
)
def test_division_by_zero_gives_nan_not_an_error(func, args):
    assert math.isnan(func(*args))


@pytest.mark.parametrize(
    "func, args, name",
    [
        (win_rate, (-1, 7), "won"),
        (close_ratio, (5, -50), "opportunities"),
        (conversion_rate, (-15, 100), "converted"),
        (acv, (100_000, -4), "years"),
        (churn_rate, (8, -100), "customers_at_start"),
        (commission, (-100_000, 0.15), "amount"),
        (profit_margin, (500, -2_000), "revenue"),
        (cac, (-1, 10), "spend"),
        (pipeline_velocity, (40, -25_000, 0.25, 50), "average_deal_size"),
        (revenue_growth, (100, -10), "previous"),
    ],
)
def test_negative_counts_and_amounts_raise_value_error_naming_the_argument(func, args, name):
    with pytest.raises(ValueError, match=f"{func.__name__}: {name} must be >= 0"):
        func(*args)


def test_commission_rate_given_as_percent_is_refused():
    with pytest.raises(ValueError, match="fraction between 0 and 1"):
        commission(100_000, 15)


def test_win_rate_above_one_in_velocity_is_refused():
    with pytest.raises(ValueError, match="win_rate must be a fraction"):
        pipeline_velocity(40, 25_000, 1.5, 50)


def test_close_ratio_with_more_wins_than_opportunities_is_refused():
    with pytest.raises(ValueError, match="won cannot exceed opportunities"):
        close_ratio(6, 5)


def test_scalar_kpis_work_elementwise_on_series_keeping_the_index():
    won = pd.Series([3, 0, 5], index=["q1", "q2", "q3"])
    lost = pd.Series([7, 0, 5], index=["q1", "q2", "q3"])
    out = win_rate(won, lost)
    assert isinstance(out, pd.Series)
    assert out.index.tolist() == ["q1", "q2", "q3"]
    assert out.name == "win_rate"
    assert out["q1"] == pytest.approx(0.3) and math.isnan(out["q2"]) and out["q3"] == pytest.approx(0.5)


def test_scalar_kpis_work_elementwise_on_arrays_and_broadcast_scalars():
    out = acv(np.array([100_000.0, 60_000.0, 10.0]), np.array([4.0, 3.0, 0.0]))
    np.testing.assert_allclose(out, [25_000, 20_000, np.nan])
    np.testing.assert_allclose(commission(np.array([100.0, 200.0]), 0.1), [10.0, 20.0])


# --- kpi_table: the worked examples on hand-built frames ----------------------------------------


def test_kpi_table_starts_with_period_group_then_contract_kpis():
    table = kpi_table(ONE_DEAL)
    assert table.columns[: 2 + len(KPI_COLUMNS)].tolist() == ["period", "group", *KPI_COLUMNS]


def _fifty_opportunities_five_won():
    created = pd.Timestamp("2025-01-05") + DAY * np.arange(50)
    status = ["won"] * 5 + ["lost"] * 10 + ["open"] * 35
    close = ["2025-04-15"] * 5 + ["2025-04-20"] * 10 + ["2025-06-30"] * 35
    return opportunities([deal(c, d, s) for c, d, s in zip(created, close, status)])


def test_kpi_table_close_ratio_five_of_fifty_created_in_quarter_is_ten_percent():
    table = kpi_table(_fifty_opportunities_five_won(), as_of="2025-06-30")
    q1 = row(table, "2025Q1")
    assert q1["opportunities_created"] == 50
    assert q1["close_ratio"] == pytest.approx(0.10)
    assert row(table, "2025Q2")["close_ratio"] != row(table, "2025Q2")["close_ratio"]  # nothing created: NaN


def test_kpi_table_win_rate_three_won_seven_lost_is_thirty_percent():
    deals = [deal("2025-01-10", "2025-05-01", "won", 5_000.0)] * 3 + [deal("2025-01-10", "2025-05-02", "lost")] * 7
    q2 = row(kpi_table(opportunities(deals)), "2025Q2")
    assert (q2["deals_won"], q2["deals_lost"]) == (3, 7)
    assert q2["win_rate"] == pytest.approx(0.30)
    assert q2["revenue_won"] == pytest.approx(15_000)
    assert q2["avg_deal_size"] == pytest.approx(5_000)


def test_kpi_table_conversion_rate_fifteen_of_hundred_leads_is_fifteen_percent():
    created = pd.Timestamp("2025-01-01") + DAY * np.arange(100) * 0.8
    table = kpi_table(ONE_DEAL, leads(created, [1] * 15 + [0] * 85))
    q1 = row(table, "2025Q1")
    assert (q1["leads_created"], q1["leads_converted"]) == (100, 15)
    assert q1["conversion_rate"] == pytest.approx(0.15)


def test_kpi_table_acv_of_hundred_thousand_over_forty_eight_months_is_twenty_five_thousand():
    opps = opportunities([deal("2025-01-10", "2025-02-10", "won", 100_000.0, contract_months=48)])
    assert row(kpi_table(opps), "2025Q1")["acv"] == pytest.approx(25_000)


def test_kpi_table_sales_cycle_is_mean_days_from_created_to_close_of_deals_won():
    close = pd.Timestamp("2025-05-20")
    deals = [deal(close - DAY * d, close, "won") for d in (10, 20, 60)]
    deals.append(deal(close - DAY * 100, close, "lost"))  # lost deals do not count
    assert row(kpi_table(opportunities(deals)), "2025Q2")["sales_cycle_days"] == pytest.approx(30.0)


def test_kpi_table_churn_eight_of_hundred_accounts_is_eight_percent_and_cac_is_spend_per_new_customer():
    since = ["2024-06-01"] * 100 + ["2025-02-01"] * 3
    churned = ["2025-02-15"] * 8 + [None] * 92 + ["2025-03-01", None, None]  # one new customer churns too
    accounts = pd.DataFrame({
        "account_id": [f"A-{i}" for i in range(103)],
        "customer_since": pd.to_datetime(since),
        "churned_at": pd.to_datetime(churned),
    })
    spend = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
                          "source": ["ads", "events", "ads"], "amount": [10_000.0] * 3})
    opps = opportunities([deal("2025-01-10", "2025-05-10", "won")])
    table = kpi_table(opps, accounts=accounts, spend=spend)
    q1, q2 = row(table, "2025Q1"), row(table, "2025Q2")
    assert (q1["active_customers"], q1["churned_customers"], q1["new_customers"]) == (100, 8, 3)
    assert q1["churn_rate"] == pytest.approx(0.08)
    assert q1["cac"] == pytest.approx(30_000 / 3)
    assert q2["active_customers"] == 100 - 8 + 3 - 1
    assert math.isnan(q2["cac"])  # no spend and no new customer: 0 / 0


def test_kpi_table_new_customers_without_accounts_are_first_won_deals_of_an_account():
    opps = opportunities([
        deal("2025-01-02", "2025-02-01", "won", account_id="A-1"),
        deal("2025-01-03", "2025-05-01", "won", account_id="A-1"),  # repeat business
        deal("2025-04-03", "2025-05-02", "won", account_id="A-2"),
    ])
    table = kpi_table(opps)
    assert row(table, "2025Q1")["new_customers"] == 1
    assert row(table, "2025Q2")["new_customers"] == 1


def _coverage_deals():
    return opportunities([
        deal("2025-02-01", "2025-05-15", "open", 400_000.0, "ann"),  # open at start, closes in Q2
        deal("2025-03-01", "2025-06-01", "won", 200_000.0, "bob"),   # open at start, won in Q2
        deal("2025-03-02", "2025-08-01", "open", 1_000_000.0, "bob"),  # expected in Q3
        deal("2025-04-10", "2025-05-30", "open", 500_000.0, "ann"),  # created after the start
        deal("2025-04-01", "2025-05-30", "open", 50_000.0, "bob"),  # created at the start: new pipeline
        deal("2025-01-05", "2025-03-15", "lost", 300_000.0, "ann"),  # closed before the start
    ])


def test_kpi_table_pipeline_coverage_is_open_pipeline_at_start_over_summed_quotas():
    quotas = pd.DataFrame({"period": ["2025Q2", "2025Q2"], "owner": ["ann", "bob"], "quota": [100_000.0, 200_000.0]})
    table = kpi_table(_coverage_deals(), quotas=quotas, by="owner")
    q2 = row(table, "2025Q2")
    assert q2["open_pipeline"] == pytest.approx(600_000)
    assert q2["quota"] == pytest.approx(300_000)
    assert q2["pipeline_coverage"] == pytest.approx(2.0)
    assert q2["attainment"] == pytest.approx(200_000 / 300_000)
    assert row(table, "2025Q2", "ann")["pipeline_coverage"] == pytest.approx(400_000 / 100_000)
    assert row(table, "2025Q2", "bob")["pipeline_coverage"] == pytest.approx(200_000 / 200_000)


def test_kpi_table_target_argument_sets_coverage_of_the_total_and_none_gives_nan():
    with_target = kpi_table(_coverage_deals(), target={"2025Q2": 1_200_000})
    assert row(with_target, "2025Q2")["pipeline_coverage"] == pytest.approx(0.5)
    assert math.isnan(row(with_target, "2025Q1")["pipeline_coverage"])
    assert kpi_table(_coverage_deals())["pipeline_coverage"].isna().all()


def test_kpi_table_quarterly_quota_is_split_evenly_over_months():
    quotas = pd.DataFrame({"period": ["2025Q2"], "owner": ["ann"], "quota": [300_000.0]})
    table = kpi_table(_coverage_deals(), quotas=quotas, freq="M")
    assert [row(table, m)["quota"] for m in ("2025-04", "2025-05", "2025-06")] == pytest.approx([100_000] * 3)
    assert row(table, "2025-06")["attainment"] == pytest.approx(2.0)  # 200k won against 100k


def test_kpi_table_pipeline_velocity_by_hand():
    start = pd.Timestamp("2025-04-01")
    deals = [
        deal(start - DAY * 40, start, "won", 10_000.0),
        deal(start - DAY * 80 + DAY * 10, start + DAY * 10, "won", 30_000.0),
        deal("2025-02-01", "2025-05-01", "lost"),
        deal("2025-02-02", "2025-05-02", "lost"),
        deal("2025-02-03", "2025-07-15", "open"),
        deal("2025-02-04", "2025-06-15", "open"),
        deal("2025-01-04", "2025-03-15", "lost"),  # closed before Q2: not open at its start
    ]
    q2 = row(kpi_table(opportunities(deals)), "2025Q2")
    assert q2["open_opportunities"] == 6
    assert q2["win_rate"] == pytest.approx(0.5)
    assert q2["avg_deal_size"] == pytest.approx(20_000)
    assert q2["sales_cycle_days"] == pytest.approx(60)
    assert q2["pipeline_velocity"] == pytest.approx(6 * 20_000 * 0.5 / 60)


def test_kpi_table_owner_groups_add_up_to_the_total():
    rng = np.random.default_rng(7)
    owners = ["ann", "bob", "cy"]
    deals = []
    for _ in range(200):
        created = pd.Timestamp("2024-01-01") + DAY * int(rng.integers(0, 500))
        status = str(rng.choice(["open", "won", "lost"]))
        deals.append(deal(created, created + DAY * int(rng.integers(1, 200)), status,
                          float(rng.gamma(2, 10_000)), str(rng.choice(owners))))
    table = kpi_table(opportunities(deals), by="owner")
    assert table["group"].unique().tolist() == ["all", *owners]
    total = table[table["group"] == "all"].set_index("period")
    groups = table[table["group"] != "all"].groupby("period")
    for column in ("deals_won", "deals_lost", "opportunities_created", "open_opportunities",
                   "revenue_won", "pipeline_created", "open_pipeline", "new_customers"):
        pd.testing.assert_series_equal(groups[column].sum(), total[column], check_names=False)


def test_kpi_table_side_tables_without_the_group_column_leave_group_rows_nan():
    created = pd.to_datetime(["2025-01-02", "2025-01-03"])
    table = kpi_table(ONE_DEAL, leads(created, [1, 0]), by="owner")
    assert row(table, "2025Q1")["conversion_rate"] == pytest.approx(0.5)
    assert math.isnan(row(table, "2025Q1", "ann")["conversion_rate"])


@pytest.mark.parametrize("freq, labels", [
    ("Q", ["2025Q2", "2025Q3"]),
    ("M", ["2025-06", "2025-07", "2025-08"]),
    ("Y", ["2025"]),
])
def test_kpi_table_period_labels_cover_only_the_data_range(freq, labels):
    opps = opportunities([deal("2025-06-20", "2025-08-05", "won"), deal("2025-07-01", "2026-03-01", "open")])
    assert kpi_table(opps, freq=freq)["period"].tolist() == labels


def test_kpi_table_periods_without_closed_deals_give_nan_rates_and_zero_counts():
    q1 = row(kpi_table(opportunities([deal("2025-01-10", "2025-05-01", "won")])), "2025Q1")
    assert (q1["deals_won"], q1["deals_lost"], q1["revenue_won"]) == (0, 0, 0.0)
    for column in ("win_rate", "avg_deal_size", "sales_cycle_days", "pipeline_velocity"):
        assert math.isnan(q1[column]), column


def test_kpi_table_as_of_forgets_later_closes_and_records():
    opps = opportunities([deal("2025-01-10", "2025-05-10", "won"), deal("2025-06-01", "2025-06-20", "lost")])
    table = kpi_table(opps, as_of="2025-04-30")
    assert table["period"].tolist() == ["2025Q1", "2025Q2"]
    q2 = row(table, "2025Q2")
    assert (q2["deals_won"], q2["deals_lost"], q2["opportunities_created"]) == (0, 0, 0)
    assert q2["open_opportunities"] == 1
    assert row(kpi_table(opps, as_of="2025-05-10"), "2025Q2")["deals_won"] == 1  # a bare date counts its day


def test_kpi_table_missing_column_raises_data_error_naming_table_and_column():
    with pytest.raises(DataError) as err:
        kpi_table(ONE_DEAL.drop(columns="status"))
    assert (err.value.table, err.value.column) == ("opportunities", "status")


def test_kpi_table_unknown_status_raises_data_error_naming_the_rows():
    opps = ONE_DEAL.assign(status="maybe")
    with pytest.raises(DataError, match=r"opportunities.status: .*\(rows: O-0\)"):
        kpi_table(opps)


def test_kpi_table_rejects_unknown_freq():
    with pytest.raises(ValueError, match="freq"):
        kpi_table(ONE_DEAL, freq="H")


# --- lead response, activity report, funnel -----------------------------------------------------


def _touches():
    lead_frame = pd.DataFrame({
        "lead_id": ["L-0", "L-1", "L-2", "L-3"],
        "created_at": pd.to_datetime(["2025-01-01 09:00", "2025-01-02 10:00", "2025-01-03 08:00",
                                      "2025-01-04 08:00"]),
        "converted": [0, 1, 0, 0],
    })
    activities = pd.DataFrame({
        "activity_id": ["X-0", "X-1", "X-2", "X-3", "X-4"],
        "owner": ["ann", "ann", "bob", "bob", "ann"],
        "type": ["call", "email", "call", "meeting", "email"],
        "occurred_at": pd.to_datetime(["2025-01-01 09:30", "2025-01-01 11:00", "2025-01-02 12:00",
                                       "2025-01-03 07:00", "2025-02-10 10:00"]),
        "lead_id": ["L-0", "L-0", "L-1", "L-2", None],
    })
    return lead_frame, activities


def test_lead_response_time_is_minutes_to_first_touch_and_nan_when_never_touched():
    lead_frame, activities = _touches()
    minutes = lead_response_times(lead_frame, activities)
    assert minutes.index.tolist() == ["L-0", "L-1", "L-2", "L-3"]
    assert minutes.tolist()[:2] == [30.0, 120.0]
    assert math.isnan(minutes["L-2"])  # its only activity came before the lead existed
    assert math.isnan(minutes["L-3"])


def test_kpi_table_lead_response_minutes_is_median_of_touched_leads_and_counts_activities():
    lead_frame, activities = _touches()
    table = kpi_table(ONE_DEAL, lead_frame, activities, freq="M")
    january = row(table, "2025-01")
    assert january["lead_response_minutes_median"] == pytest.approx(75.0)  # median of 30 and 120
    assert january["lead_response_minutes_mean"] == pytest.approx(75.0)
    assert january["activities"] == 4
    assert row(table, "2025-02")["activities"] == 1


def test_activity_report_counts_types_per_month_and_owner_with_zero_rows():
    _, activities = _touches()
    report = activity_report(activities)
    assert report.columns.tolist() == ["period", "owner", "call", "email", "meeting", "total"]
    ann_jan = report[(report["period"] == "2025-01") & (report["owner"] == "ann")].iloc[0]
    assert (ann_jan["call"], ann_jan["email"], ann_jan["total"]) == (1, 1, 2)
    bob_feb = report[(report["period"] == "2025-02") & (report["owner"] == "bob")].iloc[0]
    assert bob_feb["total"] == 0
    assert report["total"].sum() == len(activities)


def test_funnel_report_counts_deals_reaching_each_stage_with_stage_history():
    opps = opportunities([
        deal("2025-01-01", "2025-03-01", "won"),
        deal("2025-01-01", "2025-03-01", "lost"),
        deal("2025-01-01", "2025-06-01", "open", stage="Demo"),
        deal("2025-01-01", "2025-06-01", "open", stage="Prospecting"),
    ])
    history = pd.DataFrame({
        "opportunity_id": ["O-1", "O-1", "O-1"],
        "stage": ["Prospecting", "Proposal", STAGES.lost],  # lost at Proposal
        "entered_at": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
    })
    funnel = funnel_report(opps, history).set_index("stage")
    assert funnel.index.tolist() == [*STAGES.open, STAGES.won]
    assert funnel["reached"].tolist() == [4, 3, 3, 2, 1, 1]
    assert funnel.loc["Proposal", "conversion"] == pytest.approx(2 / 3)
    assert funnel.loc[STAGES.won, "cumulative"] == pytest.approx(0.25)
    without_history = funnel_report(opps).set_index("stage")
    assert without_history.loc["Proposal", "reached"] == 1  # the lost deal's stage is unknown


def test_lead_attribution_first_and_last_touch_by_hand():
    from forecasting.metrics import lead_attribution

    leads = pd.DataFrame({
        "lead_id": ["1", "2", "3", "4"],
        "source": ["web", "web", "event", "event"],
        "converted": [1, 0, 1, 0],
        "converted_at": pd.to_datetime(["2025-01-10", None, "2025-01-05", None]),
    })
    activities = pd.DataFrame({
        "activity_id": ["a", "b", "c", "d", "e"],
        "lead_id": ["1", "1", "1", "3", "4"],
        "type": ["email", "call", "demo", "call", "email"],
        # lead 1's demo comes after it converted: last touch is the call.
        "occurred_at": pd.to_datetime(["2025-01-02", "2025-01-08", "2025-01-20", "2025-01-04", "2025-01-03"]),
    })
    opps = pd.DataFrame({"opportunity_id": ["O1", "O2"], "lead_id": ["1", "3"], "status": ["won", "lost"],
                         "amount": [500.0, 900.0]})
    first = lead_attribution(leads, opportunities=opps).set_index("channel")
    assert first.loc["web", "revenue_won"] == 500.0 and first.loc["event", "revenue_won"] == 0.0
    assert first.loc["web", "conversion_rate"] == 0.5
    last = lead_attribution(leads, activities, touch="last").set_index("channel")
    assert last.loc["call", "converted"] == 2 and last.loc["call", "leads"] == 2
    assert last.loc["email", "leads"] == 1 and last.loc["(no touch)", "leads"] == 1
