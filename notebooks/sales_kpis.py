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
# The whole sales glossary (docs/kpis.md) per period, in total and per group: deals, pipeline and
# coverage, velocity, leads and activities against targets, customers (CAC, CLV, MRR, churn) and NPS.
# Then the funnel per cohort, the activity report and the lead attribution. Every figure counts only
# what was known on `as_of`. Definitions: `help(forecasting.metrics.kpi_table)`.

# %% tags=["parameters"]
source: str = "demo"  # SOURCE of the CRM tables: demo is the embedded demo CRM, or a path.duckdb
stages: str = ""  # stages YAML of your funnel (open stages, won, lost); empty for the default stages
map: str = ""  # column renames: your name, an equals sign, the canonical name; pairs comma-separated
date_format: str = ""  # strptime format of every date column, e.g. %d/%m/%Y; empty to detect it per column
as_of: str = ""  # count only what was known on this date; empty for the last date in the data
freq: str = "Q"  # period length: D, W, M, Q or Y
by: str = "owner"  # break-down: any column (owner, segment, team, territory, product) or several, comma-separated
activity_freq: str = "W"  # period length of the activity-vs-target table: D, W or M
commission_rate: float = 0.0  # commission on won revenue, e.g. 0.15 (adds commission); 0 for none
out_dir: str = ""  # when set, result tables are written here as CSV

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from forecasting import plots
from forecasting.metrics import activity_report, kpi_table, last_complete_period, lead_attribution
from forecasting.metrics.funnel import funnel_table
from forecasting.reports.context import (KPI_LABELS, KPI_THEMES, load_report_data, money, percent, record_resolved,
                                       resolve_as_of, show, show_by_row)

pd.set_option("display.float_format", "{:,.2f}".format)
OPTIONAL = ["stage_history", "leads", "activities", "spend", "quotas", "accounts", "team", "targets", "survey"]
data = load_report_data(source, ["opportunities", *OPTIONAL], optional=OPTIONAL, stages=stages, map=map,
                        date_format=date_format)
opportunities, stage_history, leads, activities = (data[k] for k in ("opportunities", "stage_history", "leads",
                                                                     "activities"))
as_of = resolve_as_of(as_of, data)
SIDE = ("spend", "quotas", "accounts", "team", "targets", "survey")
kpis = kpi_table(opportunities, leads, activities, freq=freq, by=by or None, as_of=as_of,
                 commission_rate=commission_rate or None, **{name: data[name] for name in SIDE})
totals = kpis[kpis["group"] == "all"].set_index("period")
try:
    last, running = last_complete_period(totals.index, as_of), ""
except ValueError:  # the data ends inside its first period: show that period so far
    last = totals.index[-1]
    running = f"No period ended by {as_of}: {last} is shown so far."
_ = record_resolved(out_dir, dict(source=source, stages=stages, map=map, date_format=date_format, as_of=as_of,
                              freq=freq, by=by, activity_freq=activity_freq, commission_rate=commission_rate,
                              last_complete_period=last,
                              missing={k: v for k, v in data.notes.items()}))

# %% [markdown]
# ## The last complete period

# %%
# NBVAL_CHECK_OUTPUT
if running:
    print(running)
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
# ## The glossary per period
# Every KPI the tables allow, under its glossary name (columns with no value are left out). A KPI
# whose table is missing is listed below the table with what to add.

# %%
shown = [c for c in KPI_LABELS if c in totals.columns and totals[c].notna().any()]
for theme, columns in KPI_THEMES.items():
    columns = [c for c in columns if c in shown]
    if columns:
        display(show_by_row(totals[columns].tail(6).T.rename_axis(theme), labels=KPI_LABELS))

# %%
# NBVAL_CHECK_OUTPUT
NEEDS = {"leads": ["conversion_rate"], "activities": ["activities"], "quotas": ["attainment"], "spend": ["cac"],
         "accounts": ["churn_rate", "clv"], "team": ["team and territory break-downs"]}
for kind, names in NEEDS.items():
    if data[kind] is None:
        print(f"No {', '.join(KPI_LABELS.get(n, n) for n in names)}: {data.missing(kind)}")
for column, needs in (("acv", "contract_months"), ("profit_margin", "cost"), ("sales_volume", "quantity"),
                      ("upsell_rate", "product")):
    if column not in shown:
        print(f"No {KPI_LABELS[column]}: add a {needs} column to the opportunities.")
print(f"{len(shown)} glossary KPIs shown for {last}.")

# %% [markdown]
# ## Trends
# Bars are money (won revenue and new pipeline); lines are rates. The close ratio of recent
# periods is still rising: their deals are not all closed yet.

# %%
fig = plots.kpi_trends(kpis)
plt.show()

# %% [markdown]
# ## Per group in the last complete period
# Attainment is revenue won over quota; pipeline coverage is the pipeline due in the period over
# quota at its start; activity attainment is activities over the reps' targets.

# %%
groups = kpis[(kpis["period"] == last) & (kpis["group"] != "all")].set_index("group")
per_rep = [c for c in ("deals_won", "win_rate", "revenue_won", "quota", "attainment", "pipeline_coverage",
                       "activities") if c in groups.columns and groups[c].notna().any()]
per_rep += [c for c in groups.columns if c.startswith(("target_", "attainment_")) and groups[c].notna().any()]
show(groups[per_rep].sort_values("revenue_won", ascending=False),
     rates=[c for c in per_rep if c.startswith("attainment_")]) if len(groups) else print(
    f"No {by} breakdown: the opportunities have no {by} values in {last}.")

# %%
# NBVAL_CHECK_OUTPUT
if len(groups):
    top = groups["revenue_won"].idxmax()
    print(f"{len(groups)} {by} groups in {last}; the most revenue won: {top} ({money(groups.loc[top, 'revenue_won'])})")
if data["quotas"] is None:
    print("No attainment or coverage: " + data.missing("quotas"))

# %% [markdown]
# ## Activities against targets
# Activities per rep and type per period (`activity_freq`), with each rep's target and attainment
# when a targets table is given (a daily target counts Monday to Friday).

# %%
# NBVAL_CHECK_OUTPUT
report = (activity_report(activities, freq=activity_freq, by="owner", targets=data["targets"], as_of=as_of)
          if activities is not None else None)
recent = None
if activities is None:
    print(data.missing("activities"))
elif not totals.loc[last, "activities"]:
    print(f"No activity was recorded in {last}: the activity report has nothing to show.")
else:
    # The last activity period that ended by as_of (the running one would look short of its target).
    done = str((pd.Timestamp(as_of) + pd.Timedelta(days=1)).to_period(activity_freq) - 1)
    recent = report[report["period"] == done] if (report["period"] == done).any() else report.tail(0)
    print(f"{totals.loc[last, 'activities']:,.0f} activities in {last}; {recent['total'].sum():,.0f} by "
          f"{(recent['total'] > 0).sum()} reps in {done}")
    if data["targets"] is None:
        print("No activity targets: " + data.missing("targets"))
    for column in [c for c in recent.columns if c.startswith("attainment_")]:
        met = (recent[column] >= 1).sum()
        print(f"{column.removeprefix('attainment_')}: {met} of {recent[column].notna().sum()} reps "
              "met their target")

# %%
if recent is not None and recent["total"].sum() > 0:
    counts = recent[["owner", *[c for c in recent.columns if c not in ("period", "owner", "total")
                                and not c.startswith(("target_", "attainment_", "duration_", "response_", "completion_"))]]]
    fig = plots.activity_chart(counts)
    plt.show()
    show(recent.set_index("owner").drop(columns="period"),
         rates=[c for c in recent.columns if c.startswith("attainment_") or c.endswith("_rate")])

# %% [markdown]
# ## Funnel per cohort
# Each period's leads (or, without leads, its opportunities) followed to won: how many reached each
# step, the share of the previous step that got there, and the mean and median days it took.

# %%
funnel = funnel_table(opportunities, stage_history, leads, stages=data.stages, freq=freq, as_of=as_of)
overall = funnel[funnel["period"] == "all"].rename(columns={"step": "stage"})
fig = plots.funnel_chart(overall)
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
print("stage-to-stage conversion:", ", ".join(f"{s} {percent(c)}" for s, c in zip(overall["stage"], overall["conversion"])
                                    if pd.notna(c)))
cohort = funnel[funnel["period"] == last]
won_share = cohort["cumulative"].iloc[-1] if len(cohort) else float("nan")
print(f"cohort {last}: {percent(won_share, 1)} of its first step won by {as_of}")
if stage_history is None:
    print("Stage steps have no dates and open deals count at the first stage only. " + data.missing("stage_history"))
if leads is None:
    print("The funnel starts at the opportunity: " + data.missing("leads"))

# %%
show(funnel.pivot_table(index="period", columns="step", values="reached", sort=False).tail(6))

# %% [markdown]
# ## Lead attribution and response time
# First touch credits the source that brought the lead in; last touch the kind of activity that
# came last before conversion. Revenue comes from the won deals of converted leads; all as of `as_of`.

# %%
# NBVAL_CHECK_OUTPUT
first_note = data.missing("leads", ["source", "converted"])
last_note = first_note or data.missing("activities", ["lead_id"])
linked = "lead_id" in opportunities.columns and opportunities["lead_id"].notna().any()
first_touch = None if first_note else lead_attribution(leads, opportunities=opportunities if linked else None,
                                                       by="source", as_of=as_of)
last_touch = None if last_note else lead_attribution(leads, activities, opportunities if linked else None,
                                                     touch="last", as_of=as_of)
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
for how in ("mean", "median"):
    column = f"lead_response_minutes_{how}"
    value = totals.loc[last, column] if column in totals.columns else float("nan")
    print(f"{how} lead response in {last}: {value:,.0f} minutes" if pd.notna(value) else
          f"{how} lead response in {last}: n/a ("
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

# %% [markdown]
# ## Customers and NPS
# Acquisition cost, lifetime value and recurring revenue per period; NPS (customers) and eNPS
# (employees) from the survey: promoters answer 9-10, detractors 0-6.

# %%
# NBVAL_CHECK_OUTPUT
for column in ("cac", "clv", "clv_cac_ratio", "cac_payback_months", "mrr", "arr", "churn_rate", "nps", "enps"):
    value = totals.loc[last, column] if column in totals.columns else float("nan")
    if pd.notna(value):
        text = percent(value) if column == "churn_rate" else (
            f"{value:,.1f}" if column in ("clv_cac_ratio", "cac_payback_months", "nps", "enps") else money(value))
        print(f"{KPI_LABELS[column]} in {last}: {text}")
if data["survey"] is None:
    print("No NPS or eNPS: " + data.missing("survey"))
if data["spend"] is None:
    print("No CAC: " + data.missing("spend"))

# %%
if out_dir:
    from pathlib import Path

    from forecasting.data import write_csv

    write_csv(kpis, Path(out_dir) / "kpis.csv")
    write_csv(funnel, Path(out_dir) / "funnel.csv")
    if report is not None:
        write_csv(report, Path(out_dir) / "activity.csv")
    if first_touch is not None:
        write_csv(first_touch, Path(out_dir) / "attribution_first_touch.csv")
    if last_touch is not None:
        write_csv(last_touch, Path(out_dir) / "attribution_last_touch.csv")
