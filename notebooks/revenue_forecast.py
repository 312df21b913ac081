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
source: str = "demo"  # SOURCE of the revenue table (and opportunities for the blend): demo, or a path.duckdb
stages: str = ""  # stages YAML of your funnel (open stages, won, lost); empty for the default stages
map: str = ""  # column renames: your name, an equals sign, the canonical name; pairs comma-separated
date_format: str = ""  # strptime format of every date column, e.g. %d/%m/%Y; empty to detect it per column
as_of: str = ""  # use only the history up to this date; empty for the last date in the data
horizon: int = 12  # periods to forecast
level: int = 80  # range quoted in the text: 80 or 95
models: str = ""  # models to backtest, comma-separated; empty for the library's default list (as the CLI)
model: str = "ensemble"  # model of the forecast: a model name, or auto for the best MASE in the backtest
backtest_horizon: int = 6  # periods forecast from each backtest origin
folds: int = 3  # backtest origins, each backtest_horizon periods apart
seed: int = 0  # random seed
blend_period: str = ""  # quarter blended with the pipeline forecast; empty for the quarter still open after as_of
blend_backtest_periods: str = ""  # past quarters that weight the blend, like 2025Q1:2026Q2; empty for the last 8 complete
blend_metric: str = "mse"  # blend weights: inverse mse or inverse wape of each method's backtest P50
saved_blend: str = ""  # --out folder of `forecasting revenue blend` with these settings; empty to blend here
out_dir: str = ""  # when set, result tables are written here as CSV

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd

from forecasting.data import infer_frequency
from forecasting.pipeline import PipelineData, forecast_period
from forecasting.pipeline import backtest as pipeline_backtest
from forecasting.reports.context import (load_report_data, money, percent, record_resolved, resolve_as_of,
                                         resolve_backtest_periods, resolve_period, show)
from forecasting.revenue import DEFAULT_MODEL, DEFAULT_MODELS, TOTAL, backtest_metrics, future_index, run_forecast
from forecasting.revenue import plots
from forecasting.reports.saved import load_blend, report_inputs
from forecasting.revenue.blend import blend_with_pipeline

assert level in (80, 95), f"level must be 80 or 95, found {level}"
pd.set_option("display.float_format", "{:,.3f}".format)
data = load_report_data(source, ["revenue", "opportunities", "stage_history"],
                        optional=["opportunities", "stage_history"], stages=stages, map=map,
                        date_format=date_format, check_kwargs={"revenue": {"allow_short": True}})
as_of = resolve_as_of(as_of, data)
revenue = data["revenue"]
revenue = revenue[revenue["date"] <= pd.Timestamp(as_of)]  # only what was known on the as-of date
candidates = [m.strip() for m in models.split(",") if m.strip()] or list(DEFAULT_MODELS)
# As `forecasting revenue forecast` does: backtest, pick (model=auto), forecast; a history too short to
# backtest leaves cv and leaderboard None and the sections below say so.
run = run_forecast(revenue, horizon, model, backtest_horizon=backtest_horizon, folds=folds, models=candidates,
                   seed=seed)
cv, leaderboard, best, fc = run.backtest, run.metrics, run.best, run.forecast
chosen = (best or DEFAULT_MODEL) if model == "auto" else model
total = fc[fc["series"] == TOTAL].set_index("date")
alias = infer_frequency(revenue["date"].unique())[0] or ""
unit = next((word for code, word in (("M", "months"), ("Q", "quarters"), ("W", "weeks"), ("D", "days"))
             if alias.startswith(code)), "periods")
resolved = dict(source=source, stages=stages, map=map, date_format=date_format, as_of=as_of, horizon=horizon,
                level=level, models=",".join(candidates), model=model, chosen_model=chosen,
                backtest_horizon=backtest_horizon, folds=folds, seed=seed, blend_metric=blend_metric,
                saved_blend=saved_blend, missing=data.notes)
_ = record_resolved(out_dir, resolved)

# %% [markdown]
# ## History and forecast
# The line is the expected revenue per period. The darker band is the 80 % range: revenue
# should land inside it about 8 periods in 10; the lighter band is the 95 % range. The total is
# the sum of the segment forecasts; its range comes from a model of the total itself, which is
# narrower than adding up the segments' ranges because their surprises partly cancel out.

# %%
fig = plots.fan_charts(fc, revenue)
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
lo, hi = f"lo_{level}", f"hi_{level}"
print(f"history {revenue['date'].min():%b %Y} to {revenue['date'].max():%b %Y}, model {chosen}")
for key, part in fc.groupby("series", sort=False):
    print(f"{key}: next {horizon} {unit} {money(part['mean'].sum())}")
first = total.iloc[0]
print(f"total {total.index[0]:%b %Y}: {money(first['mean'])}, {level} % range "
      f"{money(first[lo])} to {money(first[hi])}")
last = total.iloc[-1]
print(f"total {total.index[-1]:%b %Y}: {money(last['mean'])}, {level} % range "
      f"{money(last[lo])} to {money(last[hi])}")

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
# `backtest_horizon` periods with each model using only the history known then, and compares with
# what happened. **MASE** is the average miss divided by the in-sample miss of "same period last
# year": below 1 beats that rule of thumb, lower is better. **sMAPE** is the average miss in percent.
# **Coverage** is the share of actual periods that fell inside the 80 % and 95 % ranges: an honest
# range covers about 80 % and 95 %. Models that need two years of history fall back to simpler
# ones at origins with less (the count of fallbacks is printed below the table).

# %%
if leaderboard is not None:
    fig = plots.leaderboard_chart(leaderboard)
    plt.show()
show(leaderboard.set_index("model"), rates=["coverage_80", "coverage_95"]) if leaderboard is not None else None

# %%
# NBVAL_CHECK_OUTPUT
if leaderboard is None:
    print(f"The history ({revenue['date'].nunique()} periods) is too short to backtest {backtest_horizon} periods "
          f"ahead: pass a smaller backtest_horizon or folds, or add history. The forecast uses {chosen}.")
else:
    for row in leaderboard.itertuples():
        print(f"{row.model:<14} MASE {row.mase:.2f}, sMAPE {row.smape:4.1f} %, actuals inside the "
              f"80 % range {percent(row.coverage_80)}, the 95 % range {percent(row.coverage_95)}")
    fits = cv.drop_duplicates(["series", "cutoff", "model"])
    print(f"origins {', '.join(f'{c:%b %Y}' for c in sorted(cv['cutoff'].unique()))}; "
          f"{(fits['fitted_model'] != fits['model']).sum()} of {len(fits)} fits fell back to a simpler model")
    runner_up = leaderboard["model"].iloc[1] if len(leaderboard) > 1 else None
    honest = leaderboard.loc[(leaderboard["coverage_80"] - 0.8).abs().idxmin()]
    print(f"most accurate on this history (lowest MASE): {best}" + (f", then {runner_up}" if runner_up else ""))
    print(f"most honest 80 % range: {honest.model} (covered {percent(honest.coverage_80)} of actuals)")

# %%
if leaderboard is not None:
    assert leaderboard["mase"].notna().all() and (leaderboard["mase"] >= 0).all()
    assert leaderboard[["coverage_80", "coverage_95"]].stack().between(0, 1).all()
    assert (leaderboard["coverage_80"] <= leaderboard["coverage_95"]).all()

# %% [markdown]
# ## The backtest, period by period
# Each panel is a segment; dotted lines are the origins. The best model by MASE is drawn thick with
# its 80 % range, the others thin. A model that keeps missing on the same side has a bias the
# leaderboard's averages can hide.

# %%
if leaderboard is not None:
    fig = plots.backtest_chart(cv, revenue)
    plt.show()
show(backtest_metrics(cv, by_series=True).sort_values(["series", "mase"]).set_index(["series", "model"])) if (
    cv is not None) else None

# %% [markdown]
# ## The forecast by quarter
# Expected revenue per quarter: the sum of its periods' expected revenue (`periods` shows how many
# of a quarter's periods the forecast covers). Ranges are left out on purpose: a quarter's range is
# not the sum of its months' ranges, as good and bad months partly offset each other.

# %%
quarter = fc["date"].dt.to_period("Q").astype(str).rename("quarter")
by_quarter = fc.groupby(["series", quarter], sort=False).agg(mean=("mean", "sum"), periods=("date", "size"))
show(by_quarter["mean"].unstack("series"), money="all")

# %%
# NBVAL_CHECK_OUTPUT
for row in by_quarter.loc[TOTAL].itertuples():
    print(f"total {row.Index}: {money(row.mean)} over {row.periods} {unit[:-1] if row.periods == 1 else unit}")

# %%
assert by_quarter["periods"].sum() == len(fc)
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

# %%
opportunities, blended, blend_note = data["opportunities"], None, data.missing("opportunities")
pipeline_method = "learned"  # as `forecasting revenue blend`
if opportunities is not None:
    crm = PipelineData.build(opportunities, data["stage_history"], data.stages)
    blend_period = resolve_period(blend_period, as_of)
    blend_backtest_periods = resolve_backtest_periods(blend_backtest_periods, as_of, period=blend_period,
                                                      first=crm.first_date)
    # `forecasting demo` passes the blend its `revenue blend` step saved: the same numbers, not computed twice.
    if saved_blend:
        inputs = report_inputs(source, stage_history=data["stage_history"] is not None, stages=stages, map=map,
                               date_format=date_format)
        blended, blend_past, blend_accuracy = load_blend(
            saved_blend, inputs=inputs, as_of=as_of, period=blend_period, backtest_periods=blend_backtest_periods,
            pipeline_method=pipeline_method, model=chosen, metric=blend_metric, seed=seed)
    else:
        pipeline_fc, _ = forecast_period(as_of=as_of, period=blend_period, method=pipeline_method, seed=seed,
                                         data=crm)
        pipeline_past, _ = pipeline_backtest(periods=blend_backtest_periods, methods=[pipeline_method], seed=seed,
                                             data=crm)
        blended, blend_past, blend_accuracy = blend_with_pipeline(opportunities, pipeline_fc, pipeline_past, as_of,
                                                                  model=chosen, metric=blend_metric, seed=seed)
    _ = record_resolved(out_dir, {**resolved, "blend_period": blend_period,
                                  "blend_backtest_periods": blend_backtest_periods})
if blended is not None:
    fig = plots.blend_chart(blended)
    plt.show()
show(blended.set_index("method")[["p10", "p50", "p90", "weight"]]) if blended is not None else None

# %%
show(blend_accuracy.set_index("method")) if blended is not None else None

# %%
# NBVAL_CHECK_OUTPUT
if blended is None:
    print(f"No blend with the pipeline: {blend_note}")
else:
    print(f"{blend_period} as of {as_of}, weights from {blend_backtest_periods} (inverse {blend_metric})")
    for row in blended.itertuples():
        print(f"{row.method:<12} P10 {money(row.p10)}, P50 {money(row.p50)}, P90 {money(row.p90)}, "
              f"weight {row.weight:.2f}")
    for row in blend_accuracy.itertuples():
        print(f"backtest {row.method:<12} WAPE {percent(row.wape, 1)}, bias {row.bias:+.1%}, "
              f"P10-P90 coverage {percent(row.coverage_80)} over {row.n_periods} quarters")
    wape = blend_accuracy.set_index("method")["wape"]
    weight = blended.set_index("method")["weight"]
    closer = "pipeline" if wape["pipeline"] <= wape["time_series"] else "time_series"
    print(f"the {closer.replace('_', '-')} forecast has been the closer of the two "
          f"(WAPE {percent(wape['pipeline'], 1)} pipeline, {percent(wape['time_series'], 1)} time series), "
          f"so it gets {percent(weight[closer])} of the weight")
    verdict = "better than both methods" if wape["blend"] < wape.drop("blend").min() else (
        "not better than the closer method alone")
    print(f"the replayed blend's WAPE is {percent(wape['blend'], 1)}: {verdict}")

# %%
if blended is not None:
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
    if leaderboard is not None:
        write_csv(leaderboard, Path(out_dir) / "metrics.csv")
        write_csv(backtest_metrics(cv, by_series=True), Path(out_dir) / "metrics_by_series.csv")
        write_csv(cv, Path(out_dir) / "backtest.csv")
    if blended is not None:
        write_csv(blended, Path(out_dir) / "blend.csv")
        write_csv(blend_past, Path(out_dir) / "blend_backtest.csv")
        write_csv(blend_accuracy, Path(out_dir) / "blend_metrics.csv")
