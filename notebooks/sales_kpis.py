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
# # Sales KPIs
#
# The sales glossary's KPIs per period, in total and per rep: win rate, close ratio, revenue won,
# deal size, sales cycle, pipeline created and coverage, velocity, lead conversion and response
# time, churn and CAC. Then the funnel, the activity report and the lead attribution report.
# Definitions: `help(forecasting.metrics.kpi_table)`.

# %% tags=["parameters"]
source: str = "demo"  # SOURCE of the CRM tables: demo is the embedded demo CRM, or a path.duckdb
as_of: str = "2026-06-30"  # count only what was known on this date
freq: str = "Q"  # period length: M, Q or Y
by: str = "owner"  # break-down: owner or segment
out_dir: str = ""  # when set, result tables are written here as CSV

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd

from forecasting import plots
from forecasting.data import load_table, read_source
from forecasting.metrics import activity_report, funnel_report, kpi_table, last_complete_period, lead_attribution

pd.set_option("display.float_format", "{:,.2f}".format)
opportunities = load_table("opportunities", source)
stage_history = load_table("stage_history", source, opportunities=opportunities)
leads = load_table("leads", source)
activities = load_table("activities", source)
extras = {name: read_source(f"{source}:{name}", kind=name) for name in ("spend", "quotas", "accounts")}
kpis = kpi_table(opportunities, leads, activities, freq=freq, by=by, as_of=as_of, **extras)
totals = kpis[kpis["group"] == "all"].set_index("period")
last = last_complete_period(totals.index, as_of)

# %% [markdown]
# ## The last complete period

# %%
# NBVAL_CHECK_OUTPUT
row = totals.loc[last]
print(f"period {last}: {row.deals_won:.0f} deals won, {row.deals_lost:.0f} lost")
print(f"win rate {row.win_rate:.1%}, close ratio {row.close_ratio:.1%}")
print(f"revenue won ${row.revenue_won:,.0f}, average deal ${row.avg_deal_size:,.0f}")
print(f"sales cycle {row.sales_cycle_days:.0f} days, lead conversion {row.conversion_rate:.1%}")

# %%
assert ((totals["win_rate"].dropna() >= 0) & (totals["win_rate"].dropna() <= 1)).all()
assert (totals["deals_won"] >= 0).all() and (totals["revenue_won"] >= 0).all()
assert totals.index.is_monotonic_increasing

# %% [markdown]
# ## Trends
# Bars are money (won revenue and new pipeline); lines are rates. The close ratio of recent
# periods is still rising: their deals are not all closed yet.

# %%
fig = plots.kpi_trends(kpis)
plt.show()

# %%
columns = ["deals_won", "win_rate", "close_ratio", "revenue_won", "avg_deal_size", "sales_cycle_days",
           "pipeline_created", "pipeline_coverage", "pipeline_velocity", "conversion_rate",
           "lead_response_minutes", "churn_rate", "cac"]
totals[[c for c in columns if c in totals.columns]].tail(6)

# %% [markdown]
# ## Per rep in the last complete period
# Attainment is revenue won over quota; coverage is the pipeline due in the period over quota.

# %%
reps = kpis[(kpis["period"] == last) & (kpis["group"] != "all")].set_index("group")
reps[[c for c in ("deals_won", "win_rate", "revenue_won", "quota", "attainment", "pipeline_coverage")
      if c in reps.columns]].sort_values("revenue_won", ascending=False)

# %% [markdown]
# ## Funnel report
# How many deals reached each stage, and what share of the previous stage's deals got there.

# %%
funnel = funnel_report(opportunities, stage_history)
fig = plots.funnel_chart(funnel)
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
print("stage-to-stage conversion:", ", ".join(f"{s} {c:.0%}" for s, c in zip(funnel["stage"], funnel["conversion"])
                                              if pd.notna(c)))

# %% [markdown]
# ## Activity report
# Calls, emails, meetings and demos per rep in the last complete period.

# %%
report = activity_report(activities, freq=freq, by="owner")
fig = plots.activity_chart(report[report["period"] == last])
plt.show()

# %% [markdown]
# ## Lead attribution and response time
# First touch credits the source that brought the lead in; last touch the kind of activity that
# came last before conversion. Revenue comes from the won deals of converted leads.

# %%
first_touch = lead_attribution(leads, opportunities=opportunities, by="source")
last_touch = lead_attribution(leads, activities, opportunities, touch="last")
fig = plots.attribution_chart(first_touch, "First-touch attribution by source")
plt.show()

# %% [markdown]
# First touch, by the source that brought the lead in:

# %%
first_touch.set_index("channel")

# %% [markdown]
# Last touch, by the kind of activity that came last before conversion:

# %%
last_touch.set_index("channel")

# %%
# NBVAL_CHECK_OUTPUT
best = first_touch.iloc[0]
print(f"top source by won revenue: {best.channel} (${best.revenue_won:,.0f}, conversion {best.conversion_rate:.1%})")
print(f"median lead response in {last}: {totals.loc[last, 'lead_response_minutes']:.0f} minutes")

# %%
if out_dir:
    from pathlib import Path

    from forecasting.data import write_csv

    write_csv(kpis, Path(out_dir) / "kpis.csv")
    write_csv(funnel, Path(out_dir) / "funnel.csv")
    write_csv(first_touch, Path(out_dir) / "attribution_first_touch.csv")
