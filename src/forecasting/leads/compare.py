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
from .candidates import BLENDS
from .screening import FeatureSet, screen_features
from .types import split_names

__all__ = ["Comparison", "compare_models", "cv_folds", "labelled", "young_leads", "LEADERBOARD_COLUMNS"]

# From this many labelled leads on, compare fits folds in worker processes by default: below it,
# starting them (a few seconds of imports) costs more than the fits.
_PARALLEL_ROWS = 5000
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


def _now() -> float:
    """Wall-clock seconds, comparable between worker processes (a time budget's deadline)."""
    return time.time()


def _fit_fold(model, X, y, train, test, deadline: float | None):
    """Raw test scores of one fold, fit and predict seconds; None if the time budget ran out
    before the fold started (a worker process checks the wall clock when it picks the task)."""
    from sklearn.base import clone

    if deadline is not None and _now() > deadline:
        return None
    t0 = time.perf_counter()
    fitted = clone(model).fit(X.iloc[train], y[train])
    t1 = time.perf_counter()
    raw = fitted.predict_proba(X.iloc[test])[:, 1]
    return raw, t1 - t0, time.perf_counter() - t1


def _run(fn, tasks: list[tuple], n_jobs: int, desc: str, progress) -> list:
    """``fn(*task)`` for every task, in task order: here (``n_jobs=1``) or in joblib worker
    processes; warnings raised in workers are issued here."""
    import warnings

    from ..engine import call_recording_warnings
    from ..progress import progress as bar

    if n_jobs == 1 or len(tasks) <= 1:
        outputs = ((fn(*t), []) for t in tasks)
    else:
        from joblib import Parallel, delayed

        outputs = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(call_recording_warnings)(fn, *t) for t in tasks)
    results = []
    for result, messages in bar(outputs, total=len(tasks), desc=desc, enabled=progress):
        for message in messages:
            warnings.warn(message, UserWarning, stacklevel=3)
        results.append(result)
    return results


def _blend(members: list[tuple]) -> tuple:
    """Out-of-fold scores of a soft-voting blend from its members' (the same folds): the mean of
    their probabilities, as ``VotingClassifier(voting="soft")`` fitted on each fold gives."""
    raw = np.mean(np.stack([m[0] for m in members]), axis=0)
    return raw, members[0][1], sum(m[2] for m in members), sum(m[3] for m in members)


def _assemble(outputs: list, splits, n: int):
    """Out-of-fold raw scores (NaN where never tested), fold ids, fit and predict seconds of one
    candidate from its folds' outputs; None if a fold was skipped."""
    if any(out is None for out in outputs):
        return None
    raw, fold_of = np.full(n, np.nan), np.full(n, -1)
    for k, ((_, test), (scores, _, _)) in enumerate(zip(splits, outputs)):
        raw[test], fold_of[test] = scores, k
    return raw, fold_of, sum(o[1] for o in outputs), sum(o[2] for o in outputs)


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


def _model_row(name, y, score, best, n_boot, seed) -> dict:
    """A model's metrics with bootstrap intervals and its paired test against the ``best`` scores
    (None: this is the best model)."""
    row = {"model": name, **{metric: fn(y, score) for metric, fn in METRICS.items()}}
    # The bootstrap resamples rows by weight, so the rows may come in any order: in score order each
    # replicate's sort inside the metric runs over sorted data (several times faster).
    for metric, order in (("roc_auc", np.argsort(score, kind="mergesort")),
                          ("pr_auc", np.argsort(-score, kind="mergesort"))):
        _, row[f"{metric}_lo"], row[f"{metric}_hi"] = bootstrap_ci(
            METRICS[metric], y[order], score[order], n_boot=n_boot, seed=seed)
    if best is None:  # the best against itself: no difference, nothing to test
        test = {"diff": 0.0, "p_value": 1.0}
    else:
        order = np.argsort(best, kind="mergesort")
        test = paired_bootstrap(roc_auc, y[order], score[order], best[order], n_boot=n_boot, seed=seed)
    row.update(roc_auc_diff_vs_best=test["diff"], p_value_vs_best=test["p_value"])
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
    n_jobs: int | None = None,
    time_budget: float | None = None,
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
    n_jobs : int, optional
        Worker processes fitting the (candidate, fold) pairs in parallel (-1: every core,
        1: here, in this process). Default: every core from 5,000 labelled leads on, below
        that here (starting worker processes would take longer than the fits). The
        numbers do not depend on it.
    time_budget : float, optional
        Seconds for fitting: a fold not started when they are spent is skipped, and a
        candidate with a skipped fold is left out of the leaderboard, the reason in
        ``result.skipped`` (candidates run in the order of ``models``, so put the ones
        you need first). Default: no budget.
    progress : bool, optional
        Show a progress bar (default: :func:`forecasting.progress.progress_enabled`, on in
        a terminal or a Jupyter kernel; ``FORECASTING_PROGRESS=0`` turns it off).

    Returns
    -------
    Comparison
    """
    data = labelled(leads, target, min_age_days)
    y = data[target].to_numpy(dtype=int)
    features = screen_features(data, target, exclude=exclude, include=include, leaky=leaky, seed=seed)
    if not features.types:
        raise DataError(problem("leads", None, "no usable feature columns; excluded: "
                                + "; ".join(f"{c} ({r})" for c, r in features.excluded.items())))
    candidates, skipped = _resolve_models(models, features.types, seed, rules)
    splits = cv_folds(data, y, cv=cv, folds=folds, seed=seed)
    X = data[list(features.types)]
    if n_jobs is None:
        n_jobs = -1 if len(data) >= _PARALLEL_ROWS else 1
    deadline = None if time_budget is None else _now() + float(time_budget)
    # A blend of candidates that are fitted anyway is scored from their fold fits (no refit).
    blends = {} if isinstance(models, Mapping) else \
        {n: BLENDS[n] for n in candidates if n in BLENDS and set(BLENDS[n]) <= set(candidates)}
    fit = [n for n in candidates if n not in blends]
    # One task per (candidate, fold), cheap candidates first: folds run in parallel, and a time
    # budget cuts the most expensive candidates, which come last.
    outputs = _run(_fit_fold, [(candidates[name], X, y, train, test, deadline) for name in fit
                               for train, test in splits], n_jobs, "leads compare", progress)
    fitted = {}
    for i, name in enumerate(fit):
        own = outputs[i * len(splits):(i + 1) * len(splits)]
        fitted[name] = _assemble(own, splits, len(y))
        if fitted[name] is None:
            done = sum(out is not None for out in own)
            skipped[name] = (f"{name} skipped: the time budget of {time_budget:g} s ran out after {done} of "
                             f"{len(splits)} folds (raise --time-budget or leave it out to compare it)")
            del fitted[name]
    for name, members in blends.items():
        if all(m in fitted for m in members):
            fitted[name] = _blend([fitted[m] for m in members])
        else:
            skipped[name] = f"{name} skipped: it averages {', '.join(members)}, which the time budget cut"
    fitted = {name: fitted[name] for name in candidates if name in fitted}
    if not fitted:
        raise DataError(problem("leads", None, f"the time budget of {time_budget:g} s ran out before any "
                                "candidate was cross-validated; raise --time-budget"))
    tested = next(iter(fitted.values()))[1] >= 0  # the same rows for every candidate (same splits)
    y_test, fold_test = y[tested], next(iter(fitted.values()))[1][tested]
    chosen, scores = {}, {}
    for name, (raw, _, _, _) in fitted.items():
        if calibration == "auto":
            chosen[name], scores[name] = choose_calibration(raw[tested], y_test, fold_test)
        else:
            chosen[name], scores[name] = calibration, crossfit_calibrate(raw[tested], y_test, fold_test, calibration)
    best = _best(y_test, scores)
    rows = _run(_model_row, [(name, y_test, score, None if name == best else scores[best], n_boot, seed)
                             for name, score in scores.items()], n_jobs, "leads compare: metrics", False)
    for row in rows:
        _, _, fit_s, pred_s = fitted[row["model"]]
        row.update(fit_seconds=fit_s, predict_seconds=pred_s, calibration=chosen[row["model"]], n_oof=len(y_test))
    ids = data["lead_id"].to_numpy()[tested] if "lead_id" in data else np.flatnonzero(tested)
    created = data["created_at"].to_numpy()[tested] if "created_at" in data else pd.NaT
    oof = pd.concat([pd.DataFrame({"lead_id": ids, "created_at": created, "fold": fold_test, "y": y_test,
                                   "model": name, "raw": fitted[name][0][tested], "score": score})
                     for name, score in scores.items()], ignore_index=True)
    per_fold = [{"model": name, "fold": k, "n": int(np.sum(fold_test == k)),
                 "roc_auc": roc_auc(y_test[fold_test == k], score[fold_test == k])}
                for name, score in scores.items() for k in np.unique(fold_test)]
    return Comparison(_rank(pd.DataFrame(rows)), oof, features, chosen, target, cv, folds, seed,
                      pd.DataFrame(per_fold), skipped)


def _best(y, scores: Mapping[str, np.ndarray]) -> str:
    """The model the leaderboard ranks first: highest ROC AUC, then lowest log loss."""
    return min(scores, key=lambda name: (-METRICS["roc_auc"](y, scores[name]), METRICS["log_loss"](y, scores[name])))


def _rank(board: pd.DataFrame) -> pd.DataFrame:
    """Best first (highest ROC AUC, then lowest log loss), the contract's columns first."""
    board = board.sort_values(["roc_auc", "log_loss"], ascending=[False, True], kind="mergesort")
    first, last = list(LEADERBOARD_COLUMNS), ["roc_auc_diff_vs_best", "p_value_vs_best", "n_oof"]
    return board[first + [c for c in board.columns if c not in first + last] + last].reset_index(drop=True)
