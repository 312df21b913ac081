"""Lead features as model inputs: the :class:`LeadFeatures` scikit-learn transformer.

It turns typed columns (:mod:`forecasting.leads.types`, screened by
:mod:`forecasting.leads.screening`) into model inputs, in one of three styles:
``linear`` (imputation, quantile-spline bases, rare levels grouped, one-hot or
target encoding, small categories times numbers), ``bins`` (quantile bins and
levels one-hot: a scorecard's points table) and ``tree`` (raw numbers with missing
values, categories as pandas categoricals or ordinal codes).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

# Typing and screening live in their own modules; their names stay importable from here.
from .screening import FeatureSet, screen_features, single_feature_auc
from .types import (FEATURE_TYPES, MISSING, NEVER_FEATURES, OTHER, _derived_kinds, _objects, _positions,
                    _sources, coerce, infer_types, reference_column, split_names)

__all__ = [
    "LeadFeatures",
    "add_response_time",
    # re-exported from .types and .screening
    "NEVER_FEATURES", "FEATURE_TYPES", "infer_types", "coerce", "split_names", "reference_column",
    "screen_features", "single_feature_auc", "FeatureSet",
]

# Interactions (``linear`` style) need data: at least this many leads of the rarer class per
# interaction column (the events-per-variable rule), else the model stays additive ...
_INTERACTION_EVENTS = 20
# ... and their columns are halved, so the L2 penalty shrinks them 4x harder than main effects.
_INTERACTION_SCALE = 0.5

# --------------------------------------------------------------------------- transformer


class LeadFeatures(TransformerMixin, BaseEstimator):
    """Turn typed lead columns into model inputs (a scikit-learn transformer).

    Columns that are empty or constant in the training data are dropped inside
    ``fit`` (so a cross-validation fold where a column is all missing still fits).

    Parameters
    ----------
    types : dict, optional
        Column -> type as from :func:`infer_types`; inferred in ``fit`` if None.
    style : {"linear", "bins", "tree"}
        ``linear``: numbers imputed (median, plus a missing indicator), mapped to
        quantiles and expanded in a cubic spline basis; booleans 0/1; categories
        one-hot, or target-encoded above ``max_onehot`` levels; plus, for
        every category with at most ``interaction_levels`` levels, each level
        times each spline-coded number's centred quantile (an additive model
        cannot say "seniority matters differently in small and large firms").
        Interactions are added only when the training data has at least 20
        leads of the rarer class per interaction column, and are shrunk more
        than main effects.
        ``bins``: numbers cut into ``n_bins`` quantile bins plus a missing bin,
        everything one-hot (a points scorecard).
        ``tree``: numbers as they are (missing stays NaN), categories as pandas
        categoricals (``categories="category"``) or codes ordered by conversion
        rate (``categories="ordinal"``).
    n_knots : int
        Spline knots (``linear``).
    n_bins : int
        Quantile bins (``bins``).
    min_frequency : int
        Levels seen fewer times in training are grouped as ``"(other)"``.
    max_onehot : int
        Above this many levels a category is target-encoded (``linear``).
    interaction_levels : int
        Categories with at most this many levels interact with the numbers
        (``linear``; 0: no interactions). Wider categories would add too many
        columns for the data to pin down.
    max_levels : int
        Most levels kept per category (``tree``; gradient boosting allows 255).
    categories : {"category", "ordinal"}
        Category representation for ``tree``.
    random_state : int
        Seed of the target encoder's cross-fitting.
    """

    def __init__(self, types=None, style="linear", n_knots=5, n_bins=5, min_frequency=20,
                 max_onehot=30, interaction_levels=8, max_levels=250, categories="category", random_state=0):
        self.types = types
        self.style = style
        self.n_knots = n_knots
        self.n_bins = n_bins
        self.min_frequency = min_frequency
        self.max_onehot = max_onehot
        self.interaction_levels = interaction_levels
        self.max_levels = max_levels
        self.categories = categories
        self.random_state = random_state

    # -- fit ---------------------------------------------------------------------------
    def fit(self, X, y=None):
        if self.style not in ("linear", "bins", "tree"):
            raise ValueError(f"style must be 'linear', 'bins' or 'tree', got {self.style!r}")
        X = _frame(X)
        types = dict(self.types) if self.types is not None else infer_types(X)[0]
        self.types_ = {c: t for c, t in types.items()}
        data = coerce(X, self.types_)
        kinds = _derived_kinds(self.types_)
        self.dropped_ = [c for c in data.columns if _constant(data[c])]
        self.kinds_ = {c: k for c, k in kinds.items() if c not in self.dropped_}
        if not self.kinds_:
            raise ValueError(f"every feature column is empty or constant in the training data "
                             f"(n_samples={len(X)}); there is nothing to learn from")
        numeric = [c for c, k in self.kinds_.items() if k in ("numeric", "boolean")]
        categorical = [c for c, k in self.kinds_.items() if k == "categorical"]
        self.levels_ = {c: _frequent(data[c], self.min_frequency, self.max_levels) for c in categorical}
        self.medians_ = {c: float(np.nanmedian(data[c])) for c in numeric}
        self.missing_ = [c for c in numeric if data[c].isna().any()]
        y = None if y is None else _target01(y)
        getattr(self, f"_fit_{self.style}")(data, y, numeric, categorical)
        self.n_features_in_ = X.shape[1]
        self.feature_names_out_ = [str(n) for n in self._transform(data.head(2))[1]]
        return self

    def _fit_linear(self, data, y, numeric, categorical):
        from sklearn.preprocessing import OneHotEncoder, QuantileTransformer, SplineTransformer, TargetEncoder

        cont = [c for c in numeric if self.kinds_[c] == "numeric" and data[c].nunique() > 2]
        self.spline_cols_ = cont
        if cont:
            filled = self._impute(data[cont])
            self.quantile_ = QuantileTransformer(n_quantiles=min(200, len(data)), subsample=None,
                                                 random_state=self.random_state).fit(filled)
            self.spline_ = SplineTransformer(n_knots=self.n_knots, degree=3).fit(
                self.quantile_.transform(filled))
            # Each number also enters as itself, scaled and held inside its training range: a
            # spline of quantiles bends where the data thin out, which is where a linear effect of
            # a normal-looking number ranks the rarest leads.
            low, high = np.nanquantile(filled, [0.005, 0.995], axis=0)
            self.range_ = np.vstack([low, np.where(high > low, high, low + 1)])
        self.plain_cols_ = [c for c in numeric if c not in cont]
        grouped = self._group(data, categorical)
        self.onehot_cols_ = [c for c in categorical if len(self.levels_[c]) <= self.max_onehot]
        self.target_cols_ = [c for c in categorical if c not in self.onehot_cols_]
        if self.onehot_cols_:
            self.onehot_ = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(
                grouped[self.onehot_cols_])
        self.interaction_onehot_ = self._interacting(y)
        if self.target_cols_:
            if y is None:
                raise ValueError("target encoding needs y in fit")
            self.target_ = TargetEncoder(target_type="binary", random_state=self.random_state).fit(
                grouped[self.target_cols_], y)

    def _interacting(self, y) -> list[int]:
        """Positions in the one-hot block of the small categories' levels that interact with
        the spline-coded numbers (none if the data is too small to estimate them)."""
        if not (self.onehot_cols_ and self.spline_cols_) or y is None:
            return []
        sizes = [len(c) for c in self.onehot_.categories_]
        starts = np.cumsum([0] + sizes[:-1])
        levels = [int(start + i) for start, size in zip(starts, sizes)
                  if size <= self.interaction_levels for i in range(size)]
        events = min(np.sum(y == 1), np.sum(y == 0))
        return levels if events >= _INTERACTION_EVENTS * len(levels) * len(self.spline_cols_) else []

    def _fit_bins(self, data, y, numeric, categorical):
        from sklearn.preprocessing import OneHotEncoder

        self.edges_ = {}
        for c in numeric:
            if self.kinds_[c] == "numeric" and data[c].nunique() > self.n_bins:
                qs = np.nanquantile(data[c], np.linspace(0, 1, self.n_bins + 1)[1:-1])
                self.edges_[c] = sorted(set(np.round(qs, 6)))
        binned = self._binned(data)
        self.onehot_ = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(binned)

    def _fit_tree(self, data, y, numeric, categorical):
        self.tree_numeric_ = numeric
        self.codes_ = {}
        if self.categories == "ordinal":
            grouped = self._group(data, categorical)
            for c in categorical:
                # Order levels by conversion rate so a tree's threshold splits are meaningful.
                rate = (pd.Series(y).groupby(grouped[c].to_numpy()).mean() if y is not None
                        else pd.Series(dtype=float))
                order = sorted(self.levels_[c] + [OTHER], key=lambda v: (rate.get(v, 0.0), v))
                self.codes_[c] = {v: float(i) for i, v in enumerate(order)}

    # -- helpers -------------------------------------------------------------------------
    def _impute(self, frame: pd.DataFrame) -> np.ndarray:
        return frame.fillna({c: self.medians_[c] for c in frame.columns}).to_numpy(dtype=float)

    def _group(self, data: pd.DataFrame, columns) -> pd.DataFrame:
        out = {}
        for c in columns:
            keep = set(self.levels_[c])
            out[c] = _objects(np.where(pd.Series(data[c]).isin(keep), data[c], OTHER), data.index)
        return pd.DataFrame(out, index=data.index)

    def _binned(self, data: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for c, kind in self.kinds_.items():
            values = data[c]
            if kind == "categorical":
                out[c] = self._group(data, [c])[c]
            elif c in self.edges_:
                labels = _bin_labels(self.edges_[c])
                idx = np.searchsorted(self.edges_[c], values.to_numpy(float), side="right")
                out[c] = _objects(np.where(values.isna(), MISSING, np.asarray(labels, dtype=object)[idx]), data.index)
            else:
                out[c] = _objects(np.where(values.isna(), MISSING, values.map(_fmt).astype(object)), data.index)
        return pd.DataFrame(out, index=data.index)

    # -- transform -----------------------------------------------------------------------
    def transform(self, X):
        check_is_fitted(self, "kinds_")
        return self._transform(coerce(_frame(X), self.types_))[0]

    def _transform(self, data):
        """(model inputs, their names) of coerced data."""
        return getattr(self, f"_transform_{self.style}")(data)

    def _transform_linear(self, data):
        design, names, _, _ = self._linear_design(data)
        return design, names

    def _linear_design(self, data):
        """Model inputs of the ``linear`` style, their names, the input feature each column
        depends on (None for interactions) and the interactions' factors (levels, centred
        quantiles; None without interactions)."""
        parts, names, owners = [], [], []

        def add(values, cols, owner_of):
            parts.append(values)
            names.extend(cols)
            owners.extend(owner_of)

        quantiles = None
        if self.spline_cols_:
            quantiles = self.quantile_.transform(self._impute(data[self.spline_cols_]))
            basis = self.spline_.transform(quantiles)
            per = basis.shape[1] // len(self.spline_cols_)
            add(basis, [f"{c}__spline{i}" for c in self.spline_cols_ for i in range(per)],
                [self._source(c) for c in self.spline_cols_ for _ in range(per)])
            low, high = self.range_
            scaled = (np.clip(self._impute(data[self.spline_cols_]), low, high) - low) / (high - low)
            add(scaled, [f"{c}__linear" for c in self.spline_cols_], map(self._source, self.spline_cols_))
        if self.plain_cols_:
            add(self._impute(data[self.plain_cols_]), self.plain_cols_, map(self._source, self.plain_cols_))
        if self.missing_:
            add(data[self.missing_].isna().to_numpy(dtype=float), [f"{c}__missing" for c in self.missing_],
                map(self._source, self.missing_))
        grouped = self._group(data, self.onehot_cols_ + self.target_cols_)
        factors = None
        if self.onehot_cols_:
            onehot = self._onehot(grouped[self.onehot_cols_])
            onehot_names = list(self.onehot_.get_feature_names_out())
            add(onehot, onehot_names, [self._source(c) for c, levels in
                                       zip(self.onehot_cols_, self.onehot_.categories_) for _ in levels])
            if self.interaction_onehot_:
                levels = onehot[:, self.interaction_onehot_]
                centred = quantiles - 0.5
                add(_INTERACTION_SCALE * (levels[:, :, None] * centred[:, None, :]).reshape(len(data), -1),
                    [f"{onehot_names[i]}:{c}" for i in self.interaction_onehot_ for c in self.spline_cols_],
                    [None] * (len(self.interaction_onehot_) * len(self.spline_cols_)))
                factors = (levels, centred)
        if self.target_cols_:
            add(self.target_.transform(grouped[self.target_cols_]), [f"{c}__target" for c in self.target_cols_],
                map(self._source, self.target_cols_))
        design = np.hstack(parts) if parts else np.zeros((len(data), 0))
        return design, names, owners, factors

    def _onehot(self, frame: pd.DataFrame) -> np.ndarray:
        """``self.onehot_.transform(frame)`` (unseen levels all zero), from category codes: several
        times faster on the millions of rows of batch scoring."""
        out = np.zeros((len(frame), sum(len(levels) for levels in self.onehot_.categories_)))
        rows = np.arange(len(frame))
        start = 0
        for column, levels in zip(frame.columns, self.onehot_.categories_):
            codes = _positions(levels, frame[column])
            known = codes >= 0
            out[rows[known], start + codes[known]] = 1.0
            start += len(levels)
        return out

    def _source(self, column: str) -> str:
        """The input feature a coerced column comes from (``d__days`` -> ``d``)."""
        return _sources(self.types_).get(column, column)

    def _transform_bins(self, data):
        return self._onehot(self._binned(data)), list(self.onehot_.get_feature_names_out())

    def effects(self, X, coef, reference: Mapping):
        """Model inputs and the exact per-feature effects on a linear function of them.

        For a linear model with coefficients ``coef`` on this transformer's output,
        ``effects[:, k]`` is ``coef @ (transform(X) - transform(X with feature k set to
        reference[k]))``: how much the model's log-odds would drop if that one feature
        took its reference value (category x number interactions included). The same
        numbers as one counterfactual prediction per feature, at the cost of one transform.

        Parameters
        ----------
        X : DataFrame
            Leads (feature columns).
        coef : array-like
            One coefficient per output column.
        reference : mapping
            Input feature -> reference value (a median or the most common level).

        Returns
        -------
        design : ndarray
            ``transform(X)``.
        effects : ndarray of shape (n_rows, n_features)
            Columns in the order of ``types_`` (0 for features dropped in ``fit``).
        """
        check_is_fitted(self, "kinds_")
        if self.style not in ("linear", "bins"):
            raise ValueError(f"effects need the linear or bins style, not {self.style!r}")
        features = list(self.types_)
        data = coerce(_frame(X), self.types_)
        ref = coerce(pd.DataFrame({c: reference_column(reference.get(c), 1) for c in features}), self.types_)
        if self.style == "bins":
            design, ref_design = (self._transform_bins(d)[0] for d in (data, ref))
            owners = [self._source(c) for c, levels in zip(self.kinds_, self.onehot_.categories_) for _ in levels]
            factors = ref_factors = None
        else:
            design, _, owners, factors = self._linear_design(data)
            ref_design, _, _, ref_factors = self._linear_design(ref)
        coef = np.asarray(coef, dtype=float).ravel()
        index = {f: k for k, f in enumerate(features)}
        weights = np.zeros((len(coef), len(features)))  # coefficient of each column on its feature
        for j, owner in enumerate(owners):
            if owner is not None:
                weights[j, index[owner]] = coef[j]
        effects = design @ weights - ref_design @ weights
        if factors is not None:
            effects += self._interaction_effects(factors, ref_factors, coef, owners, index)
        return design, effects

    def _interaction_effects(self, factors, ref_factors, coef, owners, index) -> np.ndarray:
        """Drop of the interaction terms when each feature in them takes its reference value.

        The terms are ``sum_k (levels @ W)_k * centred_k``; a feature at its reference
        changes its own level columns (through ``levels @ W``) and its own centred
        quantile columns, so each feature costs a few operations per lead.
        """
        levels, centred = factors
        ref_levels, ref_centred = ref_factors
        columns = [j for j, owner in enumerate(owners) if owner is None]
        weights = _INTERACTION_SCALE * coef[columns].reshape(levels.shape[1], centred.shape[1])
        level_owner = np.array([self._source(self._onehot_column(i)) for i in self.interaction_onehot_])
        number_owner = np.array([self._source(c) for c in self.spline_cols_])
        mixed = levels @ weights  # (n, numbers): each number's slope for the lead's levels
        base = np.einsum("nk,nk->n", mixed, centred)
        out = np.zeros((len(levels), len(index)))
        for feature in set(level_owner) | set(number_owner):
            own_levels, own_numbers = level_owner == feature, number_owner == feature
            other_mixed = mixed - (levels[:, own_levels] - ref_levels[0, own_levels]) @ weights[own_levels]
            other_centred = np.where(own_numbers, ref_centred[0], centred)
            out[:, index[feature]] = base - np.einsum("nk,nk->n", other_mixed, other_centred)
        return out

    def _onehot_column(self, position: int) -> str:
        """The category column of a position in the one-hot block."""
        sizes = np.cumsum([len(levels) for levels in self.onehot_.categories_])
        return self.onehot_cols_[int(np.searchsorted(sizes, position, side="right"))]

    def _transform_tree(self, data):
        out = {c: data[c].to_numpy(dtype=float) for c in self.tree_numeric_}
        categorical = [c for c, k in self.kinds_.items() if k == "categorical"]
        grouped = self._group(data, categorical)
        for c in categorical:
            if self.categories == "ordinal":
                out[c] = grouped[c].map(self.codes_[c]).astype(float).to_numpy()
            else:
                levels = self.levels_[c] + [OTHER]
                out[c] = pd.Categorical(grouped[c], categories=levels)
        frame = pd.DataFrame(out, index=data.index)
        return frame, list(frame.columns)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "feature_names_out_")
        return np.asarray(self.feature_names_out_, dtype=object)


def _target01(y) -> np.ndarray:
    """A binary target as 0.0/1.0, the larger of two labels as 1 ("no"/"yes", 1/2 and 0/1 alike).

    >>> _target01(["yes", "no", "yes"]).tolist(), _target01([2, 1]).tolist(), _target01([1, 1]).tolist()
    ([1.0, 0.0, 1.0], [1.0, 0.0], [1.0, 1.0])
    """
    from sklearn.utils.multiclass import check_classification_targets

    check_classification_targets(y)  # a continuous target is refused, not cut into classes
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    if len(classes) > 2:
        raise ValueError(f"Only binary classification is supported: lead features need a converted/not "
                         f"target; found {len(classes)} classes: {classes[:5].tolist()}")
    if len(classes) == 2:
        return codes.astype(float)
    return np.asarray(y, dtype=float)  # one class (a small fold): 0/1 as given


def _frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    raise TypeError("lead features need a DataFrame with named columns, got " + type(X).__name__)


def _constant(values: pd.Series) -> bool:
    return values.nunique(dropna=True) <= 1 and not (values.isna().any() and values.notna().any())


def _frequent(values: pd.Series, min_frequency: int, max_levels: int) -> list[str]:
    counts = pd.Series(values).value_counts()
    counts = counts[counts >= min_frequency]
    return [str(v) for v in counts.index[:max_levels]]


def _fmt(value) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def _bin_labels(edges) -> list[str]:
    bounds = ["-inf", *(_fmt(e) for e in edges), "inf"]
    return [f"[{lo}, {hi})" for lo, hi in zip(bounds[:-1], bounds[1:])]


def add_response_time(leads: pd.DataFrame, activities: pd.DataFrame,
                      column: str = "response_minutes") -> pd.DataFrame:
    """Add the lead response time (minutes from ``created_at`` to the first activity after it).

    Lead response time is a strong signal (a fast first touch converts better) that
    lives in the activities table, not in the leads table. It is known minutes to
    hours after the lead arrives, so score after the first touch to use it. The
    numbers are :func:`forecasting.metrics.lead_response_times` (the sales KPI): one
    definition, so the feature and the KPI never disagree.

    Parameters
    ----------
    leads : DataFrame
        Canonical leads (``lead_id``, ``created_at``).
    activities : DataFrame
        Canonical activities (``lead_id``, ``occurred_at``); those before the lead
        was created are no response and are ignored.
    column : str
        Name of the new column (missing for leads never touched).

    Returns
    -------
    DataFrame
        A copy of ``leads`` with the new column.

    Examples
    --------
    A lead created at 09:00 and touched at 08:00 (before it existed) and 09:30:

    >>> leads = pd.DataFrame({"lead_id": ["a", "b"],
    ...                       "created_at": pd.to_datetime(["2025-01-01 09:00", "2025-01-01 10:00"])})
    >>> acts = pd.DataFrame({"lead_id": ["a", "a"],
    ...                      "occurred_at": pd.to_datetime(["2025-01-01 08:00", "2025-01-01 09:30"])})
    >>> add_response_time(leads, acts)["response_minutes"].tolist()
    [30.0, nan]
    """
    from ..metrics import lead_response_times

    out = leads.copy()
    out[column] = lead_response_times(leads, activities).to_numpy(dtype=float)
    return out
