"""The combined forecast: debiasing recovers a biased rep's actual; correlated sources are weighed as one view;
it beats every single source."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from test_calls_accuracy import PERIODS, call_world

from forecasting.calls import check_calls, hierarchy
from forecasting.calls.accuracy import call_accuracy
from forecasting.calls.combine import COMBINED, DEBIASED, combine, compare_sources, debias_reps
from forecasting.pipeline import PipelineData


def test_a_rep_who_always_calls_80_percent_is_debiased_to_the_actual():
    team = hierarchy(pd.DataFrame({"owner": ["ava", "mia"], "manager": ["mia", None]}))
    periods = [str(p) for p in pd.period_range("2024Q1", "2026Q2", freq="Q")]
    actual = np.linspace(100, 190, len(periods))
    fc = pd.DataFrame({"source": "call", "person": "ava", "period": periods, "week": 3,
                       "forecast": 0.8 * actual, "actual": actual})
    out = debias_reps(fc, team, strength=1.0)
    # A consistent bias (no spread; the pooled prior is its own square) is shrunk by n / (n + 1 / (n + 2))
    # after n past periods: 3/4 of it after one period, then nearly all of it.
    n = np.arange(len(periods))
    expected = 0.8 * actual / 0.8 ** (n / (n + 1 / (n + 2)))
    assert np.allclose(out["forecast"], expected)
    assert abs(out["forecast"].iloc[-1] / actual[-1] - 1) < 0.003


@pytest.fixture(scope="module")
def scored():
    team, calls, opps, hist, _ = call_world(seed=1, noise=0.15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = PipelineData.build(opps, hist)
        h = hierarchy(team)
        acc = call_accuracy(h, check_calls(calls, h), periods=PERIODS, model_method=None, data=data)
    return h, acc


def test_combined_forecast_is_out_of_sample_and_has_a_range(scored):
    h, acc = scored
    out = combine(acc, h)
    assert (out["source"] == COMBINED).all() and set(out["period"]) == set(PERIODS)
    assert (out["p10"] <= out["forecast"]).all() and (out["forecast"] <= out["p90"]).all()
    first = out[out["period"] == PERIODS[0]]
    assert (first["history"] == 0).all()
    # Changing a later period's actual does not change an earlier period's combined forecast.
    later = acc.assign(actual=acc["actual"].where(acc["period"] != PERIODS[-1], acc["actual"] * 3))
    again = combine(later, h)
    early = out["period"] != PERIODS[-1]
    assert np.allclose(again.loc[early, "forecast"], out.loc[early, "forecast"])


def test_combined_beats_the_best_single_source_at_most_weeks_with_biased_reps(scored):
    h, acc = scored
    table = compare_sources(acc, combine(acc, h), h, min_history=2)
    assert {"call", "weighted", DEBIASED, COMBINED} <= set(table.columns)
    assert table["combined_wins"].mean() >= 0.5, table.round(3).to_string()
    mean = table.mean()
    assert mean[COMBINED] < min(mean["call"], mean["weighted"], mean[DEBIASED])
    # The raw call of the total is biased (ava calls 80%, bo 125%): debiased calls do better.
    assert table[DEBIASED].mean() < table["call"].mean()


def _two_views_and_one_other() -> pd.DataFrame:
    """Sources ``a`` and ``a2`` make the same error (one view reported twice); ``b`` an error of the same
    size, uncorrelated with it, over 12 past periods. Actual 100 every period; the 13th is the one forecast."""
    periods = [str(p) for p in pd.period_range("2023Q1", periods=13, freq="Q")]
    shared, other = 0.1 * np.array([1, -1] * 6 + [0]), 0.1 * np.array([1, 1, -1, -1] * 3 + [0])
    frames = [pd.DataFrame({"source": s, "person": "all", "period": periods, "week": 1,
                            "forecast": 100 * np.exp(e), "actual": [100.0] * 12 + [np.nan]})
              for s, e in (("a", shared), ("a2", shared), ("b", other))]
    return pd.concat(frames, ignore_index=True)


def test_a_source_reported_twice_does_not_get_twice_the_say():
    fc = _two_views_and_one_other()
    last = fc["period"].max()
    correlated = combine(fc, diagonal=0.0).set_index("period").loc[last]
    independent = combine(fc, diagonal=1.0).set_index("period").loc[last]
    # Inverse variance (diagonal 1) gives each of the three 1/3; the covariance sees a and a2 as one view
    # (b gets about half; a little less, as the prior counts the sources as independent).
    assert independent["weight_b"] == pytest.approx(1 / 3)
    assert 0.45 < correlated["weight_b"] < 0.5
    assert correlated["weight_a"] + correlated["weight_a2"] == pytest.approx(1 - correlated["weight_b"])


def test_weights_are_non_negative_and_sum_to_one(scored):
    h, acc = scored
    out = combine(acc, h)
    weights = out.filter(like="weight_")
    assert (weights >= 0).all().all()
    assert np.allclose(weights.sum(axis=1), 1.0)
    assert (out["sources"] == (weights > 0).sum(axis=1)).all()


def test_a_bias_that_shrinks_over_the_quarter_is_corrected_week_by_week():
    # The weighted pipeline sees 50% of the actual in week 1, a little more each week, all of it in week 14:
    # pooling the weeks' biases would drag week 14 off the actual; each week keeps its own.
    periods = [str(p) for p in pd.period_range("2023Q1", periods=8, freq="Q")]
    weeks = np.arange(1, 15)
    fc = pd.DataFrame([("weighted", "all", p, w, 100.0 * (0.5 + w / 28), 100.0) for p in periods for w in weeks],
                      columns=["source", "person", "period", "week", "forecast", "actual"])
    out = combine(fc)
    scored = out[out["history"] >= 2]
    assert np.allclose(scored["forecast"], 100.0), scored.groupby("week")["forecast"].mean().round(1).to_dict()


def test_a_source_that_was_always_exact_at_a_week_is_taken_as_it_is():
    # Once the quarter is over the weighted pipeline is the won amount: the combined forecast of that week must
    # be it, not a blend with the calls' (still wrong) view.
    periods = [str(p) for p in pd.period_range("2023Q1", periods=6, freq="Q")]
    rows = []
    for i, p in enumerate(periods):
        actual = 100.0 + 10 * i
        for w in range(1, 15):
            rows.append(("weighted", "all", p, w, actual if w == 14 else actual * (0.6 + w / 40), actual))
            rows.append(("call", "all", p, w, actual * (0.9 + 0.05 * (-1) ** i), actual))
    out = combine(pd.DataFrame(rows, columns=["source", "person", "period", "week", "forecast", "actual"]))
    last = out[(out["week"] == 14) & (out["history"] >= 2)]
    assert len(last) == 4
    assert np.allclose(last["forecast"], last["actual"]) and np.allclose(last["p10"], last["p90"])
    assert (last["weight_weighted"] == 1.0).all()
    early = out[(out["week"] == 3) & (out["history"] >= 2)]
    assert (early["weight_call"] > 0).all()  # elsewhere both sources still count
