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
stages: str = ""  # stages YAML of your funnel (open stages, won, lost); empty for the default stages
map: str = ""  # column renames: your name, an equals sign, the canonical name; pairs comma-separated
date_format: str = ""  # strptime format of every date column, e.g. %d/%m/%Y; empty to detect it per column
as_of: str = ""  # forecast with what the CRM showed at the end of this day; empty for the last date in the data
period: str = ""  # period to forecast, e.g. 2026Q3 or 2026-07; empty for the quarter still open after as_of
method: str = "learned"  # open-deal probability: learned, historical or default
target: float = 0.0  # period target; 0 means the summed quotas of the period, none without a quotas table
backtest_periods: str = ""  # past periods to backtest, inclusive range like 2025Q1:2026Q2; empty for the last 8 complete ones
seed: int = 0  # random seed of the simulation and the learned model
n_sims: int = 0  # Monte Carlo simulations; 0 for the library's default (as the CLI)
saved_backtest: str = ""  # --out folder of `forecasting pipeline backtest` with these settings; empty to backtest here
out_dir: str = ""  # when set, result tables are written here as CSV

# %%
# %matplotlib inline

import matplotlib.pyplot as plt
import pandas as pd

from forecasting.data import DataError
from forecasting.pipeline import (METHODS, PipelineData, backtest, forecast_period, period_target, plot_backtest,
                                  stage_win_rates)
from forecasting.pipeline import plots
from forecasting.pipeline.health import funnel, pipeline_health
from forecasting.reports.context import (library_default, load_report_data, money, percent, record_resolved,
                                         resolve_as_of, resolve_backtest_periods, resolve_period, show)
from forecasting.reports.saved import load_pipeline_backtest, report_inputs

pd.set_option("display.float_format", "{:,.3f}".format)
data_in = load_report_data(source, ["opportunities", "stage_history", "quotas"], optional=["stage_history", "quotas"],
                           stages=stages, map=map, date_format=date_format)
opportunities, stage_history = data_in["opportunities"], data_in["stage_history"]
data = PipelineData.build(opportunities, stage_history, data_in.stages)
as_of = resolve_as_of(as_of, data_in)
period = resolve_period(period, as_of)
backtest_periods = resolve_backtest_periods(backtest_periods, as_of, period=period, first=data.first_date)
sims = n_sims or library_default(forecast_period, "n_sims")
backtest_sims = n_sims or library_default(backtest, "n_sims")
goal = target if target > 0 else None
if goal is None and data_in["quotas"] is not None:
    try:  # target 0: the quotas of the period, summed over reps
        goal = period_target(data_in["quotas"], period) or None
    except DataError:  # no quotas for the period: no target
        pass
kwargs = dict(as_of=as_of, period=period, method=method, n_sims=sims, seed=seed, data=data)
forecast, deals = forecast_period(None, target=goal, **kwargs)
has_segment = "segment" in opportunities.columns and opportunities["segment"].notna().any()
by_owner, _ = forecast_period(None, by="owner", **kwargs)
by_segment = forecast_period(None, by="segment", **kwargs)[0] if has_segment else None
health = pipeline_health(None, as_of=as_of, period=period, target=goal, data=data).set_index("kpi")["value"]
total = forecast.iloc[0]
_ = record_resolved(out_dir, dict(source=source, stages=stages, map=map, date_format=date_format, as_of=as_of,
                                  period=period, method=method, target=goal or 0.0,
                                  backtest_periods=backtest_periods, seed=seed, n_sims=sims,
                                  backtest_n_sims=backtest_sims, exact_snapshot=stage_history is not None,
                                  saved_backtest=saved_backtest, missing=data_in.notes))

# %% [markdown]
# ## The forecast for the period
# *Closed won* is already in. *Weighted* is the open deals' amounts times their probability of
# being won within the period; *not yet created* is what deals opened after the as-of date
# usually bring in before the period ends. The range comes from simulating each deal won or
# lost (and its amount changing as past deals' did).

# %%
# NBVAL_CHECK_OUTPUT
print(f"{period} as of {as_of}, method {method}, {sims:,} simulations")
if total.probabilities != method:  # the learned model was replaced: say by what and why
    print(f"probabilities used: {total.probabilities}")
print(f"P10 {money(total.p10)}, P50 {money(total.p50)}, P90 {money(total.p90)}")
print(f"closed won {money(total.closed_won)}, open pipeline {money(total.open_pipeline)} in {total.n_open:,} open deals")
print(f"weighted {money(total.weighted)}, not yet created {money(total.new_deals)}, expected {money(total.expected)}")
print(f"commit {money(total.commit)}, best case {money(total.best_case)}")
if stage_history is None:
    print("The as-of snapshot is approximate (current stages and amounts). " + data_in.missing("stage_history"))

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
if by_segment is not None:
    fig = plots.group_forecast_chart(by_segment, "segment")
    plt.show()
else:
    print("No forecast by segment: " + data_in.missing("opportunities", ["segment"]))

# %%
show((by_segment if by_segment is not None else by_owner).set_index("group")[
    ["closed_won", "open_pipeline", "weighted", "new_deals", "p10", "p50", "p90", "commit"]])

# %%
owners = by_owner[by_owner["group"] != "all"]
assert (owners["p10"] <= owners["p50"]).all() and (owners["p50"] <= owners["p90"]).all()
assert abs(owners["weighted"].sum() - total.weighted) < 0.01  # the groups add up to the total
if by_segment is not None:
    assert abs(by_segment.loc[by_segment["group"] != "all", "closed_won"].sum() - total.closed_won) < 0.01

# %% [markdown]
# ## Coverage and velocity
# Coverage is the open pipeline expected in the period over what is still to win of the target
# (3x is a common rule of thumb). Velocity is the revenue the pipeline produces per day: open
# deals x average deal size x win rate / sales cycle, over the last twelve months.

# %%
# NBVAL_CHECK_OUTPUT
if goal:
    coverage = health["pipeline_coverage"]
    print(f"target {money(goal)}, pipeline coverage " + (f"{coverage:.1f}x" if pd.notna(coverage) else "n/a"))
elif data_in["quotas"] is None:
    print("No target, so no coverage: pass the target parameter. " + data_in.missing("quotas"))
else:
    print(f"No target, so no coverage: the quotas table has no quota for {period}; pass the target parameter.")
cycle = health["sales_cycle_days"]
print(f"win rate {percent(health['win_rate'])}, average deal {money(health['avg_deal_size'])}, "
      f"sales cycle " + (f"{cycle:.0f} days" if pd.notna(cycle) else "n/a"))
print(f"pipeline velocity {money(health['pipeline_velocity'])} per day from {health['open_deals']:,.0f} open deals")

# %% [markdown]
# ## Funnel and time in stage
# Deals closed by the as-of date: how many reached each stage, the share that moved on to the
# next one (the last open stage's: won) and the median days they spent in it.

# %%
stage_funnel = funnel(data, as_of)
if stage_funnel["reached"].sum() > 0:
    fig = plots.funnel_chart(stage_funnel)
    plt.show()

# %%
# NBVAL_CHECK_OUTPUT
if stage_funnel["reached"].sum() == 0:
    print(f"No deal had closed by {as_of}: the funnel has nothing to show.")
else:
    moved = stage_funnel.dropna(subset=["conversion_to_next"])
    print("stage-to-next conversion:", ", ".join(f"{s} {percent(c)}" for s, c in zip(
        moved["stage"], moved["conversion_to_next"])) or "not known")
    known = stage_funnel.dropna(subset=["median_days_in_stage"])
    print("median days in stage:", ", ".join(f"{s} {d:.0f}" for s, d in zip(known["stage"],
                                                                          known["median_days_in_stage"]))
          or "not known")
    if stage_history is None:
        print("Days in stage need the dates deals entered each stage. " + data_in.missing("stage_history"))

# %% [markdown]
# ## Slippage
# Slippage is the share of the deals expected to close last period that were still open at its
# end. Overdue deals have an expected close date before the as-of date; pushes count how often a
# deal's close date moved later.

# %%
# NBVAL_CHECK_OUTPUT
if stage_history is None:  # without history a deal's close date never moved: slippage would read 0
    print(f"overdue {percent(health['overdue_share'])} of open amount; slippage and pushes need the close dates "
          "deals had before. " + data_in.missing("stage_history"))
else:
    print(f"slippage last period {percent(health['slippage_rate'])}, overdue {percent(health['overdue_share'])} "
          f"of open amount, {health['avg_pushes']:.2f} pushes per open deal")

# %% [markdown]
# ## Stage win rates
# The CRM's default stage probabilities next to the share of past deals at each stage that were
# won (shrunk toward the default when there are few deals); dots are the segments. The backtest
# below shows which method has been closest.

# %%
rates = stage_win_rates(opportunities, stage_history, data_in.stages, as_of=as_of,
                        by="segment" if has_segment else None)
fig = plots.stage_rates_chart(rates, by="segment" if has_segment else None)
plt.show()
show((rates[rates["segment"] == "all"].drop(columns="segment") if has_segment else rates).set_index("stage"))

# %%
assert rates["probability"].between(0, 1).all() and rates["prior"].between(0, 1).all()

# %% [markdown]
# ## The biggest open deals
# Probability is the chance to be won within the period; expected value is amount x probability.

# %%
if len(deals):
    fig = plots.top_deals_chart(deals, n=15)
    plt.show()
else:
    print(f"No deal was open on {as_of}: the forecast is what was closed plus the deals not yet created.")
shown = [c for c in ("owner", "segment", "stage", "amount", "close_date", "pushes", "probability", "expected_value",
                     "category") if c in deals.columns]
show(deals.nlargest(10, "amount").set_index("opportunity_id")[shown])

# %% [markdown]
# ## Backtest
# Each past period forecast as of its first day, with only what was known then, by each method;
# the black line is what was actually won (per all the data in the source, not only up to the
# as-of date). WAPE is the average miss of the P50 as a share of
# the actual, bias > 0 means over-forecasting, coverage is the share of periods whose actual fell
# inside the P10-P90 range (80 % if the range is honest).

# %%
settings = dict(periods=backtest_periods, methods=METHODS, n_sims=backtest_sims, seed=seed)
# `forecasting demo` passes the backtest its `pipeline backtest` step saved: the same rows, not computed twice.
inputs = report_inputs(source, stage_history=stage_history is not None, stages=stages, map=map, date_format=date_format)
history, accuracy = (load_pipeline_backtest(saved_backtest, inputs=inputs, **settings) if saved_backtest
                     else backtest(None, **settings, data=data))
fig = plot_backtest(history)
plt.show()
show(accuracy.set_index("method"))

# %%
# NBVAL_CHECK_OUTPUT
print(f"backtest {backtest_periods}, {backtest_sims:,} simulations per forecast")
for row in accuracy.itertuples():
    print(f"{row.method:<10} WAPE {percent(row.wape, 1)}, bias {row.bias:+.1%}, P10-P90 coverage "
          f"{percent(row.coverage_80)}")
closest = accuracy.sort_values("wape", kind="stable").iloc[0]
print(f"closest on these periods: {closest.method} (WAPE {percent(closest.wape, 1)})")

# %%
assert (history["p10"] <= history["p90"]).all() and (history["actual"] >= 0).all()
assert accuracy["coverage_80"].between(0, 1).all()

# %%
if out_dir:
    from pathlib import Path

    from forecasting.data import write_csv

    write_csv(forecast, Path(out_dir) / "forecast.csv")
    write_csv(by_owner, Path(out_dir) / "forecast_by_owner.csv")
    if by_segment is not None:
        write_csv(by_segment, Path(out_dir) / "forecast_by_segment.csv")
    write_csv(deals, Path(out_dir) / "deals.csv")
    write_csv(health.reset_index(), Path(out_dir) / "health.csv")
    write_csv(rates, Path(out_dir) / "stage_win_rates.csv")
    write_csv(history, Path(out_dir) / "backtest.csv")
    write_csv(accuracy, Path(out_dir) / "metrics.csv")
