"""Benchmark the combined forecast of the weekly call against its sources, on the demo and the world zoo.

Not run in CI. For each world of :mod:`forecasting.data.worlds` (seed 0; each has a
``team`` and ``forecast_calls`` table), the calls accuracy backtest
(:func:`forecasting.calls.call_accuracy`) scores every source at the end of every
week of every past quarter; :func:`forecasting.calls.combine` combines them walk-forward
(only earlier quarters inform a quarter's weights) and
:func:`forecasting.calls.compare_sources` tabulates the mean absolute % error by week
of quarter over the quarters with 2+ past quarters. Printed per world:

- ``raw_wins``: weeks (of 14) where the combined error is <= the best single raw source
  (the team's call, the weighted pipeline, the model when on);
- ``all_wins``: weeks where it is <= every component, the debiased calls too;
- the mean absolute % error of each source over the weeks, and of the combined;
- ``coverage``: share of actuals inside the combined P10-P90 (nominal 0.80);
- ``cpu_s``: CPU seconds of the world (generation, backtest, combination).

The model source costs one pipeline forecast per quarter and model week, so it is off
(``--model-method none``, as the demo report does) except in one extra demo run
(``--model-demo``).

Usage::

    .venv/bin/python benchmarks/calls.py [--worlds all|NAME ...] [--seed 0] [--model-demo] [--sims 500]
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

from forecasting.calls import call_accuracy, check_calls, combine, compare_sources, hierarchy
from forecasting.data import DataWarning
from forecasting.data.worlds import WORLDS, make_world
from forecasting.pipeline import PipelineData

_SUMMARY = ("best_single", "combined_wins", "best_component", "combined_wins_all")


def backtest_world(name: str, *, seed: int, model_method: str | None = None, n_sims: int = 500) -> dict:
    """One world's row: wins, mean error per source, coverage of the combined range, CPU seconds."""
    start = time.process_time()
    world = make_world(name, seed=seed)
    tables = world.tables
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # no stage history (no_history): approximate snapshots
        team = hierarchy(tables["team"])
        calls = check_calls(tables["forecast_calls"], team)
        data = PipelineData.build(tables["opportunities"], tables.get("stage_history"), world.stages)
        accuracy = call_accuracy(team, calls, model_method=model_method, n_sims=n_sims, seed=seed, data=data)
    combined = combine(accuracy, team)
    table = compare_sources(accuracy, combined, team)
    scored = combined[(combined["history"] >= 2) & combined["actual"].notna()]
    inside = (scored["actual"] >= scored["p10"]) & (scored["actual"] <= scored["p90"])
    row = {"world": name + ("" if model_method is None else f" (model {model_method})"),
           "raw_wins": f"{int(table['combined_wins'].sum())}/{len(table)}",
           "all_wins": f"{int(table['combined_wins_all'].sum())}/{len(table)}"}
    row |= {source: round(100 * table[source].mean(), 1) for source in table.columns if source not in _SUMMARY}
    return row | {"coverage": round(float(inside.mean()), 2), "cpu_s": round(time.process_time() - start, 1)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", nargs="+", default=["all"], help="world names or 'all'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-demo", action="store_true", help="one more demo run with the model source on")
    parser.add_argument("--sims", type=int, default=500, help="Monte Carlo simulations of the model source")
    args = parser.parse_args(argv)
    names = list(WORLDS) if args.worlds == ["all"] else args.worlds
    rows = [backtest_world(name, seed=args.seed) for name in names]
    if args.model_demo:
        rows.append(backtest_world("demo", seed=args.seed, model_method="historical", n_sims=args.sims))
    frame = pd.DataFrame(rows).set_index("world")
    print("mean absolute % error over weeks of quarter (quarters with 2+ past quarters), walk-forward")
    print(frame.to_string(na_rep=""))


if __name__ == "__main__":
    main()
