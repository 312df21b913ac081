"""Benchmark: our lead scorers against two peers on three datasets and the world zoo, and batch scoring at scale.

Not run in CI. LightGBM is not a dependency of forecasting; install it in a
separate environment that sees this checkout, e.g.::

    python3 -m venv /tmp/leads-bench
    /tmp/leads-bench/bin/pip install lightgbm -e .
    OMP_NUM_THREADS=1 /tmp/leads-bench/bin/python benchmarks/leads.py [--quick]

**Quality** (time-aware CV, 5 folds, seed 0, 500 bootstrap replicates, the same
splits and the same calibration choice for every model):

- ours: every candidate of ``compare_models`` with its defaults (no tuning per
  dataset); "ours (best)" is the leaderboard winner among them;
- peers: ``onehot_logistic`` (scikit-learn's ``LogisticRegression`` with default
  ``C`` on plain features: median-imputed, standardised numbers and one-hot
  categories) and ``lightgbm_defaults`` (``LGBMClassifier()`` on the same columns,
  categories as pandas categoricals);
- datasets: the demo CRM (leads younger than 45 days left out; the AUC of the
  true probabilities on the same rows is the ceiling), X Education leads (its 9
  leaky columns excluded) and UCI bank marketing (``duration`` excluded).

Prints each leaderboard (ROC AUC with 95 % CI, PR AUC, ECE, Brier, fit seconds,
paired p-value against the best), then ours against the peers with the goal
"ours >= the best peer on AUC and Brier".

**Zoo** (``--zoo [WORLD,...]``): every world of :mod:`forecasting.data.worlds` (simulated
CRMs whose true conversion probabilities are known; lead processes with non-linearities,
interactions, thresholds, high-cardinality categories, informative missingness, rare
conversions and drift). Per world, in one ``compare_models`` run (time-aware, 5 folds):
the true probabilities' ROC AUC and Brier on the out-of-fold rows, the default compare's
best model, a plain spline logistic regression and LightGBM defaults. Goal: AUC within
0.008 of the truth's and Brier within 2 % of the truth's in every world, no tuning per world.

**Scale** (``--scale N``, default 1,000,000; ``--scale-model``, default ``logistic,hist_gb``):
N leads resampled from the demo CRM (new ids) written to Parquet and, for each model,
scored to CSV in a subprocess (``score_source``, the function behind ``forecasting leads
score``, with the model loaded, without and with reason codes; then the whole command
from the interpreter's start), next to the raw ``predict_proba`` of the same model on the
same rows in memory. Prints wall and CPU seconds (``time.process_time`` in the scoring
process: the machine may be shared, so compare CPU), their ratio to raw, and the scoring
process's peak RSS. Goals: <= 1.5x raw with reason codes (linear), <= 3x (trees), <= 1.5 GB.
Each timing is the less disturbed (lower CPU) of two or three runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

PEERS = ("onehot_logistic", "lightgbm_defaults")


# --------------------------------------------------------------------------- quality


def _onehot_logistic(types: dict):
    """Logistic regression on plain features: the usual first model of a data scientist."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    from forecasting.leads.types import coerce

    columns = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
         make_column_selector(dtype_include=np.number)),
        ("categories", OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_exclude=np.number)),
    ])
    # coerce only casts: numbers and booleans to float, datetimes to days + weekday/month, text as is.
    return Pipeline([("cast", FunctionTransformer(coerce, kw_args={"types": types})), ("columns", columns),
                     ("model", LogisticRegression(max_iter=5000))])


def _lightgbm(types: dict, seed: int):
    from lightgbm import LGBMClassifier
    from sklearn.pipeline import Pipeline

    from forecasting.leads import LeadFeatures

    return Pipeline([("features", LeadFeatures(types, style="tree", categories="category", random_state=seed)),
                     ("model", LGBMClassifier(random_state=seed, verbose=-1, n_jobs=1))])


def _spline_logistic(types: dict):
    """A plain spline logistic regression: median-imputed numbers (with missing indicators) in
    cubic B-splines, one-hot categories, default ``C`` (the issue's independent reference)."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, SplineTransformer

    from forecasting.leads.types import coerce

    columns = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                                  SplineTransformer(n_knots=5, knots="quantile")),
         make_column_selector(dtype_include=np.number)),
        ("categories", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20),
         make_column_selector(dtype_exclude=np.number)),
    ])
    return Pipeline([("cast", FunctionTransformer(coerce, kw_args={"types": types})), ("columns", columns),
                     ("model", LogisticRegression(max_iter=5000))])


def _models(types: dict, seed: int, peers=PEERS) -> dict:
    """Ours as ``compare_models`` picks them by default, then the peers."""
    from forecasting.leads.candidates import CANDIDATES, make_candidate
    from forecasting.leads.scorecard import load_rules

    names = [n for n in CANDIDATES if n != "rule_scorecard" or set(load_rules()) & set(types)]
    models = {n: make_candidate(n, types, seed=seed) for n in names}
    makers = {"onehot_logistic": lambda: _onehot_logistic(types), "spline_logistic": lambda: _spline_logistic(types),
              "lightgbm_defaults": lambda: _lightgbm(types, seed)}
    for peer in peers:
        try:
            models[peer] = makers[peer]()
        except ImportError:
            print(f"(lightgbm not installed: {peer} skipped; see the module docstring)")
    return models


def _datasets(quick: bool):
    from forecasting.data.adapters import bank_marketing, x_education_leads
    from forecasting.data.demo import make_demo

    demo = make_demo(seed=0, n_leads=6000 if quick else 24_000)
    yield "demo", demo["leads"], (), 45, demo["lead_truth"]
    xed = x_education_leads()
    yield "x_education", xed["leads"], xed.leaky, 0, None
    bank = bank_marketing("additional")
    leads = bank["leads"].sample(8000, random_state=0) if quick else bank["leads"]
    yield "bank_marketing", leads, bank.leaky, 0, None


def _ci(row) -> str:
    return f"{row['roc_auc']:.4f} [{row['roc_auc_lo']:.4f}, {row['roc_auc_hi']:.4f}]"


def _table(board: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "model": board["model"],
        "roc_auc [95% CI]": [_ci(row) for _, row in board.iterrows()],
        "pr_auc": board["pr_auc"].round(4),
        "ece": board["ece"].round(4),
        "brier": board["brier"].round(4),
        "fit_s": board["fit_seconds"].round(1),
        "calibration": board["calibration"],
        "p_vs_best": board["p_value_vs_best"].round(3),
    })


def _versus(name: str, board: pd.DataFrame) -> dict:
    """Ours (the best of our candidates) against each peer: the summary row of a dataset."""
    ours = board[~board["model"].isin(PEERS)].iloc[0]
    peers = board[board["model"].isin(PEERS)].set_index("model")
    row = {"dataset": name, "ours": ours["model"], "ours_auc": _ci(ours), "ours_brier": round(ours["brier"], 4),
           "ours_fit_s": round(ours["fit_seconds"], 1)}
    for peer, prow in peers.iterrows():
        row[f"{peer}_auc"] = _ci(prow)
        row[f"{peer}_brier"] = round(prow["brier"], 4)
        row[f"{peer}_fit_s"] = round(prow["fit_seconds"], 1)
    met = (ours["roc_auc"] >= peers["roc_auc"].max()) and (ours["brier"] <= peers["brier"].min())
    row["goal_met"] = bool(met) if len(peers) else None
    return row


def run_quality(quick: bool, seed: int) -> pd.DataFrame:
    from forecasting.leads import compare_models, screen_features
    from forecasting.leads.compare import labelled
    from forecasting.metrics.classification import roc_auc

    summary = []
    for name, leads, leaky, min_age, truth in _datasets(quick):
        t0 = time.perf_counter()
        # The same screening compare_models does, so the peers see the same columns.
        types = screen_features(labelled(leads, "converted", min_age), leaky=leaky, seed=seed).types
        result = compare_models(leads, models=_models(types, seed), cv="time", folds=5, seed=seed, leaky=leaky,
                                min_age_days=min_age, n_boot=500)
        board = result.leaderboard
        print(f"\n## {name}: {len(leads):,} leads, {board['n_oof'].iloc[0]:,} out-of-fold rows, "
              f"{len(types)} features ({time.perf_counter() - t0:.0f}s)")
        if truth is not None:
            rows = result.scores()
            p_true = truth.set_index("lead_id")["p_true"].reindex(rows["lead_id"]).to_numpy()
            print(f"true-probability ROC AUC on the same rows: {roc_auc(rows['y'], p_true):.4f}")
        print(_table(board).to_string(index=False))
        summary.append(_versus(name, board))
    frame = pd.DataFrame(summary)
    print("\n## ours (best of our candidates) vs the peers\n")
    print(frame.to_string(index=False))
    return frame


# --------------------------------------------------------------------------- zoo


def _true_form_scores(leads: pd.DataFrame, seed: int, folds: int) -> pd.Series:
    """Out-of-fold scores of a correctly specified model of the linear world (the true formula's
    terms, no penalty), on compare's folds: what finite data allows when nothing is unobserved."""
    from sklearn.linear_model import LogisticRegression

    from forecasting.leads.compare import cv_folds, labelled

    data = labelled(leads)
    y = data["converted"].to_numpy()
    X = np.column_stack([np.log1p(data["web_visits"]), data["fit_score"], np.log10(data["employees"]),
                         pd.get_dummies(data["channel"]).to_numpy(float)])
    oof = np.full(len(y), np.nan)
    for train, test in cv_folds(data, y, cv="time", folds=folds, seed=seed):
        oof[test] = LogisticRegression(C=1e6, max_iter=5000).fit(X[train], y[train]).predict_proba(X[test])[:, 1]
    return pd.Series(oof, index=data["lead_id"].astype(str))


def run_zoo(worlds: list[str], seed: int, size: float, folds: int) -> pd.DataFrame:
    """Per world of the zoo: the true probabilities' AUC and Brier on the out-of-fold rows,
    the default compare's best model, and the peers (LightGBM defaults, a spline logistic), all
    in one ``compare_models`` run (same splits, same calibration choice)."""
    from forecasting.data.worlds import WORLDS, make_world
    from forecasting.leads import compare_models, screen_features
    from forecasting.leads.candidates import CANDIDATES
    from forecasting.leads.compare import labelled
    from forecasting.metrics.classification import brier, roc_auc

    rows = []
    for name in worlds or list(WORLDS):
        t0 = time.perf_counter()
        world = make_world(name, seed=seed, size=size)
        leads = world.tables["leads"]
        truth = pd.Series(world.lead_truth.to_numpy(), index=leads["lead_id"].astype(str))
        types = screen_features(labelled(leads), seed=seed).types
        models = _models(types, seed, peers=("spline_logistic", "lightgbm_defaults"))
        ours = [n for n in models if n in CANDIDATES]
        result = compare_models(leads, models=models, folds=folds, seed=seed, n_boot=100, progress=False)
        board = result.leaderboard.set_index("model")
        best = next(m for m in board.index if m in ours)
        oof = result.scores(best)
        p_true = truth.reindex(oof["lead_id"].astype(str)).to_numpy()
        row = {"world": name, "process": world.properties.get("lead_process"), "leads": len(leads),
               "true_auc": roc_auc(oof["y"], p_true), "true_brier": brier(oof["y"], p_true), "best": best,
               "ours_auc": board.loc[best, "roc_auc"], "ours_brier": board.loc[best, "brier"]}
        for peer in ("spline_logistic", "lightgbm_defaults"):
            if peer in board.index:
                row[f"{peer}_auc"], row[f"{peer}_brier"] = board.loc[peer, "roc_auc"], board.loc[peer, "brier"]
        if world.properties.get("lead_process") == "linear":
            true_form = _true_form_scores(leads, seed, folds).reindex(oof["lead_id"].astype(str)).to_numpy()
            row["true_form_auc"], row["true_form_brier"] = roc_auc(oof["y"], true_form), brier(oof["y"], true_form)
        row["auc_gap"] = row["true_auc"] - row["ours_auc"]
        row["brier_excess_%"] = 100 * (row["ours_brier"] / row["true_brier"] - 1)
        row["goal_met"] = bool(row["auc_gap"] <= 0.008 and row["brier_excess_%"] <= 2)
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
        print(pd.DataFrame([row]).round(4).to_string(index=False), flush=True)
    frame = pd.DataFrame(rows)
    print("\n## zoo: default compare's best vs the true probabilities (goal: AUC gap <= 0.008, Brier <= +2 %)\n")
    print(frame.round(4).to_string(index=False))
    return frame


# --------------------------------------------------------------------------- scale

# Scores in a fresh process, reporting time and CPU and the process's peak memory. "score_source"
# times the library call behind `leads score` with the model loaded (as raw predict_proba has
# it); "cli" times the whole command from the interpreter's start. The peak is VmHWM: getrusage's
# ru_maxrss survives exec, so a child would report its parent's (which holds the 1M-row frame).
_CHILD = """
import json, re, sys, time
wall, cpu = time.perf_counter(), time.process_time()
mode, model_dir, source, out, chunksize, reasons = sys.argv[1:]
if mode == "cli":
    from forecasting.cli import main
    main(["leads", "score", source, "--model", model_dir, "--out", out, "--chunksize", chunksize]
         + ([] if reasons == "1" else ["--no-reasons"]))
else:
    from forecasting.leads import load_model, score_source
    model = load_model(model_dir)
    wall, cpu = time.perf_counter(), time.process_time()
    score_source(model, source, out, chunksize=int(chunksize), reasons=reasons == "1")
seconds, cpu = time.perf_counter() - wall, time.process_time() - cpu
peak = int(re.search(r"VmHWM:\\s*(\\d+) kB", open("/proc/self/status").read()).group(1))
print(json.dumps({"seconds": seconds, "cpu": cpu, "max_rss_mb": peak / 1024}))
"""


def write_scale_leads(leads: pd.DataFrame, n: int, path: Path, seed: int = 0) -> Path:
    """``n`` leads resampled from ``leads`` with new ids, written to Parquet in parts of 100k rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    writer = None
    try:
        for start in range(0, n, 100_000):
            size = min(100_000, n - start)
            part = leads.iloc[rng.integers(0, len(leads), size)].reset_index(drop=True)
            part["lead_id"] = pd.Series(np.arange(start, start + size)).map("S{:08d}".format)
            table = pa.Table.from_pandas(part, preserve_index=False)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    return path


def _raw_predict(model, path: Path) -> dict:
    frame = pd.read_parquet(path, columns=list(model.features))
    model.estimator.predict_proba(frame.head(50_000))  # warm up, as the scoring process does on chunk 1
    cpu, wall = time.process_time(), time.perf_counter()
    model.estimator.predict_proba(frame)
    return {"seconds": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def _score_process(mode: str, model_dir: Path, source: Path, out: Path, reasons: bool, chunksize: int) -> dict:
    args = [mode, str(model_dir), str(source), str(out), str(chunksize), "1" if reasons else "0"]
    done = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"leads score failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _scale_table(model_name: str, leads: pd.DataFrame, source: Path, work: Path, chunksize: int,
                 seed: int) -> pd.DataFrame:
    """Raw ``predict_proba``, ``score_source`` without and with reason codes and the whole command."""
    from forecasting.leads import load_model, train_model

    model_dir = train_model(leads, model_name, seed=seed, min_age_days=45).save(work / model_name)
    model = load_model(model_dir)
    raw = min((_raw_predict(model, source) for _ in range(3)), key=lambda r: r["cpu"])
    rows = [{"model": model_name, "run": "raw predict_proba (in memory)", "seconds": raw["seconds"],
             "cpu": raw["cpu"], "max_rss_mb": np.nan}]
    runs = [("score_source", False), ("score_source", True), ("cli", True)]
    for mode, reasons in runs:
        run = min((_score_process(mode, model_dir, source, work / "scores.csv", reasons, chunksize)
                   for _ in range(2)), key=lambda r: r["cpu"])  # the less disturbed of two runs
        name = "score_source -> csv" if mode == "score_source" else "forecasting leads score (whole command)"
        rows.append({"model": model_name, "run": name + (", reasons" if reasons else ""),
                     "seconds": run["seconds"], "cpu": run["cpu"], "max_rss_mb": run["max_rss_mb"]})
    table = pd.DataFrame(rows)
    table["x_raw"] = table["seconds"] / raw["seconds"]
    table["cpu_x_raw"] = table["cpu"] / raw["cpu"]
    return table


def run_scale(n: int, model_names: list[str], chunksize: int, seed: int) -> pd.DataFrame:
    from forecasting.data.demo import make_demo

    leads = make_demo(seed=seed)["leads"]
    work = Path(tempfile.mkdtemp(prefix="leads-scale-"))
    try:
        t0 = time.perf_counter()
        source = write_scale_leads(leads, n, work / "leads.parquet", seed)
        print(f"\n## scoring {n:,} leads from Parquet ({source.stat().st_size / 1e6:.0f} MB, written in "
              f"{time.perf_counter() - t0:.0f}s) with {', '.join(model_names)}, chunks of {chunksize:,}\n")
        tables = []
        for name in model_names:
            tables.append(_scale_table(name, leads, source, work, chunksize, seed))
            print(tables[-1].round({"seconds": 1, "cpu": 1, "max_rss_mb": 0, "x_raw": 2, "cpu_x_raw": 2})
                  .to_string(index=False), flush=True)
        return pd.concat(tables, ignore_index=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples, a smoke run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=int, default=1_000_000, metavar="N",
                        help="leads to score in the scale run (default 1,000,000; 0 skips it)")
    parser.add_argument("--scale-model", default="logistic,hist_gb", metavar="NAME[,NAME...]",
                        help="candidates scored at scale (default logistic, the demo's compare winner, and hist_gb, "
                        "the tree model whose reason codes cost most)")
    parser.add_argument("--chunksize", type=int, default=50_000, help="rows per chunk when scoring")
    parser.add_argument("--skip-quality", action="store_true", help="only the scale run")
    parser.add_argument("--zoo", nargs="?", const="", default=None, metavar="WORLD[,WORLD...]",
                        help="only the world-zoo run (all worlds, or the ones named)")
    parser.add_argument("--zoo-size", type=float, default=1.0, help="world size for --zoo (default 1)")
    parser.add_argument("--folds", type=int, default=5, help="CV folds for --zoo (default 5)")
    args = parser.parse_args(argv)
    if args.zoo is not None:
        warnings.simplefilter("ignore")
        pd.set_option("display.width", 250)
        pd.set_option("display.max_columns", 30)
        run_zoo([w for w in args.zoo.split(",") if w], args.seed, args.zoo_size, args.folds)
        return
    warnings.simplefilter("ignore")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    if not args.skip_quality:
        run_quality(args.quick, args.seed)
    if args.scale:
        run_scale(args.scale, [m for m in args.scale_model.split(",") if m], args.chunksize, args.seed)


if __name__ == "__main__":
    main()
