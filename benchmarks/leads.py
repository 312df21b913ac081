"""Benchmark: our lead scorers against LightGBM defaults on three datasets.

Not run in CI. LightGBM is not a dependency of forecasting; install it in a
separate environment, e.g.::

    python3 -m venv /tmp/leads-bench
    /tmp/leads-bench/bin/pip install lightgbm -e .
    OMP_NUM_THREADS=1 /tmp/leads-bench/bin/python benchmarks/leads.py [--quick]

Datasets (time-aware CV, 5 folds, seed 0, 500 bootstrap replicates):

- demo: the demo CRM's leads (+ lead response time from activities), leads
  younger than 45 days left out; the AUC of the true probabilities on the same
  out-of-fold rows is printed as the ceiling;
- x_education: X Education leads (shared data), its 9 leaky columns excluded;
- bank: UCI bank marketing (bank-additional-full.csv), ``duration`` excluded.

Prints one table per dataset: ROC AUC with 95 % CI, PR AUC, ECE, Brier, fit seconds.
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd


def _lightgbm(seed: int):
    from lightgbm import LGBMClassifier
    from sklearn.pipeline import Pipeline

    from forecasting.leads import LeadFeatures

    return Pipeline([("features", LeadFeatures(style="tree", categories="category", random_state=seed)),
                     ("model", LGBMClassifier(random_state=seed, verbose=-1, n_jobs=1))])


def _models(seed: int, rules: bool):
    from forecasting.leads import CANDIDATES, make_candidate

    names = [n for n in CANDIDATES if rules or n != "rule_scorecard"]
    models = {n: make_candidate(n, None, seed=seed) for n in names}
    try:
        models["lightgbm_defaults"] = _lightgbm(seed)
    except ImportError:
        print("(lightgbm not installed: skipped)")
    return models


def _datasets(quick: bool):
    from forecasting.data.adapters import bank_marketing, x_education_leads
    from forecasting.data.demo import make_demo
    from forecasting.leads import add_response_time

    demo = make_demo(seed=0, n_leads=6000 if quick else 24_000)
    yield "demo", add_response_time(demo["leads"], demo["activities"]), (), 45, demo["lead_truth"]
    xed = x_education_leads()
    yield "x_education", xed["leads"], xed.leaky, 0, None
    bank = bank_marketing("additional")
    leads = bank["leads"].sample(8000, random_state=0) if quick else bank["leads"]
    yield "bank_marketing", leads, bank.leaky, 0, None


def _table(result) -> pd.DataFrame:
    board = result.leaderboard
    return pd.DataFrame({
        "model": board["model"],
        "roc_auc [95% CI]": [f"{a:.4f} [{lo:.4f}, {hi:.4f}]" for a, lo, hi in
                             zip(board["roc_auc"], board["roc_auc_lo"], board["roc_auc_hi"])],
        "pr_auc": board["pr_auc"].round(4),
        "ece": board["ece"].round(4),
        "brier": board["brier"].round(4),
        "fit_s": board["fit_seconds"].round(1),
        "calibration": board["calibration"],
        "p_vs_best": board["p_value_vs_best"].round(3),
    })


def main(argv=None) -> None:
    from forecasting.leads import compare_models
    from forecasting.metrics.classification import roc_auc

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples, a smoke run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    pd.set_option("display.width", 200)
    for name, leads, leaky, min_age, truth in _datasets(args.quick):
        t0 = time.perf_counter()
        result = compare_models(leads, models=_models(args.seed, rules=name == "demo"), cv="time", folds=5,
                                seed=args.seed, leaky=leaky, min_age_days=min_age, n_boot=500)
        print(f"\n## {name}: {len(leads):,} leads, {result.leaderboard['n_oof'].iloc[0]:,} out-of-fold rows, "
              f"{len(result.features.types)} features ({time.perf_counter() - t0:.0f}s)")
        if truth is not None:
            rows = result.scores()
            p_true = truth.set_index("lead_id")["p_true"].reindex(rows["lead_id"]).to_numpy()
            print(f"true-probability ROC AUC on the same rows: {roc_auc(rows['y'], p_true):.4f}")
        print(_table(result).to_string(index=False))


if __name__ == "__main__":
    main()
