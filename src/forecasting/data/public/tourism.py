"""Australian domestic tourism: many short seasonal series of trips."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from .base import Adapted, check_series, fixed_format_dates, locate, read_csv, split_last


@dataclass(frozen=True)
class _TourismKind:
    folder: str
    filename: str
    date_column: str
    date_format: str
    freq: str
    season_length: int
    horizon: int


_TOURISM = {
    "monthly": _TourismKind("aus_tourism_monthly", "tourism_monthly.csv", "Month", "%Y-%m", "MS", 12, 24),
    "quarterly": _TourismKind("aus_tourism_quarterly", "tourism.csv", "quarter_start", "%Y-%m-%d",
                              "QS", 4, 8),
}
_TOURISM_NOTES = """\
Australian domestic overnight trips (Tourism Research Australia, National Visitor Survey; R
packages tsibbletalk / tsibble), in thousands of trips: not revenue, but many short, noisy,
seasonal series (State x Region x Purpose).
- monthly: 308 series x 262 months (1998-03 .. 2019-12); quarterly: 304 series x 80 quarters
  (1998 Q1 .. 2017 Q4). Every series is complete.
- horizon = 24 months / 8 quarters, as in the tourism forecasting competition (Athanasopoulos et
  al. 2011); the last `horizon` periods of each series are the test part.
- series id = "State/Region/Purpose". Monthly: a few State labels may be wrong (the package
  filled unmatched regions with "Queensland"); Region x Purpose alone is already unique.
- Small regions have zeros: use scaled errors (MASE) or WAPE, not MAPE."""


def tourism(kind: str = "monthly", *, root: str | os.PathLike | None = None) -> Adapted:
    """Australian domestic tourism trips as long train/test frames.

    Parameters
    ----------
    kind : {"monthly", "quarterly"}
    root : path, optional
        Shared data folder or the dataset folder.

    Returns
    -------
    Adapted
        ``tables["train"]`` / ``tables["test"]``: ``series, date, amount`` plus ``state,
        region, purpose``; ``tables["series"]``: one row per series. ``horizon`` 24 / 8,
        ``season_length`` 12 / 4, ``freq`` "MS" / "QS".

    Notes
    -----
    Trips (thousands), not revenue. Horizons follow the tourism forecasting competition
    (Athanasopoulos et al. 2011). Many small series have zeros: prefer MASE / WAPE to MAPE.
    A few monthly State labels may be wrong upstream.
    """
    if kind not in _TOURISM:
        raise ValueError(f"kind must be one of {sorted(_TOURISM)}, got {kind!r}")
    spec = _TOURISM[kind]
    path = locate(root, spec.folder, spec.filename)
    raw = read_csv(path, (spec.date_column, "State", "Region", "Purpose", "Trips"))
    long = pd.DataFrame({
        "series": raw["State"] + "/" + raw["Region"] + "/" + raw["Purpose"],
        "date": fixed_format_dates(raw[spec.date_column], path, spec.date_column, spec.date_format),
        "amount": pd.to_numeric(raw["Trips"], errors="coerce").astype(float),
        "state": raw["State"],
        "region": raw["Region"],
        "purpose": raw["Purpose"],
    })
    long = check_series(long.sort_values(["series", "date"], kind="stable", ignore_index=True), path)
    train, test = split_last(long, spec.horizon)
    series = (long.groupby("series", sort=False)
              .agg(state=("state", "first"), region=("region", "first"), purpose=("purpose", "first"),
                   n=("date", "size"), start=("date", "min"))
              .reset_index())
    return Adapted(
        name=spec.folder,
        tables={"train": train, "test": test, "series": series},
        notes=_TOURISM_NOTES,
        freq=spec.freq,
        season_length=spec.season_length,
        horizon=spec.horizon,
        columns={spec.date_column: "date", "Trips": "amount", "State": "state", "Region": "region",
                 "Purpose": "purpose"},
        files=(path,),
    )
