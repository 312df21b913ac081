"""The candidate lead scorers: each a scikit-learn estimator (preprocessing + classifier).

==================  ==========================================================
name                model
==================  ==========================================================
rule_scorecard      points from the BANT/engagement YAML, logistic to probability
learned_scorecard   quantile bins + L2 logistic regression (a points table)
logistic            quantile splines, one-hot/target encoding, L2 logistic
hist_gb             histogram gradient boosting, native categories, early stopping
blend               the average of the logistic and hist_gb probabilities
random_forest       random forest on ordinal-coded categories
==================  ==========================================================

A blend of a smooth additive model and a boosted one is often better than either:
each corrects where the other is worst (thresholds and interactions for the first,
smooth trends and small data for the second). :func:`~forecasting.leads.compare.compare_models`
scores it from its members' fold fits (no extra fits).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CANDIDATES", "BLENDS", "make_candidate", "candidate_models"]

CANDIDATES = ("rule_scorecard", "learned_scorecard", "logistic", "hist_gb", "blend", "random_forest")
# Blend -> the candidates whose probabilities it averages (soft voting).
BLENDS = {"blend": ("logistic", "hist_gb")}


def make_candidate(name: str, types: dict | None = None, *, seed: int = 0, rules=None):
    """Build one unfitted candidate by name.

    Parameters
    ----------
    name : str
        One of :data:`CANDIDATES`.
    types : dict, optional
        Feature types (from :func:`~forecasting.leads.features.screen_features`);
        inferred at fit time if None.
    seed : int
        ``random_state`` of every random step.
    rules : dict or path, optional
        Rules of ``rule_scorecard`` (default: the packaged demo YAML).

    Returns
    -------
    estimator
        ``fit(X, y)`` / ``predict_proba(X)`` on a leads DataFrame.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from .features import LeadFeatures
    from .scorecard import RuleScorecard, learned_scorecard

    if name == "rule_scorecard":
        return RuleScorecard(rules)
    if name in BLENDS:
        from sklearn.ensemble import VotingClassifier

        return VotingClassifier([(m, make_candidate(m, types, seed=seed, rules=rules)) for m in BLENDS[name]],
                                voting="soft")
    if name == "learned_scorecard":
        return learned_scorecard(types, random_state=seed)
    if name == "logistic":
        return Pipeline([
            ("features", LeadFeatures(types, style="linear", random_state=seed)),
            ("model", LogisticRegression(C=0.5, max_iter=3000)),
        ])
    if name == "hist_gb":
        return Pipeline([
            ("features", LeadFeatures(types, style="tree", categories="category", random_state=seed)),
            ("model", HistGradientBoostingClassifier(
                learning_rate=0.1, max_iter=300, max_leaf_nodes=15, min_samples_leaf=40,
                l2_regularization=1.0, early_stopping=True, validation_fraction=0.15,
                n_iter_no_change=20, categorical_features="from_dtype", random_state=seed)),
        ])
    if name == "random_forest":
        return Pipeline([
            ("features", LeadFeatures(types, style="tree", categories="ordinal", random_state=seed)),
            ("model", RandomForestClassifier(
                n_estimators=100, max_samples=0.5, min_samples_leaf=25, max_features=0.4, n_jobs=1,
                random_state=seed)),
        ])
    raise ValueError(f"unknown candidate {name!r}; choose from {', '.join(CANDIDATES)}")


def candidate_models(types: dict | None = None, *, names: Iterable[str] | None = None, seed: int = 0,
                     rules=None) -> dict:
    """Unfitted candidates by name (all of :data:`CANDIDATES` unless ``names`` is given)."""
    return {name: make_candidate(name, types, seed=seed, rules=rules) for name in (names or CANDIDATES)}
