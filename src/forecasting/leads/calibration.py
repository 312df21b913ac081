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
from sklearn.utils import indexable
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
        platt = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(raw), y)
        if platt.coef_[0, 0] < 0:
            # A calibration map must not reverse the model's ranking. With the slope held at 0 or
            # above, the best fit to scores that rank backwards is the flat one: the base rate.
            platt.coef_[:] = 0.0
            platt.intercept_[:] = _logit(np.mean(y)).ravel()
        return platt
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
    classes_ : ndarray of shape (2,)
        The labels in sorted order; ``predict_proba`` column 1 is ``classes_[1]``.
    estimator_ : fitted classifier
        Fitted on every row with the labels coded 0/1.
    calibrator_ : fitted map or None
    method_ : str
        The method used.
    oof_ : ndarray
        Calibrated out-of-fold scores of the training rows (honest scores for
        choosing grade cut points and thresholds).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.arange(40.0).reshape(-1, 1)
    >>> y = np.where(X[:, 0] >= 20, "yes", "no")
    >>> model = Calibrated(LogisticRegression(), method="sigmoid", cv=2).fit(X, y)
    >>> model.classes_.tolist(), model.predict([[3.0], [35.0]]).tolist()
    (['no', 'yes'], ['no', 'yes'])
    """

    def __init__(self, estimator, method="auto", cv=5, random_state=0):
        self.estimator = estimator
        self.method = method
        self.cv = cv
        self.random_state = random_state

    def fit(self, X, y):
        """Fit the classifier on out-of-fold rows, choose and fit the calibration, refit on all rows.

        Parameters
        ----------
        X : array-like or DataFrame
            Passed to ``estimator`` as given (lead scorers need a DataFrame).
        y : array-like
            Two classes of any type (0/1, bool, 1/2, "no"/"yes"); the larger in sorted
            order (``classes_[1]``) is the positive class whose probability is calibrated.

        Returns
        -------
        self
        """
        from sklearn.model_selection import StratifiedKFold

        if self.method not in ("auto", *METHODS):
            raise ValueError(f"method must be 'auto' or one of {METHODS}, got {self.method!r}")
        X, y = indexable(X, y)  # rows can be taken by index; DataFrames stay DataFrames
        self.classes_, y01 = _binary_labels(y, type(self).__name__)
        folds = np.empty(len(y01), dtype=int)
        raw = np.empty(len(y01))
        splitter = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
        for k, (train, test) in enumerate(splitter.split(np.zeros(len(y01)), y01)):
            model = clone(self.estimator).fit(_rows(X, train), y01[train])
            raw[test] = model.predict_proba(_rows(X, test))[:, 1]
            folds[test] = k
        methods = METHODS if self.method == "auto" else (self.method,)
        self.method_, self.oof_ = choose_calibration(raw, y01, folds, methods)
        self.calibrator_ = fit_calibrator(raw, y01, self.method_)
        # The inner classifier always sees 0/1, so its column 1 is the positive class.
        self.estimator_ = clone(self.estimator).fit(X, y01)
        return self

    @property
    def n_features_in_(self) -> int:
        """Number of features seen in ``fit`` (the inner classifier's)."""
        return self.estimator_.n_features_in_

    @property
    def feature_names_in_(self) -> np.ndarray:
        """Feature names seen in ``fit`` (when ``X`` had named columns)."""
        return self.estimator_.feature_names_in_

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        # Binary by design: one score, one calibration map.
        tags.classifier_tags.multi_class = False
        inner = get_tags(self.estimator).input_tags
        tags.input_tags.allow_nan, tags.input_tags.sparse = inner.allow_nan, inner.sparse
        return tags

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated probabilities, one column per class of ``classes_``."""
        check_is_fitted(self, "estimator_")
        p = apply_calibrator(self.calibrator_, self.estimator_.predict_proba(X)[:, 1])
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """The class of ``classes_`` with the higher calibrated probability (the positive one at 0.5)."""
        positive = self.predict_proba(X)[:, 1] >= 0.5
        return self.classes_[positive.astype(int)]


def _binary_labels(y, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, y coded 0/1)`` of a two-class target; ``ValueError`` otherwise.

    Examples
    --------
    >>> _binary_labels(["no", "yes", "yes"], "model")
    (array(['no', 'yes'], dtype='<U3'), array([0, 1, 1]))
    """
    from sklearn.utils import column_or_1d
    from sklearn.utils.multiclass import check_classification_targets

    y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) != 2:
        raise ValueError(f"Only binary classification is supported: {owner} needs two classes in y; "
                         f"found {len(classes)} class{'es' if len(classes) != 1 else ''}: {classes[:5].tolist()}")
    return classes, codes.astype(int)


def _rows(X, index):
    from sklearn.utils import _safe_indexing

    return _safe_indexing(X, index)  # rows of a DataFrame, array, sparse matrix or list alike
