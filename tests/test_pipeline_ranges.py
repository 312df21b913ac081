"""Honest pipeline ranges (issue 13 item 1), estimated close dates, the learned-model check and the
reserved total label: known answers, simulated truth and round trips."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from test_pipeline_forecast import hand_crm

from forecasting.data import DataWarning
from forecasting.pipeline import PipelineData, backtest, forecast_period
from forecasting.pipeline._context import remaining_cycle_days
from forecasting.pipeline.probabilities import disagreeing_stages
from forecasting.pipeline.ranges import apply_shock, log_error, period_bias, period_shock


# --- the period-wide shock --------------------------------------------------------------


def test_shock_recovers_the_over_dispersion_of_simulated_backtests():
    # Truth: the simulation claims log-sd 0.1, each period also has a shared shock of log-sd 0.3.
    rng = np.random.default_rng(0)
    spreads = np.full(4000, 0.1)
    errors = rng.normal(0, np.sqrt(0.1 ** 2 + 0.3 ** 2), 4000)
    assert period_shock(errors, spreads).shock == pytest.approx(0.3, abs=0.01)
    # A calibrated simulation needs no shock beyond the (shrunk-away) assumption.
    calm = rng.normal(0, 0.1, 4000)
    assert period_shock(calm, spreads).shock < 0.02


def test_short_history_falls_back_to_the_assumed_shock():
    assert period_shock([], []).shock == pytest.approx(0.2)
    one = period_shock([1.0], [0.0])  # one past period 2.7x off: (1 x 1 + 2 x 0.04) / 3
    assert one.shock == pytest.approx(np.sqrt(1.08 / 3)) and one.periods == 1
    assert "mostly assumed" in one.description


def test_log_error_of_a_forecast_twice_too_low():
    e, s = log_error(actual=2000.0, p10=500.0, p50=1000.0, p90=2000.0)
    assert e == pytest.approx(np.log(2)) and s == pytest.approx(np.log(4) / (2 * 1.2815515655446004))
    assert log_error(0.0, 0.0, 1000.0, 2000.0)[0] == -3.0  # zero actual: 2 % floor (-3.9), capped at -3
    assert log_error(10.0, 0.0, 0.0, 0.0) is None  # nothing was uncertain


def test_shock_keeps_the_known_part_and_groups_adding_up():
    rng = np.random.default_rng(1)
    sims = np.array([[100.0 + i for i in range(1000)], [50.0] * 1000])
    known = np.array([100.0, 50.0])
    out = apply_shock(rng, sims, known, 0.5)
    assert out[1] == pytest.approx(sims[1])  # nothing uncertain in group 2: untouched
    assert out[0].min() >= 100.0  # the closed won is never shocked away
    factor = (out[0] - 100.0)[1:] / (sims[0] - 100.0)[1:]
    assert np.std(np.log(factor)) == pytest.approx(0.5, rel=0.1)
    assert apply_shock(rng, sims, known, 0.0) is sims


def _shocked_world(seed: int = 0, quarters: int = 12, shock: float = 0.5, win: float = 0.5):
    """Deals of one stage with a known win chance, plus a shared log-normal shock on each quarter's wins.

    Every quarter 60 deals of 1,000 are open on its first day, due inside it, won with probability
    ``win`` x the quarter's shock (log-sd ``shock``): the independent-deal simulation is far too narrow.
    """
    rng = np.random.default_rng(seed)
    rows, k = [], 0
    for q in pd.period_range("2022Q1", periods=quarters, freq="Q"):
        start = q.start_time
        p = np.clip(win * np.exp(shock * rng.standard_normal() - shock ** 2 / 2), 0.0, 1.0)
        for _ in range(60):
            won = rng.random() < p
            close = start + pd.Timedelta(days=int(rng.integers(5, 85)))
            rows.append({"opportunity_id": f"D{k}", "owner": "ava", "amount": 1000.0,
                         "created_at": start - pd.Timedelta(days=20), "stage": "Closed Won" if won else "Closed Lost",
                         "close_date": close, "status": "won" if won else "lost"})
            k += 1
    opps = pd.DataFrame(rows)
    history = pd.concat([
        opps.assign(stage="Negotiation", entered_at=opps["created_at"], close_date=opps["close_date"]),
        opps.assign(entered_at=opps["close_date"]),
    ])[["opportunity_id", "stage", "entered_at", "amount", "close_date"]]
    return opps, history


def test_calibrated_ranges_cover_a_world_with_quarter_shocks_that_independent_ranges_miss():
    opps, history = _shocked_world()
    data = PipelineData.build(opps, history)
    kwargs = dict(periods="2023Q3:2024Q4", methods=["default"], n_sims=500, range_periods=4, data=data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        raw, raw_metrics = backtest(ranges="independent", **kwargs)
        honest, metrics = backtest(**kwargs)
    assert (honest["p10"] <= raw["p10"] + 1e-9).all() and (honest["p90"] >= raw["p90"] - 1e-9).all()
    assert raw_metrics.iloc[0]["coverage_80"] <= 0.5  # independent deals: +-10 % where quarters swing +-50 %
    assert metrics.iloc[0]["coverage_80"] >= 0.6
    assert (honest["range_periods"] == 4).all()
    assert (honest["range_shock"] > 0.2).all()


def _centring(win: float, stage_probability: float):
    """Backtests of the default method (stage weight ``stage_probability``) in a world that wins ``win``."""
    opps, history = _shocked_world(seed=1, shock=0.05, win=win)
    stages = {"open": [{"Negotiation": stage_probability}]}
    data = PipelineData.build(opps, history, stages)
    kwargs = dict(periods="2024Q1:2024Q4", methods=["default"], n_sims=1000, range_periods=8, data=data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return backtest(**kwargs)[0], backtest(ranges="independent", **kwargs)[0]


def test_centred_p50_recovers_a_persistent_bias():
    # Stage weight 0.8 where deals win 0.25: every past P50 was 3.2x too high (log error -1.16).
    honest, raw = _centring(win=0.25, stage_probability=0.8)
    assert (raw["p50"] / honest["actual"]).between(2.6, 4.0).all()
    n = honest["range_periods"].to_numpy()
    assert (n >= 7).all()
    expected_shift = np.log(0.25 / 0.8) * n / (n + 4)  # shrunk by n past periods against 4
    assert honest["range_shift"].to_numpy() == pytest.approx(expected_shift, abs=0.05)
    assert (np.abs(honest["p50"] - honest["actual"]) < 0.5 * np.abs(raw["p50"] - honest["actual"])).all()
    # A third of the bias is left after shrinking (x1.5): the band covers half the quarters, none before.
    covered = (honest["p10"] <= honest["actual"]) & (honest["actual"] <= honest["p90"])
    assert covered.sum() >= 2 and not ((raw["p10"] <= raw["actual"]) & (raw["actual"] <= raw["p90"])).any()


def test_without_a_persistent_bias_the_p50_does_not_move():
    honest, raw = _centring(win=0.5, stage_probability=0.5)  # the stage weight is the true win chance
    assert (honest["range_shift"] == 0.0).all()
    assert honest["p50"].to_numpy() == pytest.approx(raw["p50"].to_numpy(), rel=0.02)


def test_bias_is_shifted_only_when_clear_of_the_noise():
    errors = [-1.2, -1.1, -1.2, -1.15, -1.1, -1.2, -1.1, -1.2]
    assert period_bias(errors) == pytest.approx(np.mean(errors) * 8 / 12)
    assert period_bias([0.4, -0.3, 0.5, -0.2, 0.1, 0.3, -0.4, 0.2]) == 0.0  # mean 0.075, se 0.11
    assert period_bias([0.5, 0.5]) == 0.0  # fewer than 3 periods
    calibration = period_shock([-1.2, -1.1] * 4, [0.05] * 8)
    assert calibration.shift < -0.7 and calibration.shock < 0.45  # the bias is not counted as dispersion
    assert period_shock([-1.2, -1.1] * 4, [0.05] * 8, centre=False).shock > 0.9


def test_forecast_says_how_its_range_was_made():
    opps, history = hand_crm()
    with pytest.warns(DataWarning, match="only 0 past period"):
        fc, _ = forecast_period(opps, history, as_of="2025-03-31", period="2025Q2", method="default", n_sims=500)
    row = fc.iloc[0]
    assert row["range_periods"] == 0 and row["range_shock"] == pytest.approx(0.2)
    assert "mostly assumed" in row["range_method"] and row["snapshot"] == "exact"
    raw, _ = forecast_period(opps, history, as_of="2025-03-31", period="2025Q2", method="default", n_sims=500,
                             ranges="independent")
    assert raw.iloc[0]["range_shock"] == 0.0 and "independent" in raw.iloc[0]["range_method"]
    assert row["p90"] - row["p10"] > raw.iloc[0]["p90"] - raw.iloc[0]["p10"]


# --- missing expected close dates -------------------------------------------------------


def test_remaining_cycle_is_the_median_of_the_longer_past_cycles():
    assert remaining_cycle_days([10, 20, 30, 40], [0, 25, 35, 50]).tolist() == [25.0, 10.0, 5.0, 0.0]
    assert remaining_cycle_days([], [3.0]).tolist() == [90.0]


def test_an_open_deal_without_close_date_gets_the_remaining_cycle_and_a_warning():
    opps, history = hand_crm()
    opps.loc[opps["opportunity_id"] == "O3", "close_date"] = pd.NaT
    history.loc[history["opportunity_id"] == "O3", "close_date"] = pd.NaT
    with pytest.warns(DataWarning, match="1 of 4 open deals as of 2025-04-15 have no expected close date"):
        _, deals = forecast_period(opps, history, as_of="2025-04-15", period="2025Q2", method="default",
                                   n_sims=100, ranges="independent")
    o3 = deals.set_index("opportunity_id").loc["O3"]
    # O3 is 32 days old at the cutoff; the one deal closed before (O4) lived 49 days: 17 days left.
    assert bool(o3["close_date_estimated"]) and o3["close_date"] == pd.Timestamp("2025-05-02")


# --- the learned model against the observed stage rates --------------------------------


def test_learned_probabilities_far_from_the_stage_rates_are_flagged():
    stage = np.array(["Prospecting"] * 50 + ["Negotiation"] * 50)
    reference = np.r_[np.full(50, 0.1), np.full(50, 0.6)]
    near = np.r_[np.full(50, 0.15), np.full(50, 0.5)]
    assert disagreeing_stages(near, reference, stage) == []
    certain = np.r_[np.full(50, 0.995), np.full(50, 0.5)]  # early-stage deals at near-certainty
    assert disagreeing_stages(certain, reference, stage) == [("Prospecting", 0.995, 0.1)]
    dead = np.r_[np.full(50, 0.1), np.full(50, 0.0025)]  # late-stage deals written off
    assert [s for s, *_ in disagreeing_stages(dead, reference, stage)] == ["Negotiation"]
    assert disagreeing_stages(certain[:5], reference[:5], stage[:5]) == []  # too few deals to judge


# --- the reserved total label (issue 12 item 7) ----------------------------------------


def test_a_segment_named_all_is_renamed_not_merged_with_the_total():
    opps, history = hand_crm()
    opps["segment"] = opps["segment"].replace({"SMB": "all"})
    with pytest.warns(DataWarning, match="segment has a group named 'all'"):
        fc, _ = forecast_period(opps, history, as_of="2025-03-31", period="2025Q2", method="default", by="segment",
                                n_sims=200, ranges="independent")
    assert fc["group"].tolist() == ["all", "Enterprise", "all (segment)"]
    total, groups = fc.iloc[0], fc.iloc[1:]
    # O1 (1200 x 0.6) and O2 (500 x 0.2) are SMB-now-"all"; O3 (2000 x 0.1) is Enterprise.
    assert groups.set_index("group").loc["all (segment)", "weighted"] == pytest.approx(820.0)
    assert total["weighted"] == pytest.approx(1020.0) == groups["weighted"].sum()
