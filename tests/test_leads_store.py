"""Lead scoring: model store safety, chunked batch scoring, the CLI, and the demo acceptance check."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from leads_fixtures import train_quietly
from test_leads_models import simulate_leads

from forecasting.cli import main
from forecasting.data import DataError
from forecasting.leads import ModelError, load_model, score_source


pytestmark = pytest.mark.usefixtures("quiet_one_thread")


@pytest.fixture(scope="module")
def leads():
    return simulate_leads(2000, seed=11)[0]


@pytest.fixture(scope="module")
def saved(leads, tmp_path_factory):
    model = train_quietly(leads, "hist_gb", n_boot=50)
    path = tmp_path_factory.mktemp("models") / "hist_gb"
    model.save(path)
    return model, path


# --------------------------------------------------------------------------- store


def test_round_trip_gives_identical_scores_and_a_complete_card(leads, saved):
    model, path = saved
    loaded = load_model(path)
    before, after = model.score(leads.head(300)), loaded.score(leads.head(300))
    pd.testing.assert_frame_equal(before, after)
    card = json.loads((path / "card.json").read_text())
    for key in ("features", "dtypes", "target", "excluded", "training", "cv_metrics", "threshold",
                "grades", "versions", "created_at", "schema_version", "drift_reference"):
        assert key in card
    assert len(card["training"]["fingerprint"]) == 64
    assert card["cv_metrics"]["roc_auc_lo"] <= card["cv_metrics"]["roc_auc"] <= card["cv_metrics"]["roc_auc_hi"]
    assert sorted(p.name for p in path.iterdir()) == ["card.json", "model.skops"]


def _copy(path, tmp_path):
    import shutil

    target = tmp_path / "copy"
    shutil.copytree(path, target)
    return target


def test_loading_refuses_a_folder_with_a_pickle(saved, tmp_path):
    folder = _copy(saved[1], tmp_path)
    (folder / "model.pkl").write_bytes(b"\x80\x04N.")
    with pytest.raises(ModelError, match="pickle"):
        load_model(folder)


def test_loading_refuses_another_card_schema_version(saved, tmp_path):
    folder = _copy(saved[1], tmp_path)
    card = json.loads((folder / "card.json").read_text())
    (folder / "card.json").write_text(json.dumps({**card, "schema_version": 99}))
    with pytest.raises(ModelError, match="schema version 99"):
        load_model(folder)


def test_loading_refuses_an_artifact_with_untrusted_types(saved, tmp_path):
    import os

    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    folder = _copy(saved[1], tmp_path)
    sio.dump(FunctionTransformer(func=os.getcwd), folder / "model.skops")
    with pytest.raises(ModelError, match="untrusted types: .*getcwd"):
        load_model(folder)


def test_fingerprint_changes_with_the_data(leads):
    from forecasting.leads.model import fingerprint

    changed = leads.copy()
    changed.loc[5, "web_visits"] += 1
    assert fingerprint(leads) == fingerprint(leads.copy())
    assert fingerprint(leads) != fingerprint(changed)


# --------------------------------------------------------------------------- batch scoring


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb"])
def test_scoring_in_chunks_equals_scoring_at_once(leads, saved, tmp_path, fmt):
    model, path = saved
    batch = leads.drop(columns=["converted", "converted_at"]).head(900)
    if fmt == "csv":
        source = tmp_path / "leads.csv"
        batch.to_csv(source, index=False)
    elif fmt == "parquet":
        source = tmp_path / "leads.parquet"
        batch.to_parquet(source, index=False)
    else:
        source = tmp_path / "crm.duckdb"
        with duckdb.connect(str(source)) as con:
            con.register("frame", batch)
            con.execute("CREATE TABLE leads AS SELECT * FROM frame")
    result = score_source(path, str(source), tmp_path / "scores.csv", chunksize=250)
    chunked = pd.read_csv(tmp_path / "scores.csv", dtype={"lead_id": str}, keep_default_na=False)
    whole = model.score(batch)
    assert result.rows == 900 and list(chunked.columns) == ["lead_id", "score", "grade", "reasons"]
    np.testing.assert_allclose(chunked["score"], whole["score"], rtol=1e-9)
    assert chunked["grade"].tolist() == whole["grade"].tolist()
    assert chunked["reasons"].tolist() == whole["reasons"].tolist()
    drift = pd.read_csv(tmp_path / "scores.drift.csv")
    assert set(drift.columns) == {"feature", "psi", "band", "n"} and "(score)" in set(drift["feature"])


def test_model_drift_is_the_table_batch_scoring_writes(leads, saved, tmp_path):
    model, path = saved
    batch = leads.tail(700)
    source = tmp_path / "batch.csv"
    batch.to_csv(source, index=False)
    score_source(path, str(source), tmp_path / "scores.csv", chunksize=300)
    written = pd.read_csv(tmp_path / "scores.drift.csv").set_index("feature").sort_index()
    table = model.drift(batch).set_index("feature").sort_index()
    np.testing.assert_allclose(table["psi"], written["psi"], atol=1e-6)
    assert (table["n"] == 700).all()
    moved = model.drift(batch.assign(source="event", company_size=batch["company_size"] * 50)).set_index("feature")
    assert moved.loc["source", "band"] == moved.loc["company_size", "band"] == "shifted"
    assert moved.loc["budget", "band"] == "stable"


def test_missing_feature_column_is_bad_input_naming_it(leads, saved, tmp_path):
    source = tmp_path / "leads.csv"
    leads.drop(columns=["seniority"]).to_csv(source, index=False)
    with pytest.raises(DataError, match="seniority"):
        score_source(saved[1], str(source), tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_unseen_categories_and_missing_values_are_scored(leads, saved):
    model, _ = saved
    odd = leads.head(3).copy()
    odd["source"] = ["tradeshow_2031", None, "web"]
    odd["seniority"] = "chief_everything"
    odd["company_size"] = np.nan
    scored = model.score(odd)
    assert scored["score"].between(0, 1).all() and scored["grade"].isin(list("ABCD")).all()


def test_parquet_output(leads, saved, tmp_path):
    source = tmp_path / "leads.csv"
    leads.head(100).to_csv(source, index=False)
    score_source(saved[1], str(source), tmp_path / "scores.parquet", chunksize=30)
    out = pd.read_parquet(tmp_path / "scores.parquet")
    assert len(out) == 100 and out["lead_id"].tolist() == leads["lead_id"].head(100).tolist()


# --------------------------------------------------------------------------- CLI


def test_cli_compare_train_score_end_to_end(leads, tmp_path):
    source = tmp_path / "leads.csv"
    leads.to_csv(source, index=False)
    out = tmp_path / "compare"
    assert main(["leads", "compare", str(source), "--out", str(out), "--folds", "3", "--n-boot", "50",
                 "--models", "logistic,learned_scorecard", "--exclude", "industry"]) == 0
    board = pd.read_csv(out / "leaderboard.csv")
    assert list(board.columns[:11]) == ["model", "roc_auc", "roc_auc_lo", "roc_auc_hi", "pr_auc", "log_loss",
                                        "brier", "ece", "ks", "lift_top10", "fit_seconds"]
    assert {"roc.png", "precision_recall.png", "reliability.png", "gain.png", "run.json"} <= {
        p.name for p in out.iterdir()}
    assert json.loads((out / "run.json").read_text())["status"] == "ok"

    model_dir = tmp_path / "models" / "best"
    assert main(["leads", "train", str(source), "--model", "best", "--leaderboard", str(out),
                 "--out", str(model_dir), "--exclude", "industry", "--capacity", "10"]) == 0
    card = json.loads((model_dir / "card.json").read_text())
    assert card["model"] == board["model"].iloc[0] and "industry" not in card["features"]
    assert card["threshold"]["rule"] == "capacity"

    scores = tmp_path / "scored" / "scores.csv"
    assert main(["leads", "score", str(source), "--model", str(model_dir), "--out", str(scores),
                 "--chunksize", "500"]) == 0
    frame = pd.read_csv(scores)
    assert list(frame.columns) == ["lead_id", "score", "grade", "reasons"] and len(frame) == len(leads)
    assert (scores.parent / "scores.run.json").exists() and (scores.parent / "scores.drift.csv").exists()


def test_cli_exits_2_on_bad_input(leads, saved, tmp_path):
    no_label = tmp_path / "no_label.csv"
    leads.drop(columns=["converted"]).to_csv(no_label, index=False)
    assert main(["leads", "compare", str(no_label), "--out", str(tmp_path / "c"), "--folds", "2"]) == 2
    assert main(["leads", "score", str(no_label), "--model", str(tmp_path / "missing"),
                 "--out", str(tmp_path / "s.csv")]) == 2
    assert main(["leads", "train", str(no_label), "--model", "best", "--out", str(tmp_path / "m")]) == 2
    missing_column = tmp_path / "short.csv"
    leads[["lead_id", "created_at", "source"]].to_csv(missing_column, index=False)
    assert main(["leads", "score", str(missing_column), "--model", str(saved[1]),
                 "--out", str(tmp_path / "s.csv")]) == 2


# --------------------------------------------------------------------------- demo acceptance


def test_demo_best_model_is_close_to_the_truth_and_calibrated():
    """Issue 4's criterion on the demo CRM (24k leads, true probabilities known).

    The ``compare`` default (every candidate, 5 forward-chaining folds on ``created_at``,
    labels older than 45 days) ranks the models by pooled out-of-fold ROC AUC. The best
    one's *test* AUC is measured on the final fold: the newest sixth of the labelled leads,
    scored by the model fitted on all older ones (the split a deployed model faces), and
    compared with the AUC of ``p_true`` on the same rows; calibration error on the same rows.
    The pooled gap is larger (0.009 here, 0.011-0.013 on seeds 1-5) because the first folds
    train on 3-7k leads: in the first one even a logistic regression with the generator's
    exact functional form is ~0.008 short, against 0.001-0.006 in the final one.
    ``response_minutes`` (a lead column) carries the response-time term of the truth.
    """
    from forecasting.data.demo import make_demo
    from forecasting.leads import compare_models
    from forecasting.metrics.classification import ece, roc_auc

    demo = make_demo(seed=0)
    # n_boot only sizes the intervals and p-values; the ranking and the scores do not depend on it.
    result = compare_models(demo["leads"], cv="time", folds=5, seed=0, n_boot=20, min_age_days=45)
    assert "lead_status" in result.features.excluded  # the leaky CRM status is caught by the guard
    assert "response_minutes" in result.features.types  # the response time is an ordinary lead column
    rows = result.scores()
    p_true = demo["lead_truth"].set_index("lead_id")["p_true"].reindex(rows["lead_id"]).to_numpy()
    last = (rows["fold"] == 4).to_numpy()
    assert rows.loc[last, "created_at"].min() >= rows.loc[~last, "created_at"].max()
    assert 5 * last.sum() == len(rows)  # five equal test blocks: the final one is the newest sixth
    y, score = rows["y"].to_numpy(), rows["score"].to_numpy()
    test_gap = roc_auc(y[last], p_true[last]) - roc_auc(y[last], score[last])
    # Measured 0.0030 (seed 0; 0.003-0.009 on seeds 0-5; 0.010-0.012 without the category x
    # number interactions of the linear features, 0.016 without the response time either).
    assert test_gap <= 0.01
    assert ece(y[last], score[last]) <= 0.02
    # The pooled out-of-fold view stays in sight too (0.0090 measured; 0.0125 without interactions).
    assert roc_auc(y, p_true) - roc_auc(y, score) < 0.015
    assert ece(y, score) <= 0.02


def test_score_without_lead_id_is_refused_not_numbered(leads, saved):
    """Ids are never made up: a frame without lead_id gets no scores keyed 0, 1, 2..."""
    model, _ = saved
    with pytest.raises(DataError, match="lead_id"):
        model.score(leads.head(20).drop(columns=["lead_id"]))
