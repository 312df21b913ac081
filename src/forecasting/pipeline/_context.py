"""The inputs of every pipeline computation, prepared once and queried by cutoff.

Forecasts, backtests and training sets ask the same questions at many dates
("which deals were open?", "what closed before?"); :class:`PipelineData` answers
them from tables prepared once, and only ever with rows stamped before the
cutoff asked about.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ..data.schema import Stages
from ..data.validate import DataWarning
from .snapshot import DAY, _Prepared, _prepare_history, snapshot
from .stages import closings

__all__ = ["PipelineData"]

_OPP_COLUMNS = ("opportunity_id", "owner", "amount", "created_at", "stage", "close_date", "status")


def _check_opportunities(opportunities: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in _OPP_COLUMNS if c not in opportunities.columns]
    if missing:
        raise DataError([problem("opportunities", c, "is a required column but is missing") for c in missing])
    if opportunities.empty:
        raise DataError([problem("opportunities", None, "is empty: no rows")])
    opps = opportunities.copy()
    opps["opportunity_id"] = opps["opportunity_id"].astype(str)
    opps["owner"] = opps["owner"].astype(str)
    if "segment" in opps.columns:
        opps["segment"] = opps["segment"].astype(object).where(opps["segment"].notna(), "unknown").astype(str)
    for column in ("created_at", "close_date"):
        opps[column] = pd.to_datetime(opps[column])
    bad = opps["created_at"].isna().to_numpy()
    if bad.any():
        raise DataError([problem("opportunities", "created_at", "is missing a date", opps.loc[bad, "opportunity_id"])])
    return opps


@dataclass
class PipelineData:
    """Opportunities (+ prepared stage history) and the events derived from them.

    Build with :meth:`build`; every query takes an exclusive ``cutoff`` timestamp.
    """

    opportunities: pd.DataFrame
    prepared: _Prepared | None
    stages: Stages
    closings: pd.DataFrame
    _snapshots: dict = field(default_factory=dict, repr=False)
    cache: dict = field(default_factory=dict, repr=False)  # training frames and models by window

    @classmethod
    def build(cls, opportunities, stage_history=None, stages=None) -> "PipelineData":
        stages = Stages.from_config(stages)
        opps = _check_opportunities(opportunities)
        prepared = None
        if stage_history is not None:
            prepared = _prepare_history(stage_history, stages, opps)
        else:
            warnings.warn(
                "no stage history: as-of snapshots are approximate (current stages, amounts and close "
                "dates; deals closed after the date count as open in the first stage)",
                DataWarning, stacklevel=3)
        events = closings(opps, prepared, stages)
        created = opps.set_index("opportunity_id")["created_at"]
        events["created_at"] = events["opportunity_id"].map(created).to_numpy()
        return cls(opps, prepared, stages, events)

    @property
    def exact(self) -> bool:
        """Whether snapshots come from stage history (True) or the current table."""
        return self.prepared is not None

    def attribute(self, column: str) -> pd.Series:
        """A static deal attribute (owner, segment) by opportunity id; "all" when absent."""
        opps = self.opportunities
        values = opps[column].astype(str) if column in opps.columns else pd.Series("all", index=opps.index)
        return pd.Series(values.to_numpy(), index=opps["opportunity_id"].to_numpy())

    def open_deals(self, cutoff: pd.Timestamp) -> pd.DataFrame:
        """The snapshot at ``cutoff``; unknown expected close dates filled from past cycle lengths."""
        if cutoff not in self._snapshots:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataWarning)  # warned once in build()
                snap = snapshot(self.opportunities, None, stages=self.stages, _prepared=self.prepared,
                                _cutoff=cutoff)
            unknown = snap["close_date"].isna()
            if unknown.any():
                # Expected close = created + median sales cycle of deals closed before, not before today.
                done = self.closings[self.closings["closed_at"] < cutoff]
                cycle = ((done["closed_at"] - done["created_at"]) / DAY).median() if len(done) else 90.0
                guess = snap.loc[unknown, "created_at"] + pd.to_timedelta(float(cycle), unit="D")
                snap.loc[unknown, "close_date"] = guess.clip(lower=cutoff - DAY)
            self._snapshots[cutoff] = snap
        return self._snapshots[cutoff]

    def closed_before(self, cutoff: pd.Timestamp) -> pd.DataFrame:
        """Closing events before the cutoff, the last one per deal."""
        done = self.closings[self.closings["closed_at"] < cutoff]
        return done.sort_values("closed_at", kind="mergesort").drop_duplicates("opportunity_id", keep="last")

    def won_between(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Won events with ``start <= closed_at < end`` (first win per deal)."""
        ev = self.closings
        won = ev[ev["won"] & (ev["closed_at"] >= start) & (ev["closed_at"] < end)]
        return won.sort_values("closed_at", kind="mergesort").drop_duplicates("opportunity_id", keep="first")

    def owner_win_rates(self, cutoff: pd.Timestamp, strength: float = 10.0) -> tuple[pd.Series, float]:
        """Each owner's win rate over deals closed before the cutoff, shrunk to the overall rate."""
        done = self.closed_before(cutoff)
        if done.empty:
            return pd.Series(dtype=float), 0.5
        overall = float(done["won"].mean())
        owner = done["opportunity_id"].map(self.attribute("owner"))
        stats = done.groupby(owner.to_numpy())["won"].agg(["sum", "count"])
        rates = (stats["sum"] + strength * overall) / (stats["count"] + strength)
        return rates, overall


def log_ratios(values) -> np.ndarray:
    """Finite logs of positive ratios (amount changes), as a float array."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    return np.log(values)
