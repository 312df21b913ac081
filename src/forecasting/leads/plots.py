"""Figures of a lead-scorer comparison: ROC, precision-recall, reliability, cumulative gain.

Each function takes the long out-of-fold frame of a
:class:`~forecasting.leads.compare.Comparison` (``model, y, score``) and returns
a matplotlib Figure with one line per model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["comparison_figures", "roc_figure", "pr_figure", "reliability_figure", "gain_figure"]


def _axes(title: str, xlabel: str, ylabel: str):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
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


def roc_figure(oof: pd.DataFrame, order=None):
    """ROC curves (true vs false positive rate) with the AUC in the legend."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, ax = _axes("ROC curve (out-of-fold)", "False positive rate", "True positive rate")
    for name, y, p in _models(oof, order):
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, p):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="random")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def pr_figure(oof: pd.DataFrame, order=None):
    """Precision-recall curves with the average precision in the legend."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    fig, ax = _axes("Precision-recall (out-of-fold)", "Recall (share of conversions found)", "Precision")
    for name, y, p in _models(oof, order):
        precision, recall, _ = precision_recall_curve(y, p)
        ax.plot(recall, precision, label=f"{name} (AP {average_precision_score(y, p):.3f})")
    base = oof["y"].mean()
    ax.axhline(base, color="grey", linestyle=":", label=f"base rate {base:.2f}")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def reliability_figure(oof: pd.DataFrame, order=None, n_bins: int = 10):
    """Observed conversion rate against mean score per score decile (calibration)."""
    fig, ax = _axes("Reliability (calibration)", "Mean predicted probability", "Observed conversion rate")
    top = 0.0
    for name, y, p in _models(oof, order):
        bins = pd.qcut(p, n_bins, labels=False, duplicates="drop")
        frame = pd.DataFrame({"y": y, "p": p, "b": bins}).groupby("b").mean()
        ax.plot(frame["p"], frame["y"], marker="o", markersize=3, label=name)
        top = max(top, frame["p"].max(), frame["y"].max())
    ax.plot([0, top], [0, top], color="grey", linestyle=":", label="perfect")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def gain_figure(oof: pd.DataFrame, order=None):
    """Cumulative gain: share of conversions captured when calling the top x % of leads."""
    fig, ax = _axes("Cumulative gain", "Share of leads called (by score)", "Share of conversions captured")
    for name, y, p in _models(oof, order):
        ranked = y[np.argsort(-p, kind="mergesort")]
        share = np.arange(1, len(y) + 1) / len(y)
        ax.plot(np.r_[0, share], np.r_[0, np.cumsum(ranked) / max(ranked.sum(), 1)], label=name)
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
