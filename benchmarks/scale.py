"""Benchmark: the local engine against Dask (a LocalCluster of 2 workers) on many leads and many series.

Not run in CI. Runs in the project's venv (dask and distributed are the ``dask`` extra)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scale.py [--leads N] [--series N] [--quick]

**Leads** (``--leads``, default 5,000,000): N leads resampled from the demo CRM (new ids) are
written to ``--files`` Parquet files (default 16, row groups of 100,000 rows) in a temporary
folder, and scored by a logistic model trained on the demo with
:func:`~forecasting.leads.score_source` (what ``forecasting leads score`` runs), chunks of
50,000 rows, reason codes on:

- local: one process reads, scores and writes one Parquet file;
- dask -> one file: 2 single-threaded worker processes read and score parts (whole row groups)
  and send the scores back; the client writes them in order to one Parquet file;
- dask -> folder: the same, but each worker writes its parts itself (``part-NNNNN.parquet``).

Each run is a fresh process. Measured while ``score_source`` runs (model loaded; for Dask the
cluster started and ``forecasting`` imported on its workers: that start-up, paid once by a
long-lived cluster, is shown apart, while the model's trip to the workers is in the seconds):
wall seconds, CPU seconds and peak RSS of the scoring process and all its descendants (the
nanny and worker processes), summed over processes and sampled every 50 ms with psutil (a
shorter spike can be missed; pages shared between processes count once per process). Every
output is compared with the local one by a SHA-256 of each column over all rows in order.

**Revenue** (``--series``, default 1,000): N monthly series of 48-72 months, each with its own
level, trend, yearly season and noise (seeded), ending on the same month. *fit*:
``forecast(horizon=12, model=--forecast-model)`` (plus the bottom-up total); *backtest*:
``backtest(horizon=6, folds=3, models=--backtest-models)``. Engines: local ``n_jobs=1``, local
``n_jobs=2`` (joblib's loky processes; their start and imports are included, the pool is shut
down after each run) and Dask with 2 workers (cluster start and the import of
``forecasting.revenue`` and statsmodels on the workers shown apart; this process imports
statsmodels before the first run). Seconds, CPU and peak RSS as above, over
this process and its children. Every frame is checked equal to the ``n_jobs=1`` one.

``--quick`` is ``--leads 500000 --series 100``. Prints one Markdown table, and the load average
of the machine (other work on the same cores slows every engine).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ("lead_id", "score", "grade", "reasons")

# --------------------------------------------------------------------------- leads

_CHILD = """
import json, os, sys, time
sys.path.insert(0, os.path.dirname(sys.argv[2]))
from scale import TreeMonitor
cfg = json.loads(sys.argv[1])
from forecasting.leads import load_model, score_source
model = load_model(cfg["model"])
options = dict(chunksize=cfg["chunksize"], drift_out=None, progress=False)
startup = 0.0
if cfg["engine"] == "dask":
    import importlib
    from forecasting.engine import dask_client
    wall = time.perf_counter()
    with dask_client(n_workers=cfg["workers"]) as client:
        client.run(importlib.import_module, "forecasting.leads")  # what a long-lived cluster pays once
        startup = time.perf_counter() - wall
        with TreeMonitor(os.getpid()) as used:
            result = score_source(model, cfg["source"], cfg["out"], engine="dask", scheduler=client, **options)
else:
    with TreeMonitor(os.getpid()) as used:
        result = score_source(model, cfg["source"], cfg["out"], **options)
print(json.dumps({"seconds": used.seconds, "cpu": used.cpu, "peak_mb": used.peak_mb, "startup": startup,
                  "rows": result.rows}))
"""


class TreeMonitor:
    """Wall seconds, CPU seconds and peak summed RSS of a process and all its descendants while
    the block runs, sampled every 50 ms with psutil (a process's last 50 ms and a shorter memory
    spike can be missed; pages shared between processes count once per process)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak_mb = self.cpu = self.seconds = 0.0
        self._first, self._last, self._done = {}, {}, threading.Event()

    def _sample(self) -> None:
        import psutil

        root = psutil.Process(self.pid)
        rss = 0
        for proc in [root, *root.children(recursive=True)]:
            try:
                with proc.oneshot():
                    rss += proc.memory_info().rss
                    times = proc.cpu_times()
            except psutil.Error:  # a process that just exited
                continue
            self._first.setdefault(proc.pid, times.user + times.system)
            self._last[proc.pid] = times.user + times.system
        self.peak_mb = max(self.peak_mb, rss / 2**20)

    def _loop(self) -> None:
        while not self._done.wait(0.05):
            self._sample()

    def __enter__(self) -> "TreeMonitor":
        self._sample()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start
        self._done.set()
        self._thread.join()
        self._sample()
        self.cpu = sum(self._last[pid] - self._first[pid] for pid in self._last)


def write_leads(leads: pd.DataFrame, n: int, folder: Path, files: int, seed: int = 0) -> Path:
    """``n`` leads resampled from ``leads`` with new ids, in ``files`` Parquet files."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    per_file = -(-n // files)
    for f, start in enumerate(range(0, n, per_file)):
        size = min(per_file, n - start)
        part = leads.iloc[rng.integers(0, len(leads), size)].reset_index(drop=True)
        part["lead_id"] = pd.Series(np.arange(start, start + size)).map("S{:08d}".format)
        part.to_parquet(folder / f"leads-{f:03d}.parquet", row_group_size=100_000, index=False)
    return folder


def _score_process(cfg: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(cfg), __file__], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"scoring failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def digest(path: Path) -> str:
    """SHA-256 of every output column over all rows, in order (whatever the file or part layout)."""
    import pyarrow.dataset as ds

    hashes = {c: hashlib.sha256() for c in COLUMNS}
    for batch in ds.dataset(path, format="parquet").to_batches(columns=list(COLUMNS), batch_size=200_000):
        for c in COLUMNS:
            values = batch.column(c).to_numpy(zero_copy_only=False)
            hashes[c].update(values.tobytes() if c == "score" else ("\x1f".join(values) + "\x1f").encode())
    return hashlib.sha256("".join(h.hexdigest() for h in hashes.values()).encode()).hexdigest()


def run_leads(n: int, files: int, workers: int, chunksize: int, seed: int, work: Path) -> list[dict]:
    from forecasting.data.demo import make_demo
    from forecasting.leads import train_model

    leads = make_demo(seed=seed)["leads"]
    model_dir = train_model(leads, "logistic", seed=seed, min_age_days=45).save(work / "model")
    wall = time.perf_counter()
    source = write_leads(leads, n, work / "leads", files, seed)
    size = sum(p.stat().st_size for p in source.iterdir()) / 1e6
    print(f"# {n:,} leads in {files} Parquet files ({size:.0f} MB, written in {time.perf_counter() - wall:.0f}s)",
          file=sys.stderr)
    runs = [("local", "one Parquet file", work / "local.parquet"),
            ("dask", "one Parquet file", work / "dask.parquet"),
            ("dask", "folder of parts", work / "dask_parts")]
    rows, expected = [], None
    for engine, output, out in runs:
        cfg = {"model": str(model_dir), "source": str(source), "out": str(out), "engine": engine,
               "workers": workers, "chunksize": chunksize}
        result = _score_process(cfg)
        same = digest(out)
        expected = expected or same
        name = "local" if engine == "local" else f"dask, {workers} workers"
        rows.append({"work": f"score {n:,} leads -> {output}", "engine": name, "seconds": result["seconds"],
                     "CPU s": result["cpu"], "cluster start s": result["startup"] if engine == "dask" else np.nan,
                     "rate": f"{result['rows'] / result['seconds']:,.0f} rows/s", "peak RSS MB": result["peak_mb"],
                     "same as local": same == expected})
        print(f"  {rows[-1]['work']}, {name}: {result['seconds']:.1f}s", file=sys.stderr)
    return rows


# --------------------------------------------------------------------------- revenue


def simulate_series(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` monthly revenue series with their own level, trend, season and noise, all ending 2025-12."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        length = int(rng.integers(48, 73))
        t = np.arange(length)
        level = rng.uniform(50, 500)
        season = rng.uniform(0, 0.3) * level * np.sin(2 * np.pi * (t + rng.integers(12)) / 12)
        amount = level + rng.normal(0.3, 0.5) * t + season + rng.normal(0, rng.uniform(0.02, 0.1) * level, length)
        frames.append(pd.DataFrame({"segment": f"S{i:05d}", "date": pd.date_range(end="2025-12-01", periods=length,
                                                                                 freq="MS"),
                                    "amount": np.round(np.maximum(amount, 0), 2)}))
    return pd.concat(frames, ignore_index=True)


def run_revenue(n: int, workers: int, forecast_model: str, backtest_models: list[str], seed: int) -> list[dict]:
    from forecasting.engine import dask_client
    from forecasting.revenue import backtest, forecast

    importlib.import_module("statsmodels.api")  # imported here once, as on the workers at start-up
    revenue = simulate_series(n, seed)
    works = {f"fit {n:,} series ({forecast_model}, h=12)":
             lambda **kw: forecast(revenue, 12, model=forecast_model, seed=seed, progress=False, **kw),
             f"backtest {n:,} series (3 folds x {len(backtest_models)} models, h=6)":
             lambda **kw: backtest(revenue, 6, folds=3, models=backtest_models, seed=seed, progress=False, **kw)}
    rows, expected = [], {}

    def timed(work, label, startup=np.nan, **kw):
        with TreeMonitor(os.getpid()) as used:
            frame = works[work](**kw)
        expected.setdefault(work, frame)
        rows.append({"work": work, "engine": label, "seconds": used.seconds, "CPU s": used.cpu,
                     "cluster start s": startup, "rate": f"{n / used.seconds:,.1f} series/s",
                     "peak RSS MB": used.peak_mb, "same as local": frame.equals(expected[work])})
        print(f"  {work}, {label}: {used.seconds:.1f}s", file=sys.stderr)

    from joblib.externals.loky import get_reusable_executor

    for work in works:
        timed(work, "local, n_jobs=1")
        timed(work, "local, n_jobs=2 (joblib)", n_jobs=2)
        get_reusable_executor().shutdown(wait=True)  # no idle pool in the next run's memory
    wall = time.perf_counter()
    with dask_client(n_workers=workers) as client:
        for module in ("forecasting.revenue", "statsmodels.api"):
            client.run(importlib.import_module, module)
        startup = time.perf_counter() - wall
        for work in works:
            timed(work, f"dask, {workers} workers", startup, scheduler=client, engine="dask")
    return rows


# --------------------------------------------------------------------------- main


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table (numbers with one decimal, blanks as an en dash)."""
    def cell(value):
        if isinstance(value, float):
            return "–" if np.isnan(value) else f"{value:,.1f}"
        return {True: "yes", False: "**no**"}.get(value, str(value)) if isinstance(value, bool) else str(value)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=5_000_000, help="leads to score (default 5,000,000; 0 skips)")
    parser.add_argument("--series", type=int, default=1_000, help="revenue series (default 1,000; 0 skips)")
    parser.add_argument("--quick", action="store_true", help="--leads 500000 --series 100")
    parser.add_argument("--files", type=int, default=16, help="Parquet files of the leads (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes (default 2)")
    parser.add_argument("--chunksize", type=int, default=50_000, help="rows per scoring chunk (default 50,000)")
    parser.add_argument("--forecast-model", default="theta", help="model of the fit runs (default theta)")
    parser.add_argument("--backtest-models", default="naive,seasonal_naive,theta",
                        help="models of the backtest runs (default naive,seasonal_naive,theta)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.leads, args.series = 500_000, 100
    warnings.simplefilter("ignore")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        if args.leads:
            rows += run_leads(args.leads, args.files, args.workers, args.chunksize, args.seed, Path(tmp))
    if args.series:
        rows += run_revenue(args.series, args.workers, args.forecast_model, args.backtest_models.split(","),
                            args.seed)
    table = pd.DataFrame(rows)
    print(f"\nload average (1 min) at start {load:.1f}, at end {os.getloadavg()[0]:.1f}; {os.cpu_count()} cores\n")
    print(markdown(table))


if __name__ == "__main__":
    main()
