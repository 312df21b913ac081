"""A trained lead scorer with its card: train on all data, score, grade, explain.

>>> model = train_model(leads, "logistic")                    # doctest: +SKIP
>>> model.score(new_leads).head()                             # doctest: +SKIP
>>> model.save("models/logistic")                             # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ..metrics.classification import METRICS, bootstrap_ci

from .store import SCHEMA_VERSION, read_model, write_model

__all__ = ["LeadModel", "train_model", "save_model", "load_model", "fingerprint", "SCHEMA_VERSION",
           "OUTPUT_COLUMNS"]
OUTPUT_COLUMNS = ("lead_id", "score", "grade", "reasons")


def fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's column names and values (order-sensitive): which data trained a model."""
    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


@dataclass
class LeadModel:
    """A fitted scorer and its card (the JSON-ready facts about it).

    Attributes
    ----------
    estimator : fitted classifier
        ``predict_proba`` on a leads DataFrame gives calibrated probabilities.
    card : dict
        Features and types, target, excluded columns, training fingerprint, CV
        metrics, threshold, grade cuts, reference values, drift reference,
        versions, created_at, ``schema_version``.
    """

    estimator: object
    card: dict = field(default_factory=dict)

    @property
    def features(self) -> dict[str, str]:
        return dict(self.card["features"])

    def _repr_html_(self) -> str:
        """JupyterLab view: the card's headline (model, features, CV AUC, calibration, threshold)
        and the features that rank leads best on their own."""
        from ..formatting import count, html_card, percent

        card, cv, training = self.card, self.card.get("cv_metrics", {}), self.card.get("training", {})
        features = dict(card.get("features", {}))
        threshold = card.get("threshold", {}).get("threshold")
        facts = {"features": count(len(features)),
                 "CV ROC AUC": f"{cv['roc_auc']:.3f}" if "roc_auc" in cv else "n/a",
                 "calibration": card.get("calibration", "n/a"),
                 "threshold": f"{threshold:.2f}" if threshold is not None else "n/a",
                 "trained on": f"{count(training.get('rows'))} leads, "
                               f"{percent(training.get('conversion_rate'), 1)} converted",
                 "excluded columns": count(len(card.get("excluded", {})))}
        # Only the model's own features: an excluded (leaky) column's high AUC is no strength of the model.
        single = pd.Series(card.get("single_feature_auc", {}), dtype=float)
        single = single[single.index.isin(list(features))].nlargest(5)
        table = pd.DataFrame({"feature": single.index, "type": [features[f] for f in single.index],
                              "single-feature AUC": single.to_numpy()})
        return html_card(f"LeadModel {card.get('model', type(self.estimator).__name__)}", facts, table)

    def check_columns(self, frame: pd.DataFrame, table: str = "leads") -> None:
        """Raise :class:`DataError` naming the model's feature columns missing from ``frame``."""
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise DataError([problem(table, c, "is a feature of the model but is missing from the data "
                                     "to score") for c in missing])

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated conversion probabilities."""
        self.check_columns(frame)
        return self.estimator.predict_proba(frame[list(self.features)])[:, 1]

    def score(self, frame: pd.DataFrame, *, reasons: bool = True) -> pd.DataFrame:
        """``lead_id, score, grade, reasons`` for each lead (the ``leads score`` output).

        Reasons are the top 3 features moving the score (see
        :func:`~forecasting.leads.decisions.feature_effects`), exact for every model: from
        the coefficients for the linear candidates, from the trees' path contributions for
        ``hist_gb``, ``random_forest`` and ``blend`` (one traversal of the trees), one extra
        prediction per feature for any other model.
        """
        from .decisions import _reason_texts, assign_grades, feature_effects

        if "lead_id" not in frame.columns:  # ids are never made up: a row number is no lead's id
            raise DataError(problem("leads", "lead_id", "is missing: scores are written per lead id; "
                                    "rename your id column (mapping {'Lead ID': 'lead_id'}, CLI --map)"))
        self.check_columns(frame)
        X = frame[list(self.features)].reset_index(drop=True)
        if X.empty:
            return pd.DataFrame({"lead_id": pd.Series(dtype=object), "score": pd.Series(dtype=float),
                                 "grade": pd.Series(dtype=object), "reasons": pd.Series(dtype=object)})
        if reasons:
            scores, columns, effects = feature_effects(self.estimator, X, self.card["reference_values"])
            text = _reason_texts(X, columns, effects).to_pandas()  # Arrow-backed: no string per lead
        else:
            scores, text = self.estimator.predict_proba(X)[:, 1], ""
        ids = frame["lead_id"].astype(str).reset_index(drop=True)
        return pd.DataFrame({"lead_id": ids, "score": scores,
                             "grade": assign_grades(scores, self.card["grades"]["cuts"]), "reasons": text})

    def drift(self, frame: pd.DataFrame, scores=None) -> pd.DataFrame:
        """Population stability (PSI) of each feature and of the score, training leads vs ``frame``.

        Parameters
        ----------
        frame : DataFrame
            Leads to compare with the training leads (e.g. the newest ones).
        scores : array-like, optional
            Their scores, if already computed (default: :meth:`predict`).

        Returns
        -------
        DataFrame
            ``feature, psi, band, n``, most shifted first; the score is the row ``(score)``.
        """
        from .drift import DriftCounter

        self.check_columns(frame)
        counter = DriftCounter(self.card["drift_reference"], self.features)
        counter.update(frame, self.predict(frame) if scores is None else np.asarray(scores, dtype=float))
        return counter.table()

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model folder (``model.skops`` + ``card.json``); see :func:`save_model`."""
        return save_model(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "LeadModel":
        """Load a model folder safely; see :func:`load_model`."""
        return cls(*read_model(path))


def save_model(model: LeadModel, path: str | os.PathLike) -> Path:
    """Write ``model.skops`` and ``card.json`` to ``path`` atomically (replacing it).

    Saved with skops, never pickle (see :mod:`forecasting.leads.store`).

    Parameters
    ----------
    model : LeadModel
    path : path
        Folder, e.g. ``models/logistic``.

    Returns
    -------
    Path
    """
    model.card = write_model(model.estimator, model.card, path)
    return Path(path)


def load_model(path: str | os.PathLike) -> LeadModel:
    """Load a saved model safely.

    Raises
    ------
    ModelError
        A pickle file in the folder, an incompatible card, a missing artifact, or
        types in the artifact outside :data:`~forecasting.leads.store.TRUSTED_TYPES`.

    Returns
    -------
    LeadModel
    """
    return LeadModel.load(path)


def _cv_metrics(y, oof, n_boot, seed) -> dict:
    metrics = {name: round(float(fn(y, oof)), 6) for name, fn in METRICS.items()}
    for name in ("roc_auc", "pr_auc"):
        _, lo, hi = bootstrap_ci(METRICS[name], y, oof, n_boot=n_boot, seed=seed)
        metrics[f"{name}_lo"], metrics[f"{name}_hi"] = round(lo, 6), round(hi, 6)
    return metrics


def train_model(
    leads: pd.DataFrame,
    name: str = "logistic",
    target: str = "converted",
    *,
    exclude: Iterable[str] = (),
    include: Iterable[str] = (),
    leaky: Iterable[str] = (),
    calibration: str = "auto",
    seed: int = 0,
    min_age_days: float = 0,
    cv_metrics: Mapping | None = None,
    capacity_per_week: float | None = None,
    leads_per_week: float | None = None,
    deal_value: float | None = None,
    call_cost: float | None = None,
    grade_shares=(0.1, 0.2, 0.3),
    rules=None,
    n_boot: int = 300,
) -> LeadModel:
    """Fit a candidate on all labelled leads, calibrated, with its card.

    Parameters
    ----------
    leads : DataFrame
        Canonical leads with the label.
    name : str
        Candidate name (:data:`~forecasting.leads.candidates.CANDIDATES`).
    target, exclude, include, leaky, seed, min_age_days, rules
        As in :func:`~forecasting.leads.compare.compare_models`.
    calibration : {"auto", "none", "sigmoid", "isotonic"}
        ``auto`` picks by cross-fitted log loss on internal out-of-fold scores.
    cv_metrics : mapping, optional
        Metrics to store in the card (e.g. the model's leaderboard row); by default
        the internal 5-fold out-of-fold metrics with bootstrap CIs.
    capacity_per_week : float, optional
        Leads the team can work per week: sets the threshold. Else ``deal_value``
        and ``call_cost`` (expected value); else the threshold keeps the top 30 %
        (grades A and B).
    leads_per_week : float, optional
        Leads arriving per week, for the capacity rule (default: the last 13 weeks
        of ``leads``, see :func:`~forecasting.leads.decisions.leads_per_week`).
    grade_shares : tuple of float
        Shares of leads in grades A, B, C (D is the rest), on out-of-fold scores.

    Returns
    -------
    LeadModel
    """
    from ..provenance import package_versions
    from .calibration import Calibrated
    from .candidates import make_candidate
    from .compare import labelled
    from .decisions import choose_threshold, grade_cuts, reference_values
    from .decisions import leads_per_week as recent_arrivals
    from .drift import drift_reference
    from .screening import screen_features

    data = labelled(leads, target, min_age_days)
    y = data[target].to_numpy(dtype=int)
    features = screen_features(data, target, exclude=exclude, include=include, leaky=leaky, seed=seed)
    if not features.types:
        raise DataError(problem("leads", None, "no usable feature columns to train on"))
    X = data[list(features.types)]
    estimator = Calibrated(make_candidate(name, features.types, seed=seed, rules=rules),
                           method=calibration, cv=5, random_state=seed).fit(X, y)
    oof = estimator.oof_
    # Arrivals include the young leads left out of training: they are the current flow.
    per_week = leads_per_week if leads_per_week is not None else recent_arrivals(leads)
    if capacity_per_week is not None:
        if not per_week:
            raise DataError(problem("leads", "created_at", "is needed to count the leads arriving per "
                                    "week for a capacity threshold; pass leads_per_week (--leads-per-week)"))
        threshold = choose_threshold(oof, capacity_per_week=capacity_per_week, leads_per_week=per_week, y=y)
    elif deal_value is not None and call_cost is not None:
        threshold = choose_threshold(oof, deal_value=deal_value, call_cost=call_cost, y=y)
    else:
        weekly = per_week or 100.0
        threshold = choose_threshold(oof, capacity_per_week=0.3 * weekly, leads_per_week=weekly, y=y)
    created = pd.to_datetime(data["created_at"]) if "created_at" in data.columns else None
    card = {
        "schema_version": SCHEMA_VERSION,
        "model": name,
        "target": target,
        "features": features.types,
        "dtypes": {c: str(data[c].dtype) for c in features.types},
        "excluded": features.excluded,
        "single_feature_auc": features.to_dict()["single_auc"],
        "calibration": estimator.method_,
        "training": {
            "rows": int(len(data)),
            "conversion_rate": round(float(y.mean()), 6),
            "fingerprint": fingerprint(data),
            "created_at_min": str(created.min()) if created is not None else None,
            "created_at_max": str(created.max()) if created is not None else None,
            "leads_per_week": round(per_week, 3) if per_week else None,
            "min_age_days": min_age_days,
        },
        "cv_metrics": dict(cv_metrics) if cv_metrics else _cv_metrics(y, oof, n_boot, seed),
        "threshold": threshold.to_dict(),
        "grades": {"labels": ["A", "B", "C", "D"], "shares": list(grade_shares),
                   "cuts": grade_cuts(oof, grade_shares)},
        "reference_values": reference_values(X, features.types),
        "drift_reference": drift_reference(X, features.types, oof),
        "seed": seed,
        "versions": package_versions(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return LeadModel(estimator, card)
