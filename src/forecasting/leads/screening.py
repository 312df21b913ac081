"""The leakage guard: which columns of a labelled leads table become features, and why not the others.

:func:`screen_features` types the columns (:func:`~forecasting.leads.types.infer_types`)
and excludes a column that on its own separates converted from lost leads almost
perfectly (single-feature ROC AUC above ``threshold``), or that the dataset lists as
leaky; ``include`` forces it back, ``exclude`` removes more. The result is a
:class:`FeatureSet` that says why every column left out is left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..metrics.classification import roc_auc
from .types import FEATURE_TYPES, NEVER_FEATURES, _column_kind, _derived_kinds, coerce, infer_types, split_names

__all__ = ["FeatureSet", "screen_features", "single_feature_auc"]

# --------------------------------------------------------------------------- leakage guard


def single_feature_auc(values: pd.Series, kind: str, y: np.ndarray, seed=0) -> float:
    """How well one column alone ranks converted above lost leads (0.5..1, either direction).

    Categories are replaced by their conversion rate computed on the other half of
    the rows (cross-fitted), so a many-levelled column does not look perfect by
    memorising the label. Missing values count as information (a value of their own).
    """
    derived = coerce(pd.DataFrame({"c": values}), {"c": kind})
    best = 0.5
    for name, col in derived.items():
        col_kind = _derived_kinds({"c": kind})[name]
        if col_kind == "categorical":
            x = _crossfit_rates(np.asarray(col, dtype=object), y, seed)
        else:
            x = np.asarray(col, dtype=float)
            finite = x[np.isfinite(x)]
            x = np.where(np.isfinite(x), x, (finite.min() - 1) if finite.size else 0.0)
        auc = roc_auc(y, x)
        if np.isfinite(auc):
            best = max(best, auc, 1 - auc)
    return float(best)


def _crossfit_rates(levels: np.ndarray, y: np.ndarray, seed) -> np.ndarray:
    half = np.random.default_rng(seed).random(len(y)) < 0.5
    prior = y.mean()
    out = np.empty(len(y))
    for fit_part in (half, ~half):
        rates = pd.Series(y[fit_part]).groupby(levels[fit_part]).agg(["sum", "count"])
        smooth = (rates["sum"] + 10 * prior) / (rates["count"] + 10)  # shrink small levels
        out[~fit_part] = pd.Series(levels[~fit_part]).map(smooth).fillna(prior).to_numpy()
    return out


@dataclass
class FeatureSet:
    """The features a scorer uses and why the other columns are not used.

    Attributes
    ----------
    types : dict
        Feature -> type (``numeric``, ``categorical``, ``boolean``, ``datetime``).
    excluded : dict
        Column -> reason (leakage, user exclusion, id-like, constant, free text).
    single_auc : dict
        Column -> single-feature ROC AUC (the leakage guard's measure).
    target : str
    """

    types: dict[str, str]
    excluded: dict[str, str] = field(default_factory=dict)
    single_auc: dict[str, float] = field(default_factory=dict)
    target: str = "converted"

    @property
    def features(self) -> list[str]:
        return list(self.types)

    def report(self) -> pd.DataFrame:
        """One row per column: ``column, type, used, reason, single_auc``."""
        rows = [(c, t, True, "") for c, t in self.types.items()]
        rows += [(c, "", False, r) for c, r in self.excluded.items()]
        frame = pd.DataFrame(rows, columns=["column", "type", "used", "reason"])
        frame["single_auc"] = frame["column"].map(self.single_auc).round(4)
        return frame

    def to_dict(self) -> dict:
        return {"types": dict(self.types), "excluded": dict(self.excluded),
                "single_auc": {k: round(float(v), 4) for k, v in self.single_auc.items()},
                "target": self.target}


def screen_features(
    frame: pd.DataFrame,
    target: str = "converted",
    *,
    exclude: Iterable[str] = (),
    include: Iterable[str] = (),
    leaky: Iterable[str] = (),
    threshold: float = 0.95,
    seed=0,
) -> FeatureSet:
    """Pick the feature columns of a labelled leads table, guarding against leakage.

    Parameters
    ----------
    frame : DataFrame
        Leads with the label column ``target`` (0/1).
    target : str
        Label column.
    exclude : iterable of str or comma-separated str
        Columns the user leaves out.
    include : iterable of str or comma-separated str
        Columns kept even if the guard flags them (leaky by the dataset's list or
        by their single-feature AUC).
    leaky : iterable of str or comma-separated str
        Columns known to be filled in after the outcome; excluded unless in
        ``include``. The names in ``frame.attrs["leaky"]`` (set by the public-dataset
        adapters) are added to them.
    threshold : float
        A column whose single-feature ROC AUC exceeds this is excluded as leakage.
    seed : int
        Seed of the cross-fitting of category rates.

    Returns
    -------
    FeatureSet
        Free text, ids and constants are in ``excluded`` with their reason (no warning).
    """
    from ..data.errors import DataError, problem

    exclude, include, leaky = (set(split_names(names)) for names in (exclude, include, leaky))
    leaky |= set(split_names(frame.attrs.get("leaky"))) & set(frame.columns)
    unknown = sorted((exclude | include) - set(frame.columns))
    if unknown:
        raise DataError([problem("leads", c, "is named in --exclude/--include but is not a column")
                         for c in unknown])
    types, dropped = infer_types(frame, target=target, warn=False)
    excluded = {c: ("leakage by definition (known only after conversion)" if c == "converted_at"
                    else "not a feature (id, date of record or label)")
                for c in NEVER_FEATURES if c in frame.columns and c != target}
    excluded.update(dropped)
    y = frame[target].to_numpy(dtype=float)
    single = {}
    for column in list(types):
        single[column] = single_feature_auc(frame[column], types[column], y, seed)
        reason = None
        if column in exclude:
            reason = "excluded by the user"
        elif column in leaky and column not in include:
            reason = "listed as leaky by the dataset (known only after the outcome)"
        elif single[column] > threshold and column not in include:
            reason = (f"suspected leakage: alone it separates the label (single-feature AUC "
                      f"{single[column]:.3f} > {threshold}); pass --include {column} to keep it")
        if reason:
            excluded[column] = reason
            del types[column]
    for column in include & set(dropped):  # force an id-like/text column back only if it has a usable type
        kind, _ = _column_kind(column, frame[column])
        if kind in FEATURE_TYPES:
            types[column] = kind
            excluded.pop(column, None)
    return FeatureSet(types=types, excluded=excluded, single_auc=single, target=target)
