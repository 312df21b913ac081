"""Results a CLI command saved, read back by a report instead of being computed again.

``forecasting demo`` runs ``leads compare`` and then the lead-scoring report; the
report reads the comparison the command wrote (``leaderboard.csv``, ``oof.csv``,
``features.csv``, ``folds.csv``, ``run.json``) when its settings are the report's,
and refuses it, naming the setting, when they differ.
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
from .context import parse_map

__all__ = ["load_comparison"]

_FILES = ("leaderboard.csv", "oof.csv", "features.csv", "folds.csv", "run.json")


def _settings(folder: Path) -> dict:
    try:
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(Problem("comparison", None, f"{folder}/run.json cannot be read ({exc})")) from None
    if run.get("command") != "leads compare" or run.get("status") != "ok":
        raise DataError(Problem("comparison", None, f"{folder} holds no complete `leads compare` run"))
    return run


def _differences(saved: dict, wanted: dict) -> list[Problem]:
    return [Problem("comparison", key, f"the saved comparison used {saved.get(key)!r}, the report asks for "
                    f"{value!r}: pass the same value, or comparison='' to compare here")
            for key, value in wanted.items() if saved.get(key) != value]


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
    missing = [name for name in _FILES if not (folder / name).is_file()]
    if missing:
        raise DataError(Problem("comparison", None, f"{folder} lacks {', '.join(missing)}: not the --out folder "
                                "of `forecasting leads compare`"))
    run = _settings(folder)
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
