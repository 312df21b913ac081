"""Calibration of lead scores: sigmoid (Platt) or isotonic, chosen by cross-validation.

A score is only a probability if, among leads scored 0.3, three in ten convert.
:func:`crossfit_calibrate` calibrates out-of-fold scores with maps learned on the
*other* folds; :func:`choose_calibration` picks ``none``, ``sigmoid`` or
``isotonic`` by the cross-fitted log loss. :class:`Calibrated` wraps any
classifier so that ``fit`` does the same on internal out-of-fold scores and
refits the classifier on all rows.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..metrics.classification import log_loss

__all__ = ["METHODS", "fit_calibrator", "apply_calibrator", "crossfit_calibrate",
           "choose_calibration", "Calibrated"]

METHODS = ("none", "sigmoid", "isotonic")
_EPS = 1e-6


def _logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p / (1 - p)).reshape(-1, 1)


def fit_calibrator(raw, y, method: str):
    """Fit a map from raw scores to probabilities (None for ``method="none"``)."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    if method == "none":
        return None
    y = np.asarray(y, dtype=int)
    if method == "sigmoid":
        return LogisticRegression(C=1e6, max_iter=1000).fit(_logit(raw), y)
    if method == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
            np.asarray(raw, dtype=float), y)
    raise ValueError(f"calibration method must be one of {METHODS}, got {method!r}")


def apply_calibrator(calibrator, raw) -> np.ndarray:
    """Probabilities from raw scores with a map from :func:`fit_calibrator`."""
    raw = np.asarray(raw, dtype=float)
    if calibrator is None:
        return raw
    if hasattr(calibrator, "predict_proba"):
        return calibrator.predict_proba(_logit(raw))[:, 1]
    return calibrator.predict(raw)


def crossfit_calibrate(raw, y, folds, method: str) -> np.ndarray:
    """Calibrate each fold's scores with a map fitted on the other folds' scores.

    Parameters
    ----------
    raw : array-like
        Out-of-fold scores.
    y : array-like
        Labels.
    folds : array-like
        Fold number of each row.
    method : {"none", "sigmoid", "isotonic"}
    """
    raw, y, folds = (np.asarray(a) for a in (raw, y, folds))
    if method == "none":
        return raw.astype(float)
    out = np.empty(len(raw))
    for fold in np.unique(folds):
        test = folds == fold
        if test.all() or len(np.unique(y[~test])) < 2:
            out[test] = raw[test]
            continue
        out[test] = apply_calibrator(fit_calibrator(raw[~test], y[~test], method), raw[test])
    return out


def choose_calibration(raw, y, folds, methods=METHODS) -> tuple[str, np.ndarray]:
    """The calibration method with the lowest cross-fitted log loss, and its scores."""
    best = None
    for method in methods:
        scores = crossfit_calibrate(raw, y, folds, method)
        loss = log_loss(y, scores)
        if best is None or loss < best[0] - 1e-9:
            best = (loss, method, scores)
    return best[1], best[2]


class Calibrated(ClassifierMixin, BaseEstimator):
    """A classifier whose probabilities are calibrated on its own out-of-fold scores.

    ``fit`` computes out-of-fold scores with ``cv`` stratified folds, picks the
    calibration (``method="auto"``: the lowest cross-fitted log loss among none,
    sigmoid and isotonic), fits the map on all out-of-fold scores, and refits the
    classifier on every row. Unlike an ensemble of fold models, the saved model is
    one classifier plus a one-dimensional map.

    Parameters
    ----------
    estimator : classifier
    method : {"auto", "none", "sigmoid", "isotonic"}
    cv : int
        Folds for the out-of-fold scores.
    random_state : int
        Seed of the fold split.

    Attributes
    ----------
    estimator_ : fitted classifier
    calibrator_ : fitted map or None
    method_ : str
        The method used.
    oof_ : ndarray
        Calibrated out-of-fold scores of the training rows (honest scores for
        choosing grade cut points and thresholds).
    """

    def __init__(self, estimator, method="auto", cv=5, random_state=0):
        self.estimator = estimator
        self.method = method
        self.cv = cv
        self.random_state = random_state

    def fit(self, X, y):
        from sklearn.model_selection import StratifiedKFold

        y = np.asarray(y, dtype=int)
        folds = np.empty(len(y), dtype=int)
        raw = np.empty(len(y))
        splitter = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
        for k, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y)):
            model = clone(self.estimator).fit(_rows(X, train), y[train])
            raw[test] = model.predict_proba(_rows(X, test))[:, 1]
            folds[test] = k
        methods = METHODS if self.method == "auto" else (self.method,)
        self.method_, self.oof_ = choose_calibration(raw, y, folds, methods)
        self.calibrator_ = fit_calibrator(raw, y, self.method_)
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        p = apply_calibrator(self.calibrator_, self.estimator_.predict_proba(X)[:, 1])
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def _rows(X, index):
    return X.iloc[index] if hasattr(X, "iloc") else X[index]
