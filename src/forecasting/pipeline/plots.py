"""Figures of a pipeline forecast: the period's range and categories, the groups, the
funnel, stage win rates and the biggest open deals.

Each function takes frames that :mod:`forecasting.pipeline` functions return and gives
back a :class:`matplotlib.figure.Figure`; nothing is shown or saved here. Pass ``ax=`` (an
Axes, or a pair of them for the two-panel figures) to draw into your own subplots. The backtest
figure is :func:`~forecasting.pipeline.plot_backtest`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..figures import finish, money_axis, new_axes, new_panels
from ..formatting import money as _money

__all__ = [
    "CATEGORIES",
    "period_forecast_chart",
    "group_forecast_chart",
    "funnel_chart",
    "stage_rates_chart",
    "top_deals_chart",
]

# Forecast categories in roll-up order: each one adds its deals to the ones above it.
CATEGORIES = ("Closed", "Commit", "Best case", "Pipeline")
_COLORS = {"Closed": "#1b7837", "Commit": "#5aae61", "Best case": "#a6dba0", "Pipeline": "#d9ef8b",
           "Omitted": "#bdbdbd"}
_MARKERS = (("o", "black"), ("s", "tab:orange"), ("^", "tab:green"), ("D", "tab:red"), ("v", "tab:purple"))
_PARTS = (("closed_won", "closed won", "#1b7837"), ("weighted", "open deals (weighted)", "#5aae61"),
          ("new_deals", "deals not yet created", "#a6dba0"))


def _total(forecast: pd.DataFrame) -> pd.Series:
    rows = forecast[forecast["group"] == "all"]
    if rows.empty:
        raise ValueError("forecast has no 'all' row: pass the frame forecast_period returns")
    return rows.iloc[0]


def _target(row: pd.Series) -> float:
    target = row.get("target", np.nan)
    return float(target) if pd.notna(target) and target > 0 else np.nan


def _category_amounts(forecast: pd.DataFrame, deals: pd.DataFrame) -> pd.Series:
    """Amount per category (Closed from the forecast, the rest from the deals); the running
    sum is the roll-up closed, commit, best case, whole pipeline expected in the period."""
    open_amounts = deals.groupby("category")["amount"].sum()
    amounts = [float(_total(forecast)["closed_won"])] + [float(open_amounts.get(c, 0.0)) for c in CATEGORIES[1:]]
    return pd.Series(amounts, index=list(CATEGORIES), name="amount")


def period_forecast_chart(forecast: pd.DataFrame, deals: pd.DataFrame, ax=None):
    """The period total: how the expected revenue is built, the P10-P90 range, and the
    forecast-category roll-up (Closed, + Commit, + Best case, + Pipeline).

    Parameters
    ----------
    forecast, deals : DataFrame
        The two frames :func:`~forecasting.pipeline.forecast_period` returns; a ``target``
        column (``target=`` was given) adds a target line.
    ax : pair of matplotlib Axes, optional
        Draw the two panels into these Axes and return their Figure; default a new figure.
    """
    row = _total(forecast)
    target = _target(row)
    fig, (top, bottom) = new_panels(ax, 2, nrows=2, ncols=1, figsize=(11, 5.6), sharex=True,
                                    height_ratios=[1.1, 1.5])
    # Top: the range, and the expected value split in its three parts.
    top.barh(0, row["p90"] - row["p10"], left=row["p10"], color="tab:blue", alpha=0.25, label="P10-P90")
    top.plot([row["p50"]] * 2, [-0.4, 0.4], color="tab:blue", linewidth=2.5, label="P50")
    top.text(row["p90"], 0, f"  P10 {_money(row['p10'])} / P50 {_money(row['p50'])} / P90 {_money(row['p90'])}",
             va="center", fontsize=8)
    left = 0.0
    for column, label, color in _PARTS:
        top.barh(1, row[column], left=left, color=color, label=label)
        left += row[column]
    top.text(left, 1, f"  {_money(left)}", va="center", fontsize=8)
    top.barh(2, row["open_pipeline"], left=row["closed_won"], color="none", edgecolor="grey", hatch="//",
             label="open pipeline (unweighted)")
    top.text(row["closed_won"] + row["open_pipeline"], 2,
             f"  {_money(row['closed_won'] + row['open_pipeline'])}", va="center", fontsize=8)
    for ax in (top, bottom):
        if not np.isnan(target):
            ax.axvline(target, color="tab:red", linestyle="--", linewidth=1.2, label=f"target {_money(target)}")
    top.set_yticks([0, 1, 2], ["forecast range", "expected", "closed + open"])
    top.invert_yaxis()
    # The probabilities actually used: a learned model replaced by historical rates must not say "learned".
    top.set_title(f"Forecast of {row['period']} as of {row['as_of']} ({row.get('probabilities', row['method'])})")
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    # Bottom: each category on top of the ones before it (grey: already counted).
    amounts = _category_amounts(forecast, deals)
    before = amounts.cumsum() - amounts
    for y, name in enumerate(CATEGORIES):
        bottom.barh(y, before[name], color="#eeeeee", edgecolor="#cccccc")
        bottom.barh(y, amounts[name], left=before[name], color=_COLORS[name])
        bottom.text(before[name] + amounts[name], y, f"  {_money(before[name] + amounts[name])}",
                    va="center", fontsize=8)
    bottom.set_yticks(range(len(CATEGORIES)), ["Closed", "+ Commit", "+ Best case", "+ Pipeline"])
    bottom.invert_yaxis()
    bottom.axvline(row["p50"], color="tab:blue", linewidth=2.5)
    bottom.set_title("Forecast categories, cumulative (blue line: P50)")
    bottom.set_xlabel("revenue won in the period")
    money_axis(bottom, "x")
    bottom.set_xlim(0, np.nanmax([row["p90"], amounts.sum(), row["closed_won"] + row["open_pipeline"], target]) * 1.3)
    return finish(fig, ax)


def group_forecast_chart(forecast: pd.DataFrame, by: str = "group", ax=None):
    """Per group (owner, segment): expected revenue in its three parts and the P10-P90 range.

    Parameters
    ----------
    forecast : DataFrame
        :func:`~forecasting.pipeline.forecast_period` with ``by=...`` (the ``all`` row is left out).
    by : str
        What the groups are, for the title and axis label.
    ax : matplotlib Axes, optional
        Draw into this Axes and return its Figure; default a new figure.
    """
    rows = forecast[forecast["group"] != "all"].sort_values("p50")
    given = ax
    fig, ax = new_axes(ax, figsize=(9, max(2.8, 1.5 + 0.35 * len(rows))))
    y = np.arange(len(rows))
    left = np.zeros(len(rows))
    for column, label, color in _PARTS:
        ax.barh(y, rows[column], left=left, color=color, label=label, height=0.6)
        left += rows[column].to_numpy(dtype=float)
    ax.errorbar(rows["p50"], y, xerr=[rows["p50"] - rows["p10"], rows["p90"] - rows["p50"]], fmt="o",
                color="black", markersize=4, capsize=3, label="P50 with P10-P90")
    ax.set_yticks(y, rows["group"])
    ax.set_ylabel(by)
    ax.set_xlabel("revenue won in the period")
    money_axis(ax, "x")
    period = rows["period"].iloc[0] if len(rows) else ""
    ax.set_title(f"Forecast of {period} by {by}")
    ax.legend(fontsize=7, loc="lower right")
    return finish(fig, given)


def funnel_chart(funnel: pd.DataFrame, ax=None):
    """Deals that reached each stage (with the share that moved on) and median days in stage.

    Parameters
    ----------
    funnel : DataFrame
        :func:`forecasting.pipeline.health.funnel`.
    ax : pair of matplotlib Axes, optional
        Draw the two panels into these Axes and return their Figure; default a new figure.
    """
    fig, (left, right) = new_panels(ax, 2, nrows=1, ncols=2, figsize=(9, 3.4), sharey=True)
    y = np.arange(len(funnel))
    left.barh(y, funnel["reached"], color="tab:blue")
    for i, (reached, conv) in enumerate(zip(funnel["reached"], funnel["conversion_to_next"])):
        label = f" {reached:,.0f}" + ("" if pd.isna(conv) else f" ({conv:.0%} move on)")
        left.text(reached, i, label, va="center", fontsize=8)
    left.set_xlim(0, float(funnel["reached"].max()) * 1.6)
    left.set_title("Closed deals that reached each stage")
    left.set_xlabel("deals")
    left.set_yticks(y, funnel["stage"])
    left.invert_yaxis()
    right.barh(y, funnel["median_days_in_stage"], color="tab:orange")
    for i, days in enumerate(funnel["median_days_in_stage"]):
        if pd.notna(days):
            right.text(days, i, f" {days:.0f} d", va="center", fontsize=8)
    right.set_title("Median days in stage")
    right.set_xlabel("days")
    return finish(fig, ax)


def stage_rates_chart(rates: pd.DataFrame, by: str | None = None, ax=None):
    """Historical stage win rates next to the default stage probabilities.

    Parameters
    ----------
    rates : DataFrame
        :func:`~forecasting.pipeline.stage_win_rates` (with ``by=...``: its groups are dots).
    by : str, optional
        The ``by`` column of ``rates``, if any.
    ax : matplotlib Axes, optional
        Draw into this Axes and return its Figure; default a new figure.
    """
    overall = rates if by is None else rates[rates[by] == "all"]
    x = np.arange(len(overall))
    given = ax
    fig, ax = new_axes(ax, figsize=(9, 3.6))
    ax.bar(x - 0.2, overall["prior"], width=0.4, color="#bdbdbd", label="default probability")
    ax.bar(x + 0.2, overall["probability"], width=0.4, color="tab:blue", label="historical win rate")
    if by is not None:
        groups = [g for g in dict.fromkeys(rates[by]) if g != "all"]
        for k, group in enumerate(groups):
            part = rates[rates[by] == group].set_index("stage").reindex(overall["stage"])
            marker, color = _MARKERS[k % len(_MARKERS)]
            ax.plot(x + 0.2, part["probability"], linestyle="none", marker=marker, color=color,
                    markersize=5, label=f"{by} {group}")
    ax.set_xticks(x, overall["stage"])
    ax.set_ylim(0, 1)
    ax.set_ylabel("chance a deal at this stage is won")
    ax.set_xlabel("stage reached")
    ax.set_title("Stage win rates: history vs default probabilities")
    ax.legend(fontsize=7, loc="upper left")
    return finish(fig, given)


def top_deals_chart(deals: pd.DataFrame, n: int = 15, ax=None):
    """The ``n`` biggest open deals: amount, expected value (coloured by category) and probability.

    Parameters
    ----------
    deals : DataFrame
        The deals frame of :func:`~forecasting.pipeline.forecast_period`.
    n : int, default 15
    ax : matplotlib Axes, optional
        Draw into this Axes and return its Figure; default a new figure.
    """
    from matplotlib.patches import Patch

    rows = deals.nlargest(n, "amount")
    given = ax
    fig, ax = new_axes(ax, figsize=(9, 1.5 + 0.3 * len(rows)))
    y = np.arange(len(rows))
    ax.barh(y, rows["amount"], color="none", edgecolor="grey", label="amount")
    ax.barh(y, rows["expected_value"], color=[_COLORS.get(c, "grey") for c in rows["category"]])
    for i, (amount, p) in enumerate(zip(rows["amount"], rows["probability"])):
        ax.text(amount, i, f" {p:.0%}", va="center", fontsize=8)
    labels = [f"{d} {o} ({s})" for d, o, s in zip(rows["opportunity_id"], rows["owner"], rows["stage"])]
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("amount (outline) and expected value (filled); label: probability in the period")
    money_axis(ax, "x")
    ax.set_xlim(0, float(rows["amount"].max()) * 1.12 if len(rows) else 1)
    shown = [c for c in (*CATEGORIES[1:], "Omitted") if c in set(rows["category"])]
    ax.legend(handles=[Patch(color=_COLORS[c], label=c) for c in shown], fontsize=7, loc="lower right",
              title="category", title_fontsize=7)
    period = rows["period"].iloc[0] if "period" in rows and len(rows) else ""
    ax.set_title(f"The {len(rows)} biggest open deals for {period}".rstrip())
    return finish(fig, given)
