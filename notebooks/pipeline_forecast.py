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
# # Pipeline forecast
#
# How much revenue will be won this period, from the pipeline as it stood on the as-of date:
# what is already closed won, the open deals times their chance to be won in time, and the deals
# not created yet. A Monte Carlo simulation turns that into a range: P10 (only a 10 % chance
# to end lower), P50 (the middle) and P90. Then forecast categories, the forecast per rep and
# per segment, pipeline coverage and velocity, the funnel, slippage, stage win rates, the
# biggest open deals and a backtest of the method on past periods.
# Definitions: `help(forecasting.pipeline.forecast_period)`.

# %% tags=["parameters"]
source: str = "demo"  # SOURCE of the CRM tables: demo is the embedded demo CRM, or a path.duckdb
as_of: str = "2026-06-30"  # forecast with what the CRM showed at the end of this day
period: str = "2026Q3"  # period to forecast, current or future, e.g. 2026Q3 or 2026-07
method: str = "learned"  # open-deal probability: learned, historical or default
target: float = 0.0  # period target; 0 means the summed quotas of the period, none without a quotas table
backtest_periods: str = "2025Q1:2026Q2"  # past periods to backtest, inclusive range
seed: int = 0  # random seed of the simulation and the learned model
n_sims: int = 2000  # Monte Carlo simulations
out_dir: str = ""  # when set, result tables are written here as CSV

# %%
# %matplotlib inline

import matplotlib.pyplot as plt
import pandas as pd

from forecasting.data import DataError, load_table, read_source
from forecasting.pipeline import (METHODS, PipelineData, backtest, forecast_period, period_target, plot_backtest,
                                  stage_win_rates)
from forecasting.pipeline import plots
from forecasting.pipeline.health import funnel, pipeline_health

pd.set_option("display.float_format", "{:,.3f}".format)
opportunities = load_table("opportunities", source)
stage_history = load_table("stage_history", source, opportunities=opportunities)
data = PipelineData.build(opportunities, stage_history)
goal = target if target > 0 else None
if goal is None:
    try:  # target 0: the quotas of the period, summed over reps
        goal = period_target(read_source(f"{source}:quotas", kind="quotas"), period) or None
    except DataError:  # the source has no quotas table, or none for the period: no target
        pass
kwargs = dict(as_of=as_of, period=period, method=method, n_sims=n_sims, seed=seed, data=data)
forecast, deals = forecast_period(None, target=goal, **kwargs)
by_owner, _ = forecast_period(None, by="owner", **kwargs)
by_segment, _ = forecast_period(None, by="segment", **kwargs)
health = pipeline_health(None, as_of=as_of, period=period, target=goal, data=data).set_index("kpi")["value"]
total = forecast.iloc[0]

# %% [markdown]
# ## The forecast for the period
# *Closed won* is already in. *Weighted* is the open deals' amounts times their probability of
# being won within the period; *not yet created* is what deals opened after the as-of date
# usually bring in before the period ends. The range comes from simulating each deal won or
# lost (and its amount changing as past deals' did).

# %%
# NBVAL_CHECK_OUTPUT
print(f"{period} as of {as_of}, method {method} (simulated figures to the nearest $1,000)")
print(f"P10 ${round(total.p10, -3):,.0f}, P50 ${round(total.p50, -3):,.0f}, P90 ${round(total.p90, -3):,.0f}")
print(f"closed won ${total.closed_won:,.0f}, open pipeline ${total.open_pipeline:,.0f} in {total.n_open} open deals")
print(f"weighted ${round(total.weighted, -3):,.0f}, not yet created ${round(total.new_deals, -3):,.0f}, "
      f"expected ${round(total.expected, -3):,.0f}")
print(f"commit ${total.commit:,.0f}, best case ${total.best_case:,.0f}")

# %%
assert total.p10 <= total.p50 <= total.p90
assert total.closed_won <= total.p10  # nothing closed can be lost
assert deals["probability"].between(0, 1).all() and deals["p_win"].between(0, 1).all()
assert total.closed_won <= total.commit <= total.best_case <= total.closed_won + total.open_pipeline
assert abs(total.commit - total.closed_won - deals.loc[deals["category"] == "Commit", "amount"].sum()) < 0.01
assert abs(deals["expected_value"].sum() - total.weighted) < 0.01
assert set(deals["category"]) <= {"Commit", "Best case", "Pipeline", "Omitted"}

# %% [markdown]
# ## Forecast categories
# The top panel shows how the expected revenue is built and the P10-P90 range. The bottom one
# is the roll-up sales teams call: *Closed*, plus *Commit* (open deals with at least a 70 %
# chance to close in the period), plus *Best case* (40-70 %), plus the rest of the *Pipeline*
# expected in the period. Deals expected after the period are *Omitted*.

# %%
fig = plots.period_forecast_chart(forecast, deals)
plt.show()

# %% [markdown]
# ## By rep and by segment
# Bars are the expected revenue of each group; the black line is its P10-P90 range. A wide range
# means the group depends on a few large deals.

# %%
fig = plots.group_forecast_chart(by_owner, "owner")
plt.show()
fig = plots.group_forecast_chart(by_segment, "segment")
plt.show()

# %%
by_segment.set_index("group")[["closed_won", "open_pipeline", "weighted", "new_deals", "p10", "p50", "p90",
                               "commit"]]

# %%
owners, segments = by_owner[by_owner["group"] != "all"], by_segment[by_segment["group"] != "all"]
assert (owners["p10"] <= owners["p50"]).all() and (owners["p50"] <= owners["p90"]).all()
assert abs(owners["weighted"].sum() - total.weighted) < 0.01  # the groups add up to the total
assert abs(segments["closed_won"].sum() - total.closed_won) < 0.01

# %% [markdown]
# ## Coverage and velocity
# Coverage is the open pipeline expected in the period over what is still to win of the target
# (3x is a common rule of thumb). Velocity is the revenue the pipeline produces per day: open
# deals x average deal size x win rate / sales cycle, over the last twelve months.

# %%
# NBVAL_CHECK_OUTPUT
print(f"target ${goal:,.0f}, pipeline coverage {health['pipeline_coverage']:.1f}x" if goal else "no target")
print(f"win rate {health['win_rate']:.1%}, average deal ${health['avg_deal_size']:,.0f}, "
      f"sales cycle {health['sales_cycle_days']:.0f} days")
print(f"pipeline velocity ${health['pipeline_velocity']:,.0f} per day from {health['open_deals']:.0f} open deals")

# %% [markdown]
# ## Funnel and time in stage
# Deals closed by the as-of date: how many reached each stage, the share that moved on to the
# next one (from Negotiation: won) and the median days they spent in it.

# %%
stage_funnel = funnel(data, as_of)
fig = plots.funnel_chart(stage_funnel)
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
print("stage-to-next conversion:", ", ".join(f"{s} {c:.0%}" for s, c in zip(stage_funnel["stage"],
                                                                         stage_funnel["conversion_to_next"])))
print("median days in stage:", ", ".join(f"{s} {d:.0f}" for s, d in zip(stage_funnel["stage"],
                                                                     stage_funnel["median_days_in_stage"])))

# %% [markdown]
# ## Slippage
# Slippage is the share of the deals expected to close last period that were still open at its
# end. Overdue deals have an expected close date before the as-of date; pushes count how often a
# deal's close date moved later.

# %%
# NBVAL_CHECK_OUTPUT
print(f"slippage last period {health['slippage_rate']:.0%}, overdue {health['overdue_share']:.0%} of open amount, "
      f"{health['avg_pushes']:.2f} pushes per open deal")

# %% [markdown]
# ## Stage win rates
# The CRM's default stage probabilities next to the share of past deals at each stage that were
# won (shrunk toward the default when there are few deals); dots are the segments. Higher
# historical rates do not by themselves make the `default` method too low: it also counts every
# deal expected in the period as closing in time, and deals that slip offset that. The backtest
# below shows which method has been closest.

# %%
rates = stage_win_rates(opportunities, stage_history, as_of=as_of, by="segment")
fig = plots.stage_rates_chart(rates, by="segment")
plt.show()
rates[rates["segment"] == "all"].set_index("stage").drop(columns="segment")

# %%
assert rates["probability"].between(0, 1).all() and rates["prior"].between(0, 1).all()

# %% [markdown]
# ## The biggest open deals
# Probability is the chance to be won within the period; expected value is amount x probability.

# %%
fig = plots.top_deals_chart(deals, n=15)
plt.show()
deals.nlargest(10, "amount").set_index("opportunity_id")[["owner", "segment", "stage", "amount", "close_date",
                                                           "pushes", "probability", "expected_value", "category"]]

# %% [markdown]
# ## Backtest
# Each past period forecast as of its first day, with only what was known then, by each method;
# the black line is what was actually won (per all the data in the source, not only up to the
# as-of date). WAPE is the average miss of the P50 as a share of
# the actual, bias > 0 means over-forecasting, coverage is the share of periods whose actual fell
# inside the P10-P90 range (80 % if the range is honest).

# %%
history, accuracy = backtest(None, periods=backtest_periods, methods=METHODS, n_sims=n_sims, seed=seed, data=data)
fig = plot_backtest(history)
plt.show()
accuracy.set_index("method")

# %%
# NBVAL_CHECK_OUTPUT
for row in accuracy.itertuples():
    print(f"{row.method:<10} WAPE {row.wape:.1%}, bias {row.bias:+.1%}, P10-P90 coverage {row.coverage_80:.0%}")

# %%
assert (history["p10"] <= history["p90"]).all() and (history["actual"] >= 0).all()
assert accuracy["coverage_80"].between(0, 1).all()

# %%
if out_dir:
    from pathlib import Path

    from forecasting.data import write_csv

    write_csv(forecast, Path(out_dir) / "forecast.csv")
    write_csv(by_owner, Path(out_dir) / "forecast_by_owner.csv")
    write_csv(by_segment, Path(out_dir) / "forecast_by_segment.csv")
    write_csv(deals, Path(out_dir) / "deals.csv")
    write_csv(health.reset_index(), Path(out_dir) / "health.csv")
    write_csv(rates, Path(out_dir) / "stage_win_rates.csv")
    write_csv(history, Path(out_dir) / "backtest.csv")
    write_csv(accuracy, Path(out_dir) / "metrics.csv")
