"""Matplotlib figures for the sales-KPI report: titled, labelled, readable in HTML.

Each function takes the frame a ``forecasting.metrics`` function returns and gives
back a :class:`matplotlib.figure.Figure`; nothing is shown or saved here. Pass ``ax=``
(an Axes; a pair of them for :func:`kpi_trends`) to draw into your own subplots.
"""

from __future__ import annotations

import pandas as pd

from .figures import finish, money_axis, new_panels, save_figure

__all__ = ["kpi_trends", "funnel_chart", "activity_chart", "attribution_chart", "save_figure"]


def _figure(ax=None, nrows=1, width=9.0, height=3.6):
    """A column of ``nrows`` panels, or the caller's Axes (one Axes, or a sequence of ``nrows``)."""
    if ax is not None and nrows == 1:
        ax = [ax]
    return new_panels(ax, nrows, nrows=nrows, ncols=1, figsize=(width, height * nrows))


def kpi_trends(kpis: pd.DataFrame, group: str = "all", ax=None):
    """Revenue won and pipeline created per period (bars), win rate and close ratio (lines).

    Parameters
    ----------
    kpis : DataFrame
        Output of :func:`forecasting.metrics.kpi_table`.
    group : str
        Which group's rows to draw (``"all"`` for the total).
    ax : pair of matplotlib Axes, optional
        Draw the amounts and the rates into these two Axes and return their Figure;
        default a new figure.
    """
    rows = kpis[kpis["group"] == group]
    fig, (top, bottom) = _figure(ax, 2)
    x = range(len(rows))
    top.bar([i - 0.2 for i in x], rows["revenue_won"], width=0.4, label="revenue won")
    top.bar([i + 0.2 for i in x], rows["pipeline_created"], width=0.4, label="pipeline created", alpha=0.6)
    top.set_title(f"Revenue won and pipeline created per period ({group})")
    top.set_ylabel("amount")
    money_axis(top)
    top.legend(loc="upper left")
    bottom.plot(list(x), rows["win_rate"], marker="o", label="win rate (won / closed)")
    bottom.plot(list(x), rows["close_ratio"], marker="s", label="close ratio (won / created)")
    bottom.set_title("Win rate and close ratio")
    bottom.set_ylabel("share")
    bottom.set_ylim(0, max(0.05, float(rows[["win_rate", "close_ratio"]].max().max()) * 1.2))
    bottom.legend(loc="upper left")
    for panel in (top, bottom):
        panel.set_xticks(list(x), rows["period"], rotation=45, ha="right")
        panel.set_xlabel("period")
    return finish(fig, ax)


def funnel_chart(funnel: pd.DataFrame, ax=None):
    """Horizontal funnel: deals that reached each stage, with stage-to-stage conversion."""
    given = ax
    fig, (ax,) = _figure(ax, height=3.2)
    rows = funnel.iloc[::-1]
    ax.barh(rows["stage"], rows["reached"], color="tab:blue")
    for y, (reached, conv) in enumerate(zip(rows["reached"], rows["conversion"])):
        label = f"{reached:,}" + ("" if pd.isna(conv) else f"  ({conv:.0%} of previous)")
        ax.text(reached, y, " " + label, va="center", fontsize=8)
    ax.set_title("Funnel: deals that reached each stage")
    ax.set_xlabel("deals")
    ax.set_xlim(0, float(funnel["reached"].max()) * 1.35)
    return finish(fig, given)


def activity_chart(report: pd.DataFrame, by: str = "owner", ax=None):
    """Stacked activities per rep and type (summed over the report's periods)."""
    types = [c for c in report.columns if c not in ("period", by, "total")]
    totals = report.groupby(by)[types].sum().sort_values(types[0] if types else by)
    given = ax
    fig, (ax,) = _figure(ax, height=max(3.0, 0.28 * len(totals)))
    totals.plot.barh(stacked=True, ax=ax)
    ax.set_title(f"Activities per {by} and type")
    ax.set_xlabel("activities")
    ax.set_ylabel(by)
    return finish(fig, given)


def attribution_chart(attribution: pd.DataFrame, title: str = "Lead attribution", ax=None):
    """Conversions per channel with their conversion rate."""
    given = ax
    fig, (ax,) = _figure(ax, height=3.2)
    rows = attribution.sort_values("converted")  # longest bar on top
    ax.barh(rows["channel"], rows["converted"], color="tab:green")
    for y, (conv, rate) in enumerate(zip(rows["converted"], rows["conversion_rate"])):
        ax.text(conv, y, f" {rate:.1%}", va="center", fontsize=8)
    ax.set_title(title)
    ax.set_xlabel("converted leads (label: conversion rate)")
    return finish(fig, given)
