"""Scenarios: known answers on hand-made deals, monotone in their assumptions, what it takes, the CLI."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_pipeline_forecast import hand_crm

from forecasting.cli import main
from forecasting.data.errors import DataError
from forecasting.pipeline import forecast_period
from forecasting.pipeline.scenario import SCENARIOS, Scenario, simulate_scenarios, what_it_takes


def _inputs(new_deals=0.0, shock=0.0):
    forecast = pd.DataFrame({"group": ["all"], "closed_won": [1000.0], "new_deals": [new_deals],
                             "range_shock": [shock]})
    deals = pd.DataFrame({"amount": [100.0] * 20, "probability": [0.5] * 10 + [0.9] * 10,
                          "stage": ["Demo"] * 10 + ["Negotiation"] * 10, "owner": ["ava", "bo"] * 10})
    return forecast, deals


def test_base_scenario_mean_is_closed_won_plus_the_weighted_pipeline():
    forecast, deals = _inputs()
    out = simulate_scenarios(forecast, deals, [Scenario("base")], n_sims=20_000).iloc[0]
    assert out["mean"] == pytest.approx(1000 + 100 * (10 * 0.5 + 10 * 0.9), rel=0.01)


def test_stage_factors_and_slippage_have_their_expected_effect():
    forecast, deals = _inputs()
    scenarios = [Scenario("demo dead", factors={"Demo": 0.0}), Scenario("half slip", slippage=0.5),
                 Scenario("bo doubles", factors={"bo": 2.0}, factor_by="owner")]
    out = simulate_scenarios(forecast, deals, scenarios, n_sims=20_000).set_index("scenario")["mean"]
    assert out["demo dead"] == pytest.approx(1000 + 100 * 10 * 0.9, rel=0.01)
    assert out["half slip"] == pytest.approx(1000 + 0.5 * 1400, rel=0.01)
    # bo's 10 deals: 5 at 0.5 -> 1.0 and 5 at 0.9 -> capped at 1.
    assert out["bo doubles"] == pytest.approx(1000 + 100 * (5 * 0.5 + 5 * 0.9 + 5 * 1.0 + 5 * 1.0), rel=0.01)


@settings(max_examples=20, deadline=None)
@given(new=st.floats(0, 3000), shock=st.floats(0, 0.5), seed=st.integers(0, 100))
def test_bear_base_bull_are_ordered_at_every_quantile(new, shock, seed):
    forecast, deals = _inputs(new, shock)
    out = simulate_scenarios(forecast, deals, SCENARIOS, n_sims=500, seed=seed).set_index("scenario")
    for q in ("p10", "p50", "p90"):
        assert out.loc["bear", q] <= out.loc["base", q] <= out.loc["bull", q]


def test_what_it_takes_reaches_the_target_when_applied():
    forecast, deals = _inputs()
    takes = what_it_takes(forecast, deals, target=2300.0, probability=0.8, n_sims=4000)
    assert takes["current_probability"] < 0.8 < 1
    boosted = simulate_scenarios(forecast, deals, [Scenario("k", win_rate=takes["win_rate_factor"])],
                                 target=2300.0, n_sims=4000).iloc[0]
    assert boosted["prob_target"] >= 0.8
    beyond = what_it_takes(forecast, deals, target=5000.0, n_sims=1000)  # more than every deal won
    assert np.isnan(beyond["win_rate_factor"]) and beyond["extra_pipeline"] > 0


def test_bad_scenarios_are_refused():
    forecast, deals = _inputs()
    with pytest.raises(DataError, match="scenario.slippage"):
        simulate_scenarios(forecast, deals, [Scenario("x", slippage=1.5)])
    with pytest.raises(DataError, match="scenario.factor_by: 'region' is not a deal column"):
        simulate_scenarios(forecast, deals, [Scenario("x", factors={"EU": 2}, factor_by="region")])


def test_base_scenario_matches_the_forecast_it_starts_from():
    opps, hist = hand_crm()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecast, deals = forecast_period(opps, hist, as_of="2025-03-15", period="2025Q2", method="default",
                                          ranges="independent", n_sims=20_000)
    base = simulate_scenarios(forecast, deals, [Scenario("base")], n_sims=20_000).iloc[0]
    assert base["mean"] == pytest.approx(forecast["expected"].iloc[0], rel=0.05)


def test_cli_scenario_writes_scenarios_and_what_it_takes(tmp_path, capsys):
    opps, hist = hand_crm()
    (tmp_path / "o.csv").write_text(opps.to_csv(index=False))
    (tmp_path / "h.csv").write_text(hist.to_csv(index=False))
    inputs = ["--opportunities", str(tmp_path / "o.csv"), "--stage-history", str(tmp_path / "h.csv")]
    out = tmp_path / "out"
    assert main(["pipeline", "scenario", *inputs, "--as-of", "2025-03-15", "--period", "2025Q2", "--method",
                 "default", "--target", "3000", "--slippage", "0.5", "--sims", "500", "--out", str(out)]) == 0
    frame = pd.read_csv(out / "scenarios.csv")
    assert list(frame.columns[:4]) == ["scenario", "p10", "p50", "p90"]
    assert list(frame["scenario"]) == ["bear", "base", "bull", "custom"]
    assert json.loads((out / "run.json").read_text())["what_it_takes"]["target"] == 3000
    assert (out / "what_it_takes.csv").exists()
    bad = tmp_path / "bad"
    assert main(["pipeline", "scenario", *inputs, "--as-of", "2025-03-15", "--slippage", "2", "--sims", "100",
                 "--method", "default", "--out", str(bad)]) == 2
    assert "scenario.slippage" in capsys.readouterr().err and not bad.exists()
