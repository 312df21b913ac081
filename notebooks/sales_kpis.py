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
stages: str = ""  # stages YAML of your funnel (open stages, won, lost); empty for the default stages
map: str = ""  # column renames: your name, an equals sign, the canonical name; pairs comma-separated
date_format: str = ""  # strptime format of every date column, e.g. %d/%m/%Y; empty to detect it per column
as_of: str = ""  # count only what was known on this date; empty for the last date in the data
freq: str = "Q"  # period length: M, Q or Y
by: str = "owner"  # break-down: owner or segment
out_dir: str = ""  # when set, result tables are written here as CSV

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd

from forecasting import plots
from forecasting.metrics import activity_report, funnel_report, kpi_table, last_complete_period, lead_attribution
from forecasting.reports.context import load_report_data, money, percent, record_resolved, resolve_as_of, show

pd.set_option("display.float_format", "{:,.2f}".format)
OPTIONAL = ["stage_history", "leads", "activities", "spend", "quotas", "accounts"]
data = load_report_data(source, ["opportunities", *OPTIONAL], optional=OPTIONAL, stages=stages, map=map,
                        date_format=date_format)
opportunities, stage_history, leads, activities = (data[k] for k in ("opportunities", "stage_history", "leads",
                                                                     "activities"))
as_of = resolve_as_of(as_of, data)
kpis = kpi_table(opportunities, leads, activities, freq=freq, by=by, as_of=as_of,
                 **{name: data[name] for name in ("spend", "quotas", "accounts")})
totals = kpis[kpis["group"] == "all"].set_index("period")
last = last_complete_period(totals.index, as_of)
_ = record_resolved(out_dir, dict(source=source, stages=stages, map=map, date_format=date_format, as_of=as_of,
                              freq=freq, by=by, last_complete_period=last,
                              missing={k: v for k, v in data.notes.items()}))

# %% [markdown]
# ## The last complete period

# %%
# NBVAL_CHECK_OUTPUT
row = totals.loc[last]
print(f"period {last} (as of {as_of}): {row.deals_won:,.0f} deals won, {row.deals_lost:,.0f} lost")
print(f"win rate {percent(row.win_rate)}, close ratio {percent(row.close_ratio)}")
print(f"revenue won {money(row.revenue_won)}, average deal {money(row.avg_deal_size)}")
cycle = "n/a" if pd.isna(row.sales_cycle_days) else f"{row.sales_cycle_days:.0f} days"
print(f"sales cycle {cycle}, lead conversion " + (percent(row.conversion_rate) if leads is not None
                                                 else "n/a (" + data.missing("leads") + ")"))

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
show(totals[[c for c in columns if c in totals.columns and totals[c].notna().any()]].tail(6))

# %% [markdown]
# ## Per group in the last complete period
# Attainment is revenue won over quota; coverage is the pipeline due in the period over quota.

# %%
groups = kpis[(kpis["period"] == last) & (kpis["group"] != "all")].set_index("group")
shown = [c for c in ("deals_won", "win_rate", "revenue_won", "quota", "attainment", "pipeline_coverage")
         if c in groups.columns and groups[c].notna().any()]
show(groups[shown].sort_values("revenue_won", ascending=False)) if len(groups) else print(
    f"No {by} breakdown: the opportunities have no {by} values in {last}.")

# %%
# NBVAL_CHECK_OUTPUT
if len(groups):
    top = groups["revenue_won"].idxmax()
    print(f"{len(groups)} {by}s in {last}; the most revenue won: {top} ({money(groups.loc[top, 'revenue_won'])})")
if data["quotas"] is None:
    print("No attainment or coverage: " + data.missing("quotas"))

# %% [markdown]
# ## Funnel report
# How many deals reached each stage, and what share of the previous stage's deals got there.

# %%
funnel = funnel_report(opportunities, stage_history, data.stages)
fig = plots.funnel_chart(funnel)
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
print("stage-to-stage conversion:", ", ".join(f"{s} {percent(c)}" for s, c in zip(funnel["stage"],
                                                                                funnel["conversion"])
                                              if pd.notna(c)))
if stage_history is None:
    print("Lost deals count at the first stage only. " + data.missing("stage_history"))

# %% [markdown]
# ## Activity report
# Calls, emails, meetings and demos per rep in the last complete period.

# %%
# NBVAL_CHECK_OUTPUT
report = activity_report(activities, freq=freq, by="owner") if activities is not None else None
recent = report[report["period"] == last] if report is not None else None
if activities is None:
    print(data.missing("activities"))
elif recent.empty or recent["total"].sum() == 0:
    print(f"No activity was recorded in {last}: the activity report has nothing to show.")
else:
    print(f"{recent['total'].sum():,.0f} activities by {(recent['total'] > 0).sum()} reps in {last}")

# %%
if recent is not None and recent["total"].sum() > 0:
    fig = plots.activity_chart(recent)
    plt.show()

# %% [markdown]
# ## Lead attribution and response time
# First touch credits the source that brought the lead in; last touch the kind of activity that
# came last before conversion. Revenue comes from the won deals of converted leads.

# %%
# NBVAL_CHECK_OUTPUT
first_note = data.missing("leads", ["source", "converted"])
last_note = first_note or data.missing("activities", ["lead_id"])
linked = "lead_id" in opportunities.columns and opportunities["lead_id"].notna().any()
first_touch = None if first_note else lead_attribution(leads, opportunities=opportunities if linked else None,
                                                       by="source")
last_touch = None if last_note else lead_attribution(leads, activities, opportunities if linked else None,
                                                     touch="last")
if first_note:
    print(f"First-touch attribution: {first_note}")
else:
    best = first_touch.iloc[0]
    won = f"{money(best.revenue_won)} won, " if linked else ""
    print(f"top source: {best.channel} ({won}{best.converted:,.0f} of {best.leads:,.0f} leads converted, "
          f"{percent(best.conversion_rate, 1)})")
    if not linked:
        print("No won revenue per source: " + data.missing("opportunities", ["lead_id"]))
if last_note:
    print(f"Last-touch attribution: {last_note}")
response = totals.loc[last, "lead_response_minutes"] if "lead_response_minutes" in totals.columns else float("nan")
print(f"median lead response in {last}: {response:,.0f} minutes" if pd.notna(response) else
      f"median lead response in {last}: n/a ("
      + (data.missing("activities", ["lead_id"]) or data.missing("leads") or "no lead was touched in the period")
      + ")")

# %%
if first_touch is not None:
    fig = plots.attribution_chart(first_touch, "First-touch attribution by source")
    plt.show()

# %% [markdown]
# First touch, by the source that brought the lead in; last touch, by the kind of activity that
# came last before conversion:

# %%
show(first_touch.set_index("channel")) if first_touch is not None else None

# %%
show(last_touch.set_index("channel")) if last_touch is not None else None

# %%
if out_dir:
    from pathlib import Path

    from forecasting.data import write_csv

    write_csv(kpis, Path(out_dir) / "kpis.csv")
    write_csv(funnel, Path(out_dir) / "funnel.csv")
    if first_touch is not None:
        write_csv(first_touch, Path(out_dir) / "attribution_first_touch.csv")
