"""The deal-risk signals as features of the learned close-probability model (``features="risk"``)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from test_pipeline_forecast import hand_crm

from forecasting.data import DataWarning
from forecasting.pipeline import PipelineData
from forecasting.pipeline.model import (FEATURE_SETS, FEATURES, RISK_FEATURES, CloseProbabilityModel, deal_features,
                                        training_frame)
from forecasting.pipeline.risk import deal_risk

STAGES = {"open": ["Discovery", "Proposal"]}
# Stage paths (days after creation) that end in Proposal on day 15 either way: the base
# features (stage, days in stage, age, amount) cannot tell a regressed deal from a clean one.
PATHS = {"clean": [("Discovery", 0), ("Discovery", 5), ("Discovery", 10), ("Proposal", 15)],
         "regressed": [("Discovery", 0), ("Proposal", 5), ("Discovery", 10), ("Proposal", 15)]}
WIN_RATE = {"clean": 0.7, "regressed": 0.15, "overdue": 0.15}  # the truth


def simulated_pipeline(seed: int, n: int = 900, end="2025-06-30") -> PipelineData:
    """Deals that close 40 days after creation; regressed deals and overdue ones (expected on day 20) win less."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(end)
    created = pd.Timestamp("2023-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 900, n)), unit="D")
    kinds = rng.choice(list(WIN_RATE), size=n, p=[0.5, 0.25, 0.25])
    opps, rows = [], []
    for i, (c, kind) in enumerate(zip(created, kinds)):
        day = pd.Timedelta(days=1)
        oid, expected, closed = f"D{i}", c + (20 if kind == "overdue" else 40) * day, c + 40 * day
        won = rng.random() < WIN_RATE[kind]
        path = PATHS["regressed" if kind == "regressed" else "clean"]
        rows += [(oid, stage, c + d * day, 1000.0, expected) for stage, d in path if c + d * day < end]
        status = "open" if closed >= end else "won" if won else "lost"
        if status != "open":
            rows.append((oid, "Closed Won" if won else "Closed Lost", closed, 1000.0, closed))
        opps.append({"opportunity_id": oid, "account_id": oid, "owner": f"rep{i % 3}", "segment": "SMB",
                     "amount": 1000.0, "created_at": c, "stage": [r for r in rows if r[0] == oid][-1][1],
                     "close_date": closed if status != "open" else expected, "status": status})
    history = pd.DataFrame(rows, columns=["opportunity_id", "stage", "entered_at", "amount", "close_date"])
    return PipelineData.build(pd.DataFrame(opps), history, STAGES)


def _mean_p(model, frame: pd.DataFrame, mask) -> float:
    return float(model.predict_proba(frame.loc[mask, list(FEATURE_SETS[model.features])])[:, 1].mean())


def test_risk_features_rank_regressed_and_overdue_deals_lower_as_they_truly_win_less():
    cutoff = pd.Timestamp("2025-06-01")
    train = training_frame(simulated_pipeline(0), cutoff, 0, 90, features="risk")
    y = train["won_in_window"].to_numpy()
    base = CloseProbabilityModel(features="base").fit(train[list(FEATURES)], y)
    risk = CloseProbabilityModel(features="risk").fit(train[list(FEATURE_SETS["risk"])], y)
    test = training_frame(simulated_pipeline(1), cutoff, 0, 90, features="risk")  # an independent world
    proposal = (test["stage"] == "Proposal").to_numpy()
    due_later = (test["days_to_close"] > 10).to_numpy()  # not overdue: clean and regressed deals alike
    clean = proposal & due_later & (test["regressions"] == 0).to_numpy()
    regressed = proposal & due_later & (test["regressions"] > 0).to_numpy()
    overdue = proposal & (test["days_to_close"] < 0).to_numpy()
    assert regressed.sum() > 50 and clean.sum() > 50 and overdue.sum() > 50
    # Truth in the window: ~0.7 for clean deals, ~0.15 for the others.
    assert _mean_p(risk, test, clean) - _mean_p(risk, test, regressed) > 0.35
    assert _mean_p(risk, test, clean) - _mean_p(risk, test, overdue) > 0.35
    # The base features cannot see a regression: the same stage and days in it from day 15 on.
    assert abs(_mean_p(base, test, clean) - _mean_p(base, test, regressed)) < 0.1


def _hand_data(extra_history=(), activities=None, cutoff="2025-04-01"):
    opps, hist = hand_crm()
    if extra_history:
        extra = pd.DataFrame(extra_history, columns=["opportunity_id", "stage", "entered_at", "amount", "close_date"])
        hist = pd.concat([hist, extra], ignore_index=True)
    data = PipelineData.build(opps, hist)
    cutoff = pd.Timestamp(cutoff)
    deals = data.open_deals(cutoff)
    feats = deal_features(deals, data, cutoff, cutoff + pd.Timedelta(days=90), features="risk", activities=activities)
    return feats.set_index(deals["opportunity_id"].to_numpy())


# O3 (Prospecting since 03-15, 2000, due 06-30) moves up, back, is re-priced and pushed, and gets a call.
MOVES = [("O3", "Qualification", "{0}", 2500.0, "2025-07-31"), ("O3", "Prospecting", "{1}", 2500.0, "2025-07-31")]


def _moves(first: str, second: str):
    return [(o, s, pd.Timestamp(t.format(first, second)), a, pd.Timestamp(c)) for o, s, t, a, c in MOVES]


def test_signals_stamped_after_the_snapshot_do_not_change_its_features():
    acts = pd.DataFrame({"opportunity_id": ["O3", "O3"], "occurred_at": pd.to_datetime(["2025-03-20", "2025-04-02"])})
    before = _hand_data(activities=acts.iloc[:1])
    after = _hand_data(_moves("2025-04-05", "2025-04-10"), activities=acts)
    pd.testing.assert_frame_equal(before, after)
    assert before.loc["O3", "days_since_activity"] == 12  # the 03-20 call, to the end of 03-31
    # The same moves stamped before the snapshot do show (so the test can fail).
    known = _hand_data(_moves("2025-03-20", "2025-03-25"), activities=acts).loc["O3"]
    assert known["regressions"] == 1 and known["amount_changes"] == 1 and known["pushed_days"] == 31
    assert known["amount_log_ratio"] == pytest.approx(np.log(2500 / 2000))


def test_without_activities_or_history_the_risk_features_are_missing_and_the_model_still_fits():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        data = simulated_pipeline(0)
        approximate = PipelineData.build(data.opportunities, None, STAGES)
    train = training_frame(approximate, pd.Timestamp("2025-06-01"), 0, 90, features="risk")
    assert train["days_since_activity"].isna().all() and train["regressions"].isna().all()
    model = CloseProbabilityModel(features="risk").fit(train[list(FEATURE_SETS["risk"])], train["won_in_window"])
    assert set(model.empty_columns_) == {"days_since_activity", "pushed_days", "amount_changes", "amount_log_ratio",
                                         "regressions"}
    # A value seen only at prediction time is ignored, as in training.
    later = train.assign(days_since_activity=5.0, regressions=3.0)
    p = model.predict_proba(train)[:, 1]
    assert np.all((p > 0) & (p < 1)) and np.allclose(model.predict_proba(later)[:, 1], p)


def test_the_risk_list_and_the_model_read_the_same_signals():
    cutoff = pd.Timestamp("2025-06-01")
    data = simulated_pipeline(0)
    risk = deal_risk(as_of="2025-05-31", period="2025Q2", data=data).set_index("opportunity_id")
    deals = data.open_deals(cutoff)
    feats = deal_features(deals, data, cutoff, pd.Timestamp("2025-07-01"), features="risk")
    feats.index = deals["opportunity_id"].to_numpy()
    assert len(risk) > 10 and risk["regressions"].sum() > 0
    for column in ("regressions", "pushed_days", "amount_changes"):
        assert risk[column].to_dict() == feats.loc[risk.index, column].to_dict()
    ratio = risk["days_in_stage"] / risk["stage_median_days"]
    # deal_risk's median is over the period's deals, the model's over the whole snapshot
    assert feats["stage_time_ratio"].notna().all() and ratio.notna().all()


def test_the_default_model_keeps_its_features_and_an_unknown_set_is_refused():
    assert FEATURE_SETS["base"] == FEATURES and set(RISK_FEATURES).isdisjoint(FEATURES)
    assert FEATURE_SETS["risk"][-1] == "segment"  # categorical last
    X = pd.DataFrame({c: np.arange(40.0) % 7 for c in FEATURES}).assign(segment="SMB")
    with pytest.raises(ValueError, match="unknown feature set 'hygiene'"):
        CloseProbabilityModel(features="hygiene").fit(X, np.arange(40) % 2)
    with pytest.raises(ValueError, match="missing: pushed_days"):
        CloseProbabilityModel(features="risk").fit(X, np.arange(40) % 2)
