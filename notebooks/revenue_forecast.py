# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Revenue forecast
#
# Monthly revenue per segment and in total: the history, a forecast for the coming months with
# 80 % and 95 % ranges, which model has been most accurate on this history (a rolling-origin
# backtest), and the forecast summed by quarter.
# Definitions: `help(forecasting.revenue.forecast)` and `help(forecasting.revenue.backtest_metrics)`.

# %% tags=["parameters"]
source: str = "demo"  # SOURCE of the revenue table: demo is the embedded demo CRM, or a path.duckdb
as_of: str = "2026-06-30"  # use only the history up to this date
horizon: int = 12  # periods to forecast
level: int = 80  # range quoted in the text: 80 or 95
models: str = "naive,seasonal_naive,ets,arima,theta,ensemble"  # models to backtest, comma-separated
model: str = "ensemble"  # model of the forecast: a model name, or auto for the best MASE in the backtest
backtest_horizon: int = 6  # periods forecast from each backtest origin
folds: int = 3  # backtest origins, each backtest_horizon periods apart
seed: int = 0  # random seed
out_dir: str = ""  # when set, result tables are written here as CSV

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd

from forecasting.data import load_table
from forecasting.revenue import TOTAL, backtest, backtest_metrics, forecast, future_index, select_model
from forecasting.revenue import plots

assert level in (80, 95), f"level must be 80 or 95, found {level}"
pd.set_option("display.float_format", "{:,.3f}".format)
revenue = load_table("revenue", source)
revenue = revenue[revenue["date"] <= pd.Timestamp(as_of)]  # only what was known on the as-of date
cv = backtest(revenue, backtest_horizon, folds=folds, models=[m.strip() for m in models.split(",")], seed=seed)
leaderboard = backtest_metrics(cv).sort_values("mase", kind="stable")
best = select_model(leaderboard, "mase")
chosen = best if model == "auto" else model
fc = forecast(revenue, horizon, model=chosen, seed=seed)
total = fc[fc["series"] == TOTAL].set_index("date")

# %% [markdown]
# ## History and forecast
# The line is the expected revenue per month. The darker band is the 80 % range: revenue
# should land inside it about 8 months in 10; the lighter band is the 95 % range. The total is
# the sum of the segment forecasts; its range comes from a model of the total itself, which is
# narrower than adding up the segments' ranges because their surprises partly cancel out.

# %%
fig = plots.fan_charts(fc, revenue)
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
lo, hi = f"lo_{level}", f"hi_{level}"
print(f"history {revenue['date'].min():%b %Y} to {revenue['date'].max():%b %Y}, model {chosen} "
      f"(money to the nearest $10,000)")
for key, part in fc.groupby("series", sort=False):
    print(f"{key}: next {horizon} months ${round(part['mean'].sum(), -4):,.0f}")
first = total.iloc[0]
print(f"total {total.index[0]:%b %Y}: ${round(first['mean'], -4):,.0f}, {level} % range "
      f"${round(first[lo], -4):,.0f} to ${round(first[hi], -4):,.0f}")
last = total.iloc[-1]
print(f"total {total.index[-1]:%b %Y}: ${round(last['mean'], -4):,.0f}, {level} % range "
      f"${round(last[lo], -4):,.0f} to ${round(last[hi], -4):,.0f}")

# %%
assert (fc["lo_95"] <= fc["lo_80"]).all() and (fc["lo_80"] <= fc["mean"]).all()
assert (fc["mean"] <= fc["hi_80"]).all() and (fc["hi_80"] <= fc["hi_95"]).all()
expected = future_index(pd.DatetimeIndex(sorted(revenue["date"].unique())), horizon)
for key, part in fc.groupby("series"):
    assert list(part["date"]) == list(expected), key  # every series starts right after the history
segments = fc[fc["series"] != TOTAL].groupby("date")["mean"].sum()
assert ((segments - total["mean"]).abs() <= 1e-6 * total["mean"].abs()).all()  # coherent total

# %% [markdown]
# ## Which model has been most accurate
# The backtest pretends to stand at earlier dates (the origins), forecasts the next
# `backtest_horizon` months with each model using only the history known then, and compares with
# what happened. **MASE** is the average miss divided by the in-sample miss of "same month last
# year": below 1 beats that rule of thumb, lower is better. **sMAPE** is the average miss in percent.
# **Coverage** is the share of actual months that fell inside the 80 % and 95 % ranges: an honest
# range covers about 80 % and 95 %.
#
# On the demo CRM (48 months, 3 segments) with 6-month forecasts from 3 origins, ARIMA has been
# the most accurate and the ensemble second, with the most honest ranges. A 12-month backtest
# with 3 origins would be misleading here: its first origin leaves only 12 months of history to
# learn from, too short for ETS, ARIMA, Theta and the ensemble (they need two years), which then
# fall back to simpler models (the count of fallbacks is printed below the table).

# %%
fig = plots.leaderboard_chart(leaderboard)
plt.show()
leaderboard

# %%
# NBVAL_CHECK_OUTPUT
for row in leaderboard.itertuples():
    print(f"{row.model:<14} MASE {row.mase:.2f}, sMAPE {row.smape:4.1f} %, actuals inside the "
          f"80 % range {row.coverage_80:4.0%}, the 95 % range {row.coverage_95:4.0%}")
fits = cv.drop_duplicates(["series", "cutoff", "model"])
print(f"origins {', '.join(f'{c:%b %Y}' for c in sorted(cv['cutoff'].unique()))}; "
      f"{(fits['fitted_model'] != fits['model']).sum()} of {len(fits)} fits fell back to a simpler model")
print(f"most accurate on this history (lowest MASE): {best}")

# %%
assert leaderboard["mase"].notna().all() and (leaderboard["mase"] >= 0).all()
assert leaderboard[["coverage_80", "coverage_95"]].stack().between(0, 1).all()
assert (leaderboard["coverage_80"] <= leaderboard["coverage_95"]).all()

# %% [markdown]
# ## The backtest, month by month
# Each panel is a segment; dotted lines are the origins. The best model by MASE is drawn thick with
# its 80 % range, the others thin. A model that keeps missing on the same side has a bias the
# leaderboard's averages can hide.

# %%
fig = plots.backtest_chart(cv, revenue)
plt.show()
backtest_metrics(cv, by_series=True).sort_values(["series", "mase"])

# %% [markdown]
# ## The forecast by quarter
# Expected revenue per quarter: the sum of its months' expected revenue (`months` shows how many
# months of a quarter the forecast covers). Ranges are left out on purpose: a quarter's range is
# not the sum of its months' ranges, as good and bad months partly offset each other.

# %%
quarter = fc["date"].dt.to_period("Q").astype(str).rename("quarter")
by_quarter = fc.groupby(["series", quarter], sort=False).agg(mean=("mean", "sum"), months=("date", "size"))
by_quarter["mean"].unstack("series")

# %%
# NBVAL_CHECK_OUTPUT
for row in by_quarter.loc[TOTAL].itertuples():
    print(f"total {row.Index}: ${round(row.mean, -4):,.0f} over {row.months} month(s)")

# %%
assert by_quarter["months"].sum() == len(fc)
assert abs(by_quarter.loc[TOTAL, "mean"].sum() - total["mean"].sum()) <= 1e-6 * total["mean"].sum()

# %%
if out_dir:
    from pathlib import Path

    from forecasting.data import write_csv

    write_csv(fc, Path(out_dir) / "forecast.csv")
    write_csv(by_quarter.reset_index(), Path(out_dir) / "forecast_by_quarter.csv")
    write_csv(leaderboard, Path(out_dir) / "metrics.csv")
    write_csv(backtest_metrics(cv, by_series=True), Path(out_dir) / "metrics_by_series.csv")
    write_csv(cv, Path(out_dir) / "backtest.csv")
