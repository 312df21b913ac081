"""Pipeline forecasting: as-of snapshots, stage win rates, weighted and Monte Carlo forecasts."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting.data import DataError, DataWarning
from forecasting.data.demo import make_demo
from forecasting.pipeline import (
    METHODS,
    PipelineData,
    categorize,
    forecast_period,
    snapshot,
    stage_win_rates,
)

T = pd.Timestamp


def hand_crm() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Five deals whose history is written out by hand.

    O1 Prospecting -> Proposal (amount 1000 -> 1200), close date pushed 03-31 -> 04-30, won 04-20 at 1500.
    O2 Qualification from 02-01, lost 05-01.      O3 created 03-15, still open.
    O4 Negotiation, won 02-28 at 800.             O5 created 04-10 (after the as-of dates), won 05-15.
    """
    opps = pd.DataFrame({
        "opportunity_id": ["O1", "O2", "O3", "O4", "O5"],
        "account_id": ["A1", "A2", "A3", "A4", "A5"],
        "owner": ["ava", "ben", "ava", "ben", "ava"],
        "segment": ["SMB", "SMB", "Enterprise", "SMB", "Enterprise"],
        "amount": [1500.0, 500.0, 2000.0, 800.0, 3000.0],
        "created_at": pd.to_datetime(["2025-01-05", "2025-02-01", "2025-03-15", "2025-01-10", "2025-04-10"]),
        "stage": ["Closed Won", "Closed Lost", "Prospecting", "Closed Won", "Closed Won"],
        "close_date": pd.to_datetime(["2025-04-20", "2025-05-01", "2025-06-30", "2025-02-28", "2025-05-15"]),
        "status": ["won", "lost", "open", "won", "won"],
    })
    rows = [
        ("O1", "Prospecting", "2025-01-05", 1000.0, "2025-03-31"),
        ("O1", "Proposal", "2025-02-01 10:00", 1200.0, "2025-03-31"),
        ("O1", "Proposal", "2025-03-10", 1200.0, "2025-04-30"),
        ("O1", "Closed Won", "2025-04-20", 1500.0, "2025-04-20"),
        ("O2", "Qualification", "2025-02-01", 500.0, "2025-05-31"),
        ("O2", "Closed Lost", "2025-05-01", 500.0, "2025-05-01"),
        ("O3", "Prospecting", "2025-03-15 16:00", 2000.0, "2025-06-30"),
        ("O4", "Prospecting", "2025-01-10", 800.0, "2025-02-28"),
        ("O4", "Negotiation", "2025-02-20", 800.0, "2025-02-28"),
        ("O4", "Closed Won", "2025-02-28", 800.0, "2025-02-28"),
        ("O5", "Prospecting", "2025-04-10", 3000.0, "2025-05-31"),
        ("O5", "Closed Won", "2025-05-15", 3000.0, "2025-05-15"),
    ]
    history = pd.DataFrame(rows, columns=["opportunity_id", "stage", "entered_at", "amount", "close_date"])
    history["entered_at"] = pd.to_datetime(history["entered_at"], format="ISO8601")
    history["close_date"] = pd.to_datetime(history["close_date"])
    return opps, history


@pytest.fixture(scope="module")
def demo():
    tables = make_demo(seed=3, n_leads=3000)
    return tables["opportunities"], tables["stage_history"]


# --- snapshots --------------------------------------------------------------------------


def test_snapshot_reproduces_stage_amount_close_date_and_pushes_of_that_day():
    opps, history = hand_crm()
    snap = snapshot(opps, history, "2025-03-15").set_index("opportunity_id")
    assert list(snap.index) == ["O1", "O2", "O3"]  # O4 closed 02-28, O5 not created yet
    o1 = snap.loc["O1"]
    assert (o1["stage"], o1["amount"], o1["close_date"], o1["pushes"]) == ("Proposal", 1200.0, T("2025-04-30"), 1)
    # In Proposal since 02-01 10:00; the snapshot is taken at the end of 03-15.
    assert o1["days_in_stage"] == pytest.approx((T("2025-03-16") - T("2025-02-01 10:00")) / pd.Timedelta(days=1))
    assert o1["age_days"] == pytest.approx(70.0)
    assert snap.loc["O3", "stage"] == "Prospecting"  # created late on the as-of day: included


def test_snapshot_before_a_change_shows_the_old_values():
    opps, history = hand_crm()
    snap = snapshot(opps, history, "2025-01-20").set_index("opportunity_id")
    assert list(snap.index) == ["O1", "O4"]
    assert (snap.loc["O1", "stage"], snap.loc["O1", "amount"], snap.loc["O1", "pushes"]) == ("Prospecting", 1000.0, 0)
    assert snap.loc["O1", "close_date"] == T("2025-03-31")


def test_snapshot_without_history_warns_and_uses_current_table():
    opps, _ = hand_crm()
    with pytest.warns(DataWarning, match="approximate"):
        snap = snapshot(opps, None, "2025-03-15").set_index("opportunity_id")
    # O1 and O2 closed later: open then, stage unknown (first stage), close date unknown.
    assert list(snap.index) == ["O1", "O2", "O3"]
    assert snap.loc["O1", "stage"] == "Prospecting" and pd.isna(snap.loc["O1", "close_date"])
    assert snap.loc["O3", "close_date"] == T("2025-06-30")


def test_snapshot_names_unknown_stages():
    opps, history = hand_crm()
    history.loc[4, "stage"] = "Discovery"
    with pytest.raises(DataError, match="Discovery"):
        snapshot(opps, history, "2025-03-01")


# --- stage win rates --------------------------------------------------------------------


def test_stage_win_rates_count_reached_deals_and_shrink_toward_defaults():
    opps, history = hand_crm()
    rates = stage_win_rates(opps, history, as_of="2025-06-30", strength=10).set_index("stage")
    # Closed by then: O1, O4, O5 won (passed every stage), O2 lost in Qualification.
    assert rates.loc["Prospecting", ["reached", "won"]].tolist() == [4, 3]
    assert rates.loc["Qualification", ["reached", "won"]].tolist() == [4, 3]
    assert rates.loc["Demo", ["reached", "won"]].tolist() == [3, 3]
    assert rates.loc["Prospecting", "probability"] == pytest.approx((3 + 10 * 0.1) / (4 + 10))
    assert rates.loc["Demo", "probability"] == pytest.approx((3 + 10 * 0.4) / (3 + 10))
    raw = stage_win_rates(opps, history, as_of="2025-06-30", strength=0).set_index("stage")
    assert raw.loc["Qualification", "probability"] == pytest.approx(0.75)


def test_stage_win_rates_ignore_deals_closed_after_the_date():
    opps, history = hand_crm()
    rates = stage_win_rates(opps, history, as_of="2025-03-31", strength=0).set_index("stage")
    assert rates.loc["Prospecting", ["reached", "won"]].tolist() == [1, 1]  # only O4


def test_segment_rates_shrink_toward_the_all_deals_rate():
    opps, history = hand_crm()
    rates = stage_win_rates(opps, history, as_of="2025-06-30", strength=10, by="segment")
    overall = rates[rates["segment"] == "all"].set_index("stage")["probability"]
    ent = rates[rates["segment"] == "Enterprise"].set_index("stage")
    # Enterprise: only O5 closed (won).
    assert ent.loc["Demo", "probability"] == pytest.approx((1 + 10 * overall["Demo"]) / 11)


# --- weighted forecast ------------------------------------------------------------------


def test_default_weighted_pipeline_is_amount_times_stage_probability():
    opps, history = hand_crm()
    fc, deals = forecast_period(opps, history, as_of="2025-03-31", period="2025Q2", method="default",
                                n_sims=2000)
    row = fc.iloc[0]
    # O1 Proposal 1200 x 0.6 + O2 Qualification 500 x 0.2 + O3 Prospecting 2000 x 0.1.
    assert row["weighted"] == pytest.approx(1200 * 0.6 + 500 * 0.2 + 2000 * 0.1)
    assert row["open_pipeline"] == pytest.approx(3700.0)
    assert row["closed_won"] == 0.0
    d = deals.set_index("opportunity_id")
    assert d.loc["O1", "expected_value"] == pytest.approx(720.0)
    assert d["category"].tolist() == ["Best case", "Pipeline", "Pipeline"]  # 0.6, 0.2, 0.1


def test_deals_expected_after_the_period_are_omitted_by_default_weights():
    opps, history = hand_crm()
    fc, deals = forecast_period(opps, history, as_of="2025-03-15", period="2025Q1", method="default",
                                n_sims=500)
    # As of 03-15, O1's close date is 04-30 (after Q1): omitted; O2 (05-31) too; O3 (06-30) too.
    assert fc.iloc[0]["weighted"] == 0.0
    assert set(deals["category"]) == {"Omitted"}
    assert fc.iloc[0]["closed_won"] == 800.0  # O4 won 02-28


def test_closed_won_so_far_counts_wins_in_the_period_up_to_the_date():
    opps, history = hand_crm()
    fc, deals = forecast_period(opps, history, as_of="2025-04-25", period="2025Q2", method="default",
                                n_sims=500)
    assert fc.iloc[0]["closed_won"] == 1500.0
    assert "O1" not in set(deals["opportunity_id"])


def test_breakdown_groups_add_up_to_all(demo):
    opps, history = demo
    fc, _ = forecast_period(opps, history, as_of="2025-06-30", period="2025Q3", method="historical",
                            by="owner", n_sims=500, ranges="independent")
    total, groups = fc[fc["group"] == "all"].iloc[0], fc[fc["group"] != "all"]
    assert len(groups) >= 3
    for column in ("closed_won", "open_pipeline", "weighted", "new_deals"):
        assert groups[column].sum() == pytest.approx(total[column])


def test_categories_follow_probability_bands():
    cats = categorize([0.95, 0.7, 0.69, 0.4, 0.39, 0.5], [True, True, True, True, True, False])
    assert cats.tolist() == ["Commit", "Commit", "Best case", "Best case", "Pipeline", "Omitted"]


# --- Monte Carlo ------------------------------------------------------------------------


def test_monte_carlo_mean_matches_the_expected_value_and_quantiles_are_ordered():
    opps, history = hand_crm()
    fc, _ = forecast_period(opps, history, as_of="2025-03-31", period="2025Q2", method="default",
                            n_sims=20_000, seed=1)
    row = fc.iloc[0]
    # No past periods or won amounts to learn from: outcomes are the three Bernoulli deals.
    assert row["new_deals"] == 0.0
    assert row["p10"] <= row["p50"] <= row["p90"]
    # P(total = 0) = 0.4 * 0.8 * 0.9 = 0.288 > 0.1, so P10 is 0; P90 includes O1 and O3 or more.
    assert row["p10"] == 0.0 and row["p90"] >= 1200.0


def test_monte_carlo_is_deterministic_per_seed(demo):
    opps, history = demo
    data = PipelineData.build(opps, history)
    kwargs = dict(as_of="2025-03-31", period="2025Q2", method="historical", n_sims=2000, range_periods=1, data=data)
    a, b = forecast_period(None, **kwargs, seed=7)[0], forecast_period(None, **kwargs, seed=7)[0]
    c = forecast_period(None, **kwargs, seed=8)[0]
    pd.testing.assert_frame_equal(a, b)
    assert (a[["p10", "p50", "p90"]].to_numpy() != c[["p10", "p50", "p90"]].to_numpy()).any()
    assert (a["p10"] <= a["p50"]).all() and (a["p50"] <= a["p90"]).all()


def test_simulated_mean_agrees_with_expected_total(demo):
    opps, history = demo
    data = PipelineData.build(opps, history)
    fc, deals = forecast_period(None, as_of="2025-06-30", period="2025Q3", method="default", n_sims=4000,
                                ranges="independent", data=data)
    row = fc.iloc[0]
    # The median of a sum of many deals sits near its mean (amount noise has mean near 1).
    assert row["p50"] == pytest.approx(row["expected"], rel=0.35)
    assert row["expected"] == pytest.approx(row["closed_won"] + deals["expected_value"].sum() + row["new_deals"])


# --- no look-ahead ----------------------------------------------------------------------


def _rewrite_future(opps: pd.DataFrame, history: pd.DataFrame, cutoff: pd.Timestamp):
    """Change everything that happened after the cutoff: later history rows, later deals, outcomes."""
    rng = np.random.default_rng(0)
    past = history[history["entered_at"] < cutoff]
    later = history[history["entered_at"] >= cutoff].copy()
    later["stage"] = np.where(rng.random(len(later)) < 0.5, "Closed Won", "Closed Lost")
    later["amount"] = later["amount"] * 3
    later["entered_at"] = later["entered_at"] + pd.Timedelta(days=5)
    history2 = pd.concat([past, later.iloc[::2]], ignore_index=True)
    opps2 = opps.copy()
    unresolved = ~opps2["opportunity_id"].isin(
        past.loc[past["stage"].isin(["Closed Won", "Closed Lost"]), "opportunity_id"])
    opps2.loc[unresolved, "status"] = "won"
    opps2.loc[unresolved, "stage"] = "Closed Won"
    opps2.loc[unresolved, "amount"] = 1.0
    opps2.loc[unresolved, "close_date"] = cutoff + pd.Timedelta(days=3)
    extra = opps.tail(20).copy()
    extra["opportunity_id"] = [f"X{i}" for i in range(20)]
    extra["created_at"] = cutoff + pd.Timedelta(days=10)
    extra["segment"] = "Brand New Segment"
    extra_history = pd.DataFrame({"opportunity_id": extra["opportunity_id"], "stage": "Closed Won",
                                  "entered_at": cutoff + pd.Timedelta(days=11), "amount": 1e6,
                                  "close_date": cutoff + pd.Timedelta(days=11)})
    return pd.concat([opps2, extra], ignore_index=True), pd.concat([history2, extra_history], ignore_index=True)


@pytest.mark.parametrize("method", METHODS)
def test_nothing_after_the_as_of_date_changes_the_forecast(demo, method):
    opps, history = demo
    as_of = "2025-06-30"
    opps2, history2 = _rewrite_future(opps, history, T("2025-07-01"))
    # range_periods=1: the calibrated range backtests 2025Q2, finished by the as-of date.
    kwargs = dict(as_of=as_of, period="2025Q3", method=method, by="segment", n_sims=1000, seed=5, range_periods=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        fc1, deals1 = forecast_period(opps, history, **kwargs)
        fc2, deals2 = forecast_period(opps2, history2, **kwargs)
    pd.testing.assert_frame_equal(fc1, fc2)
    pd.testing.assert_frame_equal(deals1.drop(columns=["account_id", "product"], errors="ignore"),
                                  deals2.drop(columns=["account_id", "product"], errors="ignore"))


def test_learned_probabilities_are_probabilities_and_rank_stages(demo):
    opps, history = demo
    fc, deals = forecast_period(opps, history, as_of="2025-06-30", period="2025Q3", method="learned",
                                n_sims=500, ranges="independent")
    assert deals["probability"].between(0, 1).all()
    by_stage = deals.groupby("stage")["probability"].mean()
    assert by_stage.get("Negotiation", 1.0) > by_stage.get("Prospecting", 0.0)


def test_without_history_the_forecast_warns_that_it_is_approximate():
    opps, _ = hand_crm()
    with pytest.warns(DataWarning, match="approximate"):
        fc, _ = forecast_period(opps, None, as_of="2025-03-31", period="2025Q2", method="default", n_sims=200)
    assert fc.iloc[0]["closed_won"] == 0.0


def test_bad_period_and_method_are_refused():
    opps, history = hand_crm()
    with pytest.raises(DataError, match="period"):
        forecast_period(opps, history, as_of="2025-03-31", period="next quarter")
    with pytest.raises(ValueError, match="method"):
        forecast_period(opps, history, as_of="2025-03-31", period="2025Q2", method="magic")


def test_without_history_stage_rates_shift_default_odds_to_the_overall_win_rate():
    opps, _ = hand_crm()
    with pytest.warns(DataWarning, match="overall win rate"):
        rates = stage_win_rates(opps, None, as_of="2025-06-30", strength=10)
    p = rates["probability"].to_numpy()
    # Closed by then: 3 won of 4; the first stage gets the shrunk overall rate, the others keep their odds ratios.
    assert p[0] == pytest.approx((3 + 10 * 0.1) / (4 + 10))
    odds = p / (1 - p)
    assert odds[3] / odds[0] == pytest.approx((0.6 / 0.4) / (0.1 / 0.9))


def test_learned_training_rows_only_use_windows_that_ended_by_the_as_of_date(demo):
    from forecasting.pipeline.forecast import _training, _window
    from forecasting.pipeline.snapshot import cutoff_of

    opps, history = demo
    data = PipelineData.build(opps, history)
    win = _window("2025Q3", cutoff_of("2025-06-30"))
    train = _training(data, win)
    assert len(train) > 100 and train["won_in_window"].nunique() == 2
    assert (train["window_end"] <= win.cutoff).all()
    assert (train["snapshot_at"] < win.cutoff - pd.Timedelta(days=80)).all()
    # Windows are as long as the forecast's and end at month starts, as the forecast window ends at a
    # period boundary: every quarter end of the lookback ends one of them.
    assert ((train["window_end"] - train["snapshot_at"]) == win.end - win.cutoff).all()
    ends = pd.DatetimeIndex(train["window_end"].unique())
    assert ends.is_month_start.all() and (ends == ends.normalize()).all()
    assert {"2024-10-01", "2025-01-01", "2025-04-01", "2025-07-01"} <= set(ends.strftime("%Y-%m-%d"))


# --- bad input and edge cases -----------------------------------------------------------


def test_tables_with_unknown_stages_or_missing_amounts_are_refused_naming_rows():
    opps, history = hand_crm()
    bad = opps.assign(stage=opps["stage"].replace("Prospecting", "Discovery"))
    with pytest.raises(DataError, match=r"opportunities\.stage: has unknown stages \(Discovery\).*O3"):
        forecast_period(bad, history, as_of="2025-03-31", period="2025Q2")
    renamed = history.assign(stage=history["stage"].replace("Negotiation", "Contract"))
    with pytest.raises(DataError, match=r"stage_history\.stage: has unknown stages \(Contract\).*O4"):
        forecast_period(opps, renamed, as_of="2025-03-31", period="2025Q2")
    no_amount = opps.assign(amount=opps["amount"].where(opps["opportunity_id"] != "O3"))
    with pytest.raises(DataError, match=r"opportunities\.amount: is missing an amount.*O3"):
        forecast_period(no_amount, history, as_of="2025-03-31", period="2025Q2")


def test_history_rows_without_amount_take_the_first_recorded_amount():
    opps, history = hand_crm()
    history.loc[(history["opportunity_id"] == "O1") & (history["stage"] == "Prospecting"), "amount"] = np.nan
    snap = snapshot(opps, history, "2025-01-20").set_index("opportunity_id")
    assert snap.loc["O1", "amount"] == 1200.0  # nothing recorded yet: the first amount the history has


def test_as_of_before_the_first_deal_or_long_after_the_data_is_refused():
    opps, history = hand_crm()  # first deal created 2025-01-05; last record 2025-05-15
    with pytest.raises(DataError, match="2025-01-04 is before the first deal"):
        forecast_period(opps, history, as_of="2025-01-04", period="2025Q1")
    with pytest.raises(DataError, match="32 days after the data's last record"):
        forecast_period(opps, history, as_of="2025-06-16", period="2025-07")  # a month allows 31 days
    with pytest.warns(DataWarning, match="31 days before the as-of date"):
        fc, _ = forecast_period(opps, history, as_of="2025-06-15", period="2025-07", method="default", n_sims=100)
    assert fc.iloc[0]["period"] == "2025-07"


def test_empty_pipeline_gives_closed_won_plus_the_run_rate_with_a_warning():
    opps, history = hand_crm()
    opps, history = opps[opps["opportunity_id"] != "O3"], history[history["opportunity_id"] != "O3"]
    with pytest.warns(DataWarning) as caught:
        fc, deals = forecast_period(opps, history, as_of="2025-06-30", period="2025Q3", method="learned",
                                    n_sims=20_000, seed=2, ranges="independent")
    assert any("no open deals as of 2025-06-30" in str(w.message) for w in caught)
    row = fc.iloc[0]
    assert deals.empty and row["weighted"] == 0.0 and row["closed_won"] == 0.0
    # Run-rate: Q2 is the only finished quarter after the first deal, and O5 (3,000) was created and won
    # inside it: Poisson(1) wins of 3,000 -> P10 0, median 3,000 (P(N <= 1) = 0.74), P90 6,000.
    assert row["new_deals"] == 3000.0
    assert (row["p10"], row["p50"], row["p90"]) == (0.0, 3000.0, 6000.0)


# --- API conveniences -------------------------------------------------------------------


def test_prepared_data_replaces_the_tables_everywhere(demo):
    from forecasting.pipeline import backtest, pipeline_health

    opps, history = demo
    data = PipelineData.build(opps, history)
    pd.testing.assert_frame_equal(stage_win_rates(data=data, as_of="2025-06-30", by="segment"),
                                  stage_win_rates(opps, history, as_of="2025-06-30", by="segment"))
    kwargs = dict(as_of="2025-06-30", period="2025Q3", method="default", n_sims=300, range_periods=1)
    pd.testing.assert_frame_equal(forecast_period(data=data, **kwargs)[0], forecast_period(opps, history, **kwargs)[0])
    assert pipeline_health(data=data, as_of="2025-06-30")["kpi"].iloc[0] == "open_deals"
    assert len(backtest(data=data, periods="2025Q2", methods=["default"], n_sims=100, range_periods=1)[0]) == 1
    with pytest.raises(TypeError, match="opportunities"):
        forecast_period(as_of="2025-06-30", period="2025Q3")


def test_the_total_does_not_depend_on_the_breakdown(demo):
    opps, history = demo
    data = PipelineData.build(opps, history)
    kwargs = dict(as_of="2025-06-30", period="2025Q3", method="historical", n_sims=2000, seed=3, range_periods=1,
                  data=data)
    totals = [forecast_period(by=by, **kwargs)[0].iloc[0] for by in (None, "owner", "segment")]
    for row in totals[1:]:
        assert row["group"] == "all"
        for column in ("p10", "p50", "p90", "expected"):
            assert row[column] == pytest.approx(totals[0][column], rel=1e-9)


def test_period_target_sums_quotas_inside_and_splits_longer_ones():
    from forecasting.pipeline import period_target

    quotas = pd.DataFrame({"period": ["2026Q3", "2026Q3", "2026", "2026-07", "2026Q4"],
                           "owner": ["ava", "ben", "cleo", "dan", "ava"], "quota": [100.0, 200.0, 400.0, 30.0, 5.0]})
    assert period_target(quotas, "2026Q3") == pytest.approx(100 + 200 + 400 / 4 + 30)
    assert period_target(quotas, "2026-08") == pytest.approx((100 + 200) / 3 + 400 / 12)
    assert period_target(quotas, "2026Q4", owner="ava") == 5.0
    with pytest.raises(DataError, match="no quota covering 2027Q1"):
        period_target(quotas, "2027Q1")
    with pytest.raises(DataError, match="'Q3 2026', not a period"):
        period_target(quotas.assign(period="Q3 2026"), "2026Q3")


def _growing_crm(first="2023-01", per_month=lambda month: 4 if month.year == 2023 else 6,
                 wins=lambda month: 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deals created on the 15th of each month: 4 a month in 2023, 6 a month in 2024 (growth 1.5).

    All are lost 5 days later except one per quarter (``wins(month)``), created on the 15th of
    its second month and won 10 days later for 1,000.
    """
    rows = []
    for month in pd.period_range(first, "2024-12", freq="M"):
        for i in range(per_month(month)):
            created = month.start_time + pd.Timedelta(days=14)
            won = i < wins(month) and month.month % 3 == 2
            rows.append((f"O{len(rows):03d}", created, created + pd.Timedelta(days=10 if won else 5), won))
    opps = pd.DataFrame(rows, columns=["opportunity_id", "created_at", "close_date", "won"])
    opps = opps.assign(owner="ava", account_id="A", amount=1000.0, status=np.where(opps["won"], "won", "lost"),
                       stage=np.where(opps["won"], "Closed Won", "Closed Lost")).drop(columns="won")
    history = pd.concat([
        opps.assign(stage="Prospecting", entered_at=opps["created_at"]),
        opps.assign(entered_at=opps["close_date"]),
    ])[["opportunity_id", "stage", "entered_at", "amount"]]
    return opps, history


def test_run_rate_of_deals_not_yet_created_grows_with_deal_creation():
    opps, history = _growing_crm()
    with pytest.warns(DataWarning) as caught:  # nothing open, and the last record is on 12-20
        fc, _ = forecast_period(opps, history, as_of="2024-12-31", period="2025Q1", method="default", n_sims=100)
    assert {str(w.message)[:14] for w in caught} == {"no open deals ", "the data's las"}
    # Each of the last four quarters won 1,000 from deals created inside it; deal creation grew
    # 72 / 48 = 1.5x in a year, so a quarter k days before 2025Q1 counts 1.5 ** (k / 365.25) times.
    weight = {q: 1.5 ** ((pd.Timestamp("2025-01-01") - pd.Period(q).start_time).days / 365.25)
              for q in ("2024Q4", "2024Q3", "2024Q2", "2024Q1")}
    run_rate = 1000 * np.mean(list(weight.values()))
    # Growth-adjusted, 2024Q1 won more than the average quarter of the last whole year (2023Q1
    # began before the first deal): that is its season, shrunk by 1 / (1 + 2) with one year.
    season = weight["2024Q1"] / np.mean(list(weight.values()))
    assert fc.iloc[0]["new_deals"] == pytest.approx(run_rate * (1 + (season - 1) / 3))


def test_run_rate_of_deals_not_yet_created_follows_the_season_of_past_years():
    # Three years of constant deal creation; each quarter wins 1,000 from deals created inside
    # it, the fourth quarters 2,000: a year-end rush.
    opps, history = _growing_crm(first="2022-01", per_month=lambda month: 4,
                                 wins=lambda month: 2 if month.quarter == 4 else 1)
    forecasts = {}
    for as_of, period in (("2024-09-30", "2024Q4"), ("2024-12-31", "2025Q1")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            forecasts[period] = forecast_period(opps, history, as_of=as_of, period=period, method="default",
                                                n_sims=100)[0].iloc[0]["new_deals"]
    # Average quarter 1,250; Q4 brought 2,000 / 1,250 = 1.6x and Q1 0.8x in each of the 2 whole
    # years (2022Q1 began before the first deal), shrunk by 2 / (2 + 2): x1.3 and x0.9 (the
    # truth: 2,000 and 1,000; without the season 1,250 each).
    assert forecasts["2024Q4"] == pytest.approx(1250 * 1.3)
    assert forecasts["2025Q1"] == pytest.approx(1250 * 0.9)


# --- periods have both ends (issue 12 item 4) ------------------------------------------


def test_a_period_after_the_as_of_date_counts_only_deals_due_inside_it():
    opps, history = hand_crm()
    # As of 03-31 the open deals are due 04-30 (O1), 05-31 (O2) and 06-30 (O3): all in Q2, none in Q3.
    for period, pipeline in (("2025Q2", 3700.0), ("2025Q3", 0.0), ("2026Q3", 0.0)):
        fc, deals = forecast_period(opps, history, as_of="2025-03-31", period=period, method="default",
                                    n_sims=200, ranges="independent")
        assert fc.iloc[0]["open_pipeline"] == pipeline, period
        if pipeline == 0.0:
            assert fc.iloc[0]["weighted"] == 0.0 and set(deals["category"]) == {"Omitted"}


@pytest.mark.parametrize("method", ["default", "historical"])
def test_consecutive_future_quarters_do_not_count_the_same_deal_twice(demo, method):
    opps, history = demo
    data = PipelineData.build(opps, history)
    kwargs = dict(as_of="2025-06-30", method=method, n_sims=200, ranges="independent", data=data)
    (q3, d3), (q4, d4), (far, dfar) = (forecast_period(period=p, **kwargs) for p in ("2025Q3", "2025Q4", "2026Q4"))
    due = d3.set_index("opportunity_id")["close_date"]
    in_q4 = (due >= "2025-10-01") & (due < "2026-01-01")
    in_far = (due >= "2026-10-01") & (due < "2027-01-01")
    assert in_q4.sum() > 0 and in_q4.sum() < len(due) / 2
    # open_pipeline (deals expected in the period) is exactly the amount due inside it, overdue deals in Q3.
    assert q4.iloc[0]["open_pipeline"] == pytest.approx(d3.set_index("opportunity_id").loc[in_q4, "amount"].sum())
    assert far.iloc[0]["open_pipeline"] == pytest.approx(d3.set_index("opportunity_id").loc[in_far, "amount"].sum())
    assert q3.iloc[0]["open_pipeline"] + q4.iloc[0]["open_pipeline"] <= d3["amount"].sum() + 1e-6
    inside3 = set(d3.loc[d3["category"] != "Omitted", "opportunity_id"])
    inside4 = set(d4.loc[d4["category"] != "Omitted", "opportunity_id"])
    assert not inside3 & inside4
    if method == "default":  # default weights: a deal counts in one period at most
        both = d3["probability"].to_numpy() + d4["probability"].to_numpy()
        assert (both <= d3["p_win"].to_numpy() + 1e-12).all()


def test_library_has_no_demo_dates_as_defaults():
    from forecasting.pipeline import backtest

    opps, history = hand_crm()
    with pytest.raises(TypeError, match="period"):
        forecast_period(opps, history, as_of="2025-03-31")
    with pytest.raises(TypeError, match="as_of"):
        forecast_period(opps, history, period="2025Q2")
    with pytest.raises(TypeError, match="periods"):
        backtest(opps, history)


# --- which probabilities were used --------------------------------------------------------


def test_probabilities_column_says_historical_when_the_learned_model_had_too_little_history():
    opps, history = hand_crm()  # five deals: nothing to learn from
    with pytest.warns(DataWarning, match="too little history"):
        fc, deals = forecast_period(opps, history, as_of="2025-03-31", period="2025Q2", method="learned",
                                    n_sims=200, ranges="independent")
    assert fc.iloc[0]["method"] == "learned"  # as requested
    assert fc.iloc[0]["probabilities"] == "historical (fallback: too little history)"
    assert (deals["probabilities"] == "historical (fallback: too little history)").all()
    historical, _ = forecast_period(opps, history, as_of="2025-03-31", period="2025Q2", method="historical",
                                    n_sims=200, ranges="independent")
    assert fc.iloc[0]["weighted"] == pytest.approx(historical.iloc[0]["weighted"])


def test_probabilities_column_says_why_a_disagreeing_learned_model_was_replaced(demo, monkeypatch):
    from forecasting.pipeline import probabilities as module

    opps, history = demo
    kwargs = dict(as_of="2025-06-30", period="2025Q3", n_sims=200, ranges="independent")
    kept, _ = forecast_period(opps, history, method="learned", **kwargs)
    assert kept.iloc[0]["probabilities"] == "learned"
    monkeypatch.setattr(module, "disagreeing_stages", lambda *a, **k: [("Prospecting", 0.99, 0.1)])
    with pytest.warns(DataWarning, match="disagree wildly"):
        replaced, _ = forecast_period(opps, history, method="learned", **kwargs)
    historical, _ = forecast_period(opps, history, method="historical", **kwargs)
    assert replaced.iloc[0]["probabilities"] == "historical (fallback: disagrees with stage win rates)"
    assert replaced.iloc[0]["weighted"] == pytest.approx(historical.iloc[0]["weighted"])
    assert historical.iloc[0]["probabilities"] == "historical"
