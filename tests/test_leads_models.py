"""Lead scoring: features and leakage guard, scorecards, calibration, comparison, decisions, drift."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from forecasting.data import DataError
from forecasting.data.validate import DataWarning
from forecasting.leads import (
    assign_grades,
    choose_threshold,
    compare_models,
    grade_cuts,
    grade_table,
    leads_per_week,
    screen_features,
    young_leads,
)
from forecasting.leads.calibration import Calibrated, crossfit_calibrate
from forecasting.leads.candidates import make_candidate
from forecasting.leads.compare import LEADERBOARD_COLUMNS
from forecasting.leads.decisions import feature_effects, format_reasons, reason_codes
from forecasting.leads.drift import DriftCounter, drift_reference, psi
from forecasting.leads.scorecard import RuleScorecard, learned_scorecard, load_rules, points_table
from forecasting.leads.types import infer_types
from forecasting.leads.compare import labelled
from forecasting.leads.decisions import reference_values
from forecasting.leads.types import coerce
from forecasting.metrics.classification import ece, roc_auc


@pytest.fixture(autouse=True)
def _one_thread():
    # OpenMP threads fighting over shared cores make gradient boosting 10x slower.
    with threadpool_limits(1):
        yield


def simulate_leads(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Leads with mixed column types whose true conversion probability is known."""
    rng = np.random.default_rng(seed)
    source = rng.choice(["web", "event", "referral", "outbound"], n, p=[0.4, 0.2, 0.2, 0.2])
    industry = rng.choice([f"ind{i}" for i in range(8)], n)
    seniority = rng.choice(["ic", "manager", "director", "vp"], n)
    size = np.exp(rng.normal(4.5, 1.2, n))
    visits = rng.poisson(3, n)
    budget = rng.random(n) < 0.4
    need = rng.random(n) < 0.5
    eta = (-2.6 + 0.5 * np.log1p(visits) + 0.8 * budget + 0.6 * need
           + pd.Series(seniority).map({"ic": -0.5, "manager": 0, "director": 0.4, "vp": 0.8}).to_numpy()
           + pd.Series(source).map({"web": 0, "event": 0.3, "referral": 0.7, "outbound": -0.4}).to_numpy()
           - 0.2 * (np.log10(size) - 2) ** 2)
    p = 1 / (1 + np.exp(-eta))
    converted = (rng.random(n) < p).astype(int)
    leads = pd.DataFrame({
        "lead_id": [f"L{i:05d}" for i in range(n)],
        "created_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 700, n)), unit="D"),
        "source": source,
        "industry": np.where(rng.random(n) < 0.05, None, industry),
        "seniority": seniority,
        "company_size": np.where(rng.random(n) < 0.1, np.nan, np.round(size)),
        "web_visits": visits,
        "budget": budget,
        "need": need,
        "signup_date": (pd.Timestamp("2023-06-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")),
        "note": [f"Spoke with the team about plan {i % 7}, they will follow up next week maybe" for i in range(n)],
        "plan": "basic",
        "converted": converted,
        "converted_at": pd.NaT,
    })
    return leads, p


# --------------------------------------------------------------------------- features and guard


def test_infer_types_sorts_columns_and_drops_text_ids_and_constants():
    leads, _ = simulate_leads(500)
    leads["crm_id"] = [f"X{i}" for i in range(500)]
    with pytest.warns(DataWarning, match="note"):
        types, dropped = infer_types(leads)
    assert types == {"source": "categorical", "industry": "categorical", "seniority": "categorical",
                     "company_size": "numeric", "web_visits": "numeric", "budget": "boolean",
                     "need": "boolean", "signup_date": "datetime"}
    assert set(dropped) == {"note", "plan", "crm_id"}
    assert "free text" in dropped["note"] and "constant" in dropped["plan"] and "id" in dropped["crm_id"]


def test_leakage_guard_excludes_a_planted_leaky_column_and_include_forces_it():
    leads, _ = simulate_leads()
    rng = np.random.default_rng(1)
    leads["lead_status"] = np.where(leads["converted"] == 1, np.where(rng.random(len(leads)) < 0.97, "Won", "Open"),
                                    np.where(rng.random(len(leads)) < 0.01, "Won", "Open"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        guarded = screen_features(leads)
        forced = screen_features(leads, include=["lead_status"], exclude=["industry"], leaky=["need"])
    assert "lead_status" not in guarded.types and "suspected leakage" in guarded.excluded["lead_status"]
    assert guarded.single_auc["lead_status"] > 0.95
    assert "leakage by definition" in guarded.excluded["converted_at"]
    assert "lead_status" in forced.types
    assert forced.excluded["industry"] == "excluded by the user"
    assert "leaky" in forced.excluded["need"]
    assert max(v for k, v in guarded.single_auc.items() if k != "lead_status") < 0.8


def test_exclude_include_and_leaky_take_comma_separated_names():
    leads, _ = simulate_leads(500)
    leads["lead_status"] = np.where(leads["converted"] == 1, "Won", "Open")
    as_lists = screen_features(leads, exclude=["industry", "budget"], include=["lead_status"], leaky=["need"])
    as_text = screen_features(leads, exclude="industry, budget", include="lead_status", leaky="need")
    assert as_text.types == as_lists.types and as_text.excluded == as_lists.excluded
    assert "lead_status" in as_text.types and {"industry", "budget", "need"} <= set(as_text.excluded)


def test_compare_records_free_text_without_warning():
    leads, _ = simulate_leads(800)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        result = compare_models(leads, models="logistic", cv="stratified", folds=2, n_boot=20)
    assert "free text" in result.features.excluded["note"]


def test_young_leads_are_exactly_the_ones_left_out_of_training():
    leads, _ = simulate_leads(500)
    young = young_leads(leads, 45)
    trained = labelled(leads, min_age_days=45)
    assert len(young) + len(trained) == len(leads) and not set(young["lead_id"]) & set(trained["lead_id"])
    assert (young["created_at"] > leads["created_at"].max() - pd.Timedelta(days=45)).all()
    assert young["created_at"].min() > trained["created_at"].max()


def test_unknown_exclude_column_is_bad_input():
    leads, _ = simulate_leads(300)
    with pytest.raises(DataError, match="nope"):
        screen_features(leads, exclude=["nope"])


@pytest.mark.parametrize("name", ["logistic", "learned_scorecard", "hist_gb", "random_forest"])
def test_candidates_fit_when_a_column_is_empty_in_the_training_fold(name):
    leads, _ = simulate_leads(800)
    leads["company_size"] = np.where(np.arange(800) < 600, np.nan, leads["company_size"])
    types = {"company_size": "numeric", "source": "categorical", "budget": "boolean", "web_visits": "numeric"}
    model = make_candidate(name, types)
    model.fit(leads.iloc[:600], leads["converted"].iloc[:600])  # company_size all missing here
    p = model.predict_proba(leads.iloc[600:])[:, 1]
    assert np.all((p >= 0) & (p <= 1)) and p.std() > 0


def test_candidates_are_clonable_estimators():
    from sklearn.base import clone

    for name in ("logistic", "hist_gb", "rule_scorecard"):
        model = make_candidate(name, {"web_visits": "numeric"}, seed=3)
        assert clone(model).get_params().keys() == model.get_params().keys()


# --------------------------------------------------------------------------- scorecards


def test_rule_scorecard_from_yaml_gives_hand_computed_points(tmp_path):
    (tmp_path / "rules.yaml").write_text(
        "rules:\n"
        "  budget: {levels: {true: 15}}\n"
        "  seniority: {levels: {vp: 20, director: 10}, default: 2}\n"
        "  web_visits: {bins: [[1, 5], [5, 12]], missing: 3}\n")
    X = pd.DataFrame({"budget": [True, False, True, False],
                      "seniority": ["vp", "ic", "director", "vp"],
                      "web_visits": [0, 3, 9, np.nan]})
    card = RuleScorecard(str(tmp_path / "rules.yaml")).fit(X, [1, 0, 1, 0])
    # 15+20+0, 0+2+5, 15+10+12, 0+20+3(missing)
    assert card.points(X).tolist() == [35.0, 7.0, 37.0, 23.0]
    p = card.predict_proba(X)[:, 1]
    assert np.all(np.diff(p[np.argsort(card.points(X))]) >= 0)  # more points, higher probability


def test_default_rules_are_packaged_for_the_demo_columns():
    rules = load_rules()
    assert {"budget", "authority", "need", "timeline", "seniority", "web_visits"} <= set(rules)


def test_learned_scorecard_points_add_up_to_its_log_odds():
    leads, _ = simulate_leads(2000)
    types = {"seniority": "categorical", "web_visits": "numeric", "budget": "boolean"}
    model = learned_scorecard(types).fit(leads, leads["converted"])
    table = points_table(model, pdo=20, base_points=600, base_odds=1.0)
    factor = 20 / np.log(2)
    lead = leads.iloc[[0]]
    binned = model.named_steps["features"]._binned(coerce(lead, types)).iloc[0]
    total = table.loc[table["feature"] == "(base)", "points"].iloc[0] + sum(
        table.loc[(table["feature"] == f) & (table["bin"] == str(binned[f])), "points"].iloc[0] for f in types)
    logit = model.decision_function(lead)[0]
    assert total == pytest.approx(600 + factor * logit, abs=len(types) + 1)  # rounding of each row


def _without_rule_columns(leads: pd.DataFrame) -> pd.DataFrame:
    """The simulated leads renamed so that no column of the default BANT rules is left."""
    return leads.rename(columns={c: f"crm_{c}" for c in load_rules() if c in leads.columns})


def test_default_rule_scorecard_is_skipped_with_one_sentence_on_other_columns():
    leads = _without_rule_columns(simulate_leads(800)[0])
    result = compare_models(leads, models="rule_scorecard,logistic", cv="stratified", folds=2, n_boot=20)
    assert result.leaderboard["model"].tolist() == ["logistic"]
    sentence = result.skipped["rule_scorecard"]
    assert sentence.startswith("rule_scorecard skipped: the default BANT rules use budget, authority")
    assert sentence.count(".") == 0 and "rules" in sentence  # one sentence, saying how to fix it
    with pytest.raises(DataError, match="rule_scorecard skipped"):
        compare_models(leads, models="rule_scorecard", cv="stratified", folds=2, n_boot=20)
    with pytest.raises(DataError, match="learned_scorecard"):  # training it alone: exit 2, not a crash
        RuleScorecard().fit(leads[["crm_budget", "source"]], leads["converted"])


def test_default_rule_scorecard_still_competes_on_the_demo_columns():
    leads, _ = simulate_leads(800)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # authority, timeline... are not simulated
        result = compare_models(leads, models="rule_scorecard,logistic", cv="stratified", folds=2, n_boot=20)
    assert set(result.leaderboard["model"]) == {"rule_scorecard", "logistic"} and result.skipped == {}


def test_stratified_compare_and_train_need_no_created_at(tmp_path, capsys):
    from forecasting.cli import main

    source = tmp_path / "no_dates.csv"
    simulate_leads(600, seed=2)[0].drop(columns=["created_at", "note"]).to_csv(source, index=False)
    compare = ["leads", "compare", str(source), "--folds", "2", "--models", "logistic", "--n-boot", "20"]
    assert main([*compare, "--cv", "stratified", "--out", str(tmp_path / "cmp")]) == 0
    assert (tmp_path / "cmp" / "leaderboard.csv").exists()
    assert main(["leads", "train", str(source), "--model", "logistic", "--out", str(tmp_path / "model")]) == 0
    capsys.readouterr()
    # Forward chaining, --min-age-days and --capacity do need it: exit 2 naming the column and the way out.
    assert main([*compare, "--out", str(tmp_path / "time")]) == 2
    assert "leads.created_at: is needed for time-aware CV (or use --cv stratified)" in capsys.readouterr().err
    assert main([*compare, "--cv", "stratified", "--min-age-days", "30", "--out", str(tmp_path / "age")]) == 2
    assert "leads.created_at: is needed to leave out young leads (--min-age-days)" in capsys.readouterr().err
    assert main(["leads", "train", str(source), "--model", "logistic", "--capacity", "10",
                 "--out", str(tmp_path / "capacity")]) == 2
    assert "--leads-per-week" in capsys.readouterr().err
    assert not (tmp_path / "time").exists() and not (tmp_path / "capacity").exists()


def test_leaky_columns_named_in_the_frame_attrs_are_excluded():
    leads, _ = simulate_leads(500)
    leads["lead_status"] = np.where(leads["converted"] == 1, "Won", "Open")
    leads.attrs["leaky"] = ("need", "not_a_column")  # as the public-dataset adapters set it
    features = screen_features(labelled(leads), include=["lead_status"])
    assert "need" not in features.types and "leaky" in features.excluded["need"]
    assert "not_a_column" not in features.excluded


# --------------------------------------------------------------------------- calibration


def test_sigmoid_calibration_never_reverses_the_ranking():
    from forecasting.leads.calibration import apply_calibrator, fit_calibrator

    rng = np.random.default_rng(7)
    raw = rng.random(4000)
    y = (rng.random(4000) < 0.4 - 0.3 * raw).astype(int)  # these scores rank backwards
    calibrated = apply_calibrator(fit_calibrator(raw, y, "sigmoid"), raw)
    # Slope held at >= 0: the best map is flat, the base rate (reversed, the ROC AUC would be ~0.67).
    assert np.allclose(calibrated, y.mean())
    crossfit = crossfit_calibrate(raw, y, np.arange(4000) % 4, "sigmoid")
    assert roc_auc(y, crossfit) <= 0.52


def test_calibration_repairs_a_deliberately_miscalibrated_score():
    rng = np.random.default_rng(5)
    p = rng.beta(2, 6, 20_000)
    y = (rng.random(20_000) < p).astype(int)
    raw = p ** 0.4  # overconfident: ranks right, probabilities far too high
    folds = np.arange(20_000) % 5
    assert ece(y, raw) > 0.2
    for method in ("sigmoid", "isotonic"):
        fixed = crossfit_calibrate(raw, y, folds, method)
        assert ece(y, fixed) < 0.02
        assert roc_auc(y, fixed) == pytest.approx(roc_auc(y, raw), abs=0.005)


def test_calibrated_wrapper_improves_naive_bayes_on_held_out_leads():
    from sklearn.naive_bayes import GaussianNB

    rng = np.random.default_rng(2)
    X = rng.normal(size=(6000, 4))
    X[:, 1] = X[:, 0] + 0.1 * rng.normal(size=6000)  # correlated copies fool naive Bayes
    X[:, 2] = X[:, 0] + 0.1 * rng.normal(size=6000)
    y = (rng.random(6000) < 1 / (1 + np.exp(-(X[:, 0] - 1)))).astype(int)
    raw = GaussianNB().fit(X[:4000], y[:4000]).predict_proba(X[4000:])[:, 1]
    model = Calibrated(GaussianNB(), method="auto", cv=5, random_state=0).fit(X[:4000], y[:4000])
    fixed = model.predict_proba(X[4000:])[:, 1]
    assert model.method_ in ("sigmoid", "isotonic")
    assert ece(y[4000:], fixed) < ece(y[4000:], raw) / 2


# --------------------------------------------------------------------------- comparison


def test_compare_writes_the_contract_leaderboard_best_first_and_is_deterministic():
    leads, p_true = simulate_leads(2500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        runs = [compare_models(leads, models="logistic,hist_gb,learned_scorecard", folds=3, seed=4, n_boot=100)
                for _ in range(2)]
    board = runs[0].leaderboard
    assert list(board.columns[:len(LEADERBOARD_COLUMNS)]) == list(LEADERBOARD_COLUMNS)
    assert board["roc_auc"].is_monotonic_decreasing
    assert (board["roc_auc_lo"] <= board["roc_auc"]).all() and (board["roc_auc"] <= board["roc_auc_hi"]).all()
    stable = [c for c in board.columns if not c.endswith("seconds")]
    pd.testing.assert_frame_equal(board[stable], runs[1].leaderboard[stable])
    # time-aware: 3 test folds of 1/4 each; every test lead is newer than every training lead of its fold
    oof = runs[0].scores()
    assert len(oof) == 3 * 625 and sorted(oof["fold"].unique()) == [0, 1, 2]
    first_test = oof.loc[oof["fold"] == 0, "created_at"].min()
    assert (leads["created_at"] < first_test).sum() >= 600
    # the best model's AUC is close to the AUC of the truth on the same rows
    truth = pd.Series(p_true, index=leads["lead_id"]).reindex(oof["lead_id"]).to_numpy()
    assert roc_auc(oof["y"], oof["score"]) > roc_auc(oof["y"], truth) - 0.04


def test_compare_figures_are_titled_and_labelled(tmp_path):
    leads, _ = simulate_leads(1200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        result = compare_models(leads, models=["logistic"], cv="stratified", folds=3, n_boot=50)
    figures = result.figures()
    assert set(figures) == {"roc", "precision_recall", "reliability", "gain"}
    for fig in figures.values():
        ax = fig.axes[0]
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    written = result.save(tmp_path)
    assert (tmp_path / "roc.png").stat().st_size > 1000 and "leaderboard" in written


def test_compare_refuses_a_label_with_one_class():
    leads, _ = simulate_leads(300)
    leads["converted"] = 0
    with pytest.raises(DataError, match="one class"):
        compare_models(leads, models=["logistic"], folds=2)


# --------------------------------------------------------------------------- decisions


def test_grades_follow_training_cut_points():
    scores = np.arange(1000) / 1000
    cuts = grade_cuts(scores, (0.1, 0.2, 0.3))
    assert cuts == [0.9, 0.7, 0.4]
    grades = assign_grades(scores, cuts)
    assert [int((grades == g).sum()) for g in "ABCD"] == [100, 200, 300, 400]


def test_threshold_from_capacity_and_from_expected_value():
    scores = np.arange(1000) / 1000
    by_capacity = choose_threshold(scores, capacity_per_week=50, leads_per_week=200)  # call the top 25 %
    assert by_capacity.threshold == pytest.approx(0.75) and by_capacity.share_called == pytest.approx(0.25)
    by_value = choose_threshold(scores, deal_value=20_000, call_cost=1_000)  # p * 20000 > 1000 <=> p >= 0.05
    assert by_value.threshold == pytest.approx(0.05) and by_value.rule == "expected_value"
    with pytest.raises(ValueError):
        choose_threshold(scores)


def test_threshold_reports_the_share_of_conversions_the_calls_find():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 1])
    # The team works 3 of 10 leads a week: calls the top 3, which hold 2 of the 4 conversions.
    rule = choose_threshold(scores, capacity_per_week=3, leads_per_week=10, y=y)
    assert rule.threshold == 0.7 and rule.share_called == 0.3 and rule.captured == 0.5
    assert rule.to_dict()["captured"] == 0.5
    assert choose_threshold(scores, deal_value=10, call_cost=4, y=y).captured == 0.75  # p >= 0.4: 3 of 4
    assert choose_threshold(scores, capacity_per_week=3, leads_per_week=10).captured is None


def test_leads_per_week_uses_the_recent_window():
    # 2 leads a day for a year, then 10 a day for the last 13 weeks: the flow the team sees now is 70.
    days = pd.date_range("2025-01-01", periods=365 + 91, freq="D")
    created = np.concatenate([days[:365].repeat(2), days[365:].repeat(10)])
    leads = pd.DataFrame({"created_at": created})
    assert leads_per_week(leads) == pytest.approx(70.0)
    assert leads_per_week(leads, weeks=52) == pytest.approx((91 * 10 + 273 * 2) / 52)
    assert leads_per_week(leads.head(14)) == pytest.approx(14.0)  # a week of data: the window shrinks
    assert leads_per_week(leads, as_of="2025-06-30") == pytest.approx(14.0)


def test_grade_table_counts_leads_and_conversions_per_grade():
    scores = np.arange(100) / 100  # A: >= 0.9, B: >= 0.7, C: >= 0.4 (the default 10/20/30 %)
    y = (np.arange(100) % 4 == 0).astype(int)
    table = grade_table(scores, y)
    assert list(table.index) == ["A", "B", "C", "D"]
    assert table["leads"].tolist() == [10, 20, 30, 40] and table["share"].tolist() == [0.1, 0.2, 0.3, 0.4]
    assert table["conversions"].tolist() == [2, 5, 8, 10]  # multiples of 4 in 90-99, 70-89, 40-69, 0-39
    assert table.loc["A", "conversion_rate"] == 0.2 and table.loc["A", "mean_score"] == pytest.approx(0.945)
    empty = grade_table([0.1, 0.2], cuts=[0.9, 0.8, 0.7])
    assert empty["leads"].tolist() == [0, 0, 0, 2] and "conversion_rate" not in empty


def test_linear_reason_codes_equal_one_prediction_per_feature():
    """The coefficient shortcut gives the counterfactual effects exactly, interactions included."""
    leads, _ = simulate_leads(6000, seed=2)
    types = {c: t for c, t in screen_features(leads).types.items()}
    X, y = leads[list(types)], leads["converted"]
    for name in ("logistic", "learned_scorecard"):
        model = Calibrated(make_candidate(name, types), method="sigmoid", cv=2).fit(X, y)
        if name == "logistic":
            assert model.estimator_.named_steps["features"].interaction_onehot_  # interactions in play
        lead = X.iloc[:400]
        reference = reference_values(X, types)
        scores, columns, fast = feature_effects(model, lead, reference)
        predict = lambda f: model.predict_proba(f)[:, 1]  # noqa: E731
        base = predict(lead)
        slow = np.stack([base - predict(lead.assign(**{c: [reference[c]] * len(lead)})) for c in columns])
        np.testing.assert_allclose(scores, base, rtol=1e-12)
        np.testing.assert_allclose(fast, slow, atol=1e-10)
        assert format_reasons(lead, columns, fast) == reason_codes(predict, lead, reference)


def test_reason_codes_name_the_feature_that_moves_the_score():
    frame = pd.DataFrame({"seniority": ["vp", "ic", "manager"], "visits": [1.0, 1.0, 9.0]})
    reference = {"seniority": "manager", "visits": 1.0}

    def predict(f):  # a known scorer: vp +0.12, ic -0.05, each visit +0.01
        bonus = f["seniority"].map({"vp": 0.12, "ic": -0.05, "manager": 0.0}).to_numpy()
        return 0.2 + bonus + 0.01 * (f["visits"].to_numpy(dtype=float) - 1)

    reasons = reason_codes(predict, frame, reference, top=2)
    assert reasons == ["seniority=vp +0.12", "seniority=ic -0.05", "visits=9 +0.08"]


# --------------------------------------------------------------------------- drift


def test_psi_is_zero_for_the_training_data_and_large_for_a_shifted_batch():
    leads, p = simulate_leads(3000)
    types = {"company_size": "numeric", "source": "categorical", "budget": "boolean"}
    reference = drift_reference(leads, types, p)
    same = DriftCounter(reference, types)
    same.update(leads.iloc[:1500], p[:1500])
    same.update(leads.iloc[1500:], p[1500:])
    assert same.table()["psi"].max() == pytest.approx(0.0, abs=1e-6)
    shifted = leads.assign(company_size=leads["company_size"] * 20, source="event")
    moved = DriftCounter(reference, types)
    moved.update(shifted, p)
    table = moved.table().set_index("feature")
    assert table.loc["company_size", "psi"] > 0.25 and table.loc["company_size", "band"] == "shifted"
    assert table.loc["source", "psi"] > 0.25
    assert table.loc["budget", "band"] == "stable"
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
