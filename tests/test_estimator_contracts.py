"""scikit-learn's estimator contract for every classifier the package exposes.

``check_estimator`` runs scikit-learn's common checks (clone, get/set_params, fit returns
self, ``classes_`` from the labels, ``predict_proba`` columns following ``classes_``,
``NotFittedError`` before fit, pickling, input validation ...). :class:`Calibrated` takes
arrays and runs them as is. The lead candidates, :class:`RuleScorecard` and
:class:`CloseProbabilityModel` read named columns by design, so they run through
:class:`_FrameAdapter`, which validates the check's array and hands the estimator a
DataFrame: the checks then test the estimator's behaviour (labels, fitting, prediction,
state), while the array input checks exercise the adapter's validation.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted, validate_data

from forecasting.data.validate import DataWarning
from forecasting.leads import Calibrated, RuleScorecard
from forecasting.leads.candidates import CANDIDATES, make_candidate
from forecasting.pipeline.model import CATEGORICAL, FEATURES, CloseProbabilityModel

_NUMERIC_DEAL_FEATURES = [c for c in FEATURES if c not in CATEGORICAL]


def _lead_frame(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])


def _deal_frame(X: np.ndarray) -> pd.DataFrame:
    """Deal features filled from the array's columns in turn; one segment."""
    frame = pd.DataFrame({c: X[:, i % X.shape[1]] for i, c in enumerate(_NUMERIC_DEAL_FEATURES)})
    return frame.assign(**{c: "unknown" for c in CATEGORICAL})


_FRAMES = {"leads": _lead_frame, "deals": _deal_frame}


class _FrameAdapter(ClassifierMixin, BaseEstimator):
    """Array in, DataFrame to ``estimator``: runs scikit-learn's checks on DataFrame-only classifiers."""

    def __init__(self, estimator, frame="leads"):
        self.estimator = estimator
        self.frame = frame

    def fit(self, X, y):
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # rule columns absent from narrow checks
            self.estimator_ = clone(self.estimator).fit(_FRAMES[self.frame](X), y)
        self.classes_ = self.estimator_.classes_
        return self

    def _frame_of(self, X):
        check_is_fitted(self)
        return _FRAMES[self.frame](validate_data(self, X, reset=False, ensure_all_finite="allow-nan"))

    def predict_proba(self, X):
        frame = self._frame_of(X)
        return self.estimator_.predict_proba(frame)

    def predict(self, X):
        frame = self._frame_of(X)
        return self.estimator_.predict(frame)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Binary by design (converted or not, won or not). A Pipeline takes its tag from its last
        # step, which could do more; the checks then confirm that multiclass targets are refused.
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.poor_score = get_tags(self.estimator).classifier_tags.poor_score
        tags.input_tags.allow_nan = True  # lead features impute missing values; trees route them
        return tags


# Rules for the adapter's columns x0, x1, x2: more points for larger values, as a sales team writes them.
_RULES = {f"x{i}": {"bins": [[-1.0, 5.0], [0.0, 10.0], [1.0, 15.0], [3.0, 20.0]], "missing": 0.0}
          for i in range(3)}


def _fast(name: str):
    """A candidate with fewer trees so the checks stay fast (the contract does not depend on size)."""
    model = make_candidate(name, seed=0, rules=_RULES)
    if name == "hist_gb":
        model.set_params(model__max_iter=15)
    if name == "random_forest":
        model.set_params(model__n_estimators=15)
    return model


ESTIMATORS = [
    Calibrated(LogisticRegression()),
    Calibrated(LogisticRegression(), cv=3),
    Calibrated(GaussianNB(), method="isotonic", cv=3),
    *[_FrameAdapter(_fast(name)) for name in CANDIDATES],
    _FrameAdapter(CloseProbabilityModel(max_iter=15), frame="deals"),
]

# Checks that cannot pass, by estimator class name, with the reason; everything else must pass.
# None today: RuleScorecard's fixed points are poor on blobs by design and say so with the
# ``poor_score`` tag, which scikit-learn's accuracy check honours.
EXPECTED_FAILED: dict[str, dict[str, str]] = {}


def _expected_failed_checks(estimator):
    inner = getattr(estimator, "estimator", estimator)
    return EXPECTED_FAILED.get(type(inner).__name__, {})


def _without_array_api(mark):
    """scikit-learn's checks minus ``check_array_api_input``: we claim no Array API support, and
    that check only skips (without ``SCIPY_ARRAY_API``), which CI counts as a failure."""
    def name(case):
        check = (case.values if hasattr(case, "values") else case)[1]
        return getattr(check, "func", check).__name__

    cases = [case for case in mark.args[1] if name(case) != "check_array_api_input"]
    return pytest.mark.parametrize(mark.args[0], cases, **mark.kwargs)


@_without_array_api(parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks))
def test_sklearn_estimator_contract(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        check(estimator)


# --------------------------------------------------------------------------- labels with a known answer


def _separable(labels, n=400, seed=0):
    """One feature; the second label exactly when x > 0 (a known answer for predict)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x = x[np.abs(x) > 0.2]  # a margin, so every fold's model separates the classes
    y = np.where(x > 0, labels[1], labels[0])
    return x, y


@pytest.mark.parametrize("labels", [(1, 2), ("no", "yes"), (False, True)])
def test_calibrated_predicts_both_classes_of_any_labels(labels):
    x, y = _separable(labels)
    model = Calibrated(LogisticRegression(), method="sigmoid", cv=3).fit(x.reshape(-1, 1), y)
    assert model.classes_.tolist() == list(labels)
    np.testing.assert_array_equal(model.predict(np.array([[-2.0], [2.0]])), np.array(labels))
    np.testing.assert_array_equal(model.predict(x.reshape(-1, 1)), y)
    # Column 1 is the probability of classes_[1]: the larger label.
    proba = model.predict_proba(np.array([[-2.0], [2.0]]))
    assert proba[0, 1] < 0.05 and proba[1, 1] > 0.95


def test_calibrated_scores_of_labels_1_2_equal_those_of_0_1():
    x, y = _separable((0, 1), seed=3)
    X = x.reshape(-1, 1) + np.random.default_rng(1).normal(scale=0.5, size=(len(x), 1))  # overlap
    plain = Calibrated(LogisticRegression(), cv=3).fit(X, y)
    shifted = Calibrated(LogisticRegression(), cv=3).fit(X, y + 1)
    np.testing.assert_allclose(shifted.predict_proba(X), plain.predict_proba(X))
    np.testing.assert_allclose(shifted.oof_, plain.oof_)


def test_calibrated_refuses_multiclass_and_one_class_naming_the_problem():
    X = np.arange(30.0).reshape(-1, 1)
    with pytest.raises(ValueError, match="Only binary classification.*found 3 classes"):
        Calibrated(LogisticRegression(), cv=3).fit(X, np.arange(30) % 3)
    with pytest.raises(ValueError, match="found 1 class: \\[1.0\\]"):
        Calibrated(LogisticRegression(), cv=3).fit(X, np.ones(30))


@pytest.mark.parametrize("labels", [(1, 2), ("no", "yes")])
def test_rule_scorecard_predicts_both_classes_of_any_labels(labels):
    X = pd.DataFrame({"budget": [True, False] * 20, "visits": [9, 0] * 20})
    y = np.where(X["budget"], labels[1], labels[0])
    card = RuleScorecard({"budget": {"levels": {True: 10}}, "visits": {"bins": [[1, 5], [5, 9]]}}).fit(X, y)
    assert card.classes_.tolist() == list(labels)
    np.testing.assert_array_equal(card.predict(X.iloc[:2]), [labels[1], labels[0]])


@pytest.mark.parametrize("labels", [(0, 1), ("lost", "won")])
def test_close_probability_model_predicts_both_classes_of_any_labels(labels):
    rng = np.random.default_rng(0)
    X = _deal_frame(rng.normal(size=(300, 1)))
    y = np.where(X["stage_rank"] > 0, labels[1], labels[0])
    model = CloseProbabilityModel(min_samples_leaf=10).fit(X, y)
    assert model.classes_.tolist() == list(labels)
    np.testing.assert_array_equal(model.predict(X), y)


def test_close_probability_model_before_fit_raises_not_fitted():
    X = _deal_frame(np.zeros((3, 1)))
    for method in ("predict", "predict_proba"):
        with pytest.raises(NotFittedError):
            getattr(CloseProbabilityModel(), method)(X)


def test_lead_scorers_refuse_arrays_naming_the_dataframe_they_need():
    X = np.zeros((40, 2))
    y = np.arange(40) % 2
    with pytest.raises(TypeError, match="needs a DataFrame"):
        RuleScorecard(_RULES).fit(X, y)
    with pytest.raises(TypeError, match="DataFrame of deal features"):
        CloseProbabilityModel().fit(X, y)


@pytest.mark.parametrize("name", CANDIDATES)
def test_lead_candidates_score_no_yes_labels_as_they_score_0_1(name):
    """The larger label is "converted": "no"/"yes" and 1/2 give the 0/1 probabilities exactly."""
    rng = np.random.default_rng(7)
    n = 800
    X = pd.DataFrame({
        "x0": rng.normal(size=n),
        "x1": rng.normal(size=n),
        "region": rng.choice([f"r{i}" for i in range(40)], n),  # target-encoded (above max_onehot)
        "tier": rng.choice(["gold", "silver", "bronze"], n),
    })
    y = (rng.random(n) < 1 / (1 + np.exp(-(X["x0"] + (X["tier"] == "gold"))))).astype(int).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        base = _fast(name).fit(X, y).predict_proba(X)
        for labels in (("no", "yes"), (1, 2)):
            model = _fast(name).fit(X, np.where(y == 1, labels[1], labels[0]))
            assert model.classes_.tolist() == list(labels)
            np.testing.assert_allclose(model.predict_proba(X), base, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- revenue forecasters
# scikit-learn's common checks take (X, y) arrays; a forecaster takes a series and a horizon, so
# the checks that apply are run by hand: clone, get/set_params, keyword-only parameters,
# NotFittedError, fit returns self and leaves the parameters alone, pickling, and "predict never fits".

from forecasting.revenue.models import MODELS, Ensemble, Forecaster  # noqa: E402

_FORECASTERS = sorted({cls for cls in MODELS.values()}, key=lambda c: c.__name__)
_FAST_ENSEMBLE = {"members": ("naive", "seasonal_naive", "drift")}


def _monthly(n=48, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 100 + t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, n)
    return pd.Series(values, index=pd.period_range("2020-01", periods=n, freq="M"))


def _fast_forecaster(cls):
    return cls(**_FAST_ENSEMBLE) if cls is Ensemble else cls()


@pytest.mark.parametrize("cls", _FORECASTERS, ids=lambda c: c.__name__)
def test_forecasters_clone_and_round_trip_their_parameters(cls):
    model = cls(season_length=4)
    twin = clone(model)
    assert twin is not model and twin.get_params() == model.get_params()
    assert cls().set_params(**model.get_params()).get_params() == model.get_params()
    assert repr(model) == f"{cls.__name__}(season_length=4)"  # sklearn's repr: changed parameters only
    with pytest.raises(TypeError):
        cls(4)  # parameters are keyword-only
    with pytest.raises(NotFittedError):
        model.predict(3)


@pytest.mark.parametrize("cls", _FORECASTERS, ids=lambda c: c.__name__)
def test_forecasters_fit_returns_self_pickles_and_predicts_the_same(cls):
    import pickle

    y = _monthly()
    model = _fast_forecaster(cls)
    params = model.get_params()
    assert model.fit(y) is model and model.get_params() == params
    again = pickle.loads(pickle.dumps(model))
    pd.testing.assert_frame_equal(again.predict(6), model.predict(6))
    pd.testing.assert_frame_equal(clone(model).fit(y).predict(6), model.predict(6))  # deterministic


@pytest.mark.parametrize("members", [("naive", "drift"), ("ets", "arima", "theta")], ids=["fast", "default"])
def test_ensemble_predict_does_no_fitting(members, monkeypatch):
    """All fitting, the conformal backtest windows included, happens in fit: a spy counts fit calls."""
    y = _monthly(60)
    calls = []
    original = Forecaster.fit
    monkeypatch.setattr(Forecaster, "fit", lambda self, y: calls.append(type(self).__name__) or original(self, y))
    model = Ensemble(members=members, horizon=6).fit(y)
    fitted = len(calls)
    assert fitted == 1 + len(members) * (1 + model.n_windows)  # itself, members, members at 3 origins
    first = model.predict(6)
    for h in (1, 3, 6):
        model.predict(h, level=(50, 80, 95))
    assert len(calls) == fitted
    pd.testing.assert_frame_equal(model.predict(6), first)
    assert model.scores_.shape == (model.n_windows, 6)


def test_ensemble_serves_shorter_horizons_from_its_fit_and_refuses_longer_ones():
    y = _monthly(60)
    model = Ensemble(**_FAST_ENSEMBLE, horizon=6).fit(y)
    # The first h steps of each window: what a fit for horizon h at the same origins would score.
    short, long_ = model.predict(3), model.predict(6)
    pd.testing.assert_frame_equal(short[["mean"]], long_[["mean"]].iloc[:3])
    with pytest.raises(ValueError, match="horizon=7"):
        model.predict(7)
    members = Ensemble(**_FAST_ENSEMBLE, horizon=6, intervals="members").fit(y)
    assert members.scores_ is None and len(members.predict(24)) == 24  # no conformal horizon to respect
