"""`leads compare` in parallel and under a time budget: the same numbers, and it says what it skipped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.cli import main
from forecasting.data import DataError
from forecasting.leads import compare_models
from forecasting.metrics.classification import paired_bootstrap, roc_auc

pytestmark = pytest.mark.usefixtures("quiet_one_thread")

MODELS = "logistic,learned_scorecard"


def _stable(board: pd.DataFrame) -> pd.DataFrame:
    return board[[c for c in board.columns if not c.endswith("seconds")]]


def test_parallel_folds_give_the_sequential_leaderboard_and_scores(leads):
    runs = {n: compare_models(leads, models=MODELS, folds=3, n_boot=50, n_jobs=n) for n in (1, 2)}
    pd.testing.assert_frame_equal(_stable(runs[1].leaderboard), _stable(runs[2].leaderboard))
    pd.testing.assert_frame_equal(runs[1].oof, runs[2].oof)
    assert runs[1].skipped == {} and runs[2].skipped == {}


def test_leaderboard_paired_test_is_the_metric_on_the_out_of_fold_scores(leads):
    result = compare_models(leads, models=MODELS, folds=3, n_boot=200, n_jobs=1)
    board = result.leaderboard.set_index("model")
    best, other = result.best, board.index[1]
    assert board.loc[best, "roc_auc_diff_vs_best"] == 0 and board.loc[best, "p_value_vs_best"] == 1
    y, a, b = result.scores(other)["y"], result.scores(other)["score"], result.scores(best)["score"]
    assert board.loc[other, "roc_auc"] == pytest.approx(roc_auc(y, a))
    assert board.loc[other, "roc_auc_diff_vs_best"] == pytest.approx(roc_auc(y, a) - roc_auc(y, b))
    # The rows' order does not change what the bootstrap estimates: same test on unsorted rows.
    unsorted = paired_bootstrap(roc_auc, y, a, b, n_boot=200, seed=0)["p_value"]
    assert abs(board.loc[other, "p_value_vs_best"] - unsorted) < 0.1
    assert board.loc[other, "roc_auc_lo"] < board.loc[other, "roc_auc"] < board.loc[other, "roc_auc_hi"]


def test_a_spent_time_budget_skips_the_later_candidates_and_says_so(leads, monkeypatch):
    import forecasting.leads.compare as compare

    clock = iter(np.arange(0.0, 1000.0, 1.0))  # one second passes each time the clock is read
    monkeypatch.setattr(compare, "_now", lambda: float(next(clock)))
    # Read at the start (deadline 0 + 4.5) and before each of 3 folds per candidate: the first
    # candidate's folds start at 1, 2, 3 s; the second's first fold at 4 s, its second at 5 s > 4.5.
    result = compare_models(leads, models=MODELS, folds=3, n_boot=20, n_jobs=1, time_budget=4.5)
    assert list(result.leaderboard["model"]) == ["logistic"]
    assert "learned_scorecard" in result.skipped
    assert "time budget of 4.5 s ran out after 1 of 3 folds" in result.skipped["learned_scorecard"]
    with pytest.raises(DataError, match="ran out before any candidate was cross-validated"):
        compare_models(leads, models=MODELS, folds=3, n_boot=20, n_jobs=1, time_budget=0.5)


def test_time_budget_cli_reports_the_skipped_candidates(leads, tmp_path, capsys):
    source = tmp_path / "leads.csv"
    leads.to_csv(source, index=False)
    out = tmp_path / "compare"
    args = ["leads", "compare", str(source), "--out", str(out), "--folds", "2", "--n-boot", "20",
            "--models", MODELS, "--jobs", "1"]
    assert main(args + ["--time-budget", "1e-9"]) == 2
    assert "raise --time-budget" in capsys.readouterr().err
    assert main(args + ["--time-budget", "600"]) == 0
    assert set(pd.read_csv(out / "leaderboard.csv")["model"]) == {"logistic", "learned_scorecard"}


@pytest.mark.parametrize("flag, value", [("--time-budget", "0"), ("--time-budget", "soon"), ("--jobs", "0"),
                                         ("--jobs", "two")])
def test_bad_budget_or_jobs_exit_2_naming_the_flag(leads, tmp_path, capsys, flag, value):
    with pytest.raises(SystemExit) as exit_:
        main(["leads", "compare", str(tmp_path / "x.csv"), "--out", str(tmp_path / "c"), flag, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and value in err
    assert not (tmp_path / "c").exists()


def test_blend_from_its_members_folds_equals_fitting_the_blend(leads):
    """compare scores the blend from the logistic and hist_gb fold fits: the same out-of-fold
    probabilities as fitting VotingClassifier(soft) on every fold."""
    from forecasting.leads.candidates import make_candidate

    reused = compare_models(leads, models="logistic,hist_gb,blend", folds=3, n_boot=20, n_jobs=1)
    types = reused.features.types
    direct = compare_models(leads, models={"blend": make_candidate("blend", types)}, folds=3, n_boot=20, n_jobs=1)
    np.testing.assert_allclose(reused.scores("blend")["raw"], direct.scores("blend")["raw"], rtol=0, atol=1e-12)
    members = [reused.scores(m)["raw"].to_numpy() for m in ("logistic", "hist_gb")]
    np.testing.assert_allclose(reused.scores("blend")["raw"], (members[0] + members[1]) / 2, atol=1e-15)


def test_a_trained_blend_saves_loads_and_explains(leads, tmp_path):
    from forecasting.leads import load_model, train_model

    model = train_model(leads, "blend", n_boot=20)
    again = load_model(model.save(tmp_path / "blend"))
    scored = again.score(leads.head(50))
    np.testing.assert_allclose(scored["score"], model.predict(leads.head(50)), rtol=1e-12)
    assert scored["reasons"].str.len().gt(0).all()
