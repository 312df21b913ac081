"""Results a CLI command saved, read back by a report instead of being computed again.

``forecasting demo`` runs the CLI commands and then the reports; a report reads what
a command wrote when the command's settings are the report's, and refuses it, naming
each setting that differs, when they are not:

- the lead-scoring report reads ``leads compare --out`` (:func:`load_comparison`);
- the pipeline report reads ``pipeline backtest --out`` (:func:`load_pipeline_backtest`),
  the rows of its periods and methods: each row is computed on its own, so a backtest of
  more periods holds the very rows of fewer;
- the revenue report reads ``revenue blend --out`` (:func:`load_blend`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ..data.embedded import resolve_source
from ..data.errors import DataError, Problem
from ..leads import Comparison, FeatureSet
from ..leads.features import split_names
from ..pipeline import backtest_metrics, parse_periods
from ..pipeline.forecast import RANGE_PERIODS
from .context import parse_map

__all__ = ["load_comparison", "load_pipeline_backtest", "load_blend", "report_inputs"]

_FILES = ("leaderboard.csv", "oof.csv", "features.csv", "folds.csv", "run.json")


def _saved_run(folder: Path, command: str, table: str, files) -> dict:
    """``run.json`` of a complete ``command`` run in ``folder`` with every one of ``files``."""
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise DataError(Problem(table, None, f"{folder} lacks {', '.join(missing)}: not the --out folder "
                                f"of `forecasting {command}`"))
    try:
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(Problem(table, None, f"{folder}/run.json cannot be read ({exc})")) from None
    if run.get("command") != command or run.get("status") != "ok":
        raise DataError(Problem(table, None, f"{folder} holds no complete `{command}` run"))
    return run


def _differences(saved: dict, wanted: dict, table: str = "comparison",
                 instead: str = "saved_comparison=''") -> list[Problem]:
    return [Problem(table, key, f"the saved {table} used {saved.get(key)!r}, this run asks for "
                    f"{value!r}: pass the same value, or {instead} to compute it here")
            for key, value in wanted.items() if saved.get(key) != value]


_INPUTS = ("opportunities", "stage_history", "stages", "mapping", "date_format", "dayfirst", "decimal")


def report_inputs(source: str, *, stage_history: bool, stages: str = "", map: str = "",
                  date_format: str = "") -> dict:
    """A report's CRM inputs as a pipeline command records them in ``run.json`` (its ``inputs``).

    Examples
    --------
    >>> report_inputs("crm.duckdb", stage_history=False, map="Deal=opportunity_id")["mapping"]
    [['Deal', 'opportunity_id']]
    """
    return dict(opportunities=source, stage_history=source if stage_history else None, stages=stages or None,
                mapping=[[old, new] for old, new in parse_map(map).items()], date_format=date_format or None,
                dayfirst=None, decimal=None)


def _same_inputs(params: dict, inputs: dict) -> tuple[dict, dict]:
    """The saved run's and the wanted CRM inputs, sources resolved (``demo`` is a path)."""
    def resolved(values: dict) -> dict:
        out = json.loads(json.dumps({k: values.get(k) for k in _INPUTS}, default=str))  # as run.json has them
        out.update({k: str(resolve_source(out[k])) for k in ("opportunities", "stage_history") if out[k]})
        return out

    return resolved(params), resolved(inputs)


def _unknown(params: dict, known, table: str) -> list[Problem]:
    """Settings of the saved run this reader cannot check (an option added later): refused when set."""
    return [Problem(table, key, f"the saved {table} was made with {key}={value!r}, a setting this reader does not "
                    "know: its numbers may differ; compute it here") for key, value in params.items()
            if key not in {*_INPUTS, *known, "command", "out"} and value not in (None, False, "", [])]


def _periods(text) -> list[str]:
    return [str(p) for p in parse_periods(text)]


def load_comparison(
    folder: str | os.PathLike,
    *,
    source: str,
    target: str,
    models: str,
    folds: int,
    n_boot: int,
    seed: int,
    exclude: str,
    min_age_days: float,
    map: str = "",
    date_format: str = "",
) -> Comparison:
    """The :class:`~forecasting.leads.Comparison` that ``leads compare --out FOLDER`` saved.

    Parameters
    ----------
    folder : path
        The ``--out`` folder of ``forecasting leads compare``.
    source, target, models, folds, n_boot, seed, exclude, min_age_days, map, date_format
        The settings the report would compare with (``models`` and ``exclude``
        comma-separated, "" for none; ``map`` and ``date_format`` as the reports
        take them); each must be the saved run's.

    Returns
    -------
    Comparison
        Leaderboard, out-of-fold scores, features, calibration and fold metrics as saved.

    Raises
    ------
    DataError
        The folder holds no complete comparison, or one made with other settings
        (the message names each setting that differs).
    """
    folder = Path(folder).expanduser()
    run = _saved_run(folder, "leads compare", "comparison", _FILES)
    saved = dict(run.get("parameters", {}))
    saved["source"] = str(resolve_source(saved.get("source", "")))
    saved["exclude"], saved["models"] = split_names(saved.get("exclude")), split_names(saved.get("models"))
    wanted = dict(source=str(resolve_source(source)), target=target, models=split_names(models), folds=folds,
                  n_boot=n_boot, seed=seed, exclude=split_names(exclude), min_age_days=float(min_age_days),
                  cv="time", calibration="auto", include=[], date_format=date_format or None,
                  mapping=[[old, new] for old, new in parse_map(map).items()])
    problems = _differences(saved, wanted)
    if problems:
        raise DataError(problems)
    board = pd.read_csv(folder / "leaderboard.csv")
    features = pd.read_csv(folder / "features.csv", dtype={"column": str, "type": str, "reason": str})
    used = features["used"].astype(bool)
    return Comparison(
        leaderboard=board,
        oof=pd.read_csv(folder / "oof.csv", dtype={"lead_id": str}, parse_dates=["created_at"]),
        features=FeatureSet(
            types=dict(zip(features.loc[used, "column"], features.loc[used, "type"])),
            excluded=dict(zip(features.loc[~used, "column"], features.loc[~used, "reason"].fillna(""))),
            single_auc=features.set_index("column")["single_auc"].dropna().to_dict(),
            target=target),
        calibration=dict(zip(board["model"], board["calibration"])),
        target=target, cv="time", folds=folds, seed=seed,
        fold_metrics=pd.read_csv(folder / "folds.csv"),
        skipped=dict(run.get("skipped") or {}),
    )


def load_pipeline_backtest(
    folder: str | os.PathLike,
    *,
    inputs: dict,
    periods,
    methods,
    n_sims: int,
    seed: int,
    instead: str = "saved_backtest=''",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The backtest that ``pipeline backtest --out FOLDER`` saved, as :func:`forecasting.pipeline.backtest` returns it.

    Parameters
    ----------
    folder : path
        The ``--out`` folder of ``forecasting pipeline backtest``.
    inputs : dict
        The CRM inputs the saved run must have read, as ``run.json`` records them
        (``opportunities, stage_history, stages, mapping, date_format, dayfirst, decimal``;
        :func:`report_inputs` makes them from a report's parameters).
    periods : str or sequence
        The periods wanted; the saved run may hold more.
    methods : sequence of str
        The methods wanted, in the order of the returned rows; the saved run may hold more.
    n_sims, seed : int
        Each must be the saved run's, with the library's calibrated ranges.
    instead : str
        What the refusal suggests to compute it here instead.

    Returns
    -------
    backtest : DataFrame
        The saved rows of ``periods`` x ``methods``, period by period.
    metrics : DataFrame
        :func:`~forecasting.pipeline.backtest_metrics` of those rows.

    Raises
    ------
    DataError
        The folder holds no complete backtest, or one made with other settings or
        without some of the periods or methods (the message names each).
    """
    folder = Path(folder).expanduser()
    run = _saved_run(folder, "pipeline backtest", "backtest", ("backtest.csv", "run.json"))
    params = run.get("parameters", {})
    saved, wanted = _same_inputs(params, inputs)
    saved.update({k: params.get(k) for k in ("sims", "seed", "ranges", "range_periods")})
    wanted.update(sims=n_sims, seed=seed, ranges="calibrated", range_periods=RANGE_PERIODS)
    problems = _differences(saved, wanted, "backtest", instead) + _unknown(
        params, ("pipeline_command", "periods", "methods", *wanted), "backtest")
    periods, methods = _periods(periods), list(methods)
    for key, want, have in (("periods", periods, _periods(params.get("periods", ""))),
                            ("methods", methods, list(params.get("methods") or []))):
        lacking = [v for v in want if v not in have]
        if lacking:
            problems.append(Problem("backtest", key, f"the saved backtest has no {', '.join(lacking)} (it has "
                                    f"{', '.join(have)}): backtest them too, or {instead} to backtest here"))
    if problems:
        raise DataError(problems)
    frame = pd.read_csv(folder / "backtest.csv", dtype={"period": str, "method": str, "as_of": str})
    frame = frame[frame["period"].isin(periods) & frame["method"].isin(methods)]
    order = frame["period"].map(periods.index) * len(methods) + frame["method"].map(methods.index)
    frame = frame.iloc[order.argsort(kind="stable")].reset_index(drop=True)
    return frame, backtest_metrics(frame)


def load_blend(
    folder: str | os.PathLike,
    *,
    inputs: dict,
    as_of: str,
    period: str,
    backtest_periods,
    pipeline_method: str,
    model: str,
    metric: str,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The blend that ``revenue blend --out FOLDER`` saved, as :func:`forecasting.revenue.blend.blend_with_pipeline`
    returns it.

    Parameters
    ----------
    folder : path
        The ``--out`` folder of ``forecasting revenue blend``.
    inputs : dict
        The CRM inputs the saved run must have read (see :func:`load_pipeline_backtest`).
    as_of, period, backtest_periods, pipeline_method, model, metric, seed
        The report's resolved settings (``pipeline_method``: the open-deal probabilities
        of the pipeline forecast); each must be the saved run's.

    Returns
    -------
    blended, backtest, metrics : DataFrame
        ``blend.csv``, ``blend_backtest.csv`` and ``blend_metrics.csv``.

    Raises
    ------
    DataError
        The folder holds no complete blend, or one made with other settings (the
        message names each setting that differs).
    """
    folder = Path(folder).expanduser()
    files = ("blend.csv", "blend_backtest.csv", "blend_metrics.csv")
    run = _saved_run(folder, "revenue blend", "blend", (*files, "run.json"))
    params = run.get("parameters", {})
    saved, wanted = _same_inputs(params, inputs)
    saved.update(as_of=run.get("as_of"), period=_periods(run.get("period") or ""),
                 backtest_periods=_periods(run.get("backtest_periods") or ""),
                 **{k: params.get(k) for k in ("model", "pipeline_method", "metric", "seed")})
    wanted.update(as_of=str(as_of), period=_periods(period), backtest_periods=_periods(backtest_periods),
                  model=model, pipeline_method=pipeline_method, metric=metric, seed=seed)
    problems = _differences(saved, wanted, "blend", "saved_blend=''") + _unknown(
        params, ("revenue_command", "pipeline_backtest", *wanted), "blend")
    if problems:
        raise DataError(problems)
    return tuple(pd.read_csv(folder / name, dtype={"period": str, "method": str}) for name in files)
