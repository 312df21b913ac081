"""Benchmark the revenue models on M3 monthly (1,428 series, horizon 18) against statsforecast.

Prints one table: sMAPE, MASE, 80 %/95 % interval coverage and width, and
total fit + forecast seconds for each of our models and the ensemble, next
to Naive2 (the M3 benchmark: naive on the seasonally adjusted series) and
statsforecast's AutoETS, AutoARIMA, AutoTheta and classic Theta.

Not run in CI. statsforecast is only needed here, so it lives in the
benchmark's own virtual environment, never in the project's ``.venv``::

    python3 -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install statsforecast scikit-learn tqdm xlrd threadpoolctl pyyaml
    /tmp/bench-venv/bin/pip install --no-deps -e /work/main
    /tmp/bench-venv/bin/python benchmarks/revenue.py --limit 200    # a seeded sample, minutes
    /tmp/bench-venv/bin/python benchmarks/revenue.py                # all 1,428 series, about an hour on 2 cores

Options: ``--limit N`` (random sample of N series, seed ``--seed``), ``--n-jobs``
(default 2), ``--skip-statsforecast``, ``--conformal`` (also score the
ensemble with conformal intervals; refits it at 3 earlier origins, so slow),
``--out FILE.csv``.

Conventions (M3/M4): sMAPE in percent averaged over all forecasts; MASE scaled
by the in-sample seasonal-naive MAE (lag 12), averaged over series; coverage
pooled over all forecasts; width is the mean interval width over the mean
actual. Seconds are wall-clock with ``--n-jobs`` workers on a shared machine.
Our ensemble is the median of our ETS, ARIMA and Theta forecasts, which is
exactly what ``Ensemble()`` computes, so its time is the sum of theirs.
statsforecast's numba code is compiled on two series before timing.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.metrics.accuracy import coverage, interval_width, mase_scale, smape
from forecasting.revenue import forecast
from forecasting.revenue.models import _combine

M3_XLS = Path("/work/shared/data/m3_competition/M3C.xls")
HORIZON, SEASON, LEVELS = 18, 12, (80, 95)


# ---------------------------------------------------------------- data

def load_m3_monthly() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test long frames (``series, date, amount``) of M3 monthly."""
    try:
        from forecasting.data.adapters import m3_monthly
    except ImportError:
        return _read_m3_xls(M3_XLS)
    data = m3_monthly()
    return data.tables["train"], data.tables["test"]


def _read_m3_xls(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fallback reader: sheet M3Month, one series per row, last NF values are the test set."""
    sheet = pd.read_excel(path, sheet_name="M3Month")
    train, test = [], []
    for _, row in sheet.iterrows():
        n, nf = int(row["N"]), int(row["NF"])
        year = int(row["Starting Year"]) or 2000  # undated series get synthetic dates
        start = pd.Timestamp(year=year, month=max(int(row["Starting Month"]), 1), day=1)
        values = row.iloc[6:6 + n].astype(float).to_numpy()
        frame = pd.DataFrame({"series": str(row["Series"]).strip(),
                              "date": pd.date_range(start, periods=n, freq="MS"), "amount": values})
        train.append(frame.iloc[: n - nf])
        test.append(frame.iloc[n - nf:])
    return pd.concat(train, ignore_index=True), pd.concat(test, ignore_index=True)


def sample(train: pd.DataFrame, test: pd.DataFrame, limit: int | None, seed: int):
    if not limit:
        return train, test
    ids = train["series"].drop_duplicates()
    keep = set(ids.sample(n=min(limit, len(ids)), random_state=seed))
    return train[train["series"].isin(keep)], test[test["series"].isin(keep)]


# ---------------------------------------------------------------- Naive2

def _is_seasonal(y: np.ndarray, m: int) -> bool:
    """The M4 90 % test: |acf(m)| > 1.645 sqrt((1 + 2 sum_{k<m} acf(k)^2) / n)."""
    if len(y) < 3 * m:
        return False
    x = y - y.mean()
    acf = np.array([np.sum(x[k:] * x[:len(x) - k]) for k in range(m + 1)]) / np.sum(x * x)
    limit = 1.645 * np.sqrt((1 + 2 * np.sum(acf[1:m] ** 2)) / len(y))
    return bool(abs(acf[m]) > limit)


def naive2(y: np.ndarray, h: int, m: int) -> pd.DataFrame:
    """Naive forecast of the multiplicatively seasonally adjusted series, re-seasonalised."""
    from statsmodels.tsa.seasonal import seasonal_decompose

    index = np.ones(m)
    if m > 1 and y.min() > 0 and _is_seasonal(y, m):
        factors = seasonal_decompose(y, model="multiplicative", period=m).seasonal
        index = factors[:m] / factors[:m].mean()
    season_in = index[np.arange(len(y)) % m]
    adjusted = y / season_in
    sigma = np.sqrt(np.mean(np.diff(adjusted) ** 2))
    steps = np.arange(1, h + 1)
    season_out = index[(len(y) + steps - 1) % m]
    mean = adjusted[-1] * season_out
    out = {"mean": mean}
    for lv in LEVELS:
        z = {80: 1.2815515655446004, 95: 1.959963984540054}[lv]
        half = z * sigma * np.sqrt(steps) * season_out
        out[f"lo_{lv}"], out[f"hi_{lv}"] = mean - half, mean + half
    return pd.DataFrame(out)


def run_naive2(train: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for key, part in train.groupby("series", sort=True):
        frame = naive2(part["amount"].to_numpy(), HORIZON, SEASON)
        frame.insert(0, "series", key)
        frame.insert(1, "step", np.arange(HORIZON))
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------- ours

def run_ours(train: pd.DataFrame, model, n_jobs: int) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fallbacks are counted below, not printed per series
        # M3 series end on different dates: each is forecast from its own end.
        out = forecast(train, HORIZON, model=model, n_jobs=n_jobs, common_end=False, total=False,
                       progress=False)
    out = out.drop(columns="date")
    out.insert(1, "step", out.groupby("series").cumcount())
    return out


def ensemble_of(frames: list[pd.DataFrame], how: str) -> pd.DataFrame:
    """Median/mean of member forecasts, row by row (what ``Ensemble(combine=how)`` computes)."""
    cols = ["mean"] + [f"{s}_{lv}" for lv in LEVELS for s in ("lo", "hi")]
    keyed = [f.set_index(["series", "step"])[cols].sort_index() for f in frames]
    combined = _combine(keyed, how)
    return combined.reset_index()


# ---------------------------------------------------------------- statsforecast

def run_statsforecast(train: pd.DataFrame, n_jobs: int) -> dict[str, tuple[pd.DataFrame, float]]:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, Theta

    df = train.rename(columns={"series": "unique_id", "date": "ds", "amount": "y"})
    warm = df[df["unique_id"].isin(df["unique_id"].unique()[:2])]
    results = {}
    for model in (AutoETS(season_length=SEASON), AutoARIMA(season_length=SEASON),
                  AutoTheta(season_length=SEASON), Theta(season_length=SEASON)):
        name = repr(model)
        StatsForecast(models=[model], freq="MS", n_jobs=1).forecast(df=warm, h=HORIZON, level=list(LEVELS))
        start = time.perf_counter()
        out = StatsForecast(models=[model], freq="MS", n_jobs=n_jobs).forecast(
            df=df, h=HORIZON, level=list(LEVELS))
        seconds = time.perf_counter() - start
        out = out.reset_index() if "unique_id" not in out.columns else out
        frame = pd.DataFrame({"series": out["unique_id"].astype(str), "mean": out[name]})
        for lv in LEVELS:
            frame[f"lo_{lv}"], frame[f"hi_{lv}"] = out[f"{name}-lo-{lv}"], out[f"{name}-hi-{lv}"]
        frame.insert(1, "step", frame.groupby("series").cumcount())
        results[f"statsforecast {name}"] = (frame, seconds)
    return results


# ---------------------------------------------------------------- scoring

def score(pred: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame) -> dict:
    actual = test.assign(step=test.groupby("series").cumcount())
    joined = actual.merge(pred, on=["series", "step"], how="left", validate="one_to_one")
    if joined["mean"].isna().any():
        raise RuntimeError(f"{joined['mean'].isna().sum()} forecasts missing")
    scales = train.groupby("series")["amount"].apply(lambda s: mase_scale(s.to_numpy(), SEASON))
    err = (joined["amount"] - joined["mean"]).abs().groupby(joined["series"]).mean()
    a, scale = joined["amount"], float(joined["amount"].abs().mean())
    return {
        "smape": smape(a, joined["mean"]),
        "mase": float((err / scales.reindex(err.index)).mean()),
        "coverage_80": coverage(a, joined["lo_80"], joined["hi_80"]),
        "coverage_95": coverage(a, joined["lo_95"], joined["hi_95"]),
        "width_80": interval_width(joined["lo_80"], joined["hi_80"], scale=scale),
        "width_95": interval_width(joined["lo_95"], joined["hi_95"], scale=scale),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="random sample of N series")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--skip-statsforecast", action="store_true")
    parser.add_argument("--conformal", action="store_true", help="also score Ensemble(intervals='conformal')")
    parser.add_argument("--out", type=Path, default=None, help="also write the table as CSV")
    args = parser.parse_args(argv)

    train, test = sample(*load_m3_monthly(), args.limit, args.seed)
    n_series = train["series"].nunique()
    print(f"M3 monthly: {n_series} series, horizon {HORIZON}, n_jobs={args.n_jobs}", flush=True)

    runs: dict[str, tuple[pd.DataFrame, float]] = {}

    def timed(name, fn, *fn_args):
        start = time.perf_counter()
        runs[name] = (fn(*fn_args), time.perf_counter() - start)
        print(f"  {name}: {runs[name][1]:.1f} s", file=sys.stderr, flush=True)

    timed("Naive2 (M3 benchmark)", run_naive2, train)
    for name in ("naive", "seasonal_naive", "theta", "ets", "arima"):
        timed(f"ours {name}", run_ours, train, name, args.n_jobs)
    members = [runs[f"ours {n}"] for n in ("ets", "arima", "theta")]
    member_seconds = sum(s for _, s in members)
    runs["ours Ensemble (median)"] = (ensemble_of([f for f, _ in members], "median"), member_seconds)
    runs["ours Ensemble (mean)"] = (ensemble_of([f for f, _ in members], "mean"), member_seconds)
    if args.conformal:
        from forecasting.revenue import Ensemble

        timed("ours Ensemble (median, conformal)", run_ours, train, Ensemble(intervals="conformal"), args.n_jobs)
    if not args.skip_statsforecast:
        runs.update(run_statsforecast(train, args.n_jobs))

    table = pd.DataFrame([{"model": name, **score(frame, train, test), "seconds": seconds}
                          for name, (frame, seconds) in runs.items()])
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round({"smape": 2, "mase": 3, "coverage_80": 3, "coverage_95": 3,
                           "width_80": 3, "width_95": 3, "seconds": 1}).to_string(index=False))
    if args.out:
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
