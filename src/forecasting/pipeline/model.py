"""Learned close probability: will an open deal be won within the forecast window?

Time-aware by construction: the training rows are snapshots of the open
pipeline taken *before* the as-of date, each labelled with whether the deal was
won within a window placed like the forecast window (same length, same offset
from the snapshot, ending at a month start as the forecast window ends at a
period boundary), and only windows that ended by the as-of date are used.
Features are what the CRM showed at the snapshot: stage, days in stage, deal
age, log amount, days to the expected close date (and past the window's end),
where the window ends relative to a quarter end, close-date pushes, the
owner's win rate over deals closed before the snapshot, and the segment.

``features="risk"`` adds the deal-risk signals of :func:`~forecasting.pipeline.risk.deal_signals`
(:data:`RISK_FEATURES`), each computed at the snapshot from rows stamped before it: an
opt-in set, because the backtest (benchmarks/risk_features.py) did not show them improving
the forecast (benchmarks/README.md, 2026-12-07).

The model is a strongly regularized gradient boosting: the same deal appears in
many monthly snapshots, so a few thousand rows hold a few hundred independent
outcomes; a looser model is over-confident out of sample (measured on the demo:
deals predicted at 0.15 were won 20 % of the time).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ._context import PipelineData
from .risk import deal_signals
from .snapshot import DAY

__all__ = ["FEATURES", "RISK_FEATURES", "FEATURE_SETS", "CATEGORICAL", "CloseProbabilityModel", "deal_features",
           "feature_columns", "training_frame"]

CATEGORICAL = ("segment",)  # deal attributes; "unknown" where the table has none
FEATURES = (
    "stage_rank", "default_probability", "days_in_stage", "age_days", "log_amount",
    "days_to_close", "days_past_window", "window_end_phase", "pushes", "owner_win_rate", *CATEGORICAL,
)
# Risk signals as of the snapshot (forecasting.pipeline.risk). "Close date in the past" is
# not one more column: it is ``days_to_close < 0``, a split the trees already have.
RISK_FEATURES = ("pushed_days", "amount_changes", "amount_log_ratio", "regressions", "stage_time_ratio",
                 "days_since_activity")
FEATURE_SETS = {
    "base": FEATURES,
    "risk": (*[c for c in FEATURES if c not in CATEGORICAL], *RISK_FEATURES, *CATEGORICAL),
}  # categorical columns last: the model's matrix puts them there


def window_end_phase(window_end: pd.Timestamp) -> float:
    """Signed days from the nearest quarter boundary to ``window_end`` (-2: two days before one).

    Near 0 for windows ending on a quarter boundary: deals rushed into the last days of a
    quarter fall inside such windows, so the model needs to know the alignment.

    Examples
    --------
    >>> window_end_phase(pd.Timestamp("2025-12-30")), window_end_phase(pd.Timestamp("2025-05-03"))
    (-2.0, 32.0)
    """
    before = pd.Period(window_end, freq="Q").start_time
    after = (pd.Period(window_end, freq="Q") + 1).start_time
    ahead, behind = (window_end - before) / DAY, (window_end - after) / DAY
    return float(ahead if abs(ahead) <= abs(behind) else behind)


def feature_columns(features: str) -> tuple[str, ...]:
    """The columns of a feature set: ``"base"`` (:data:`FEATURES`) or ``"risk"`` (plus :data:`RISK_FEATURES`).

    Examples
    --------
    >>> feature_columns("risk")[-3:]
    ('stage_time_ratio', 'days_since_activity', 'segment')
    """
    if features not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {features!r}; expected one of {', '.join(FEATURE_SETS)}")
    return FEATURE_SETS[features]


def deal_features(deals: pd.DataFrame, data: PipelineData, cutoff, window_end, *, features: str = "base",
                  activities: pd.DataFrame | None = None) -> pd.DataFrame:
    """Model features of a snapshot's deals (see :data:`FEATURES`).

    Parameters
    ----------
    deals : DataFrame
        A snapshot (:func:`~forecasting.pipeline.snapshot`) taken at ``cutoff``.
    data : PipelineData
    cutoff, window_end : Timestamp
        Snapshot cutoff and the end of the window the label refers to.
    features : {"base", "risk"}, default "base"
        ``"risk"`` adds :data:`RISK_FEATURES`, known at ``cutoff``
        (:func:`~forecasting.pipeline.risk.deal_signals`).
    activities : DataFrame, optional
        Canonical activities (``opportunity_id``, ``occurred_at``) for ``days_since_activity``;
        without them that feature is missing (NaN), which the model accepts.
    """
    columns = feature_columns(features)
    base = _base_features(deals, data, cutoff, window_end)
    if features == "base":
        return base
    signals = deal_signals(data, cutoff, deals, activities)
    return pd.concat([base, signals[list(RISK_FEATURES)]], axis=1)[list(columns)]


def _base_features(deals: pd.DataFrame, data: PipelineData, cutoff, window_end) -> pd.DataFrame:
    stages = data.stages
    rank = {s: i for i, s in enumerate(stages.open)}
    rates, overall = data.owner_win_rates(cutoff)
    return pd.DataFrame({
        "stage_rank": deals["stage"].map(rank).astype(float).to_numpy(),
        "default_probability": deals["stage"].map(stages.probability).astype(float).to_numpy(),
        "days_in_stage": deals["days_in_stage"].to_numpy(dtype=float),
        "age_days": deals["age_days"].to_numpy(dtype=float),
        "log_amount": np.log1p(deals["amount"].clip(lower=0).to_numpy(dtype=float)),
        "days_to_close": ((deals["close_date"] - cutoff) / DAY).to_numpy(dtype=float),
        "days_past_window": ((deals["close_date"] - window_end) / DAY).to_numpy(dtype=float),
        "window_end_phase": np.full(len(deals), window_end_phase(window_end)),
        "pushes": deals["pushes"].to_numpy(dtype=float),
        "owner_win_rate": deals["owner"].map(rates).fillna(overall).to_numpy(dtype=float),
        **{c: deals[c].astype(str).to_numpy() if c in deals else "unknown" for c in CATEGORICAL},
    }, index=deals.index)


def training_frame(
    data: PipelineData,
    cutoff: pd.Timestamp,
    offset_days: float,
    window_days: float,
    lookback_months: int = 36,
    *,
    features: str = "base",
    activities: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Snapshots before ``cutoff`` labelled with what happened next.

    A snapshot at ``t`` is labelled over the window ``[t + offset, t + offset + window)``
    (the same position as the forecast window relative to its as-of cutoff). The
    windows end at the month starts of the ``lookback_months`` before ``cutoff``, as a
    forecast window ends at a period boundary: deals rushed into the last days of a
    quarter then fall inside the quarter-aligned training windows exactly as they fall
    inside the forecast window (a window ending two days before the quarter end would
    count them as not won). Only windows that ended by ``cutoff`` are used: no label
    looks past the as-of date.

    ``features`` and ``activities`` are those of :func:`deal_features`; every feature of a
    snapshot is computed from rows stamped before the snapshot.

    Returns
    -------
    DataFrame
        Features, ``snapshot_at``, ``opportunity_id``, ``amount``, ``close_date``,
        ``window_start``, ``window_end``, ``won_in_window`` (0/1), ``won_by_cutoff`` (0/1) and
        ``won_amount`` (amount at the win, NaN if not won in the window).
    """
    offset, window = pd.Timedelta(days=offset_days), pd.Timedelta(days=window_days)
    first = cutoff - pd.DateOffset(months=lookback_months)
    starts = pd.date_range(first.normalize(), cutoff, freq="MS") - offset - window
    won = data.closings[data.closings["won"] & (data.closings["closed_at"] < cutoff)]
    won = won.sort_values("closed_at", kind="mergesort")
    frames = []
    for t in starts:
        feats = _labelled_snapshot(data, t, t + offset, t + offset + window, features, activities)
        if feats is None:
            continue
        later = won[won["closed_at"] >= t].drop_duplicates("opportunity_id", keep="first")
        frames.append(feats.assign(won_by_cutoff=feats["opportunity_id"].isin(later["opportunity_id"]).astype(int)))
    if not frames:
        return pd.DataFrame(columns=[*feature_columns(features), "snapshot_at", "window_start", "window_end",
                                     "opportunity_id", "amount", "close_date", "stage", "won_in_window",
                                     "won_by_cutoff", "won_amount"])
    return pd.concat(frames, ignore_index=True)


def _labelled_snapshot(data: PipelineData, t: pd.Timestamp, a: pd.Timestamp, b: pd.Timestamp,
                       features: str = "base", activities: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """Features of the snapshot at ``t`` labelled over ``[a, b)``; cached in ``data`` (None: no open deal).

    Nothing here depends on the as-of cutoff (the window ends by it), so training frames
    of later cutoffs reuse the snapshots of earlier ones: a backtest builds each once.
    """
    key = ("labelled_snapshot", t, a, b)
    if features != "base":
        key = (*key, features, _activities_token(data, activities))
    if key not in data.cache:
        deals = data.open_deals(t)
        if deals.empty:
            data.cache[key] = None
            return None
        won = data.closings[data.closings["won"] & (data.closings["closed_at"] >= a) & (data.closings["closed_at"] < b)]
        in_window = won.sort_values("closed_at", kind="mergesort").drop_duplicates("opportunity_id", keep="first")
        in_window = in_window.set_index("opportunity_id")
        ids = deals["opportunity_id"]
        feats = deal_features(deals, data, t, b, features=features, activities=activities)
        feats["snapshot_at"] = t
        feats["window_start"] = a
        feats["window_end"] = b
        feats["opportunity_id"] = ids.to_numpy()
        feats["amount"] = deals["amount"].to_numpy(dtype=float)
        feats["close_date"] = deals["close_date"].to_numpy()
        feats["stage"] = deals["stage"].to_numpy()
        feats["won_in_window"] = ids.isin(in_window.index).astype(int).to_numpy()
        feats["won_amount"] = ids.map(in_window["amount"]).to_numpy(dtype=float)
        data.cache[key] = feats
    return data.cache[key]


def _activities_token(data: PipelineData, activities: pd.DataFrame | None):
    """A cache key for an activities table; ``data`` keeps the table so its id is not reused."""
    if activities is None:
        return None
    data.cache.setdefault(("activities", id(activities)), activities)
    return id(activities)


class CloseProbabilityModel(ClassifierMixin, BaseEstimator):
    """Gradient-boosted probability that an open deal is won within the window.

    A scikit-learn classifier over the columns of a feature set (a DataFrame); the
    :data:`CATEGORICAL` columns are categorical (values unseen in training count as
    missing). Constructor stores parameters only.

    Parameters
    ----------
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization
        Passed to :class:`~sklearn.ensemble.HistGradientBoostingClassifier`.
    random_state : int, default 0
    features : {"base", "risk"}, default "base"
        :data:`FEATURES`, or those plus :data:`RISK_FEATURES` (:func:`feature_columns`).
    """

    def __init__(self, max_iter=100, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=100,
                 l2_regularization=1.0, random_state=0, features="base"):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state
        self.features = features

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        numeric = X[[c for c in self.feature_columns_ if c not in CATEGORICAL]].astype(float)
        # A column missing in every training row (no activities table, no stage history) is a
        # constant: the trees cannot split on it (and the binning refuses an empty column).
        numeric = numeric.assign(**{c: 0.0 for c in self.empty_columns_}).to_numpy(dtype=float)
        codes = [X[c].astype(str).map({v: i for i, v in enumerate(self.categories_[c])}).fillna(-1)
                 for c in CATEGORICAL]  # unseen values: -1, missing for the estimator
        return np.column_stack([numeric, *[c.to_numpy(dtype=float) for c in codes]])

    def fit(self, X: pd.DataFrame, y, sample_weight=None) -> "CloseProbabilityModel":
        """Fit the gradient boosting on deal features.

        Parameters
        ----------
        X : DataFrame
            The columns of the feature set (others are ignored).
        y : array-like
            Two classes (won in the window or not) of any type; ``classes_[1]`` is "won".
        sample_weight : array-like, optional

        Returns
        -------
        self
        """
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.utils import check_consistent_length
        from sklearn.utils.multiclass import check_classification_targets
        from threadpoolctl import threadpool_limits

        columns = feature_columns(self.features)
        X = _frame(X, columns)
        y = np.ravel(np.asarray(y))
        check_consistent_length(X, y)
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) != 2:
            raise ValueError(f"Only binary classification is supported: need deals both won and not won "
                             f"in the window to learn (two classes); "
                             f"found {len(classes)} class{'es' if len(classes) != 1 else ''}: {classes[:5].tolist()}")
        self.categories_ = {c: tuple(sorted(set(X[c].astype(str)))) for c in CATEGORICAL}
        self.classes_ = classes
        self.feature_columns_ = columns
        self.empty_columns_ = tuple(c for c in columns if c not in CATEGORICAL and X[c].isna().all())
        n = len(columns)
        estimator = HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=min(self.min_samples_leaf, max(5, len(y) // 20)),
            l2_regularization=self.l2_regularization, early_stopping=False,
            categorical_features=[i >= n - len(CATEGORICAL) for i in range(n)], random_state=self.random_state,
        )
        # One thread: a few thousand rows fit in a fraction of a second, while OpenMP threads
        # on a busy machine cost seconds of contention.
        with threadpool_limits(1):
            self.estimator_ = estimator.fit(self._matrix(X), codes, sample_weight=sample_weight)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities of ``classes_`` (column 1: won in the window)."""
        from threadpoolctl import threadpool_limits

        check_is_fitted(self, "estimator_")
        with threadpool_limits(1):
            return self.estimator_.predict_proba(self._matrix(_frame(X, self.feature_columns_)))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The class of ``classes_`` with the higher probability."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True  # gradient boosting treats a missing feature as missing
        return tags


def _frame(X, columns) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        missing = [c for c in columns if c not in X.columns]
        if not missing:
            return X
        raise ValueError("CloseProbabilityModel needs the deal feature columns; missing: " + ", ".join(missing))
    raise TypeError("CloseProbabilityModel needs a DataFrame of deal features (FEATURES), got " + type(X).__name__)
