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
# backtest), the forecast summed by quarter, and the current quarter's forecast blended with the
# pipeline forecast.
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
blend_period: str = "2026Q3"  # quarter blended with the pipeline forecast made as of as_of (the current quarter)
blend_backtest_periods: str = "2025Q1:2026Q2"  # past quarters, complete by as_of, that weight the blend
blend_metric: str = "mse"  # blend weights: inverse mse or inverse wape of each method's backtest P50
out_dir: str = ""  # when set, result tables are written here as CSV

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd

from forecasting.data import load_table
from forecasting.pipeline import PipelineData, forecast_period
from forecasting.pipeline import backtest as pipeline_backtest
from forecasting.revenue import TOTAL, backtest, backtest_metrics, forecast, future_index, select_model
from forecasting.revenue import plots
from forecasting.revenue.blend import blend_with_pipeline

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
leaderboard.set_index("model")

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
backtest_metrics(cv, by_series=True).sort_values(["series", "mase"]).set_index(["series", "model"])

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

# %% [markdown]
# ## Blend with the pipeline for the current quarter
# Two forecasts of the quarter's bookings (revenue won) that know different things. The
# **pipeline** forecast knows this quarter's deals: what is open, at which stage, and how deals
# like them have closed. The **time-series** forecast knows the history: the trend and the season of
# the monthly bookings (here a forecast of the bookings from won deals, the quantity the pipeline
# forecasts, not of the revenue table above). The **blend** weights the two by how close each has
# been in past quarters (each quarter forecast as of its first day with only what was known then):
# the method that missed by less gets more weight. Its P10 / P50 / P90 are the weighted averages of
# the two methods' P10 / P50 / P90, so it always lies between them.
#
# Read the bars as the expected bookings (P50) and the black lines as the P10 to P90 range: only a 10 %
# chance to end below P10, 10 % above P90. The accuracy table replays the blend on the past quarters,
# each time with weights from the quarters before it only: a lower WAPE (average miss as a share of
# the actual) than both methods means the blend is worth using.
#
# On the demo CRM the pipeline has been the closer of the two over the last six quarters (WAPE about
# 15 % against 27 %), so it gets about two thirds of the weight. The replayed blend is about as accurate
# as the pipeline alone, not better; what it adds is the history's caution: a lower P10 than the deals
# alone suggest.

# %%
opportunities = load_table("opportunities", source)
crm = PipelineData.build(opportunities, load_table("stage_history", source, opportunities=opportunities))
pipeline_fc, _ = forecast_period(as_of=as_of, period=blend_period, seed=seed, data=crm)
pipeline_past, _ = pipeline_backtest(periods=blend_backtest_periods, methods=["learned"], seed=seed, data=crm)
blended, blend_past, blend_accuracy = blend_with_pipeline(opportunities, pipeline_fc, pipeline_past, as_of,
                                                          model=chosen, metric=blend_metric, seed=seed)
fig = plots.blend_chart(blended)
plt.show()
blended.set_index("method")[["p10", "p50", "p90", "weight"]]

# %%
blend_accuracy.set_index("method")

# %%
# NBVAL_CHECK_OUTPUT
print(f"{blend_period} as of {as_of}, weights from {blend_backtest_periods} (inverse {blend_metric}), "
      f"money to the nearest $10,000")
for row in blended.itertuples():
    print(f"{row.method:<12} P10 ${round(row.p10, -4):,.0f}, P50 ${round(row.p50, -4):,.0f}, "
          f"P90 ${round(row.p90, -4):,.0f}, weight {row.weight:.2f}")
for row in blend_accuracy.itertuples():
    print(f"backtest {row.method:<12} WAPE {row.wape:.1%}, bias {row.bias:+.1%}, "
          f"P10-P90 coverage {row.coverage_80:.0%} over {row.n_periods} quarters")

# %%
assert (blended["p10"] <= blended["p50"]).all() and (blended["p50"] <= blended["p90"]).all()
p50 = blended.set_index("method")["p50"]
assert min(p50["pipeline"], p50["time_series"]) <= p50["blend"] <= max(p50["pipeline"], p50["time_series"])
assert abs(blended.loc[blended["method"] != "blend", "weight"].sum() - 1) < 1e-9

# %%
if out_dir:
    from pathlib import Path

    from forecasting.data import write_csv

    write_csv(fc, Path(out_dir) / "forecast.csv")
    write_csv(by_quarter.reset_index(), Path(out_dir) / "forecast_by_quarter.csv")
    write_csv(leaderboard, Path(out_dir) / "metrics.csv")
    write_csv(backtest_metrics(cv, by_series=True), Path(out_dir) / "metrics_by_series.csv")
    write_csv(cv, Path(out_dir) / "backtest.csv")
    write_csv(blended, Path(out_dir) / "blend.csv")
    write_csv(blend_past, Path(out_dir) / "blend_backtest.csv")
    write_csv(blend_accuracy, Path(out_dir) / "blend_metrics.csv")
