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
# # The weekly forecast call
#
# What the team calls for the period and what the pipeline says, side by side: this week's
# roll-up of the reps' and managers' calls against last week's and against the pipeline model;
# how the period's pipeline moved since last week (waterfall and forecast categories); the deals
# at risk; whose calls can be trusted (each source's error by week of quarter, each person's
# track record); a forecast combining the calls and the pipeline; and bear / base / bull scenarios.
# Definitions: `help(forecasting.calls)` and `help(forecasting.pipeline.waterfall)`.

# %% tags=["parameters"]
source: str = "demo"  # SOURCE of the CRM tables: demo is the embedded demo CRM, or a path.duckdb
stages: str = ""  # stages YAML of your funnel (open stages, won, lost); empty for the default stages
map: str = ""  # column renames: your name, an equals sign, the canonical name; pairs comma-separated
date_format: str = ""  # strptime format of every date column, e.g. %d/%m/%Y; empty to detect it per column
as_of: str = ""  # the call as of the end of this day; empty for the last date in the data
period: str = ""  # period called, e.g. 2026Q3; empty for the quarter still open after as_of
since: str = ""  # start of the waterfall and of "last week"; empty for 7 days before as_of
method: str = "historical"  # open-deal probability of the pipeline model: learned, historical or default
target: float = 0.0  # period target for the scenarios' "what it takes"; 0 for none
seed: int = 0  # random seed of the simulations
n_sims: int = 2000  # Monte Carlo simulations of the forecast and the scenarios
range_periods: int = 0  # past periods backtested to size the forecast's range (slow); 0 assumes the shock
track_periods: int = 6  # past periods of the track records and the combined forecast's weights (0: all)
out_dir: str = ""  # when set, result tables are written here as CSV

# %%
# %matplotlib inline

import warnings

import matplotlib.pyplot as plt
import pandas as pd

from forecasting.calls import (call_accuracy, check_calls, combine, compare_sources, convergence, hierarchy,
                               plot_convergence, rollup, track_record)
from forecasting.calls.accuracy import forecasts_as_of
from forecasting.data import DataError, DataWarning
from forecasting.pipeline import (SCENARIOS, PipelineData, category_moves, deal_risk, forecast_period,
                                  simulate_scenarios, waterfall, what_it_takes)
from forecasting.pipeline.waterfall import plot_waterfall
from forecasting.reports.context import (load_report_data, money, percent, record_resolved, resolve_as_of,
                                         resolve_period, show)

pd.set_option("display.float_format", "{:,.3f}".format)
optional = ["stage_history", "activities", "team", "forecast_calls"]
data_in = load_report_data(source, ["opportunities", *optional], optional=optional, stages=stages, map=map,
                           date_format=date_format)
data = PipelineData.build(data_in["opportunities"], data_in["stage_history"], data_in.stages)
as_of = resolve_as_of(as_of, data_in)
period = resolve_period(period, as_of)
since = since or str((pd.Timestamp(as_of) - pd.Timedelta(days=7)).date())
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DataWarning)  # the range's basis is printed below
    forecast, deals = forecast_period(as_of=as_of, period=period, method=method, n_sims=n_sims, seed=seed,
                                      range_periods=range_periods, data=data)
total = forecast.iloc[0]
has_calls = data_in["team"] is not None and data_in["forecast_calls"] is not None
if has_calls:
    team = hierarchy(data_in["team"])
    calls = check_calls(data_in["forecast_calls"], team)
no_calls = ("No forecast calls: add team (owner, manager) and forecast_calls (owner, period, submitted_at, "
            f"commit, best_case) tables to {source} for the roll-up, the track records and the combined forecast.")
_ = record_resolved(out_dir, dict(source=source, stages=stages, map=map, date_format=date_format, as_of=as_of,
                                  period=period, since=since, method=method, target=target, seed=seed,
                                  n_sims=n_sims, range_periods=range_periods, track_periods=track_periods,
                                  exact_snapshot=data.exact,
                                  has_calls=has_calls,
                                  missing=data_in.notes))

# %% [markdown]
# ## This week's call
# Each manager's call is their own submission if they made one (an *override* of their team's
# roll-up), else the sum of their reports' calls. *Change* is against the call a week earlier.
# The pipeline model's P50 is what the open pipeline, the deals already won and the deals not
# yet created add up to.

# %%
# NBVAL_CHECK_OUTPUT
print(f"{period} as of {as_of}: pipeline model ({method}) P10 {money(total.p10)}, P50 {money(total.p50)}, "
      f"P90 {money(total.p90)}; closed won {money(total.closed_won)}")
print(f"P10-P90: {total.range_method}")
if has_calls:
    now = rollup(team, calls, as_of=as_of, period=period, checked=True)
    before = rollup(team, calls, as_of=since, period=period, checked=True).set_index("node")["commit"]
    now["last_week"] = now["node"].map(before)
    now["change"] = now["commit"] - now["last_week"]
    top = now.iloc[0]
    if now["commit"].notna().any():
        print(f"{top['node']}'s call: commit {money(top['commit'])} (a week earlier {money(top['last_week'])}), "
              f"best case {money(top['best_case'])}; {int(now['override'].sum())} overrides, "
              f"{int(top['missing_calls'])} reps without a call")
    else:
        made = calls[calls["submitted_at"] < pd.Timestamp(as_of) + pd.Timedelta(days=1)]
        latest = made.loc[made["submitted_at"].idxmax(), "period"] if len(made) else None
        print(f"No calls for {period} submitted by {as_of} yet" + (f"; the latest are for {latest}: pass "
              f"period={latest} to see them." if latest else "."))
        now = None
else:
    now = None
    print(no_calls)

# %%
if now is not None:
    show(now.set_index("node")[["level", "commit", "last_week", "change", "best_case", "override_commit", "note"]],
         money=["commit", "last_week", "change", "best_case", "override_commit"])

# %%
assert total.p10 <= total.p50 <= total.p90
if now is not None:
    managers = now[now["node"].map(lambda n: not team.is_leaf(n)) & ~now["override"] & now["commit"].notna()]
    assert (abs(managers["commit"] - managers["rolled_commit"]) < 0.01).all()  # no override: the sum

# %% [markdown]
# ## What moved since last week
# The waterfall follows the open pipeline expected to close in the period: deals created, pulled
# in from later periods or pushed in from earlier ones add to it; deals pushed out, won or lost
# leave it; amount changes move it. It reconciles to the cent. The matrix counts the deals that
# moved between forecast categories (by their stage's default probability).

# %%
flows = waterfall(from_date=since, to_date=as_of, period=period, data=data)
moves = category_moves(from_date=since, to_date=as_of, period=period, data=data)
fig = plot_waterfall(flows)
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
by_bucket = flows.set_index("bucket")["amount"]
print(f"open pipeline of {period}: {money(by_bucket['open at start'])} on {since} -> "
      f"{money(by_bucket['open at end'])} on {as_of} ({flows['snapshot'].iloc[0]} snapshots)")
assert round(by_bucket.iloc[:-1].sum() * 100) == round(by_bucket["open at end"] * 100)

# %%
show(moves.pivot_table(index="from_category", columns="to_category", values="deals", aggfunc="sum", fill_value=0))

# %% [markdown]
# ## Deals at risk
# Open deals of the period with at least one warning sign: close date pushed, stuck in their
# stage twice as long as usual for their segment, close date passed, no activity for 30 days,
# amount changed, or moved back to an earlier stage. *Value at risk* is their expected value.

# %%
risk = deal_risk(as_of=as_of, period=period, activities=data_in["activities"],
                 probability=deals.set_index("opportunity_id")["probability"], data=data)
flagged = risk[risk["flags"] > 0]
print(f"{len(flagged)} of {len(risk)} open deals of {period} flagged: {money(flagged['value_at_risk'].sum())} of "
      f"{money(risk['expected_value'].sum())} expected value")
if data_in["activities"] is None:
    print("Inactivity is not checked: " + data_in.missing("activities"))
show(flagged.head(10).set_index("opportunity_id")[["owner", "stage", "amount", "close_date", "flags", "pushes",
                                                    "days_in_stage", "value_at_risk"]], money=["amount"])

# %% [markdown]
# ## Whose call to trust
# For every past period, each source as it stood at the end of each week of the quarter against
# what was actually won: the team's call, the CRM's weighted pipeline and the combination of both
# (weighted by their past accuracy at the same week, each rep's call corrected by their own
# record). A falling line is a source that converges. The track record shows each person's
# average bias: below 0 they sandbag, above 0 they are optimistic.

# %%
accuracy = None
if has_calls:
    try:
        accuracy = call_accuracy(team, calls, as_of=as_of, last=track_periods, model_method=None, data=data)
    except DataError as err:
        print(f"No track record yet: {err}")
else:
    print(no_calls)

# %%
if accuracy is not None:
    combined = combine(accuracy, team)
    scored = pd.concat([accuracy, combined[["source", "person", "period", "week", "forecast", "actual", "error",
                                            "bias"]]], ignore_index=True)
    ax = plot_convergence(scored)
    plt.show()
    backtest = compare_sources(accuracy, combined, team)
    print(f"combined error <= the best single source (the team's call, the weighted pipeline) at "
          f"{int(backtest['combined_wins'].sum())} of {len(backtest)} weeks, <= the debiased calls too at "
          f"{int(backtest['combined_wins_all'].sum())} (periods with 2+ past periods)")
    show(track_record(accuracy), rates=["bias", "error"])

# %% [markdown]
# ## Combined forecast for this period
# The calls as of today and the weighted pipeline, each corrected by its past bias around this week
# of the quarter, weighted by the covariance of their past errors (a source that repeats another's
# errors adds little), with a P10-P90 range.

# %%
# NBVAL_CHECK_OUTPUT
if accuracy is not None:
    current = forecasts_as_of(team, calls, data, as_of=as_of, period=period)
    mixed = combine(pd.concat([accuracy, current], ignore_index=True), team)
    row = mixed[mixed["period"] == period].iloc[-1]
    print(f"combined {period} (week {row['week']}): P10 {money(row['p10'])}, P50 {money(row['forecast'])}, "
          f"P90 {money(row['p90'])} from {row['sources']} source(s) and {row['history']} past periods")
else:
    print("No combined forecast: it needs past periods with calls. " + (no_calls if not has_calls else ""))

# %% [markdown]
# ## Scenarios
# The forecast re-simulated with other assumptions: *bear* (win rates x0.8, a fifth of the
# deals slipping, 20 % less new pipeline, deals 5 % smaller), *base* and *bull* (x1.2, no
# slippage, 20 % more new pipeline, deals 5 % larger).

# %%
# NBVAL_CHECK_OUTPUT
goal = target if target > 0 else None
scenarios = simulate_scenarios(forecast, deals, SCENARIOS, target=goal, n_sims=n_sims, seed=seed)
for r in scenarios.itertuples():
    print(f"{r.scenario:<5} P10 {money(r.p10)}, P50 {money(r.p50)}, P90 {money(r.p90)}")
if goal is not None:
    takes = what_it_takes(forecast, deals, target=goal, probability=0.8, n_sims=n_sims, seed=seed)
    factor = takes["win_rate_factor"]
    rates = f"win rates x{factor:.2f}" if factor == factor else "no win-rate change alone is enough"
    print(f"to reach {money(goal)} with 80% probability (now {percent(takes['current_probability'])}): "
          f"{money(takes['extra_pipeline'])} more pipeline, or {rates}")
else:
    print("No target: pass the target parameter to see what reaching it takes.")
assert (scenarios.set_index("scenario").loc["bear", "p50"] <= scenarios.set_index("scenario").loc["bull", "p50"])

# %%
if out_dir:
    from pathlib import Path

    from forecasting.data import write_csv

    write_csv(flows, Path(out_dir) / "waterfall.csv")
    write_csv(moves, Path(out_dir) / "categories.csv")
    write_csv(risk, Path(out_dir) / "risk.csv")
    write_csv(scenarios, Path(out_dir) / "scenarios.csv")
    if now is not None:
        write_csv(now, Path(out_dir) / "rollup.csv")
    if accuracy is not None:
        write_csv(accuracy, Path(out_dir) / "accuracy.csv")
