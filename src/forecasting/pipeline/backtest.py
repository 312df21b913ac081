"""Backtest: forecast past periods as of their first day and compare with what was won.

Every forecast goes through :func:`~forecasting.pipeline.forecast_period`'s
as-of machinery, so it sees only the rows stamped on or before its date; the
actual is the revenue won in the period per the full tables.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ..data.validate import DataWarning
from ..metrics.accuracy import bias, coverage, interval_width, wape
from ..progress import progress
from ._context import PipelineData, resolve
from .forecast import METHODS, RANGE_PERIODS, _forecast, _window
from .snapshot import DAY, parse_periods, period_bounds

__all__ = ["backtest", "backtest_metrics", "plot_backtest", "BACKTEST_COLUMNS", "METRIC_COLUMNS"]

BACKTEST_COLUMNS = ("period", "method", "actual", "p10", "p50", "p90")
METRIC_COLUMNS = ("method", "wape", "bias", "coverage_80")


def actual_won(data: PipelineData, period) -> float:
    """Revenue won in ``period`` according to the full tables."""
    _, start, end = period_bounds(period)
    return float(data.won_between(start, end)["amount"].sum())


def backtest(
    opportunities: pd.DataFrame | None = None,
    stage_history: pd.DataFrame | None = None,
    *,
    periods,
    methods=METHODS,
    n_sims: int = 2000,
    seed: int = 0,
    stages=None,
    strength: float = 10.0,
    lookback_periods: int = 4,
    ranges: str = "calibrated",
    range_periods: int = RANGE_PERIODS,
    data: PipelineData | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast each past period as of its first day with each method; score against actuals.

    Parameters
    ----------
    opportunities, stage_history : DataFrame, optional
        Canonical tables (stage history optional: approximate snapshots; neither is
        needed when ``data`` is given).
    periods : str or sequence
        ``"2024Q1:2025Q4"`` (inclusive) or a list of periods. Each must start after
        the first deal was created and by the data's last record (a
        :class:`~forecasting.data.DataError` otherwise); a period that ends after the
        last record gets a warning (its actual is incomplete).
    methods : sequence of {"default", "historical", "learned"}
    n_sims, seed, stages, strength, lookback_periods, ranges, range_periods
        As in :func:`~forecasting.pipeline.forecast_period`.
    data : PipelineData, optional
        Prepared inputs to reuse.

    Returns
    -------
    backtest : DataFrame
        ``period, method, actual, p10, p50, p90``, then ``expected, closed_won,
        weighted, new_deals, as_of, range_shock, range_shift, range_periods, snapshot,
        probabilities``: one row per period and method. Each range is widened by the
        backtest errors of the periods before it (:mod:`forecasting.pipeline.ranges`), so
        it is what a forecaster on that day would have published.
    metrics : DataFrame
        ``method, wape, bias, coverage_80`` (see :func:`backtest_metrics`).
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; expected {', '.join(METHODS)}")
    data = resolve(opportunities, stage_history, stages, data)
    periods = parse_periods(periods)
    _check_periods(data, periods)
    rows = []
    for period in progress(periods, desc="backtest"):
        p, start, _ = period_bounds(period)
        win = _window(p, start + DAY)  # as of the first day of the period
        actual = actual_won(data, p)
        for method in methods:
            fc, _ = _forecast(data, win, method, None, n_sims, seed, strength, lookback_periods, ranges=ranges,
                              range_periods=range_periods)
            row = fc.iloc[0]
            rows.append({
                "period": str(p), "method": method, "actual": actual,
                **{k: float(row[k]) for k in ("p10", "p50", "p90", "expected", "closed_won", "weighted",
                                              "new_deals")},
                "as_of": row["as_of"], "range_shock": float(row["range_shock"]),
                "range_shift": float(row["range_shift"]),
                "range_periods": int(row["range_periods"]), "snapshot": row["snapshot"],
                "probabilities": row["probabilities"],
            })
    frame = pd.DataFrame(rows)
    return frame, backtest_metrics(frame)


def _check_periods(data: PipelineData, periods: list) -> None:
    """Backtest periods must lie within the data: known at their first day, actual recorded."""
    first, last = data.first_date, data.last_date
    bounds = [period_bounds(p) for p in periods]
    early = [str(p) for p, start, _ in bounds if start + DAY <= first]
    late = [str(p) for p, start, _ in bounds if start > last]
    problems = []
    if early:
        problems.append(problem("periods", None, f"start before the first deal was created ({first.date()}): "
                                "nothing was known on their first day", early))
    if late:
        problems.append(problem("periods", None, f"start after the data's last record ({last.date()}): "
                                "there is no actual to compare with", late))
    if problems:
        raise DataError(problems)
    unfinished = [str(p) for p, _, end in bounds if end > last.normalize() + DAY]
    if unfinished:
        warnings.warn(f"backtest period(s) {', '.join(unfinished)} end after the data's last record "
                      f"({last.date()}): their actual is incomplete", DataWarning, stacklevel=3)


def backtest_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """Accuracy of each method over the backtest periods.

    ``wape`` and ``bias`` compare the P50 with the actual (fractions of the total
    actual; bias > 0 over-forecasts), ``coverage_80`` is the share of actuals
    inside [P10, P90] (80 % nominal), ``width_80`` the mean P10-P90 width over the
    mean actual, ``n_periods`` the number of periods.

    Examples
    --------
    >>> frame = pd.DataFrame({"method": ["m", "m"], "actual": [100.0, 200.0], "p10": [90.0, 100.0],
    ...                       "p50": [110.0, 180.0], "p90": [120.0, 190.0]})
    >>> backtest_metrics(frame).round(4).to_dict("records")
    [{'method': 'm', 'wape': 0.1, 'bias': -0.0333, 'coverage_80': 0.5, 'width_80': 0.4, 'n_periods': 2}]
    """
    out = []
    for method, part in frame.groupby("method", sort=False):
        a = part["actual"].to_numpy(dtype=float)
        out.append({
            "method": method,
            "wape": wape(a, part["p50"]),
            "bias": bias(a, part["p50"]),
            "coverage_80": coverage(a, part["p10"], part["p90"]),
            "width_80": interval_width(part["p10"], part["p90"], scale=float(np.mean(np.abs(a)))),
            "n_periods": int(len(part)),
        })
    return pd.DataFrame(out, columns=[*METRIC_COLUMNS, "width_80", "n_periods"])


def plot_backtest(frame: pd.DataFrame, path=None, ax=None):
    """Forecast (P50 with the P10-P90 band) against actual per period, one panel per method.

    Returns the matplotlib Figure; writes a PNG atomically when ``path`` is given. ``ax``
    (a sequence of Axes, one per method) draws into your own subplots instead of a new figure.
    """
    import matplotlib.pyplot as plt

    from ..figures import finish, money_axis, new_panels, save_figure

    methods = list(dict.fromkeys(frame["method"]))
    fig, axes = new_panels(ax, len(methods), nrows=1, ncols=len(methods), figsize=(4.2 * len(methods), 3.4),
                           sharey=True)
    for panel, method in zip(axes, methods):
        part = frame[frame["method"] == method]
        x = np.arange(len(part))
        panel.fill_between(x, part["p10"], part["p90"], alpha=0.25, label="P10-P90")
        panel.plot(x, part["p50"], marker="o", label="P50")
        panel.plot(x, part["actual"], marker="s", color="black", label="actual")
        panel.set_title(method)
        panel.set_xticks(x, part["period"], rotation=45, fontsize=8)
        panel.set_xlabel("period (forecast as of its first day)")
    axes[0].set_ylabel("revenue won in period")
    money_axis(axes[0])
    axes[0].legend(fontsize=8)
    fig.suptitle("Pipeline backtest: forecast range against revenue actually won")
    finish(fig, ax)
    if path is not None:
        save_figure(fig, path)
        plt.close(fig)
    return fig
