"""Benchmark the revenue models on M3 monthly or Australian tourism against statsforecast.

Prints one table: sMAPE, MASE, 80 %/95 % interval coverage and width, and
total fit + forecast seconds for each of our models and the ensemble, next
to Naive2 (the M3 benchmark: naive on the seasonally adjusted series) and
statsforecast's AutoETS, AutoARIMA, AutoTheta and classic Theta.

Datasets (``--dataset``): ``m3`` (1,428 M3 monthly series, horizon 18, the
default), ``tourism-monthly`` (308 series, horizon 24) and
``tourism-quarterly`` (304 series, horizon 8); horizons as in the M3 and
tourism competitions, the last ``horizon`` periods of each series held out.
Tourism counts trips, not revenue, and has zeros (18 % of monthly values):
MASE is unaffected, but an sMAPE term with a zero actual and a non-zero
forecast is 200, so sMAPE is inflated for every model alike.

Not run in CI. statsforecast is only needed here, so it lives in the
benchmark's own virtual environment, never in the project's ``.venv``::

    python3 -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install statsforecast scikit-learn tqdm xlrd threadpoolctl pyyaml
    /tmp/bench-venv/bin/pip install --no-deps -e /work/main
    /tmp/bench-venv/bin/python benchmarks/revenue.py --limit 200    # a seeded sample, minutes
    /tmp/bench-venv/bin/python benchmarks/revenue.py                # all 1,428 series, about an hour on 2 cores
    /tmp/bench-venv/bin/python benchmarks/revenue.py --dataset tourism-quarterly --conformal

Options: ``--dataset``, ``--limit N`` (random sample of N series, seed ``--seed``),
``--n-jobs`` (default 2), ``--skip-statsforecast``, ``--ours`` (comma-separated
subset of our models to run, default all; ``none`` for none), ``--conformal``
(also score the default ``Ensemble()``, whose conformal intervals refit the
members' chosen forms at 3 earlier origins), ``--conformal-search`` (with it, also
``Ensemble(conformal_fit="search")``, which repeats the model search at each origin,
about 4x the members' time), ``--interval-variants`` (the default ensemble fitted once per
series and predicted with each interval method: ``conformal``, ``members``, ``wider``),
``--out FILE.csv``, ``--forecasts DIR`` (every row's per-series forecasts as
``forecasts.parquet``; with ``--interval-variants`` also the members' forecasts and
backtest windows and each series' CPU seconds), ``--combine-from DIR`` (score the
combination rules of :data:`RULES` from a ``--forecasts`` directory, or several, without
refitting), ``--combine`` (the ensemble's rule in ``--interval-variants``) and
``--shard K/N`` (every N-th series from the K-th, to split a full run into resumable parts)::

    for k in 0 1 2 3; do python benchmarks/revenue.py --ours none --skip-statsforecast \
        --interval-variants --n-jobs 1 --shard $k/4 --forecasts runs/m3/$k; done
    python benchmarks/revenue.py --combine-from runs/m3

Conventions (M3/M4): sMAPE in percent averaged over all forecasts; MASE scaled
by the in-sample seasonal-naive MAE (lag = season length), averaged over series; coverage
pooled over all forecasts; width is the mean interval width over the mean
actual. Seconds are wall-clock with ``--n-jobs`` workers on a shared machine.
The "member intervals" ensemble rows are the median / mean of our ETS, ARIMA
and Theta frames, exactly what ``Ensemble(intervals="members")`` computes, so
their time is the sum of the members'; ``--conformal`` fits the default
``Ensemble()`` itself (same point forecasts as the median row).
statsforecast's numba code is compiled on two series before timing.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.metrics.accuracy import coverage, interval_width, mase_scale, smape
from forecasting.revenue import forecast
from forecasting.revenue.models import _combine
from forecasting.revenue.models.ensemble import COMBINE, INTERVALS, _conformal_q

M3_XLS = Path("/work/shared/data/m3_competition/M3C.xls")
LEVELS = (80, 95)
OURS = ("naive", "seasonal_naive", "theta", "ets", "arima")


@dataclass(frozen=True)
class Dataset:
    """A benchmark: long ``series, date, amount`` train/test frames and their calendar."""

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    horizon: int
    season: int
    freq: str


def load_m3_monthly() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test long frames (``series, date, amount``) of M3 monthly."""
    try:
        from forecasting.data.adapters import m3_monthly
    except ImportError:
        return _read_m3_xls(M3_XLS)
    data = m3_monthly()
    return data.tables["train"], data.tables["test"]


def load(name: str) -> Dataset:
    """``m3`` (M3 monthly), ``tourism-monthly`` or ``tourism-quarterly``."""
    if name == "m3":
        return Dataset("M3 monthly", *load_m3_monthly(), horizon=18, season=12, freq="MS")
    from forecasting.data.adapters import tourism

    kind = name.split("-", 1)[1]
    data = tourism(kind)
    cols = ["series", "date", "amount"]
    return Dataset(f"Australian tourism {kind}", data.train[cols], data.test[cols],
                   horizon=data.horizon, season=data.season_length, freq=data.freq)


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


def sample(data: Dataset, limit: int | None, seed: int, shard: str | None = None) -> Dataset:
    """A seeded random sample of ``limit`` series, or shard ``"K/N"`` (every N-th series from the K-th)."""
    if not limit and not shard:
        return data
    ids = data.train["series"].drop_duplicates().sort_values()
    if shard:
        k, n = (int(part) for part in shard.split("/"))
        ids = ids.iloc[k::n]
    return subset(data, set(ids.sample(n=min(limit, len(ids)), random_state=seed) if limit else ids))


def subset(data: Dataset, keep: set) -> Dataset:
    """The series of ``data`` named in ``keep``."""
    return Dataset(data.name, data.train[data.train["series"].isin(keep)],
                   data.test[data.test["series"].isin(keep)], data.horizon, data.season, data.freq)


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


def run_naive2(data: Dataset) -> pd.DataFrame:
    parts = []
    for key, part in data.train.groupby("series", sort=True):
        frame = naive2(part["amount"].to_numpy(), data.horizon, data.season)
        frame.insert(0, "series", key)
        frame.insert(1, "step", np.arange(data.horizon))
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------- ours

def run_ours(data: Dataset, model, n_jobs: int) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fallbacks are counted below, not printed per series
        # M3 series end on different dates: each is forecast from its own end.
        out = forecast(data.train, data.horizon, model=model, season_length=data.season, n_jobs=n_jobs,
                       common_end=False, total=False, progress=False)
    used = out.drop_duplicates("series")["model"].value_counts()
    if len(used) > 1:
        print(f"    fitted models: {used.to_dict()}", file=sys.stderr, flush=True)
    out = out.drop(columns="date")
    out.insert(1, "step", out.groupby("series").cumcount())
    return out


def ensemble_of(frames: list[pd.DataFrame], how: str) -> pd.DataFrame:
    """Median/mean of member forecasts, row by row (what ``Ensemble(combine=how)`` computes)."""
    cols = ["mean"] + [f"{s}_{lv}" for lv in LEVELS for s in ("lo", "hi")]
    keyed = [f.set_index(["series", "step"])[cols].sort_index() for f in frames]
    combined = _combine(keyed, how)
    return combined.reset_index()


def _fit_series(key: str, y: np.ndarray, horizon: int, season: int, combine: str) -> dict:
    """One default Ensemble fit of one series: its interval variants, members and backtest windows.

    Returns the forecast frame of each interval method (``"conformal"``, ...) and of each
    member (``"ETS"``, ...), the members' backtest-window forecasts with their actuals
    (``"windows"``), the process CPU seconds of the fit and prediction and the ETS form.
    """
    from forecasting.revenue.models import Ensemble

    def keyed(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.reset_index(drop=True)
        frame.insert(0, "series", key)
        frame.insert(1, "step", np.arange(len(frame)))
        return frame

    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = Ensemble(season_length=season, horizon=horizon, combine=combine).fit(pd.Series(y))
        # The interval method only acts in predict: the fitted members and scores are shared.
        out = {how: keyed(fitted.set_params(intervals=how).predict(horizon, LEVELS)) for how in INTERVALS}
    cpu = time.process_time() - start
    out.update({type(mb).__name__: keyed(mb.predict(horizon, LEVELS)) for mb in fitted.members_})
    windows = []
    for k, means in enumerate(fitted.window_means_):
        cut = len(y) - horizon - k * max(1, horizon // 2)
        for name, frame in means.items():
            windows.append(keyed(frame).assign(window=k, member=name, actual=y[cut:cut + horizon]))
    out["windows"] = pd.concat(windows, ignore_index=True) if windows else None
    out["meta"] = {"series": key, "n": len(y), "cpu_seconds": cpu,
                   "ets_form": next((mb.form_ for mb in fitted.members_ if hasattr(mb, "form_")), None)}
    return out


def run_interval_variants(data: Dataset, n_jobs: int, save: Path | None = None, combine: str = "median"
                          ) -> dict[str, tuple[pd.DataFrame, float]]:
    """Score ``Ensemble(intervals=...)`` for every interval method from one fit per series.

    Fits the series directly (no gap, outlier or fallback policies of ``forecast``), so the
    rows compare the interval methods only; their shared time is the one fit's. With
    ``save``, also writes the members' forecasts (``members.parquet``: column ``source``),
    their backtest-window forecasts (``windows.parquet``) and each series' CPU seconds and
    ETS form (``series.csv``) there, so combination rules can be scored without refitting.
    """
    from joblib import Parallel, delayed

    tasks = [(key, part["amount"].to_numpy(), data.horizon, data.season, combine)
             for key, part in data.train.groupby("series", sort=True)]
    start = time.perf_counter()
    results = Parallel(n_jobs=n_jobs, verbose=2)(delayed(_fit_series)(*task) for task in tasks)
    seconds = time.perf_counter() - start
    cpu = sum(r["meta"]["cpu_seconds"] for r in results)
    print(f"    Ensemble() fits: {cpu:.1f} CPU s, {cpu / len(results):.3f} per series", file=sys.stderr, flush=True)
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        members = [frame.assign(source=name) for r in results for name, frame in r.items()
                   if name not in ("windows", "meta")]
        pd.concat(members, ignore_index=True).to_parquet(save / "members.parquet")
        windows = [r["windows"] for r in results if r["windows"] is not None]
        pd.concat(windows, ignore_index=True).to_parquet(save / "windows.parquet")
        pd.DataFrame([r["meta"] for r in results]).to_csv(save / "series.csv", index=False)
    return {f"ours Ensemble(combine={combine!r}, intervals={how!r}) one fit": (pd.concat([r[how] for r in results], ignore_index=True),
                                                          seconds) for how in INTERVALS}


# ---------------------------------------------------------------- combination rules, offline

MEMBERS = ("ETS", "ARIMA", "Theta")
COLUMNS = ["mean"] + [f"{s}_{lv}" for lv in LEVELS for s in ("lo", "hi")]


def _weights(windows: pd.DataFrame, power: float) -> pd.DataFrame:
    """Per series, member weights proportional to (backtest MAE) ** -power, summing to 1."""
    err = (windows["actual"] - windows["mean"]).abs().groupby([windows["series"], windows["member"]]).mean()
    inv = err.unstack("member").reindex(columns=list(MEMBERS)).clip(lower=1e-12) ** -power
    return inv.div(inv.sum(axis=1), axis=0)


def combine_rule(stack: np.ndarray, rule: str, weights: np.ndarray | None = None) -> np.ndarray:
    """Combine member values ``stack`` (rows, members in :data:`MEMBERS` order) by ``rule``.

    Members that failed are NaN and left out. ``weights`` (rows, members) serve the weighted rules.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows do not occur; NaN members do
        if rule == "median":
            return np.nanmedian(stack, axis=1)
        if rule == "mean":
            return np.nanmean(stack, axis=1)
        if rule == "ets+theta":
            return np.nanmean(stack[:, [0, 2]], axis=1)
        if rule == "trimmed":  # the two members closest to the median, averaged
            med = np.nanmedian(stack, axis=1, keepdims=True)
            far = np.nanargmax(np.where(np.isnan(stack), -np.inf, np.abs(stack - med)), axis=1)
            keep = np.ones_like(stack, dtype=bool)
            keep[np.arange(len(stack)), far] = np.isnan(stack).sum(axis=1) > 0  # keep all when one is missing
            return np.nanmean(np.where(keep, stack, np.nan), axis=1)
    w = np.where(np.isnan(stack) | np.isnan(weights), 0.0, weights)
    if rule == "best":
        w = (w == w.max(axis=1, keepdims=True)).astype(float)
    w[w.sum(axis=1) == 0] = 1.0  # no backtest window: equal weights, as Ensemble(combine="weighted")
    return np.nansum(np.where(np.isnan(stack), 0.0, stack) * w, axis=1) / np.where(np.isnan(stack), 0.0, w).sum(axis=1)


RULES = {"median": None, "mean": None, "ets+theta": None, "trimmed": None,
         "inverse MAE": 1.0, "inverse MAE^2": 2.0, "inverse MAE^0.5": 0.5, "best": 1.0}


def _stack(frame: pd.DataFrame, rows: pd.DataFrame, column: str) -> np.ndarray:
    """``column`` as an array (rows of ``rows``, members in :data:`MEMBERS` order); NaN for a missing member."""
    by = "member" if "member" in frame else "source"
    wide = frame.set_index([*rows.columns, by])[column].unstack(by)
    return wide.reindex(index=pd.MultiIndex.from_frame(rows), columns=list(MEMBERS)).to_numpy()


def score_combinations(data: Dataset, save: Path) -> pd.DataFrame:
    """Score every rule of :data:`RULES` from the members saved by ``--interval-variants --forecasts``.

    ``save`` may hold several such directories (one per ``--shard``); the series found are scored.

    Intervals as ``Ensemble(intervals="wider")`` builds them, with the rule in place of the
    median: the rule combines the members' bounds, the conformal scores come from the rule's
    backtest-window forecasts, and the wider of the two is kept.
    """
    members = pd.concat([pd.read_parquet(p) for p in sorted(save.glob("**/members.parquet"))])
    members = members[members["source"].isin(MEMBERS)].sort_values(["series", "step"])
    windows = pd.concat([pd.read_parquet(p) for p in sorted(save.glob("**/windows.parquet"))])
    windows = windows.sort_values(["series", "window", "step"])
    data = subset(data, set(members["series"]))  # e.g. the shards that have finished
    keys, wkeys = ["series", "step"], ["series", "window", "step"]
    index = members.drop_duplicates(keys)[keys].reset_index(drop=True)
    windex = windows.drop_duplicates(wkeys)[wkeys].reset_index(drop=True)
    actual = windows.drop_duplicates(wkeys)["actual"].to_numpy()
    stacks = {c: _stack(members, index, c) for c in COLUMNS}
    wstacks = {c: _stack(windows, windex, c) for c in ("mean", "lo_95", "hi_95")}
    rows = []
    for rule, power in RULES.items():
        w = ww = None
        if power is not None:
            weights = _weights(windows, power)
            w = weights.reindex(index["series"]).to_numpy()
            ww = weights.reindex(windex["series"]).to_numpy()
        frame = index.copy()
        for c in COLUMNS:
            frame[c] = combine_rule(stacks[c], rule, w)
        # conformal: |actual - combined| / combined 95 % half-width, pooled per series over windows and steps
        wmean = combine_rule(wstacks["mean"], rule, ww)
        wscale = (combine_rule(wstacks["hi_95"], rule, ww) - combine_rule(wstacks["lo_95"], rule, ww)) / (2 * 1.959963984540054)
        scores = pd.Series(np.divide(np.abs(actual - wmean), wscale, out=np.zeros_like(wmean), where=wscale > 0),
                           index=windex["series"])
        scale = (frame["hi_95"] - frame["lo_95"]).to_numpy() / (2 * 1.959963984540054)
        for lv in LEVELS:
            q = scores.groupby(level=0).apply(lambda x: _conformal_q(x.to_numpy(), lv))
            qs = q.reindex(frame["series"]).fillna(0.0).to_numpy()  # no window: member bounds alone
            frame[f"lo_{lv}"] = np.minimum(frame[f"lo_{lv}"], frame["mean"] - qs * scale)
            frame[f"hi_{lv}"] = np.maximum(frame[f"hi_{lv}"], frame["mean"] + qs * scale)
        rows.append({"rule": rule, **score(frame, data)})
    table = pd.DataFrame(rows)
    table.attrs["series"] = data.train["series"].nunique()
    return table


# ---------------------------------------------------------------- statsforecast

def run_statsforecast(data: Dataset, n_jobs: int) -> dict[str, tuple[pd.DataFrame, float]]:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, Theta

    df = data.train.rename(columns={"series": "unique_id", "date": "ds", "amount": "y"})
    warm = df[df["unique_id"].isin(df["unique_id"].unique()[:2])]
    m, h = data.season, data.horizon
    results = {}
    for model in (AutoETS(season_length=m), AutoARIMA(season_length=m),
                  AutoTheta(season_length=m), Theta(season_length=m)):
        name = repr(model)
        StatsForecast(models=[model], freq=data.freq, n_jobs=1).forecast(df=warm, h=h, level=list(LEVELS))
        start, cpu = time.perf_counter(), time.process_time()
        out = StatsForecast(models=[model], freq=data.freq, n_jobs=n_jobs).forecast(
            df=df, h=h, level=list(LEVELS))
        seconds = time.perf_counter() - start
        # Process CPU time counts the work only with n_jobs=1 (workers are other processes).
        print(f"    {name}: {time.process_time() - cpu:.1f} CPU s", file=sys.stderr, flush=True)
        out = out.reset_index() if "unique_id" not in out.columns else out
        frame = pd.DataFrame({"series": out["unique_id"].astype(str), "mean": out[name]})
        for lv in LEVELS:
            frame[f"lo_{lv}"], frame[f"hi_{lv}"] = out[f"{name}-lo-{lv}"], out[f"{name}-hi-{lv}"]
        frame.insert(1, "step", frame.groupby("series").cumcount())
        results[f"statsforecast {name}"] = (frame, seconds)
    return results


# ---------------------------------------------------------------- scoring

def score(pred: pd.DataFrame, data: Dataset) -> dict:
    test = data.test
    actual = test.assign(step=test.groupby("series").cumcount())
    joined = actual.merge(pred[[c for c in pred.columns if c != "amount"]], on=["series", "step"],
                          how="left", validate="one_to_one")
    if joined["mean"].isna().any():
        raise RuntimeError(f"{joined['mean'].isna().sum()} forecasts missing")
    scales = data.train.groupby("series")["amount"].apply(lambda s: mase_scale(s.to_numpy(), data.season))
    err = (joined["amount"] - joined["mean"]).abs().groupby(joined["series"]).mean()
    # A series whose in-sample seasonal differences are all 0 has no MASE scale: left out.
    scaled = (err / scales.reindex(err.index)).replace([np.inf, -np.inf], np.nan)
    a, scale = joined["amount"], float(joined["amount"].abs().mean())
    return {
        "smape": smape(a, joined["mean"]),
        "mase": float(scaled.mean()),
        "coverage_80": coverage(a, joined["lo_80"], joined["hi_80"]),
        "coverage_95": coverage(a, joined["lo_95"], joined["hi_95"]),
        "width_80": interval_width(joined["lo_80"], joined["hi_80"], scale=scale),
        "width_95": interval_width(joined["lo_95"], joined["hi_95"], scale=scale),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=("m3", "tourism-monthly", "tourism-quarterly"), default="m3")
    parser.add_argument("--limit", type=int, default=None, help="random sample of N series")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shard", default=None, help="K/N: only every N-th series from the K-th (0-based), "
                        "so one run can be split over processes")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--skip-statsforecast", action="store_true")
    parser.add_argument("--ours", default=",".join(OURS),
                        help=f"comma-separated subset of {','.join(OURS)} ('none': none); the ensemble "
                        "rows need ets, arima and theta")
    parser.add_argument("--conformal", action="store_true",
                        help="also score the default Ensemble() (conformal intervals)")
    parser.add_argument("--conformal-search", action="store_true",
                        help="with --conformal: also score Ensemble(conformal_fit='search'), which repeats "
                        "the members' model search at every conformal origin")
    parser.add_argument("--interval-variants", action="store_true",
                        help="also score Ensemble(intervals=conformal|members|wider), from one fit per series")
    parser.add_argument("--out", type=Path, default=None, help="also write the table as CSV")
    parser.add_argument("--forecasts", type=Path, default=None,
                        help="directory: write every row's per-series forecasts (forecasts.parquet, column "
                        "'model') and, with --interval-variants, the members' forecasts and backtest windows")
    parser.add_argument("--combine", choices=COMBINE, default="median",
                        help="the Ensemble's combination rule in --interval-variants (default median)")
    parser.add_argument("--combine-from", type=Path, default=None,
                        help="score combination rules from the members a --interval-variants --forecasts run "
                        "saved in this directory (no fitting), then stop")
    args = parser.parse_args(argv)

    ours = [m.strip() for m in args.ours.split(",") if m.strip() and m.strip() != "none"]
    unknown = sorted(set(ours) - set(OURS))
    if unknown:
        parser.error(f"unknown --ours models {unknown}; choose from {', '.join(OURS)}")
    data = sample(load(args.dataset), args.limit, args.seed, args.shard)
    n_series = data.train["series"].nunique()
    print(f"{data.name}: {n_series} series, horizon {data.horizon}, season {data.season}, "
          f"n_jobs={args.n_jobs}", flush=True)

    if args.combine_from:
        table = score_combinations(data, args.combine_from)
        print(f"{table.attrs['series']} series with saved members", flush=True)
        fits = pd.concat([pd.read_csv(p) for p in sorted(args.combine_from.glob("**/series.csv"))])
        print(f"default Ensemble fit + predict: {fits['cpu_seconds'].mean():.3f} CPU s per series; "
              f"ETS forms AICc chose: {fits['ets_form'].value_counts().to_dict()}")
        print(table.round(3).to_string(index=False))
        if args.out:
            table.to_csv(args.out, index=False)
        return 0

    runs: dict[str, tuple[pd.DataFrame, float]] = {}

    def timed(name, fn, *fn_args):
        start = time.perf_counter()
        runs[name] = (fn(*fn_args), time.perf_counter() - start)
        print(f"  {name}: {runs[name][1]:.1f} s", file=sys.stderr, flush=True)

    timed("Naive2 (M3 benchmark)", run_naive2, data)
    for name in ours:
        timed(f"ours {name}", run_ours, data, name, args.n_jobs)
    if {"ets", "arima", "theta"} <= set(ours):
        members = [runs[f"ours {n}"] for n in ("ets", "arima", "theta")]
        member_seconds = sum(s for _, s in members)
        runs["ours Ensemble (median, member intervals)"] = (
            ensemble_of([f for f, _ in members], "median"), member_seconds)
        runs["ours Ensemble (mean, member intervals)"] = (
            ensemble_of([f for f, _ in members], "mean"), member_seconds)
    if args.conformal:
        from forecasting.revenue import Ensemble

        timed("ours Ensemble() default (median, conformal)", run_ours, data, Ensemble(), args.n_jobs)
        if args.conformal_search:
            timed("ours Ensemble(conformal_fit='search')", run_ours, data,
                  Ensemble(conformal_fit="search"), args.n_jobs)
    if args.interval_variants:
        runs.update(run_interval_variants(data, args.n_jobs, args.forecasts, args.combine))
    if not args.skip_statsforecast:
        runs.update(run_statsforecast(data, args.n_jobs))

    table = pd.DataFrame([{"model": name, **score(frame, data), "seconds": seconds}
                          for name, (frame, seconds) in runs.items()])
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round({"smape": 2, "mase": 3, "coverage_80": 3, "coverage_95": 3,
                           "width_80": 3, "width_95": 3, "seconds": 1}).to_string(index=False))
    if args.out:
        table.to_csv(args.out, index=False)
    if args.forecasts:
        args.forecasts.mkdir(parents=True, exist_ok=True)
        pd.concat([frame.assign(model=name) for name, (frame, _) in runs.items()],
                  ignore_index=True).to_parquet(args.forecasts / "forecasts.parquet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
