"""Population stability index (PSI): has the lead mix moved since training?

At training time :func:`drift_reference` stores, per feature and for the score,
the bins (quantile edges or the common levels) and the share of training leads
in each. At scoring time :class:`DriftCounter` counts the new leads in the same
bins chunk by chunk (bounded memory) and :meth:`DriftCounter.table` compares:
``PSI = sum((actual - expected) * ln(actual / expected))``, banded
``stable`` (< 0.1), ``moderate`` (0.1-0.25) and ``shifted`` (> 0.25).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .types import _positions, _text_codes, coerce

__all__ = ["psi", "psi_band", "drift_reference", "DriftCounter", "SCORE"]

SCORE = "(score)"
_EPS = 1e-4
_MAX_LEVELS = 20


def psi(expected, actual) -> float:
    """PSI between two distributions over the same bins (shares or counts).

    Examples
    --------
    >>> psi([0.5, 0.5], [0.5, 0.5])
    0.0
    >>> round(psi([0.5, 0.5], [0.9, 0.1]), 3)
    0.879
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    e = np.clip(e / e.sum(), _EPS, None)
    a = np.clip(a / a.sum(), _EPS, None) if a.sum() > 0 else np.full(len(a), _EPS)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_band(value: float) -> str:
    """``stable`` below 0.1, ``moderate`` up to 0.25, ``shifted`` above."""
    return "stable" if value < 0.1 else ("moderate" if value <= 0.25 else "shifted")


def _numeric_bins(values: np.ndarray, n_bins: int = 10) -> dict:
    finite = values[np.isfinite(values)]
    edges = sorted(set(np.quantile(finite, np.linspace(0, 1, n_bins + 1)[1:-1]).round(10))) if finite.size else []
    return {"kind": "numeric", "edges": [float(e) for e in edges]}


def _assign(spec: dict, values) -> np.ndarray:
    """Bin index of each value; the last bin is "missing" (numbers) or "other" (levels)."""
    if spec["kind"] == "numeric":
        x = np.asarray(values, dtype=float)
        idx = np.searchsorted(spec["edges"], x, side="right")
        return np.where(np.isnan(x), len(spec["edges"]) + 1, idx)
    codes = _positions(spec["levels"], values)
    return np.where(codes < 0, len(spec["levels"]), codes)


def _n_bins(spec: dict) -> int:
    return len(spec["edges"]) + 2 if spec["kind"] == "numeric" else len(spec["levels"]) + 1


def drift_reference(frame: pd.DataFrame, types: Mapping[str, str], scores=None) -> dict:
    """Bins and training shares of each feature (and of ``scores``), JSON-ready for the card."""
    data = coerce(frame, types)
    ref = {}
    for column, kind in types.items():
        name = column if kind != "datetime" else f"{column}__days"
        values = data[name].to_numpy()
        if kind in ("numeric", "datetime"):
            spec = _numeric_bins(values.astype(float))
        elif kind == "boolean":
            spec = {"kind": "numeric", "edges": [0.5]}
        else:
            counts = pd.Series(values).value_counts()
            spec = {"kind": "categorical", "levels": [str(v) for v in counts.index[:_MAX_LEVELS]]}
        counts = np.bincount(_assign(spec, values), minlength=_n_bins(spec))
        ref[column] = {**spec, "expected": (counts / counts.sum()).round(6).tolist()}
    if scores is not None:
        spec = _numeric_bins(np.asarray(scores, dtype=float))
        counts = np.bincount(_assign(spec, scores), minlength=_n_bins(spec))
        ref[SCORE] = {**spec, "expected": (counts / counts.sum()).round(6).tolist()}
    return ref


class DriftCounter:
    """Count scored leads in the training bins, chunk by chunk.

    Parameters
    ----------
    reference : dict
        From :func:`drift_reference` (stored in the model card).
    types : dict
        Feature types (to read chunk columns the way training did).
    """

    def __init__(self, reference: Mapping, types: Mapping[str, str]):
        self.reference = reference
        self.types = dict(types)
        self.counts = {c: np.zeros(_n_bins(spec), dtype=np.int64) for c, spec in reference.items()}

    def update(self, frame: pd.DataFrame, scores=None) -> None:
        """Count a chunk of leads (and their ``scores``, if given) in the training bins."""
        for column, spec in self.reference.items():
            if column == SCORE:
                if scores is None:
                    continue
                bins = _assign(spec, scores)
            else:
                bins = self._bins(frame, column, spec)
            self.counts[column] += np.bincount(bins, minlength=_n_bins(spec))

    def _bins(self, frame: pd.DataFrame, column: str, spec: dict) -> np.ndarray:
        kind = self.types.get(column)
        if spec["kind"] == "categorical" and column in frame.columns:
            # The bin of each distinct text, then of each lead: no per-lead string work.
            codes, texts = _text_codes(frame[column])
            lookup = {level: i for i, level in enumerate(spec["levels"])}
            return np.array([lookup.get(t, len(lookup)) for t in texts])[codes]
        data = coerce(frame, {column: kind})
        return _assign(spec, data[f"{column}__days" if kind == "datetime" else column].to_numpy())

    def table(self) -> pd.DataFrame:
        """``feature, psi, band, n``, most shifted first (the score row is ``(score)``)."""
        rows = []
        for column, spec in self.reference.items():
            counts = self.counts[column]
            if counts.sum() == 0:
                continue
            value = psi(spec["expected"], counts)
            rows.append({"feature": column, "psi": round(value, 6), "band": psi_band(value),
                         "n": int(counts.sum())})
        frame = pd.DataFrame(rows, columns=["feature", "psi", "band", "n"])
        return frame.sort_values("psi", ascending=False, kind="mergesort").reset_index(drop=True)

