"""Figures of lead scoring: the comparison, the decisions and drift.

The comparison figures (ROC, precision-recall, reliability, cumulative gain)
take the long out-of-fold frame of a :class:`~forecasting.leads.compare.Comparison`
(``model, y, score``) and draw one line per model. :func:`leaderboard_figure`
draws the leaderboard's intervals, :func:`capacity_figure` the calling point of
a threshold, :func:`grades_figure` the conversion rate per grade and
:func:`drift_figure` a PSI table. Each returns a matplotlib Figure; pass ``ax=``
to draw into an Axes of your own (e.g. a subplot) and get its Figure back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..figures import finish, new_axes

__all__ = ["comparison_figures", "roc_figure", "pr_figure", "reliability_figure", "gain_figure",
           "leaderboard_figure", "capacity_figure", "grades_figure", "drift_figure"]


def _axes(title: str, xlabel: str, ylabel: str, ax=None):
    fig, ax = new_axes(ax, figsize=(6, 4.5))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def _models(oof: pd.DataFrame, order):
    names = order or list(dict.fromkeys(oof["model"]))
    for name in names:
        part = oof[oof["model"] == name]
        yield name, part["y"].to_numpy(dtype=int), part["score"].to_numpy(dtype=float)


def roc_figure(oof: pd.DataFrame, order=None, ax=None):
    """ROC curves (true vs false positive rate) with the AUC in the legend."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, ax = _axes("ROC curve (out-of-fold)", "False positive rate", "True positive rate", ax)
    for name, y, p in _models(oof, order):
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, p):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="random")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def pr_figure(oof: pd.DataFrame, order=None, ax=None):
    """Precision-recall curves with the average precision in the legend."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    fig, ax = _axes("Precision-recall (out-of-fold)", "Recall (share of conversions found)", "Precision", ax)
    for name, y, p in _models(oof, order):
        precision, recall, _ = precision_recall_curve(y, p)
        ax.plot(recall, precision, label=f"{name} (AP {average_precision_score(y, p):.3f})")
    base = oof["y"].mean()
    ax.axhline(base, color="grey", linestyle=":", label=f"base rate {base:.2f}")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def reliability_figure(oof: pd.DataFrame, order=None, n_bins: int = 10, ax=None):
    """Observed conversion rate against mean score per score decile (calibration)."""
    fig, ax = _axes("Reliability (calibration)", "Mean predicted probability", "Observed conversion rate", ax)
    top = 0.0
    for name, y, p in _models(oof, order):
        bins = pd.qcut(p, n_bins, labels=False, duplicates="drop")
        frame = pd.DataFrame({"y": y, "p": p, "b": bins}).groupby("b").mean()
        ax.plot(frame["p"], frame["y"], marker="o", markersize=3, label=name)
        top = max(top, frame["p"].max(), frame["y"].max())
    ax.plot([0, top], [0, top], color="grey", linestyle=":", label="perfect")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def _gain_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share of leads called (best scores first) and share of conversions captured, from (0, 0)."""
    ranked = y[np.argsort(-p, kind="mergesort")]
    return np.r_[0, np.arange(1, len(y) + 1) / len(y)], np.r_[0, np.cumsum(ranked) / max(ranked.sum(), 1)]


def gain_figure(oof: pd.DataFrame, order=None, ax=None):
    """Cumulative gain: share of conversions captured when calling the top x % of leads."""
    fig, ax = _axes("Cumulative gain", "Share of leads called (by score)", "Share of conversions captured", ax)
    for name, y, p in _models(oof, order):
        ax.plot(*_gain_curve(y, p), label=name)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="random")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def comparison_figures(oof: pd.DataFrame, order=None) -> dict:
    """All four figures by file stem: ``roc``, ``precision_recall``, ``reliability``, ``gain``."""
    return {
        "roc": roc_figure(oof, order),
        "precision_recall": pr_figure(oof, order),
        "reliability": reliability_figure(oof, order),
        "gain": gain_figure(oof, order),
    }


# --------------------------------------------------------------------------- leaderboard and decisions

_BAND_COLORS = {"stable": "tab:green", "moderate": "tab:orange", "shifted": "tab:red"}


def leaderboard_figure(leaderboard: pd.DataFrame, ax=None):
    """Each model's ROC AUC with its 95 % bootstrap interval, best on top.

    Parameters
    ----------
    leaderboard : DataFrame
        :attr:`~forecasting.leads.compare.Comparison.leaderboard` (``model,
        roc_auc, roc_auc_lo, roc_auc_hi``; optional ``roc_auc_diff_vs_best`` and
        ``p_value_vs_best`` are written beside each interval).
    ax : matplotlib Axes, optional
        Draw into this Axes and return its Figure; default a new figure.
    """
    board = leaderboard.reset_index(drop=True)
    given = ax
    fig, ax = new_axes(ax, figsize=(7, 0.6 * len(board) + 1.4))
    rows = np.arange(len(board))[::-1]  # best (first row) on top
    auc = board["roc_auc"].to_numpy(dtype=float)
    lo, hi = board["roc_auc_lo"].to_numpy(dtype=float), board["roc_auc_hi"].to_numpy(dtype=float)
    colors = ["tab:blue"] + ["tab:gray"] * (len(board) - 1)
    ax.hlines(rows, lo, hi, colors=colors, linewidth=3, alpha=0.6)
    ax.scatter(auc, rows, color=colors, zorder=3)
    for i, row in board.iterrows():
        text = f"{row['roc_auc']:.3f} [{row['roc_auc_lo']:.3f}, {row['roc_auc_hi']:.3f}]"
        if i > 0 and "p_value_vs_best" in board.columns:
            p = row["p_value_vs_best"]
            text += f"  {row['roc_auc_diff_vs_best']:+.3f} vs best, " + (f"p {p:.2f}" if p >= 0.01 else "p < 0.01")
        ax.annotate(text, (hi[i], rows[i]), xytext=(6, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(rows, board["model"].astype(str))
    ax.set_ylim(-0.6, len(board) - 0.4)
    span = max(hi.max() - lo.min(), 0.02)
    ax.set_xlim(lo.min() - 0.1 * span, hi.max() + 1.6 * span)  # room for the labels
    ax.set_title("ROC AUC with 95 % interval (out-of-fold)")
    ax.set_xlabel("ROC AUC (0.5 = random, 1 = perfect ranking)")
    ax.grid(axis="x", alpha=0.3)
    return finish(fig, given)


def capacity_figure(scores: pd.DataFrame, threshold: float, ax=None):
    """Cumulative gain of one model with the calling point marked.

    Parameters
    ----------
    scores : DataFrame
        ``y, score`` of one model (e.g. ``Comparison.scores()``).
    threshold : float
        Leads scoring at least this are called: the marked point is the share
        of leads called and the share of conversions among them.
    ax : matplotlib Axes, optional
        Draw into this Axes and return its Figure; default a new figure.
    """
    y = scores["y"].to_numpy(dtype=int)
    p = scores["score"].to_numpy(dtype=float)
    called = p >= threshold
    share, captured = called.mean(), y[called].sum() / max(y.sum(), 1)
    name = str(scores["model"].iloc[0]) if "model" in scores.columns and len(scores) else "model"
    fig, ax = _axes(f"Calling leads scoring at least {threshold:.2f}", "Share of leads called (by score)",
                    "Share of conversions captured", ax)
    ax.plot(*_gain_curve(y, p), label=name)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="random")
    ax.plot([share, share, 0], [0, captured, captured], color="tab:red", linestyle="--", linewidth=1)
    ax.scatter([share], [captured], color="tab:red", zorder=3,
               label=f"call {share:.0%} of leads: {captured:.0%} of conversions")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def grades_figure(grades: pd.DataFrame, base_rate: float | None = None, ax=None):
    """Conversion rate of each grade, with the number of leads on each bar.

    Parameters
    ----------
    grades : DataFrame
        Indexed by grade (A-D) with columns ``leads`` and ``conversion_rate``.
    base_rate : float, optional
        Conversion rate of all leads, drawn as a dotted line.
    ax : matplotlib Axes, optional
        Draw into this Axes and return its Figure; default a new figure.
    """
    fig, ax = _axes("Conversion rate by grade", "Grade", "Conversion rate", ax)
    bars = ax.bar(grades.index.astype(str), grades["conversion_rate"], color="tab:blue")
    for bar, n, rate in zip(bars, grades["leads"], grades["conversion_rate"]):
        ax.annotate(f"{rate:.0%}\n{n:,} leads", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=8,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    if base_rate is not None:
        ax.axhline(base_rate, color="grey", linestyle=":", label=f"all leads {base_rate:.0%}")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_ylim(0, max(grades["conversion_rate"].max(), base_rate or 0) * 1.25 or 1)
    ax.yaxis.set_major_formatter(_percent())
    ax.grid(axis="x", visible=False)
    return fig


def drift_figure(drift: pd.DataFrame, ax=None):
    """PSI of each feature and of the score, coloured by band, with the 0.1 and 0.25 limits.

    Parameters
    ----------
    drift : DataFrame
        ``feature, psi, band`` (:meth:`~forecasting.leads.drift.DriftCounter.table`).
    ax : matplotlib Axes, optional
        Draw into this Axes and return its Figure; default a new figure.
    """
    from matplotlib.patches import Patch

    from .drift import SCORE

    table = drift.sort_values("psi", kind="mergesort").reset_index(drop=True)  # largest on top
    given = ax
    fig, ax = new_axes(ax, figsize=(6, 0.28 * len(table) + 1.5))
    colors = [_BAND_COLORS.get(band, "tab:gray") for band in table["band"]]
    bars = ax.barh(table["feature"].astype(str), table["psi"], color=colors)
    for bar, feature in zip(bars, table["feature"]):
        if feature == SCORE:
            bar.set_edgecolor("black")
            bar.set_linewidth(1.2)
    for limit in (0.1, 0.25):
        ax.axvline(limit, color="grey", linestyle=":")
    ax.set_xlim(0, max(0.3, float(table["psi"].max()) * 1.1))
    ax.set_title("Drift since training: population stability index")
    ax.set_xlabel("PSI (below 0.1 stable, 0.1-0.25 moderate, above 0.25 shifted)")
    ax.legend(handles=[Patch(color=c, label=b) for b, c in _BAND_COLORS.items()], loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return finish(fig, given)


def _percent():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)
