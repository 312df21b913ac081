"""Do the deal-risk signals improve the learned close-probability model? A paired walk-forward backtest.

Not run in CI. For each data set and quarter, as of the quarter's first day (only data
known then, as ``benchmarks/pipeline.py`` does for ``method="learned"``), two
:class:`~forecasting.pipeline.model.CloseProbabilityModel` are trained on the same
training snapshots with the same weights and seed: ``base`` (:data:`FEATURES`, today's
default) and ``risk`` (plus :data:`RISK_FEATURES`: pushed days, amount changes and log
ratio, stage regressions, days in stage over the segment x stage median, days since the
last activity). Scored on the deals open on that day:

- deal level, pooled over quarters: log loss, Brier and AUC of "won in the quarter";
- period level: WAPE of the P50 of the quarter's won revenue (closed so far + the open
  deals simulated with each model's probabilities + the deals not yet created, as the
  forecast simulates them, with the same random draws for both models: only the
  probabilities differ; the forecast's fallback to the stage rates is not applied).

``d_*`` columns are risk minus base (negative: the risk features help for log loss, Brier
and WAPE; positive helps for AUC), with a 90 % paired bootstrap interval over quarters
(quarters resampled with their deals, seeded: deals of one quarter are not independent).

Data: every world of the zoo (:data:`forecasting.data.worlds.WORLDS`, seed 0, the demo
included) and Maven CRM (``forecasting data public maven_crm --out /tmp/maven.duckdb``:
no stage history and no activities, so only the stage-time ratio is new there).

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/risk_features.py [--worlds all|NAME ...]
        [--periods 2024Q3:2026Q2] [--maven /tmp/maven.duckdb] [--maven-periods 2017Q2:2017Q4]
        [--sims 500] [--boot 1000]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.data import DataWarning, Stages, load_table
from forecasting.metrics.classification import brier, log_loss, roc_auc
from forecasting.pipeline import PipelineData, parse_periods, period_bounds
from forecasting.pipeline.forecast import _amount_ratios, _simulate_new, _simulate_open, _window
from forecasting.pipeline.model import FEATURE_SETS, CloseProbabilityModel, deal_features, training_frame
from forecasting.pipeline.new_deals import _new_deal_wins
from forecasting.pipeline.probabilities import _MIN_TRAIN, _alignment_weights
from forecasting.pipeline.snapshot import DAY

ARMS = ("base", "risk")


def _p50(data: PipelineData, win, deals: pd.DataFrame, p: np.ndarray, n_sims: int, seed: int) -> float:
    """P50 of the period's won revenue with open-deal probabilities ``p`` (same draws for any ``p``)."""
    rng = np.random.default_rng(seed)
    amount = deals["amount"].to_numpy(dtype=float)
    one = np.zeros(len(deals), dtype=int)
    sims = _simulate_open(rng, amount, p, np.full(len(p), np.nan), one, 1, _amount_ratios(data, win), n_sims)
    new, n_past = _new_deal_wins(data, win, 4)
    pool = new["amount"].to_numpy(dtype=float)
    weight = new["weight"].to_numpy(dtype=float)
    sims += _simulate_new(rng, weight.sum() / max(n_past, 1), pool, weight, np.zeros(len(pool), dtype=int), 1,
                          n_sims)
    closed = float(data.won_between(win.start, min(win.cutoff, win.end))["amount"].sum())
    return closed + float(np.median(sims[0]))


def evaluate(data: PipelineData, activities, periods, *, n_sims: int, seed: int = 0):
    """Walk forward over ``periods``: per-deal probabilities of both arms and per-period P50s."""
    deal_rows, period_rows = [], []
    for period in parse_periods(periods):
        p, start, end = period_bounds(period)
        win = _window(p, start + DAY)
        train = training_frame(data, win.cutoff, win.offset_days, win.window_days, features="risk",
                               activities=activities)
        y = train["won_in_window"].to_numpy(dtype=int)
        deals = data.open_deals(win.cutoff)
        if len(train) < _MIN_TRAIN or len(np.unique(y)) < 2 or deals.empty:
            continue  # the forecast would fall back to stage rates: nothing to compare
        weights = _alignment_weights(train, win)
        feats = deal_features(deals, data, win.cutoff, win.end, features="risk", activities=activities)
        won = data.won_between(win.begin, win.end)["opportunity_id"]
        row = {"period": str(p), "actual": float(data.won_between(start, end)["amount"].sum())}
        probs = {}
        for arm in ARMS:
            columns = list(FEATURE_SETS[arm])
            model = CloseProbabilityModel(features=arm, random_state=seed).fit(train[columns], y,
                                                                               sample_weight=weights)
            probs[arm] = model.predict_proba(feats[columns])[:, 1]
            row[arm] = _p50(data, win, deals, probs[arm], n_sims, seed)
        period_rows.append(row)
        deal_rows.append(pd.DataFrame({"period": str(p), "won": deals["opportunity_id"].isin(won).to_numpy(int),
                                       **probs}))
    return pd.concat(deal_rows, ignore_index=True), pd.DataFrame(period_rows)


def _scores(deals: pd.DataFrame, periods: pd.DataFrame, arm: str, deal_w=None, period_w=None) -> dict:
    y, p = deals["won"].to_numpy(), np.clip(deals[arm].to_numpy(), 1e-6, 1 - 1e-6)
    a, f = periods["actual"].to_numpy(), periods[arm].to_numpy()
    w = np.ones(len(a)) if period_w is None else period_w
    return {"log_loss": log_loss(y, p, deal_w), "brier": brier(y, p, deal_w), "auc": roc_auc(y, p, deal_w),
            "wape": float(np.sum(w * np.abs(a - f)) / np.sum(w * a))}


def compare(name: str, deals: pd.DataFrame, periods: pd.DataFrame, *, n_boot: int, seed: int = 0) -> dict:
    """Both arms' scores, risk - base, and a 90 % paired bootstrap interval over periods."""
    base, risk = _scores(deals, periods, "base"), _scores(deals, periods, "risk")
    rng = np.random.default_rng(seed)
    index = {p: i for i, p in enumerate(periods["period"])}
    deal_period = deals["period"].map(index).to_numpy()
    deltas = []
    for _ in range(n_boot):
        counts = np.bincount(rng.integers(0, len(periods), len(periods)), minlength=len(periods)).astype(float)
        dw, pw = counts[deal_period], counts
        b, r = _scores(deals, periods, "base", dw, pw), _scores(deals, periods, "risk", dw, pw)
        deltas.append({k: r[k] - b[k] for k in b})
    boot = pd.DataFrame(deltas)
    row = {"data": name, "quarters": len(periods), "deals": len(deals)}
    for k in base:
        lo, hi = np.nanquantile(boot[k], [0.05, 0.95])
        row |= {f"{k}_base": base[k], f"{k}_risk": risk[k], f"d_{k}": risk[k] - base[k],
                f"d_{k}_90": f"[{lo:+.3f}, {hi:+.3f}]", f"{k}_says": _says(lo, hi, -1 if k != "auc" else 1)}
    return row


def _says(lo: float, hi: float, good: int) -> str:
    """"better" / "worse" when the 90 % interval of risk - base excludes 0 (``good``: the helpful sign)."""
    if good * lo > 0 and good * hi > 0:
        return "better"
    return "worse" if good * lo < 0 and good * hi < 0 else "same"


def decision(table: pd.DataFrame) -> str:
    """The rule of issue 15: default only if log loss and WAPE improve in most data sets, a clear loss nowhere."""
    counts = {k: table[f"{k}_says"].value_counts().reindex(["better", "same", "worse"], fill_value=0)
              for k in ("log_loss", "wape")}
    most = all(c["better"] > len(table) / 2 for c in counts.values())
    losses = table.loc[(table["log_loss_says"] == "worse") | (table["wape_says"] == "worse"), "data"].tolist()
    text = "; ".join(f"{k}: better in {c['better']}, same in {c['same']}, worse in {c['worse']} of {len(table)}"
                     for k, c in counts.items())
    verdict = "make them default" if most and not losses else "keep them opt-in"
    return f"{text} -> {verdict}" + (f" (clear loss: {', '.join(losses)})" if losses else "")


def world_data(name: str):
    from forecasting.data.worlds import make_world

    world = make_world(name, seed=0)
    data = PipelineData.build(world.tables["opportunities"], world.tables.get("stage_history"), world.stages)
    return data, world.tables.get("activities")


def maven_data(path: Path):
    stages = Stages.from_config(path.with_suffix(".stages.yaml"))
    opps = load_table("opportunities", f"{path}:opportunities", stages=stages)
    return PipelineData.build(opps, None, stages), None


def main() -> None:
    from forecasting.data.worlds import WORLDS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", nargs="+", default=["all"], help="zoo worlds ('all', 'none' or names)")
    parser.add_argument("--periods", default="2024Q3:2026Q2")
    parser.add_argument("--maven", type=Path, default=Path("/tmp/maven.duckdb"),
                        help="made by: forecasting data public maven_crm --out PATH ('none': skip)")
    parser.add_argument("--maven-periods", default="2017Q2:2017Q4")
    parser.add_argument("--sims", type=int, default=500)
    parser.add_argument("--boot", type=int, default=1000)
    args = parser.parse_args()
    names = list(WORLDS) if args.worlds == ["all"] else [] if args.worlds == ["none"] else args.worlds
    jobs = [(n, lambda n=n: world_data(n), args.periods) for n in names]
    if str(args.maven) != "none":
        jobs.append(("maven_crm", lambda: maven_data(args.maven), args.maven_periods))
    rows = []
    for name, load, periods in jobs:
        t = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            data, activities = load()
            deals, per = evaluate(data, activities, periods, n_sims=args.sims)
        rows.append(compare(name, deals, per, n_boot=args.boot))
        print(f"{name}: {time.process_time() - t:.0f} CPU s", flush=True)
    table = pd.DataFrame(rows)
    show = ["data", "quarters", "deals", "log_loss_base", "d_log_loss", "d_log_loss_90", "brier_base", "d_brier",
            "auc_base", "d_auc", "d_auc_90", "wape_base", "d_wape", "d_wape_90", "log_loss_says", "wape_says"]
    print(f"\nRisk features vs base, learned close probability, as of each quarter's first day "
          f"({args.sims} sims, {args.boot} bootstrap draws over quarters; d_ = risk - base)")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table[show].round(3).to_string(index=False))
    print(decision(table))


if __name__ == "__main__":
    main()
