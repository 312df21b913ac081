"""From scores to decisions: grades A-D, who to call, and why a lead scores as it does.

- :func:`grade_cuts` / :func:`assign_grades`: score cut points chosen on training
  scores (A = top 10 %, B = next 20 %, C = next 30 %, D = the rest by default)
  and stored in the model card, so grades mean the same thing on every batch.
- :func:`grade_table`: leads, mean score and conversion rate of each grade.
- :func:`choose_threshold`: the score above which sales calls a lead, from the
  team's capacity (leads it can work per week, see :func:`leads_per_week`) or
  from expected value (call when ``p * deal_value > call_cost``).
- :func:`feature_effects` / :func:`format_reasons` (and :func:`reason_codes` for
  any scoring function): the top features pushing each lead's score up or down,
  as ``"seniority=vp +0.12"``: for the linear candidates (and any unknown model) the
  score change when one feature is set to its reference value (median or most common
  level), computed from the coefficients in one pass; for the tree candidates the
  feature's path contribution through the trees (what moved the lead's score away from
  an average lead's), from one traversal of the trees. Both exact, none sampled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

__all__ = ["GRADES", "grade_cuts", "assign_grades", "grade_table", "Threshold", "choose_threshold",
           "leads_per_week", "reference_values", "feature_effects", "format_reasons", "reason_codes"]

GRADES = ("A", "B", "C", "D")


def grade_cuts(scores, shares=(0.1, 0.2, 0.3)) -> list[float]:
    """Score cut points so that grades A, B, C hold ``shares`` of the leads (D the rest).

    Examples
    --------
    >>> grade_cuts(np.arange(100) / 100)
    [0.9, 0.7, 0.4]
    """
    shares = np.asarray(shares, dtype=float)
    if np.any(shares <= 0) or shares.sum() >= 1:
        raise ValueError(f"grade shares must be positive and sum below 1, got {shares.tolist()}")
    quantiles = 1 - np.cumsum(shares)
    return [float(q) for q in np.quantile(np.asarray(scores, dtype=float), quantiles, method="higher")]


def assign_grades(scores, cuts) -> np.ndarray:
    """Grade of each score: ``A`` if score >= cuts[0], ``B`` if >= cuts[1], ...

    Examples
    --------
    >>> assign_grades([0.95, 0.7, 0.5, 0.1], [0.9, 0.7, 0.4]).tolist()
    ['A', 'B', 'C', 'D']
    """
    scores = np.asarray(scores, dtype=float)
    index = np.searchsorted(-np.asarray(cuts, dtype=float), -scores, side="left")
    return np.asarray(GRADES, dtype=object)[np.minimum(index, len(GRADES) - 1)]


def grade_table(scores, y=None, cuts=None, shares=(0.1, 0.2, 0.3)) -> pd.DataFrame:
    """How many leads each grade holds and how well they convert.

    Parameters
    ----------
    scores : array-like
        Calibrated scores.
    y : array-like, optional
        Labels (0/1) of the same leads: adds ``conversions`` and ``conversion_rate``.
    cuts : list of float, optional
        Grade cut points (e.g. a model card's ``grades.cuts``); by default
        :func:`grade_cuts` of ``scores`` with ``shares``.

    Returns
    -------
    DataFrame
        Indexed by grade ``A``-``D``: ``leads``, ``share``, ``mean_score`` and, with
        labels, ``conversions`` and ``conversion_rate`` (NaN for an empty grade).

    Examples
    --------
    >>> table = grade_table([0.9, 0.6, 0.5, 0.1, 0.05], [1, 1, 0, 0, 1], cuts=[0.8, 0.55, 0.3])
    >>> table["leads"].tolist(), table["conversion_rate"].tolist()
    ([1, 1, 1, 2], [1.0, 1.0, 0.0, 0.5])
    """
    scores = np.asarray(scores, dtype=float)
    cuts = grade_cuts(scores, shares) if cuts is None else cuts
    frame = pd.DataFrame({"grade": assign_grades(scores, cuts), "score": scores})
    aggregations = {"leads": ("score", "size"), "mean_score": ("score", "mean")}
    if y is not None:
        frame["y"] = np.asarray(y, dtype=float)
        aggregations.update(conversions=("y", "sum"), conversion_rate=("y", "mean"))
    table = frame.groupby("grade").agg(**aggregations).reindex(list(GRADES))
    table.index.name = "grade"
    table["leads"] = table["leads"].fillna(0).astype(int)
    if y is not None:
        table["conversions"] = table["conversions"].fillna(0).astype(int)
    table.insert(1, "share", table["leads"] / max(len(scores), 1))
    return table


@dataclass(frozen=True)
class Threshold:
    """A calling rule: call leads scoring at least ``threshold``.

    Attributes
    ----------
    threshold : float
    rule : str
        ``capacity`` or ``expected_value``.
    share_called : float
        Share of the reference leads at or above the threshold.
    detail : str
        The inputs of the rule, in words.
    captured : float or None
        Share of the reference leads' conversions at or above the threshold (what
        the calls would find), when their labels were given.
    """

    threshold: float
    rule: str
    share_called: float
    detail: str
    captured: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def choose_threshold(scores, *, capacity_per_week: float | None = None,
                     leads_per_week: float | None = None, deal_value: float | None = None,
                     call_cost: float | None = None, y=None) -> Threshold:
    """Choose the score threshold for calling leads.

    Parameters
    ----------
    scores : array-like
        Calibrated scores of representative leads (e.g. out-of-fold training scores).
    capacity_per_week, leads_per_week : float, optional
        The team can work ``capacity_per_week`` of the ``leads_per_week`` arriving:
        the threshold keeps that top share.
    deal_value, call_cost : float, optional
        Value of a won deal and cost of working a lead: call when the expected
        value ``p * deal_value`` exceeds ``call_cost``, i.e. ``p >= cost / value``
        (scores must be calibrated probabilities).
    y : array-like, optional
        Labels of the same leads (e.g. out-of-fold): sets ``captured``, the share
        of their conversions the calls would find.

    Examples
    --------
    >>> choose_threshold(np.linspace(0, 1, 101), capacity_per_week=20, leads_per_week=100).threshold
    0.8
    >>> choose_threshold([0.1, 0.3], deal_value=1000, call_cost=50).threshold
    0.05
    >>> choose_threshold([0.9, 0.6, 0.4, 0.1], capacity_per_week=1, leads_per_week=2, y=[1, 0, 1, 0]).captured
    0.5
    """
    scores = np.asarray(scores, dtype=float)
    if capacity_per_week is not None:
        if not leads_per_week or leads_per_week <= 0:
            raise ValueError("a capacity rule needs leads_per_week > 0")
        share = min(1.0, capacity_per_week / leads_per_week)
        threshold = float(np.quantile(scores, 1 - share, method="higher")) if share < 1 else float(scores.min())
        detail = f"team works {capacity_per_week:.4g} of {leads_per_week:.4g} leads a week"
        rule = "capacity"
    elif deal_value is not None and call_cost is not None:
        if deal_value <= 0:
            raise ValueError("deal_value must be positive")
        threshold = float(call_cost / deal_value)
        detail = f"call when p x {deal_value:g} > {call_cost:g}"
        rule = "expected_value"
    else:
        raise ValueError("give capacity_per_week and leads_per_week, or deal_value and call_cost")
    called = scores >= threshold
    captured = None
    if y is not None and np.sum(y) > 0:
        y = np.asarray(y, dtype=float)
        captured = float(y[called].sum() / y.sum())
    return Threshold(threshold, rule, float(np.mean(called)), detail, captured)


def leads_per_week(leads: pd.DataFrame, *, weeks: float = 13, as_of=None) -> float | None:
    """Leads arriving per week, over the last ``weeks`` weeks before ``as_of``.

    A recent window, not the whole history: lead volume grows and moves with the
    season, and a capacity threshold must match the flow the team sees now.

    Parameters
    ----------
    leads : DataFrame
        Leads with ``created_at`` (all of them: young leads without a final label count too).
    weeks : float
        Length of the window (default 13, a quarter); shortened to the data's span.
    as_of : date-like, optional
        End of the window (default: the newest lead).

    Returns
    -------
    float or None
        None without ``created_at`` or with a window of zero length.

    Examples
    --------
    >>> days = pd.date_range("2025-01-01", periods=200, freq="D")
    >>> leads_per_week(pd.DataFrame({"created_at": days.repeat(3)}))  # three a day
    21.0
    """
    if "created_at" not in leads.columns:
        return None
    created = pd.to_datetime(leads["created_at"]).dropna()
    if created.empty:
        return None
    end = pd.Timestamp(as_of) if as_of is not None else created.max()
    start = max(end - pd.Timedelta(weeks=weeks), created.min() - pd.Timedelta(days=1))
    span = (end - start).total_seconds() / (7 * 86400)
    arrived = int(((created > start) & (created <= end)).sum())
    return float(arrived / span) if span > 0 else None


def reference_values(frame: pd.DataFrame, types: Mapping[str, str]) -> dict:
    """Reference value of each feature: median of numbers, most common level otherwise."""
    ref = {}
    for column, kind in types.items():
        values = frame[column]
        if kind == "numeric":
            ref[column] = float(pd.to_numeric(values, errors="coerce").median())
        elif kind == "datetime":
            ref[column] = str(pd.to_datetime(values, errors="coerce").median())
        else:
            mode = values.dropna().mode()
            value = mode.iloc[0] if len(mode) else None
            ref[column] = value.item() if hasattr(value, "item") else value
    return ref


def _label(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    if isinstance(value, (float, np.floating)):
        return f"{value:g}"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        stamp = pd.Timestamp(value)
        return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.isoformat()
    return str(value)


# Rows per prediction call of the counterfactual reason codes (memory stays bounded).
_BATCH_ROWS = 200_000

# "+0.12" for every effect in hundredths (and "" for none): formatting millions of floats
# one by one is slow, picking them from this list is not.
_HUNDREDTHS = [f"{k / 100:+.2f}" for k in range(-100, 101)] + [""]


def _hundredths(effects: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """Position in :data:`_HUNDREDTHS` of each effect, rounded half away from zero."""
    steps = np.sign(effects) * np.floor(np.abs(effects) * 100 + 0.5)
    return np.where(shown, np.clip(steps, -100, 100) + 100, len(_HUNDREDTHS) - 1).astype(np.int64)


def _explained(estimator, frame: pd.DataFrame, columns, reference) -> tuple[np.ndarray, np.ndarray] | None:
    """``(scores, others)``: ``estimator``'s scores and, per feature of ``columns``, the score
    without that feature's effect (``others``, shape (n_features, n_leads)); None for a model
    whose effects need one prediction per feature.

    Calibrated models pass both through their calibration map; a soft-voting blend averages
    its members'; lead features + logistic regression (``logistic``, ``learned_scorecard``)
    take the counterfactual from the coefficients; lead features + ``hist_gb`` or
    ``random_forest`` take the trees' path contributions
    (:func:`~forecasting.leads.contributions.probability_contributions`).
    """
    from sklearn.ensemble import VotingClassifier

    from .calibration import Calibrated, apply_calibrator

    if isinstance(estimator, Calibrated):
        found = _explained(estimator.estimator_, frame, columns, reference)
        if found is None:
            return None
        scores, others = found
        calibrator = estimator.calibrator_
        return (apply_calibrator(calibrator, scores),
                apply_calibrator(calibrator, others.ravel()).reshape(others.shape))
    if isinstance(estimator, VotingClassifier):
        if estimator.voting != "soft" or len(estimator.classes_) != 2:
            return None
        members = [_explained(member, frame, columns, reference) for member in estimator.estimators_]
        if any(m is None for m in members):
            return None
        weights = (None if estimator.weights is None else
                   [w for w, (_, member) in zip(estimator.weights, estimator.estimators) if member != "drop"])
        # As VotingClassifier.predict_proba averages its members' probabilities.
        return tuple(np.average([m[k] for m in members], axis=0, weights=weights) for k in (0, 1))
    return _pipeline_explained(estimator, frame, columns, reference)


def _pipeline_explained(estimator, frame: pd.DataFrame, columns, reference):
    """:func:`_explained` of lead features + one classifier (a two-step Pipeline)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from .contributions import probability_contributions
    from .features import LeadFeatures

    if not (isinstance(estimator, Pipeline) and len(estimator.steps) == 2
            and isinstance(estimator.steps[0][1], LeadFeatures)):
        return None
    features, model = estimator.steps[0][1], estimator.steps[1][1]
    if features.style in ("linear", "bins"):
        if type(model) is LogisticRegression and len(model.classes_) == 2:
            return _linear_explained(features, model, frame, columns, reference)
        return None
    design = features.transform(frame)
    found = probability_contributions(model, design)
    if found is None:
        return None
    scores, contributions = found
    owners = [features._source(c) for c in design.columns]  # a date's parts are the date's
    effects = np.stack([contributions[[j for j, owner in enumerate(owners) if owner == c]].sum(axis=0)
                        for c in columns]) if columns else np.zeros((0, len(frame)))
    return scores, scores[None, :] - effects


def _linear_explained(features, model, frame: pd.DataFrame, columns, reference):
    """Logistic regression on lead features: the counterfactual log-odds from the coefficients."""
    from scipy.special import expit

    design, drops = features.effects(frame, model.coef_, reference)
    logit = model.decision_function(design)
    position = {f: k for k, f in enumerate(features.types_)}
    drops = np.stack([drops[:, position[c]] if c in position else np.zeros(len(frame)) for c in columns])
    # predict_proba of a two-class LogisticRegression is expit(decision_function): one product, not two.
    return expit(logit), expit(logit[None, :] - drops)


def _counterfactual_effects(predict, frame: pd.DataFrame, columns, reference) -> tuple[np.ndarray, np.ndarray]:
    """Scores and ``score - score with one feature at its reference`` by prediction: any model."""
    from .types import reference_column

    base = np.asarray(predict(frame), dtype=float)
    if not columns or len(frame) == 0:
        return base, np.zeros((len(columns), len(frame)))
    # Counterfactual copies stacked into few predict calls of at most ~_BATCH_ROWS rows.
    per_call = max(1, _BATCH_ROWS // len(frame))
    other = []
    for start in range(0, len(columns), per_call):
        copies = [frame.assign(**{c: reference_column(reference[c], len(frame), frame.index)})
                  for c in columns[start:start + per_call]]
        other.append(np.asarray(predict(pd.concat(copies, ignore_index=True)), dtype=float))
    return base, base[None, :] - np.concatenate(other).reshape(len(columns), len(frame))


def feature_effects(estimator, frame: pd.DataFrame, reference: Mapping) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Scores of leads and how much each feature moves them.

    Two exact definitions, by model:

    - linear candidates (lead features + logistic regression, calibrated or not:
      ``logistic``, ``learned_scorecard``), and any model this function does not know
      (``rule_scorecard``): the effect of feature ``f`` is ``score(lead) - score(lead with
      f at its reference value)``, from the coefficients with a single transform of the
      leads (else one batched prediction per feature);
    - tree candidates (``hist_gb``, ``random_forest``): the feature's path contribution,
      how far the splits on ``f`` along the lead's path through the trees moved its score
      away from the score of an average training lead; the effects of a lead add up to
      ``score(lead) - score(average lead)`` (before calibration; see
      :mod:`~forecasting.leads.contributions`). One traversal of the trees, not one per feature.

    A soft-voting blend (``blend``) averages its members' effects; a calibrated model
    passes them through its calibration map (``cal(score) - cal(score - effect)``).

    Parameters
    ----------
    estimator : fitted classifier
        ``predict_proba`` on a leads DataFrame.
    frame : DataFrame
        Leads to explain (feature columns).
    reference : mapping
        Feature -> reference value (:func:`reference_values`).

    Returns
    -------
    scores : ndarray of shape (n_leads,)
        ``estimator.predict_proba(frame)[:, 1]``.
    columns : list of str
        The features of ``reference`` found in ``frame``.
    effects : ndarray of shape (n_features, n_leads)

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from forecasting.leads.features import LeadFeatures
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"visits": rng.poisson(3, 400).astype(float), "noise": rng.normal(size=400)})
    >>> y = (X["visits"] > 3).astype(int)
    >>> forest = make_pipeline(LeadFeatures(style="tree", categories="ordinal"),
    ...                        RandomForestClassifier(n_estimators=10, random_state=0)).fit(X, y)
    >>> scores, columns, effects = feature_effects(forest, X.head(3), {"visits": 3.0, "noise": 0.0})
    >>> bool(np.allclose(scores - effects.sum(axis=0), scores[0] - effects[:, 0].sum()))
    True
    """
    columns = [c for c in reference if c in frame.columns]
    found = _explained(estimator, frame, columns, reference) if len(frame) else None
    if found is None:
        scores, effects = _counterfactual_effects(lambda f: estimator.predict_proba(f)[:, 1], frame, columns,
                                                  reference)
        return scores, columns, effects
    scores, others = found
    return scores, columns, scores[None, :] - others


def format_reasons(frame: pd.DataFrame, columns, effects, *, top: int = 3, min_effect: float = 0.005) -> list[str]:
    """Reason codes from feature effects: the ``top`` largest (at least ``min_effect``) as
    ``"col=value +0.12"``, ``;``-separated, largest first.

    Parameters
    ----------
    frame : DataFrame
        The leads (their values are shown).
    columns : list of str
        Feature of each row of ``effects``.
    effects : array-like of shape (n_features, n_leads)
        From :func:`feature_effects`.

    Examples
    --------
    >>> frame = pd.DataFrame({"seniority": ["vp", "ic"], "visits": [1.0, 9.0]})
    >>> format_reasons(frame, ["seniority", "visits"], [[0.12, 0.0], [0.001, 0.08]])
    ['seniority=vp +0.12', 'visits=9 +0.08']
    """
    return _reason_texts(frame, columns, effects, top, min_effect).to_pylist()


def _reason_texts(frame: pd.DataFrame, columns, effects, top: int = 3, min_effect: float = 0.005):
    """:func:`format_reasons` as an Arrow string array (no Python string per lead).

    Vectorised over leads: the features of each rank by ``argmax`` (three passes over the
    effects beat a partition or a sort of every lead's row), each feature's shown values
    factorised once for all ranks and labelled once per distinct value; each reason is then
    an index into a short list of ``"col=value "`` texts plus one of the ``"+0.12"`` texts, and
    Arrow joins them.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(frame)
    effects = np.asarray(effects, dtype=float).reshape(len(columns), n)
    if not len(columns) or n == 0:
        return pa.array([""] * n, pa.string())
    rows = np.arange(n)
    size = np.abs(effects)
    picks, shown = [], []
    for _ in range(min(top, len(columns))):
        feature = np.argmax(size, axis=0)  # the first largest: ties in column order
        effect = effects[feature, rows]
        size[feature, rows] = -1.0
        picks.append((feature, effect))
        shown.append(np.abs(effect) >= min_effect)  # a rank is shown only if the ones before are
    labels = _shown_labels(frame, columns, picks, shown)
    steps = pa.array(_HUNDREDTHS, pa.string())
    parts = []
    for rank, ((feature, effect), visible) in enumerate(zip(picks, shown)):
        texts, index = [""], np.zeros(n, dtype=np.int64)
        for k, (codes, names) in labels.items():
            at = visible & (feature == k)
            index[at] = len(texts) + codes[at]
            lead = f"{';' if rank else ''}{columns[k]}="
            texts += [f"{lead}{name} " for name in names]
        parts += [pa.array(texts, pa.string()).take(pa.array(index)), steps.take(pa.array(_hundredths(effect, shown[rank])))]
    return pc.binary_join_element_wise(*parts, "")


def _shown_labels(frame: pd.DataFrame, columns, picks, shown) -> dict:
    """Feature position -> (code of each lead's value, label of each code; the last is
    ``missing``), over the leads where the feature is shown at some rank."""
    shown_features = {}
    for (feature, _), visible in zip(picks, shown):
        for k in np.unique(feature[visible]):
            shown_features.setdefault(int(k), np.zeros(len(frame), dtype=bool))
            shown_features[int(k)] |= visible & (feature == k)
    labels = {}
    for k, where in sorted(shown_features.items()):
        at = np.flatnonzero(where)
        codes, uniques = pd.factorize(frame[columns[k]].array.take(at), use_na_sentinel=True)
        full = np.zeros(len(frame), dtype=np.int64)
        full[at] = np.where(codes < 0, len(uniques), codes)
        labels[k] = (full, [_label(u) for u in uniques.astype(object)] + ["missing"])  # fast iteration
    return labels


def reason_codes(predict, frame: pd.DataFrame, reference: Mapping, *, top: int = 3,
                 min_effect: float = 0.005) -> list[str]:
    """Top features pushing each lead's score up or down, as ``"col=value +0.12"``.

    Each feature's effect is ``score(lead) - score(lead with that feature at its
    reference value)``; the ``top`` largest in size (at least ``min_effect``) are
    listed, ``;``-separated. One batched prediction per feature: works with any
    scoring function (:func:`feature_effects` is faster for a fitted linear model).

    Parameters
    ----------
    predict : callable
        ``predict(frame) -> scores``.
    frame : DataFrame
        Leads to explain (feature columns).
    reference : mapping
        Feature -> reference value (:func:`reference_values`).
    """
    columns = [c for c in reference if c in frame.columns]
    _, effects = _counterfactual_effects(predict, frame, columns, reference)
    return format_reasons(frame, columns, effects, top=top, min_effect=min_effect)
