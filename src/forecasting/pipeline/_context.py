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
from ..data.schema import STATUSES, Stages
from ..data.validate import DataWarning
from ..metrics.sales import TOTAL_GROUP, group_labels
from .snapshot import DAY, _Prepared, _prepare_history, closings, snapshot_before, unknown_stages_message

__all__ = ["PipelineData", "resolve", "remaining_cycle_days"]

_OPP_COLUMNS = ("opportunity_id", "owner", "amount", "created_at", "stage", "close_date", "status")


def _check_opportunities(opportunities: pd.DataFrame, stages: Stages) -> pd.DataFrame:
    """Canonical opportunities with the columns a forecast needs, or a DataError listing every problem."""
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
    opps["amount"] = pd.to_numeric(opps["amount"], errors="coerce").astype(float)
    ids = opps["opportunity_id"]
    unknown = opps["stage"].notna() & ~opps["stage"].isin(stages.all)
    checks = [
        ("opportunity_id", ids.duplicated(keep=False), "has duplicate ids"),
        ("created_at", opps["created_at"].isna(), "is missing a date"),
        ("amount", opps["amount"].isna(), "is missing an amount (every deal needs one to be forecast)"),
        ("amount", opps["amount"] < 0, "is negative"),
        ("stage", opps["stage"].isna(), "is missing a stage"),
        ("stage", unknown, unknown_stages_message(opps.loc[unknown, "stage"], stages)),
        ("status", ~opps["status"].isin(STATUSES), "has values other than open / won / lost"),
    ]
    problems = [problem("opportunities", column, message, ids[mask.to_numpy()])
                for column, mask, message in checks if mask.any()]
    if problems:
        raise DataError(problems)
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
        opps = _check_opportunities(opportunities, stages)
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
    def first_date(self) -> pd.Timestamp:
        """When the first deal was created."""
        return self.opportunities["created_at"].min()

    @property
    def last_date(self) -> pd.Timestamp:
        """The latest moment the data records: a deal created, a stage entered or a deal closed."""
        stamps = [self.opportunities["created_at"].max(), self.closings["closed_at"].max()]
        if self.prepared is not None:
            stamps.append(self.prepared.rows["entered_at"].max())
        return max(s for s in stamps if pd.notna(s))

    def check_as_of(self, cutoff: pd.Timestamp, span: pd.Timedelta) -> None:
        """Refuse an as-of date the data cannot speak for.

        Before the first deal nothing was known: an error. After the data's last record
        the pipeline is taken as it stood then, which is fine for a few days (an export
        made on Friday, a forecast on Monday) but not for longer than ``span`` (the
        forecast period's length): an error beyond it, a warning beyond a week.
        """
        as_of = (cutoff - DAY).date()
        if cutoff <= self.first_date:
            raise DataError([problem("as_of", None, f"{as_of} is before the first deal (created "
                                     f"{self.first_date.date()}): nothing was known then")])
        gap = (cutoff - DAY) - self.last_date.normalize()
        if gap > span:
            raise DataError([problem("as_of", None, f"{as_of} is {gap.days} days after the data's last record "
                                     f"({self.last_date.date()}), more than the forecast period: the pipeline "
                                     "then is unknown; load fresher data or forecast as of an earlier date")])
        if gap > pd.Timedelta(days=7):
            warnings.warn(f"the data's last record is on {self.last_date.date()}, {gap.days} days before the "
                          f"as-of date {as_of}: deals are taken as they stood then", DataWarning, stacklevel=3)

    @property
    def exact(self) -> bool:
        """Whether snapshots come from stage history (True) or the current table."""
        return self.prepared is not None

    def attribute(self, column: str) -> pd.Series:
        """A static deal attribute (owner, segment) by opportunity id; "all" when absent.

        A value named ``all`` is renamed ``all (<column>)`` with a warning
        (:func:`~forecasting.metrics.sales.group_labels`): ``all`` is the total row.
        """
        key = ("attribute", column)
        if key not in self.cache:
            opps = self.opportunities
            if column in opps.columns:
                values = group_labels(opps[column], column)
            else:
                values = pd.Series(TOTAL_GROUP, index=opps.index)
            self.cache[key] = pd.Series(values.to_numpy(), index=opps["opportunity_id"].to_numpy())
        return self.cache[key]

    def open_deals(self, cutoff: pd.Timestamp) -> pd.DataFrame:
        """The snapshot at ``cutoff``; unknown expected close dates estimated (``close_date_estimated``).

        A deal with no expected close date (missing in the data, or hidden because it closed
        after the date in an approximate snapshot) is expected after the median remaining
        sales cycle of the deals closed before the cutoff that lived at least as long
        (:func:`remaining_cycle_days`); the forecast warns with their count.
        """
        if cutoff not in self._snapshots:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataWarning)  # warned once in build()
                snap = snapshot_before(self.opportunities, self.prepared, self.stages, cutoff)
            unknown = snap["close_date"].isna()
            snap["close_date_estimated"] = unknown.to_numpy()
            if unknown.any():
                done = self.closings[self.closings["closed_at"] < cutoff]
                cycles = ((done["closed_at"] - done["created_at"]) / DAY).to_numpy(dtype=float)
                rest = remaining_cycle_days(cycles, snap.loc[unknown, "age_days"].to_numpy(dtype=float))
                snap.loc[unknown, "close_date"] = (cutoff - DAY) + pd.to_timedelta(rest, unit="D")
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
        key = ("owner_win_rates", cutoff, strength)
        if key not in self.cache:
            self.cache[key] = self._owner_win_rates(cutoff, strength)
        return self.cache[key]

    def _owner_win_rates(self, cutoff: pd.Timestamp, strength: float) -> tuple[pd.Series, float]:
        done = self.closed_before(cutoff)
        if done.empty:
            return pd.Series(dtype=float), 0.5
        overall = float(done["won"].mean())
        owner = done["opportunity_id"].map(self.attribute("owner"))
        stats = done.groupby(owner.to_numpy())["won"].agg(["sum", "count"])
        rates = (stats["sum"] + strength * overall) / (stats["count"] + strength)
        return rates, overall


def remaining_cycle_days(cycles, ages, default: float = 90.0) -> np.ndarray:
    """Median days left in the sales cycle of open deals of the given ages.

    For a deal ``a`` days old: the median of ``cycle - a`` over the past cycles longer
    than ``a`` (a deal that survived ``a`` days is compared with deals that did too).
    0 (due now) for a deal older than every past cycle; ``default`` days without any.

    Examples
    --------
    >>> remaining_cycle_days([10, 20, 30, 40], [0, 25, 50]).tolist()
    [25.0, 10.0, 0.0]
    """
    cycles = np.sort(np.asarray(cycles, dtype=float)[np.isfinite(cycles)])
    ages = np.asarray(ages, dtype=float)
    if not len(cycles):
        return np.full(len(ages), float(default))
    first = np.searchsorted(cycles, ages, side="right")  # cycles[first:] outlived the age
    m = len(cycles) - first
    lo = np.minimum(first + np.maximum(m - 1, 0) // 2, len(cycles) - 1)
    hi = np.minimum(first + m // 2, len(cycles) - 1)
    return np.where(m > 0, (cycles[lo] + cycles[hi]) / 2 - ages, 0.0)


def resolve(opportunities, stage_history, stages, data: PipelineData | None) -> PipelineData:
    """The prepared inputs of a public function: ``data`` as given, else built from the tables."""
    if data is not None:
        return data
    if opportunities is None:
        raise TypeError("pass the opportunities table (and optionally stage_history) or data=PipelineData")
    return PipelineData.build(opportunities, stage_history, stages)


def log_ratios(values) -> np.ndarray:
    """Finite logs of positive ratios (amount changes), as a float array."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    return np.log(values)
