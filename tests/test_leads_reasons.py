"""Reason codes: the linear shortcut, tree path contributions and the text of the top three."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from forecasting.leads import contributions
from forecasting.leads.candidates import make_candidate
from forecasting.leads.contributions import probability_contributions, tree_contributions
from forecasting.leads.decisions import _counterfactual_effects, feature_effects, format_reasons
from leads_fixtures import train_quietly

pytestmark = pytest.mark.usefixtures("quiet_one_thread")


def _mixed_leads(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Numbers with missing values, categories and a flag; conversion depends on all of them."""
    rng = np.random.default_rng(seed)
    visits = rng.poisson(3, n).astype(float)
    size = np.exp(rng.normal(4, 1, n))
    size[rng.random(n) < 0.15] = np.nan  # missing, and informative: see eta
    seniority = rng.choice(["ic", "manager", "director", "vp"], n)
    source = rng.choice(["web", "event", "referral", "outbound", "partner"], n)
    budget = rng.random(n) < 0.4
    eta = (-1.5 + 0.4 * visits + 0.9 * budget - 0.8 * np.isnan(size) + 0.3 * np.nan_to_num(np.log(size) - 4)
           + pd.Series(seniority).map({"ic": -0.7, "manager": 0, "director": 0.5, "vp": 1.0}).to_numpy()
           + pd.Series(source).map({"web": 0, "event": 0.4, "referral": 0.9, "outbound": -0.6,
                                    "partner": 0.2}).to_numpy())
    y = (rng.random(n) < expit(eta)).astype(int)
    frame = pd.DataFrame({"web_visits": visits, "company_size": size, "seniority": seniority,
                          "source": source, "budget": budget})
    return frame, y


TYPES = {"web_visits": "numeric", "company_size": "numeric", "seniority": "categorical",
         "source": "categorical", "budget": "boolean"}


@pytest.fixture(scope="module")
def mixed():
    return _mixed_leads()


@pytest.fixture(scope="module")
def fitted(mixed):
    X, y = mixed
    return {name: make_candidate(name, TYPES, seed=0).fit(X, y) for name in ("hist_gb", "random_forest")}


# --------------------------------------------------------------------------- linear


def test_logistic_reasons_are_coefficient_times_distance_from_reference():
    """Two-valued numbers enter a logistic as themselves: the drop in log-odds when a feature
    goes to its reference is coefficient x (value - reference); the effect is on the score."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.integers(0, 2, 400) * 1.0, "b": rng.integers(0, 2, 400) * 2.0,
                      "c": rng.integers(0, 2, 400) * 1.0})
    y = (rng.random(400) < 0.5).astype(int)
    model = make_candidate("logistic", {c: "numeric" for c in X}).fit(X, y)
    logistic = model.named_steps["model"]
    assert model.named_steps["features"].plain_cols_ == ["a", "b", "c"]
    logistic.coef_[:] = [[1.0, -0.5, 2.0]]  # known coefficients
    logistic.intercept_[:] = [-1.0]
    lead = pd.DataFrame({"a": [1.0], "b": [2.0], "c": [0.0]})
    scores, columns, effects = feature_effects(model, lead, {"a": 0.0, "b": 0.0, "c": 0.0})
    # log-odds -1 + 1 - 1 + 0 = -1; without a: -2, without b: 0, without c: -1.
    assert scores[0] == pytest.approx(expit(-1.0), abs=1e-12)
    np.testing.assert_allclose(effects[:, 0], [expit(-1) - expit(-2), expit(-1) - expit(0), 0.0], atol=1e-12)
    assert format_reasons(lead, columns, effects) == ["b=2 -0.23;a=1 +0.15"]  # c: no effect, not listed


# Reason codes and scores of the first 8 leads of simulate_leads(600, seed=3) before the tree
# contributions and the new text builder (commit 472073d): the linear candidates must not change.
BEFORE = {
    "logistic": (
        ["need=false -0.09;industry=ind1 -0.03;company_size=1057 -0.02",
         "signup_date=2023-08-16 +0.14;seniority=vp +0.13;industry=ind3 -0.12",
         "signup_date=2023-06-15 +0.06;industry=ind7 -0.05;source=outbound -0.05",
         "need=false -0.07;seniority=manager -0.05;source=event +0.02",
         "need=false -0.19;budget=true +0.14;industry=ind3 -0.10",
         "seniority=ic -0.28;budget=true +0.21;source=event +0.14",
         "need=false -0.21;signup_date=2023-08-29 +0.16;source=event +0.13",
         "budget=true +0.23;seniority=vp +0.14;industry=ind3 -0.11"],
        [0.0774246222, 0.4006685117, 0.2197069971, 0.0558916455, 0.2569977925, 0.4463144803,
         0.3571231071, 0.5234590206]),
    "learned_scorecard": (
        ["need=false -0.08;company_size=1057 -0.03;industry=ind1 -0.03",
         "seniority=vp +0.09;signup_date=2023-08-16 +0.09;industry=ind3 -0.08",
         "signup_date=2023-06-15 +0.05;source=outbound -0.04;industry=ind7 -0.04",
         "need=false -0.07;seniority=manager -0.05;source=event +0.03",
         "need=false -0.14;budget=true +0.12;seniority=vp +0.07",
         "seniority=ic -0.21;budget=true +0.17;source=event +0.10",
         "need=false -0.14;signup_date=2023-08-29 +0.11;source=event +0.08",
         "budget=true +0.18;seniority=vp +0.10;industry=ind3 -0.09"],
        [0.1182193764, 0.3459104127, 0.2655581443, 0.0946520595, 0.2635947095, 0.4276621936,
         0.2997036047, 0.4853688665]),
}


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_linear_reason_codes_are_unchanged(leads, name):
    scored = train_quietly(leads, name, n_boot=20).score(leads.head(8))
    reasons, scores = BEFORE[name]
    assert scored["reasons"].tolist() == reasons
    np.testing.assert_allclose(scored["score"], scores, atol=1e-9)


# --------------------------------------------------------------------------- trees


def _design(model, X):
    return model.named_steps["features"].transform(X), model.named_steps["model"]


def test_hist_gb_contributions_add_up_to_its_log_odds_with_missing_values_and_category_splits(mixed, fitted):
    X, _ = mixed
    rows = X.sample(500, random_state=1)
    design, booster = _design(fitted["hist_gb"], rows)
    nodes = np.concatenate([p[0].nodes for p in booster._predictors])
    assert nodes["is_categorical"][~nodes["is_leaf"].astype(bool)].any()  # category splits in play
    assert design["company_size"].isna().sum() > 30  # and missing values
    prediction, bias, parts = tree_contributions(booster, design)
    np.testing.assert_allclose(prediction, booster.decision_function(design), rtol=0, atol=1e-8)
    np.testing.assert_allclose(bias + parts.sum(axis=0), prediction, rtol=0, atol=1e-8)
    # Every feature moves someone; the missing size is credited to company_size.
    assert (np.abs(parts).max(axis=1) > 0.01).all()
    missing = design["company_size"].isna().to_numpy()
    size = list(design.columns).index("company_size")
    assert parts[size, missing].mean() < parts[size, ~missing].mean()  # missing size converts less


def test_forest_contributions_add_up_to_its_probability(mixed, fitted):
    X, _ = mixed
    design, forest = _design(fitted["random_forest"], X.sample(500, random_state=2))
    prediction, bias, parts = tree_contributions(forest, design)
    np.testing.assert_allclose(prediction, forest.predict_proba(design)[:, 1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(bias + parts.sum(axis=0), prediction, rtol=0, atol=1e-12)
    assert 0 < bias < 1


def test_a_feature_the_trees_never_split_on_gets_no_contribution():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"signal": rng.normal(size=800), "unused": rng.normal(size=800)})
    y = (X["signal"] + 0.3 * rng.normal(size=800) > 0).astype(int)
    model = make_candidate("hist_gb", {"signal": "numeric", "unused": "numeric"}).fit(X[["signal"]].assign(
        unused=0.0), y)  # a constant column is dropped: the trees never see it
    design, booster = _design(model, X)
    prediction, bias, parts = tree_contributions(booster, design)
    assert parts.shape[0] == design.shape[1] and np.allclose(bias + parts.sum(axis=0), prediction)


def test_probability_contributions_add_up_to_the_score_change_from_the_average_lead(mixed, fitted):
    X, _ = mixed
    design, booster = _design(fitted["hist_gb"], X.head(300))
    p, parts = probability_contributions(booster, design)
    np.testing.assert_allclose(p, booster.predict_proba(design)[:, 1], rtol=0, atol=1e-12)
    base = p - parts.sum(axis=0)
    np.testing.assert_allclose(base, base[0], atol=1e-10)  # the same average lead for every lead
    assert base[0] == pytest.approx(expit(tree_contributions(booster, design)[1]), abs=1e-12)


@pytest.mark.parametrize("name", ["hist_gb", "random_forest", "blend"])
def test_tree_reason_codes_use_the_trees_and_keep_the_scores(mixed, name, tmp_path, monkeypatch):
    from forecasting.leads import decisions, load_model

    X, y = mixed
    trained = train_quietly(X.assign(converted=y, lead_id=np.arange(len(X)).astype(str)), name, n_boot=10,
                            calibration="sigmoid")
    model = load_model(trained.save(tmp_path / name))  # as `leads score` has it: read back from skops

    def one_prediction_per_feature(*args):
        raise AssertionError("the trees' contributions were not used")

    monkeypatch.setattr(decisions, "_counterfactual_effects", one_prediction_per_feature)
    leads = X.head(400)
    scores, columns, effects = feature_effects(model.estimator, leads, model.card["reference_values"])
    np.testing.assert_allclose(scores, model.estimator.predict_proba(leads)[:, 1], rtol=0, atol=1e-12)
    assert effects.shape == (len(columns), len(leads)) and np.isfinite(effects).all()
    # Deterministic, and the strongest driver of the simulation (visits) leads most often.
    again = feature_effects(model.estimator, leads, model.card["reference_values"])[2]
    assert np.array_equal(effects, again)
    top = pd.Series(np.asarray(columns)[np.abs(effects).argmax(axis=0)]).value_counts()
    assert top.index[0] in ("web_visits", "seniority", "source")


def test_trees_fall_back_to_one_prediction_per_feature_when_the_check_fails(mixed, fitted, monkeypatch):
    X, _ = mixed
    leads = X.head(200)
    reference = {"web_visits": 3.0, "company_size": 55.0, "seniority": "manager", "source": "web",
                 "budget": False}
    model = fitted["hist_gb"]
    monkeypatch.setattr(contributions, "_TOLERANCE", -1.0)  # no rebuilt prediction can pass
    assert tree_contributions(model.named_steps["model"], _design(model, leads)[0]) is None
    _, columns, effects = feature_effects(model, leads, reference)
    slow = _counterfactual_effects(lambda f: model.predict_proba(f)[:, 1], leads, columns, reference)[1]
    np.testing.assert_allclose(effects, slow, atol=1e-12)


def test_an_unexpected_booster_structure_is_not_read(fitted):
    booster = copy.deepcopy(fitted["hist_gb"].named_steps["model"])
    booster.n_trees_per_iteration_ = 2  # as a multi-class booster
    assert contributions._hist_gb_trees(booster) is None


# --------------------------------------------------------------------------- text


def _reasons_one_by_one(frame, columns, effects, top=3, min_effect=0.005) -> list[str]:
    """The specification, a lead at a time: largest effects first (ties in column order)."""
    from forecasting.leads.decisions import _label

    out = []
    for i in range(len(frame)):
        order = sorted(range(len(columns)), key=lambda k: (-abs(effects[k][i]), k))[:top]
        parts = []
        for k in order:
            e = effects[k][i]
            if abs(e) < min_effect:
                break
            hundredths = np.sign(e) * np.floor(abs(e) * 100 + 0.5)
            parts.append(f"{columns[k]}={_label(frame[columns[k]].iloc[i])} {max(-100, min(100, hundredths)) / 100:+.2f}")
        out.append(";".join(parts))
    return out


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(1, 6), st.integers(0, 10_000))
def test_reason_text_matches_the_one_lead_at_a_time_specification(n, k, seed):
    rng = np.random.default_rng(seed)
    columns = [f"f{j}" for j in range(k)]
    frame = pd.DataFrame({c: rng.choice(["x", "y", None, "z"], n) if j % 2 else rng.choice([1.0, 2.5, np.nan], n)
                          for j, c in enumerate(columns)})
    effects = np.round(rng.normal(0, 0.05, (k, n)), 3)  # rounded: ties and exact half-hundredths
    effects[rng.random((k, n)) < 0.2] = 0.0
    assert format_reasons(frame, columns, effects) == _reasons_one_by_one(frame, columns, effects)
