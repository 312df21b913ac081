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
# # Lead scoring: which model, and which leads to call
#
# Several lead scorers compared the way they would have worked in production: each one trained
# on older leads and tested on the next block of newer ones (time-aware cross-validation), so
# the test sees what a deployed model sees. Then how to use the winner: the score cut-off that
# fits the team's calling capacity, grades A-D, why a new lead scores as it does, and whether
# new leads still look like the ones the model learned from (drift).
# Definitions: `help(forecasting.leads.compare_models)`.

# %% tags=["parameters"]
source: str = "demo"  # SOURCE of the leads table: demo is the embedded demo CRM, or a path.duckdb
stages: str = ""  # stages YAML of your funnel (not used by lead scoring; every report takes it)
map: str = ""  # column renames: your name, an equals sign, the canonical name; pairs comma-separated
date_format: str = ""  # strptime format of every date column, e.g. %d/%m/%Y; empty to detect it per column
target: str = "converted"  # label column: 1 if the lead converted, else 0
exclude: str = ""  # comma-separated columns to leave out of the features
models: str = ""  # comma-separated candidates to compare; empty for every candidate (as the CLI)
folds: int = 0  # number of time-ordered test folds; 0 for the library's default (as the CLI)
n_boot: int = 0  # bootstrap replicates of the intervals; 0 for the library's default (as the CLI)
seed: int = 0  # seed of every random step
min_age_days: int = 45  # newer leads have no final label: not trained on, used as the newest leads
capacity_per_week: int = 60  # leads the sales team can call per week
model: str = ""  # saved model folder to check for drift; empty means train the best model here
saved_comparison: str = ""  # --out folder of `forecasting leads compare` with these settings; empty to compare here
out_dir: str = ""  # when set, result tables are written here as CSV

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd

from forecasting.leads import (choose_threshold, compare_models, grade_cuts, grade_table, leads_per_week,
                               load_model, train_model, young_leads)
from forecasting.leads import plots
from forecasting.leads.drift import SCORE
from forecasting.reports.context import library_default, load_report_data, record_resolved, show
from forecasting.reports.saved import load_comparison

assert min_age_days > 0, "min_age_days sets the newest leads, the ones checked for drift"
pd.set_option("display.float_format", "{:,.3f}".format)
pd.set_option("display.max_colwidth", 120)
leads = load_report_data(source, ["leads"], stages=stages, map=map, date_format=date_format)["leads"]
folds = folds or library_default(compare_models, "folds")
n_boot = n_boot or library_default(compare_models, "n_boot")
settings = dict(models=models, folds=folds, seed=seed, exclude=exclude, n_boot=n_boot, min_age_days=min_age_days)
# `forecasting demo` passes the comparison its `leads compare` step saved: the same numbers, not computed twice.
comparison = (load_comparison(saved_comparison, source=source, target=target, map=map, date_format=date_format,
                              **settings)
              if saved_comparison else compare_models(leads, target, **{**settings, "models": models or None}))
current = load_model(model) if model else train_model(
    leads, comparison.best, target, exclude=exclude, seed=seed, min_age_days=min_age_days,
    calibration=comparison.calibration[comparison.best])
board = comparison.leaderboard
best = comparison.scores()  # out-of-fold scores of the winner
# The newest leads: too young for a final label, they are the ones a deployed model scores now.
recent = young_leads(leads, min_age_days)
_ = record_resolved(out_dir, dict(source=source, stages=stages, map=map, date_format=date_format, target=target,
                                  exclude=exclude, models=",".join(board["model"]), folds=folds, n_boot=n_boot,
                                  seed=seed, min_age_days=min_age_days, capacity_per_week=capacity_per_week,
                                  model=model or comparison.best, saved_comparison=saved_comparison))

# %% [markdown]
# ## Leaderboard
# ROC AUC is the chance that a lead that converted scores above one that did not: 0.5 is a coin
# flip, 1 a perfect ranking. The bar is its 95 % bootstrap interval. Two models' intervals can
# overlap and one still be reliably better: *p vs best* tests the gap on the same leads (below
# 0.05: the gap is real). Lift in the top 10 % is how many times the average conversion rate the
# best-scored tenth of leads converts at.

# %%
# NBVAL_CHECK_OUTPUT
for row in board.itertuples():
    print(f"{row.model:<18} ROC AUC {row.roc_auc:.2f} [{row.roc_auc_lo:.2f}, {row.roc_auc_hi:.2f}], "
          f"lift in the top 10 % {row.lift_top10:.1f}x")
print(f"best: {comparison.best}, tested on {board['n_oof'].iloc[0]:,} leads in {folds} time-ordered folds")
for reason in getattr(comparison, "skipped", {}).values():  # a candidate that cannot score these leads
    print(reason)

# %%
assert board["roc_auc"].between(0, 1).all()
assert ((board["roc_auc_lo"] <= board["roc_auc"]) & (board["roc_auc"] <= board["roc_auc_hi"])).all()
assert board["roc_auc"].is_monotonic_decreasing  # best first
assert comparison.oof["score"].between(0, 1).all()

# %%
fig = plots.leaderboard_figure(board)
plt.show()
# The best model is not tested against itself: its p-value cell stays blank.
tested = board.assign(p_value_vs_best=board["p_value_vs_best"].mask(board.index == 0))
show(tested.set_index("model")[["roc_auc", "roc_auc_lo", "roc_auc_hi", "p_value_vs_best", "pr_auc", "log_loss",
                                "brier", "ece", "lift_top10", "capture_top20", "calibration", "fit_seconds"]], digits=3)

# %% [markdown]
# ## How the scores behave
# Every curve uses the out-of-fold scores: each lead scored by a model that never saw it.
# - **ROC**: the higher and further left, the better the ranking.
# - **Precision-recall**: of the leads above a cut-off, the share that convert (precision) against
#   the share of all conversions they hold (recall). The dotted line is the average conversion rate.
# - **Reliability**: leads scored 30 % should convert about 30 % of the time; points on the dotted
#   diagonal mean the scores can be read as probabilities.
# - **Cumulative gain**: calling the best-scored x % of leads finds y % of the conversions.

# %%
figures = comparison.figures()
plt.show()

# %% [markdown]
# ## What the leakage guard left out
# Some columns are filled in only after the outcome (a CRM status, a conversion date). A model
# using them looks near perfect in testing and is useless on new leads, so they are left out:
# known ones by name, the others because on their own they almost separate converted from lost
# leads (single-column ROC AUC above 0.95). Identifiers, record dates and free text are not used
# either.

# %%
# NBVAL_CHECK_OUTPUT
for column, reason in comparison.features.excluded.items():
    print(f"{column}: {reason}")
print(f"{len(comparison.features.types)} features used: {', '.join(comparison.features.types)}")

# %%
show(comparison.features.report().set_index("column"), digits=3)

# %% [markdown]
# ## From scores to a call list
# The team can call `capacity_per_week` leads a week; the last 13 weeks show how many arrive. The
# cut-off keeps that top share of leads by score; the out-of-fold scores of the best model tell
# what share of the conversions those calls would have found.

# %%
arriving = leads_per_week(leads)  # over the last 13 weeks
threshold = choose_threshold(best["score"], capacity_per_week=capacity_per_week, leads_per_week=arriving,
                             y=best["y"])

# %%
# NBVAL_CHECK_OUTPUT
print(f"{arriving:.0f} leads a week arrived over the last 13 weeks")
print(f"calling {capacity_per_week} a week is the top {threshold.share_called:.0%}: "
      f"leads scoring at least {threshold.threshold:.2f}")
print(f"those calls find {threshold.captured:.0%} of the conversions (calling at random: "
      f"{threshold.share_called:.0%})")

# %%
assert 0 <= threshold.threshold <= 1 and 0 < threshold.share_called <= 1 and 0 <= threshold.captured <= 1

# %%
fig = plots.capacity_figure(best, threshold.threshold)
plt.show()

# %% [markdown]
# ## Grades A-D
# Grades are shares of leads by score: A is the top 10 %, B the next 20 %, C the next 30 % and
# D the rest. The bars are how often the leads of each grade converted (out of fold).

# %%
cuts = grade_cuts(best["score"])
grades = grade_table(best["score"], best["y"], cuts)
fig = plots.grades_figure(grades, base_rate=best["y"].mean())
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
print("score cut points A/B/C:", ", ".join(f"{c:.2f}" for c in cuts))
print("conversion rate:", ", ".join(f"{g} {r:.0%}" for g, r in grades["conversion_rate"].items()))

# %%
assert list(grades.index) == ["A", "B", "C", "D"]
assert grades.loc["A", "conversion_rate"] > grades.loc["D", "conversion_rate"]

# %% [markdown]
# ## The newest leads and why they score as they do
# The current model (the best one trained here on every lead older than `min_age_days` days, or
# the saved `model`) scores the newest leads. Each reason is a column and how much it moves the
# score against a typical lead: `visits=9 +0.16` would mean that nine visits add 0.16 to the
# conversion probability compared with the median number of visits. The best-scored new leads:

# %%
scored = current.score(recent)
show(scored.nlargest(5, "score").set_index("lead_id"), digits=3)

# %%
# NBVAL_CHECK_OUTPUT
print(f"current model: {current.card['model']}, trained on {current.card['training']['rows']:,} leads "
      f"up to {current.card['training']['created_at_max'][:10]}")
print(f"the {len(scored):,} newest leads by grade:",
      ", ".join(f"{g} {n}" for g, n in scored["grade"].value_counts().sort_index().items()))

# %%
assert scored["score"].between(0, 1).all() and set(scored["grade"]) <= {"A", "B", "C", "D"}

# %% [markdown]
# ## Drift: do new leads look like the training leads?
# The population stability index (PSI) compares how the newest leads spread over each feature's
# ranges with how the training leads did. Below 0.1 nothing to do; 0.1-0.25 watch it; above 0.25
# the lead mix has shifted and the model should be retrained and compared again. The outlined
# bar is the score itself.

# %%
drift = current.drift(recent, scored["score"])
fig = plots.drift_figure(drift)
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
score_row = drift[drift["feature"] == SCORE].iloc[0]
print(f"score PSI {score_row.psi:.2f} ({score_row.band}) over {score_row.n:,} new leads")
for band in ("shifted", "moderate"):
    print(f"{band}:", ", ".join(drift.loc[drift["band"] == band, "feature"]) or "none")

# %%
assert (drift["psi"] >= 0).all() and set(drift["band"]) <= {"stable", "moderate", "shifted"}

# %%
if out_dir:
    from pathlib import Path

    from forecasting.data import write_csv

    write_csv(board, Path(out_dir) / "leaderboard.csv")
    write_csv(comparison.features.report(), Path(out_dir) / "features.csv")
    write_csv(comparison.fold_metrics, Path(out_dir) / "folds.csv")
    write_csv(pd.DataFrame([threshold.to_dict()]), Path(out_dir) / "threshold.csv")
    write_csv(grades.reset_index(), Path(out_dir) / "grades.csv")
    write_csv(scored, Path(out_dir) / "newest_leads.csv")
    write_csv(drift, Path(out_dir) / "drift.csv")
