"""Points scorecards: the sales team's BANT/engagement rules, and a learned one.

:class:`RuleScorecard` adds up points from a YAML of rules (the default,
``bant_scorecard.yaml`` beside this module, fits the demo CRM's columns) and maps
the total to a probability with a one-variable logistic fit. :func:`learned_scorecard`
is a logistic regression on binned features whose coefficients
:func:`points_table` turns into points (``pdo`` points double the odds).
"""

from __future__ import annotations

import os
import warnings
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ..data.errors import DataError, problem
from ..data.validate import DataWarning
from .features import LeadFeatures

__all__ = ["RuleScorecard", "load_rules", "learned_scorecard", "points_table", "DEFAULT_RULES"]

DEFAULT_RULES = "bant_scorecard.yaml"


def load_rules(rules: str | os.PathLike | dict | None = None) -> dict[str, dict]:
    """Read scorecard rules: a dict, a YAML path, or None for the packaged demo rules.

    Returns
    -------
    dict
        Column -> rule (``levels`` / ``bins`` / ``missing`` / ``default``), with
        level names as lower-case strings and bins sorted by their lower bound.
    """
    import yaml

    if rules is None:
        text = resources.files("forecasting.leads").joinpath(DEFAULT_RULES).read_text(encoding="utf-8")
        rules = yaml.safe_load(text)
    elif not isinstance(rules, dict):
        with open(rules, encoding="utf-8") as fh:
            rules = yaml.safe_load(fh)
    rules = rules.get("rules", rules)
    out = {}
    for column, rule in rules.items():
        rule = dict(rule or {})
        if ("levels" in rule) == ("bins" in rule):
            raise ValueError(f"scorecard rule for {column!r} needs exactly one of 'levels' or 'bins'")
        parsed: dict[str, Any] = {"missing": float(rule.get("missing", 0)),
                                  "default": float(rule.get("default", 0))}
        if "levels" in rule:
            parsed["levels"] = {str(k).strip().lower(): float(v) for k, v in rule["levels"].items()}
        else:
            parsed["bins"] = sorted([float(lo), float(pts)] for lo, pts in rule["bins"])
        out[str(column)] = parsed
    return out


def _rule_points(values: pd.Series, rule: dict) -> np.ndarray:
    missing = values.isna().to_numpy()
    if "levels" in rule:
        text = values.astype(object).map(lambda v: str(v).strip().lower() if pd.notna(v) else "")
        text = text.replace({"1": "true", "1.0": "true", "0": "false", "0.0": "false"})
        points = text.map(rule["levels"]).astype(float).fillna(rule["default"]).to_numpy()
    else:
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        bounds = np.array([b for b, _ in rule["bins"]])
        table = np.r_[0.0, [p for _, p in rule["bins"]]]
        points = table[np.searchsorted(bounds, np.nan_to_num(x, nan=-np.inf), side="right")]
    return np.where(missing, rule["missing"], points)


class RuleScorecard(ClassifierMixin, BaseEstimator):
    """A points scorecard from rules, calibrated to probabilities on training data.

    Parameters
    ----------
    rules : dict, path or None
        Rules as in ``bant_scorecard.yaml`` (None: that packaged file).

    Attributes
    ----------
    rules_ : dict
        The rules used (columns present in the training data).
    skipped_ : list of str
        Rule columns missing from the training data.
    coef_, intercept_ : float
        ``P(convert) = sigmoid(intercept_ + coef_ * points)``.

    Examples
    --------
    >>> card = RuleScorecard({"budget": {"levels": {True: 10}}, "visits": {"bins": [[1, 5], [5, 9]]}})
    >>> X = pd.DataFrame({"budget": [True, False, True, False], "visits": [0, 2, 7, 1]})
    >>> card.fit(X, [0, 0, 1, 1]).points(X).tolist()
    [10.0, 5.0, 19.0, 5.0]
    """

    def __init__(self, rules=None):
        self.rules = rules

    def fit(self, X, y):
        """Fit the points-to-probability map.

        Parameters
        ----------
        X : DataFrame
            Leads; the rules name its columns.
        y : array-like
            Two classes of any type (0/1, bool, "no"/"yes"); ``classes_[1]`` is the
            converted class.

        Returns
        -------
        self
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.utils import check_consistent_length

        from .calibration import _binary_labels

        X = _frame(X)
        check_consistent_length(X, y)
        rules = load_rules(self.rules)
        rules_ = {c: r for c, r in rules.items() if c in X.columns}
        skipped = [c for c in rules if c not in X.columns]
        if not rules_:
            source = "the default BANT rules" if self.rules is None else "the rules"
            raise DataError(problem("leads", None, f"none of the columns {source} score are in the data ("
                                    + ", ".join(rules) + "); pass rules for your columns, or use "
                                    "learned_scorecard, a points scorecard learned from any columns"))
        if skipped:
            warnings.warn("scorecard rules skipped (columns not in the data): " + ", ".join(skipped),
                          DataWarning, stacklevel=2)
        classes, y01 = _binary_labels(y, type(self).__name__)
        points = _total_points(X, rules_).reshape(-1, 1)
        model = LogisticRegression(C=1e4, max_iter=1000).fit(points / 10.0, y01)
        self.rules_, self.skipped_, self.classes_ = rules_, skipped, classes
        self.coef_ = float(model.coef_[0, 0] / 10.0)
        self.intercept_ = float(model.intercept_[0])
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def points(self, X) -> np.ndarray:
        """Total points of each lead."""
        rules = getattr(self, "rules_", None) or load_rules(self.rules)
        return _total_points(_frame(X), rules)

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of ``classes_`` (column 1: converted) from the points."""
        check_is_fitted(self, "coef_")
        p = 1.0 / (1.0 + np.exp(-(self.intercept_ + self.coef_ * self.points(X))))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """The class of ``classes_`` with the higher probability (the converted one at 0.5)."""
        positive = self.predict_proba(X)[:, 1] >= 0.5
        return self.classes_[positive.astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        # The points come from the rules, not from the data: on data the rules do not describe
        # the accuracy is poor by design (scikit-learn's checks then skip their accuracy bar).
        tags.classifier_tags.poor_score = True
        tags.input_tags.allow_nan = True  # a missing value scores the rule's ``missing`` points
        return tags


def _total_points(X: pd.DataFrame, rules: dict) -> np.ndarray:
    total = np.zeros(len(X))
    for column, rule in rules.items():
        if column in X.columns:
            total += _rule_points(X[column], rule)
    return total


def _frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    raise TypeError("scorecard rules name columns: RuleScorecard needs a DataFrame, got " + type(X).__name__)


def learned_scorecard(types=None, *, n_bins: int = 5, C: float = 0.5, min_frequency: int = 20,
                      random_state: int = 0):
    """A learned points scorecard: quantile-binned features + L2 logistic regression.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``features`` (:class:`LeadFeatures`, style ``bins``) and ``model``;
        :func:`points_table` reads its points.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline([
        ("features", LeadFeatures(types, style="bins", n_bins=n_bins, min_frequency=min_frequency,
                                  random_state=random_state)),
        ("model", LogisticRegression(C=C, max_iter=2000)),
    ])


def points_table(pipeline, *, pdo: float = 20.0, base_points: float = 600.0, base_odds: float = 1.0):
    """Points per feature bin of a fitted :func:`learned_scorecard`.

    ``points = offset + factor * log-odds`` with ``factor = pdo / ln 2``: every
    ``pdo`` points double the odds of conversion, and ``base_points`` means odds of
    ``base_odds``. The intercept's points are the row ``feature = "(base)"``.

    Returns
    -------
    DataFrame
        ``feature, bin, points`` (rounded to integers).
    """
    model = pipeline.named_steps["model"]
    encoder = pipeline.named_steps["features"].onehot_
    pairs = [(str(f), str(level)) for f, levels in zip(encoder.feature_names_in_, encoder.categories_)
             for level in levels]
    factor = pdo / np.log(2)
    offset = base_points - factor * np.log(base_odds)
    rows = [("(base)", "", offset + factor * float(model.intercept_[0]))]
    rows += [(feature, level, factor * coef) for (feature, level), coef in zip(pairs, model.coef_[0])]
    frame = pd.DataFrame(rows, columns=["feature", "bin", "points"])
    frame["points"] = frame["points"].round().astype(int)
    return frame
