"""From scores to decisions: grades A-D, who to call, and why a lead scores as it does.

- :func:`grade_cuts` / :func:`assign_grades`: score cut points chosen on training
  scores (A = top 10 %, B = next 20 %, C = next 30 %, D = the rest by default)
  and stored in the model card, so grades mean the same thing on every batch.
- :func:`choose_threshold`: the score above which sales calls a lead, from the
  team's capacity (leads it can work per week) or from expected value (call when
  ``p * deal_value > call_cost``).
- :func:`reason_codes`: the top features pushing each lead's score up or down,
  model-agnostic: the score change when one feature is set to its reference
  value (median or most common level), as ``"seniority=vp +0.12"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

__all__ = ["GRADES", "grade_cuts", "assign_grades", "Threshold", "choose_threshold",
           "reference_values", "reason_codes"]

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
    """

    threshold: float
    rule: str
    share_called: float
    detail: str

    def to_dict(self) -> dict:
        return asdict(self)


def choose_threshold(scores, *, capacity_per_week: float | None = None,
                     leads_per_week: float | None = None, deal_value: float | None = None,
                     call_cost: float | None = None) -> Threshold:
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

    Examples
    --------
    >>> choose_threshold(np.linspace(0, 1, 101), capacity_per_week=20, leads_per_week=100).threshold
    0.8
    >>> choose_threshold([0.1, 0.3], deal_value=1000, call_cost=50).threshold
    0.05
    """
    scores = np.asarray(scores, dtype=float)
    if capacity_per_week is not None:
        if not leads_per_week or leads_per_week <= 0:
            raise ValueError("a capacity rule needs leads_per_week > 0")
        share = min(1.0, capacity_per_week / leads_per_week)
        threshold = float(np.quantile(scores, 1 - share, method="higher")) if share < 1 else float(scores.min())
        detail = f"team works {capacity_per_week:g} of {leads_per_week:g} leads a week"
        rule = "capacity"
    elif deal_value is not None and call_cost is not None:
        if deal_value <= 0:
            raise ValueError("deal_value must be positive")
        threshold = float(call_cost / deal_value)
        detail = f"call when p x {deal_value:g} > {call_cost:g}"
        rule = "expected_value"
    else:
        raise ValueError("give capacity_per_week and leads_per_week, or deal_value and call_cost")
    return Threshold(threshold, rule, float(np.mean(scores >= threshold)), detail)


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


def reason_codes(predict, frame: pd.DataFrame, reference: Mapping, *, top: int = 3,
                 min_effect: float = 0.005) -> list[str]:
    """Top features pushing each lead's score up or down, as ``"col=value +0.12"``.

    Each feature's effect is ``score(lead) - score(lead with that feature at its
    reference value)``; the ``top`` largest in size (at least ``min_effect``) are
    listed, ``;``-separated. One batched prediction per feature keeps it fast.

    Parameters
    ----------
    predict : callable
        ``predict(frame) -> scores``.
    frame : DataFrame
        Leads to explain (feature columns).
    reference : mapping
        Feature -> reference value (:func:`reference_values`).
    """
    base = np.asarray(predict(frame), dtype=float)
    columns = [c for c in reference if c in frame.columns]
    if not columns or len(frame) == 0:
        return [""] * len(frame)
    # All counterfactual copies in one frame: one predict call for every feature.
    copies = []
    for column in columns:
        changed = frame.copy()
        changed[column] = pd.Series([reference[column]] * len(frame), index=frame.index,
                                    dtype=object if not isinstance(reference[column], float) else float)
        copies.append(changed)
    other = np.asarray(predict(pd.concat(copies, ignore_index=True)), dtype=float)
    effects = base[None, :] - other.reshape(len(columns), len(frame))
    order = np.argsort(-np.abs(effects), axis=0, kind="stable")[:top]
    out = []
    for i in range(len(frame)):
        parts = []
        for j in order[:, i]:
            effect = effects[j, i]
            if abs(effect) >= min_effect:
                parts.append(f"{columns[j]}={_label(frame[columns[j]].iloc[i])} {effect:+.2f}")
        out.append(";".join(parts))
    return out
