"""Compare lead scorers honestly: time-aware cross-validation, metrics with intervals.

>>> from forecasting.leads import compare_models                  # doctest: +SKIP
>>> result = compare_models(leads, target="converted", cv="time", folds=5, seed=0)  # doctest: +SKIP
>>> result.leaderboard.head()                                      # doctest: +SKIP

Every model is fitted on the past and scored on the next block of leads
(forward chaining on ``created_at``), so the comparison sees what a deployed
model sees: drift in lead mix and conversion rate. The out-of-fold scores are
calibrated (none / sigmoid / isotonic, chosen by cross-fitted log loss), then
scored with the metrics of :mod:`forecasting.metrics.classification` with
bootstrap intervals, and every model is tested against the best one with a
paired bootstrap on the same leads.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ..metrics.classification import METRICS, bootstrap_ci, paired_bootstrap, roc_auc
from .calibration import choose_calibration, crossfit_calibrate
from .screening import FeatureSet, screen_features
from .types import split_names

__all__ = ["Comparison", "compare_models", "cv_folds", "labelled", "young_leads", "LEADERBOARD_COLUMNS"]

LEADERBOARD_COLUMNS = ("model", "roc_auc", "roc_auc_lo", "roc_auc_hi", "pr_auc", "log_loss", "brier",
                       "ece", "ks", "lift_top10", "fit_seconds")


def labelled(leads: pd.DataFrame, target: str = "converted", min_age_days: float = 0) -> pd.DataFrame:
    """The labelled rows of a leads table, with the label as 0/1 integers.

    Leads created less than ``min_age_days`` before the newest lead are left out:
    their label is not final yet (a lead that will convert next week is still 0).

    Raises
    ------
    DataError
        If the table is empty, or the label column is missing, not 0/1, or has one class only.
    """
    if leads.empty:
        raise DataError(problem("leads", None, "is empty: no rows to learn from"))
    if target not in leads.columns:
        raise DataError(problem("leads", target, "label column is missing; columns are: "
                                + ", ".join(map(str, leads.columns[:20]))))
    y = pd.to_numeric(leads[target], errors="coerce")
    bad = y.notna() & ~y.isin([0, 1])
    if bad.any() or (y.isna() & leads[target].notna()).any():
        mask = (bad | (y.isna() & leads[target].notna())).to_numpy()
        ids = leads["lead_id"].to_numpy()[mask] if "lead_id" in leads.columns else np.flatnonzero(mask)
        raise DataError(problem("leads", target, "label must be 0/1 (load the table with "
                                "forecasting.data.load_table to convert yes/no, true/false)", ids))
    keep = y.notna()
    if min_age_days:
        if "created_at" not in leads.columns:
            raise DataError(problem("leads", "created_at", "is needed to leave out young leads "
                                    "(--min-age-days); drop that option or add the column"))
        keep &= ~_young(leads, min_age_days) & leads["created_at"].notna()
    out = leads.loc[keep].copy()
    out[target] = y[keep].astype(int)
    if out[target].nunique() < 2:
        older = f" older than {min_age_days:g} days" if min_age_days else ""
        found = f"all {len(out):,} labelled leads{older} are {out[target].iloc[0]}" if len(out) else \
            f"no labelled leads{older}"
        raise DataError(problem("leads", target, f"label has only one class ({found}); a scorer needs "
                                "both converted and not converted leads"))
    return out.reset_index(drop=True)


def _young(leads: pd.DataFrame, min_age_days: float) -> pd.Series:
    created = pd.to_datetime(leads["created_at"])
    return created > created.max() - pd.Timedelta(days=float(min_age_days))


def young_leads(leads: pd.DataFrame, min_age_days: float) -> pd.DataFrame:
    """The leads too young for a final label: created less than ``min_age_days``
    before the newest lead.

    They are what :func:`labelled` (and so :func:`compare_models` and
    ``train_model``) leave out with the same ``min_age_days``, and what a deployed
    model scores now: the natural batch for a drift check.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["a", "b", "c"],
    ...                       "created_at": pd.to_datetime(["2026-01-01", "2026-03-01", "2026-03-20"])})
    >>> young_leads(leads, 30)["lead_id"].tolist()
    ['b', 'c']
    """
    if "created_at" not in leads.columns:
        raise DataError(problem("leads", "created_at", "is needed to tell young leads from old ones"))
    return leads.loc[_young(leads, min_age_days)].reset_index(drop=True)


def cv_folds(leads: pd.DataFrame, y: np.ndarray, *, cv: str = "time", folds: int = 5, seed: int = 0):
    """Train/test row positions of each fold.

    ``time``: rows ordered by ``created_at`` and cut into ``folds + 1`` blocks;
    fold k trains on blocks ``0..k-1`` and tests on block ``k`` (forward chaining).
    ``stratified``: shuffled stratified k-fold (every row is tested once).
    """
    from sklearn.model_selection import StratifiedKFold, TimeSeriesSplit

    if cv == "time":
        if "created_at" not in leads.columns or leads["created_at"].isna().all():
            raise DataError(problem("leads", "created_at", "is needed for time-aware CV "
                                    "(or use --cv stratified)"))
        order = np.argsort(pd.to_datetime(leads["created_at"]).to_numpy(), kind="mergesort")
        return [(order[tr], order[te]) for tr, te in TimeSeriesSplit(folds).split(order)]
    if cv == "stratified":
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(y)), y))
    raise ValueError(f"cv must be 'time' or 'stratified', got {cv!r}")


@dataclass
class Comparison:
    """Result of :func:`compare_models`.

    Attributes
    ----------
    leaderboard : DataFrame
        One row per model, best (highest ROC AUC) first: the columns of
        :data:`LEADERBOARD_COLUMNS` plus CIs, lift/capture at 10/20 %,
        predict time, calibration, and the paired test against the best.
    oof : DataFrame
        Out-of-fold scores, long format: ``lead_id, created_at, fold, y, model,
        raw, score`` (``score`` calibrated).
    features : FeatureSet
        The features used and the columns excluded, with reasons.
    calibration : dict
        Model -> calibration method chosen.
    skipped : dict
        Candidate left out -> one sentence saying why (the default rule scorecard on
        data without its columns).
    """

    leaderboard: pd.DataFrame
    oof: pd.DataFrame
    features: FeatureSet
    calibration: dict[str, str]
    target: str = "converted"
    cv: str = "time"
    folds: int = 5
    seed: int = 0
    fold_metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def best(self) -> str:
        """Name of the winning model."""
        return str(self.leaderboard["model"].iloc[0])

    def scores(self, model: str | None = None) -> pd.DataFrame:
        """Out-of-fold rows of one model (default: the best)."""
        return self.oof[self.oof["model"] == (model or self.best)].reset_index(drop=True)

    def _repr_html_(self) -> str:
        """JupyterLab view: the best model and its AUC, then the leaderboard's top rows."""
        from ..formatting import count, html_card

        board, shown = self.leaderboard, 5
        columns = [c for c in ("model", "roc_auc", "roc_auc_lo", "roc_auc_hi", "pr_auc", "brier", "ece")
                   if c in board.columns]
        facts = {"best": self.best, "ROC AUC": f"{board['roc_auc'].iloc[0]:.3f}",
                 "leads": count(self.oof["lead_id"].nunique()) if "lead_id" in self.oof else "n/a",
                 "validation": f"{self.cv}, {self.folds} folds"}
        more = [f"{len(board) - shown} more model(s) in .leaderboard"] if len(board) > shown else []
        more += [f"skipped {name}: {why}" for name, why in self.skipped.items()]
        return html_card(f"Comparison of {len(board)} lead scorers (target {self.target})", facts,
                         board[columns].head(shown), note="; ".join(more) or None)

    def figures(self) -> dict:
        """ROC, precision-recall, reliability and cumulative-gain figures (matplotlib)."""
        from .plots import comparison_figures

        return comparison_figures(self.oof, order=list(self.leaderboard["model"]))

    def save(self, out_dir: str | Path, *, figures: bool = True) -> dict[str, Path]:
        """Write ``leaderboard.csv``, ``features.csv``, ``folds.csv`` and PNG figures atomically."""
        from ..data.io import atomic_path, write_csv

        out = Path(out_dir)
        written = {
            "leaderboard": write_csv(self.leaderboard, out / "leaderboard.csv"),
            "features": write_csv(self.features.report(), out / "features.csv"),
            "folds": write_csv(self.fold_metrics, out / "folds.csv"),
        }
        if figures:
            import matplotlib.pyplot as plt

            for name, fig in self.figures().items():
                with atomic_path(out / f"{name}.png") as tmp:
                    fig.savefig(tmp, dpi=110, bbox_inches="tight")
                plt.close(fig)
                written[name] = out / f"{name}.png"
        return written


def _fit_folds(model, X, y, splits) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Out-of-fold raw scores (NaN where never tested), fold ids, fit and predict seconds."""
    from sklearn.base import clone

    raw = np.full(len(y), np.nan)
    fold_of = np.full(len(y), -1)
    fit_s = pred_s = 0.0
    for k, (train, test) in enumerate(splits):
        t0 = time.perf_counter()
        fitted = clone(model).fit(X.iloc[train], y[train])
        t1 = time.perf_counter()
        raw[test] = fitted.predict_proba(X.iloc[test])[:, 1]
        pred_s += time.perf_counter() - t1
        fit_s += t1 - t0
        fold_of[test] = k
    return raw, fold_of, fit_s, pred_s


def _resolve_models(models, types, seed, rules) -> tuple[dict, dict[str, str]]:
    """(candidates by name, skipped candidate -> the one sentence saying why)."""
    from .candidates import CANDIDATES, make_candidate
    from .scorecard import load_rules

    if isinstance(models, Mapping):
        return dict(models), {}
    names = split_names(models) or list(CANDIDATES)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        raise ValueError(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(CANDIDATES)}")
    skipped = {}
    rule_columns = list(load_rules(rules))
    if "rule_scorecard" in names and not set(rule_columns) & set(types):
        # The packaged BANT rules name the demo CRM's columns; on other data they would score
        # every lead 0, so the candidate is left out (saying so) instead of failing the comparison.
        names.remove("rule_scorecard")
        whose = "the default BANT rules use" if rules is None else "its rules use"
        skipped["rule_scorecard"] = (
            f"rule_scorecard skipped: {whose} {', '.join(rule_columns)}, none of which is a feature "
            "here; pass rules (a YAML for your columns) to compare your team's points scorecard")
    if not names:
        raise DataError(problem("leads", None, "; ".join(skipped.values())))
    return {n: make_candidate(n, types, seed=seed, rules=rules) for n in names}, skipped


def _model_row(name, y, score, method, fit_s, pred_s, n_boot, seed) -> dict:
    row = {"model": name}
    for metric, fn in METRICS.items():
        row[metric] = fn(y, score)
    _, row["roc_auc_lo"], row["roc_auc_hi"] = bootstrap_ci(METRICS["roc_auc"], y, score, n_boot=n_boot, seed=seed)
    _, row["pr_auc_lo"], row["pr_auc_hi"] = bootstrap_ci(METRICS["pr_auc"], y, score, n_boot=n_boot, seed=seed)
    row.update(fit_seconds=fit_s, predict_seconds=pred_s, calibration=method)
    return row


def compare_models(
    leads: pd.DataFrame,
    target: str = "converted",
    models: Iterable[str] | Mapping | str | None = None,
    cv: str = "time",
    folds: int = 5,
    seed: int = 0,
    *,
    exclude: Iterable[str] = (),
    include: Iterable[str] = (),
    leaky: Iterable[str] = (),
    calibration: str = "auto",
    n_boot: int = 500,
    min_age_days: float = 0,
    rules=None,
    progress: bool | None = None,
) -> Comparison:
    """Cross-validate candidate lead scorers and rank them.

    Parameters
    ----------
    leads : DataFrame
        Canonical leads table with the label (unlabelled rows are left out).
    target : str
        Label column (0/1).
    models : list of names, comma-separated str, dict of name -> estimator, or None
        Candidates to compare (None: every one in
        :data:`~forecasting.leads.candidates.CANDIDATES`). A rule scorecard whose rules
        name none of the features is skipped, with the reason in ``result.skipped``.
    cv : {"time", "stratified"}
        Forward chaining on ``created_at`` (default) or stratified k-fold.
    folds : int
        Number of test folds.
    seed : int
        Seed of every random step: same inputs, same numbers.
    exclude, include, leaky : iterable of str or comma-separated str
        Passed to :func:`~forecasting.leads.features.screen_features`. Free-text,
        id-like and constant columns are dropped without a warning: they are
        listed with their reason in ``result.features.excluded``.
    calibration : {"auto", "none", "sigmoid", "isotonic"}
        Calibration of the out-of-fold scores (``auto``: chosen per model by
        cross-fitted log loss).
    n_boot : int
        Bootstrap replicates for the intervals and the paired test.
    min_age_days : float
        Leave out leads younger than this (relative to the newest lead): their
        label is not final yet. Use the time most conversions take (the demo: 45).
    rules : dict or path, optional
        Rules of the ``rule_scorecard`` candidate.
    progress : bool, optional
        Show a progress bar (default: :func:`forecasting.progress.progress_enabled`, on in
        a terminal or a Jupyter kernel; ``FORECASTING_PROGRESS=0`` turns it off).

    Returns
    -------
    Comparison
    """
    from ..progress import progress as bar

    data = labelled(leads, target, min_age_days)
    y = data[target].to_numpy(dtype=int)
    features = screen_features(data, target, exclude=exclude, include=include, leaky=leaky, seed=seed)
    if not features.types:
        raise DataError(problem("leads", None, "no usable feature columns; excluded: "
                                + "; ".join(f"{c} ({r})" for c, r in features.excluded.items())))
    candidates, skipped = _resolve_models(models, features.types, seed, rules)
    splits = cv_folds(data, y, cv=cv, folds=folds, seed=seed)
    X = data[list(features.types)]
    rows, frames, chosen, per_fold = [], [], {}, []
    for name, model in bar(candidates.items(), desc="leads compare", total=len(candidates), enabled=progress):
        raw, fold_of, fit_s, pred_s = _fit_folds(model, X, y, splits)
        tested = fold_of >= 0
        if calibration == "auto":
            method, score = choose_calibration(raw[tested], y[tested], fold_of[tested])
        else:
            method, score = calibration, crossfit_calibrate(raw[tested], y[tested], fold_of[tested], calibration)
        chosen[name] = method
        rows.append(_model_row(name, y[tested], score, method, fit_s, pred_s, n_boot, seed))
        frames.append(pd.DataFrame({
            "lead_id": data["lead_id"].to_numpy()[tested] if "lead_id" in data else np.flatnonzero(tested),
            "created_at": data["created_at"].to_numpy()[tested] if "created_at" in data else pd.NaT,
            "fold": fold_of[tested], "y": y[tested], "model": name, "raw": raw[tested], "score": score}))
        per_fold += [{"model": name, "fold": k, "n": int(np.sum(fold_of[tested] == k)),
                      "roc_auc": roc_auc(y[tested][fold_of[tested] == k], score[fold_of[tested] == k])}
                     for k in np.unique(fold_of[tested])]
    board = _rank(pd.DataFrame(rows), frames, n_boot, seed)
    oof = pd.concat(frames, ignore_index=True)
    return Comparison(board, oof, features, chosen, target, cv, folds, seed, pd.DataFrame(per_fold), skipped)


def _rank(board: pd.DataFrame, frames: list[pd.DataFrame], n_boot: int, seed: int) -> pd.DataFrame:
    """Sort best first and add the paired bootstrap test of each model against the best."""
    board = board.sort_values(["roc_auc", "log_loss"], ascending=[False, True], kind="mergesort")
    scores = {f["model"].iloc[0]: f for f in frames}
    best = scores[board["model"].iloc[0]]
    diffs, p_values = [], []
    for name in board["model"]:
        test = paired_bootstrap(roc_auc, best["y"], scores[name]["score"], best["score"], n_boot=n_boot, seed=seed)
        diffs.append(test["diff"])
        p_values.append(test["p_value"])
    board["roc_auc_diff_vs_best"] = diffs
    board["p_value_vs_best"] = p_values
    board["n_oof"] = len(best)
    first = list(LEADERBOARD_COLUMNS)
    return board[first + [c for c in board.columns if c not in first]].reset_index(drop=True)
