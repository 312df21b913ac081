"""Benchmark the pipeline forecast methods against actuals and against an oracle.

Not run in CI. For each demo seed and quarter, every method forecasts the
quarter as of its first day (only data known then). The demo generator knows
each deal's hidden process (``opportunity_truth``), so an **oracle** re-simulates
the rest of every open deal with the true process
(:func:`forecasting.data.demo.simulate_remaining`) from its state on that day:
its distribution is the best any method could state about the open deals. The
not-yet-created part is the same run-rate model for all (the oracle does not
know future leads either).

Printed per method (pooled over seeds x quarters):

- ``wape``, ``bias`` of the P50 against the actual, ``coverage_80`` (share of
  actuals in [P10, P90]; nominal 0.80), ``width_80`` (mean P10-P90 width over the
  mean actual);
- ``open_err``: mean |method's expected open-deal revenue - oracle's| / oracle's,
  i.e. how close the method's probabilities come to the truth on the open deals.

Then a smoke check on the Maven CRM public data (no stage history: approximate
snapshots), forecasting its last quarters.

Usage::

    .venv/bin/python benchmarks/pipeline.py [--seeds 0 1 2] [--periods 2024Q3:2026Q2] [--sims 2000]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from forecasting.data import DataWarning
from forecasting.data.demo import make_demo, simulate_remaining
from forecasting.metrics.accuracy import bias, coverage, interval_width, wape
from forecasting.pipeline import METHODS, PipelineData, parse_periods, period_bounds
from forecasting.pipeline.backtest import actual_won
from forecasting.pipeline.forecast import _forecast, _new_deal_wins, _simulate_new, _window
from forecasting.pipeline.snapshot import DAY


def oracle(data: PipelineData, truth: pd.DataFrame, win, n_sims: int, seed: int) -> dict:
    """Closed so far + true re-simulation of open deals + the shared run-rate for new deals."""
    deals = data.open_deals(win.cutoff)
    rows = truth.set_index("opportunity_id").loc[deals["opportunity_id"]].reset_index()
    rng = np.random.default_rng(seed)
    paths = simulate_remaining(rows, deals["stage"].to_numpy(), win.cutoff, rng,
                               entered_at=deals["stage_entered_at"].to_numpy(),
                               amount=deals["amount"].to_numpy(), n_sims=n_sims)
    won = (paths["status"] == "won") & (paths["closed_at"] >= win.start) & (paths["closed_at"] < win.end)
    open_part = np.bincount(paths["sim"].to_numpy(), weights=paths["amount"].to_numpy() * won, minlength=n_sims)
    new, n_past = _new_deal_wins(data, win, 4)
    pool = new["amount"].to_numpy(dtype=float)
    closed = float(data.won_between(win.start, min(win.cutoff, win.end))["amount"].sum())
    total = closed + open_part + _simulate_new(rng, len(pool) / max(n_past, 1), pool, n_sims)
    p10, p50, p90 = np.quantile(total, [0.1, 0.5, 0.9])
    return {"p10": p10, "p50": p50, "p90": p90, "open_expected": float(open_part.mean())}


def run_demo(seeds, periods, n_sims: int) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        t0 = time.perf_counter()
        tables = make_demo(seed=seed)
        data = PipelineData.build(tables["opportunities"], tables["stage_history"])
        truth = tables["opportunity_truth"]
        for period in parse_periods(periods):
            p, start, _ = period_bounds(period)
            win = _window(p, start + DAY)
            actual = actual_won(data, p)
            best = oracle(data, truth, win, n_sims, seed)
            rows.append({"seed": seed, "period": str(p), "method": "oracle", "actual": actual, **best})
            for method in METHODS:
                t = time.perf_counter()
                fc, deals = _forecast(data, win, method, None, n_sims, seed, 10.0, 4)
                r = fc.iloc[0]
                rows.append({"seed": seed, "period": str(p), "method": method, "actual": actual,
                             "p10": r["p10"], "p50": r["p50"], "p90": r["p90"],
                             "open_expected": float(r["weighted"]), "oracle_open": best["open_expected"],
                             "seconds": time.perf_counter() - t})
        print(f"seed {seed}: {time.perf_counter() - t0:.1f}s", flush=True)
    return pd.DataFrame(rows)


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    out = []
    for method in ["oracle", *METHODS]:
        part = frame[frame["method"] == method]
        a = part["actual"].to_numpy()
        row = {
            "method": method,
            "wape": wape(a, part["p50"]), "bias": bias(a, part["p50"]),
            "coverage_80": coverage(a, part["p10"], part["p90"]),
            "width_80": interval_width(part["p10"], part["p90"], scale=float(np.mean(a))),
            "open_err": float(np.mean(np.abs(part["open_expected"] - part["oracle_open"]) / part["oracle_open"]))
            if method != "oracle" else 0.0,
            "sec_per_forecast": float(part["seconds"].mean()) if method != "oracle" else float("nan"),
            "n": len(part),
        }
        out.append(row)
    return pd.DataFrame(out)


def run_maven(n_sims: int) -> None:
    from forecasting.data.adapters import maven_crm

    try:
        adapted = maven_crm()
    except Exception as exc:  # noqa: BLE001 - data folder absent on this machine
        print(f"maven_crm: skipped ({type(exc).__name__}: {exc})")
        return
    opps = adapted.tables["opportunities"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        data = PipelineData.build(opps, None, adapted.stages)
        rows = []
        for period in ("2017Q2", "2017Q3", "2017Q4"):
            p, start, _ = period_bounds(period)
            win = _window(p, start + DAY)
            for method in METHODS:
                t = time.perf_counter()
                fc, deals = _forecast(data, win, method, None, n_sims, 0, 10.0, 2)
                r = fc.iloc[0]
                rows.append({"period": period, "method": method, "actual": actual_won(data, p),
                             "p10": r["p10"], "p50": r["p50"], "p90": r["p90"], "n_open": int(r["n_open"]),
                             "seconds": round(time.perf_counter() - t, 2)})
        fwd, _ = _forecast(data, _window("2018Q1", pd.Timestamp("2018-01-01")), "historical", None, n_sims, 0,
                           10.0, 2)
    print("\nMaven CRM (no stage history: approximate snapshots), as of each quarter's first day")
    print(pd.DataFrame(rows).round(0).to_string(index=False))
    r = fwd.iloc[0]
    print(f"forward 2018Q1 as of 2017-12-31 (historical): P10 {r['p10']:,.0f} P50 {r['p50']:,.0f} "
          f"P90 {r['p90']:,.0f}, {int(r['n_open'])} open deals")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--periods", default="2024Q3:2026Q2")
    parser.add_argument("--sims", type=int, default=2000)
    args = parser.parse_args()
    frame = run_demo(args.seeds, args.periods, args.sims)
    print(f"\nDemo CRM: {len(args.seeds)} seeds x {len(parse_periods(args.periods))} quarters, "
          "forecast as of each quarter's first day")
    print(summarize(frame).round(3).to_string(index=False))
    run_maven(args.sims)


if __name__ == "__main__":
    main()
