"""Canonical tables: their columns, types and the sales stages.

Every loader maps its input onto these names (DESIGN.md, "Data"). Code inside the
package trusts a frame that went through :func:`forecasting.data.load_table` or
:func:`forecasting.data.conform`: ids are strings, timestamps are ``datetime64``,
amounts are ``float64``, labels are 0/1 integers and ``status`` is one of
open/won/lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "TableSpec",
    "TABLES",
    "KINDS",
    "Stages",
    "DEFAULT_STAGES",
    "STATUSES",
]

STATUSES = ("open", "won", "lost")


@dataclass(frozen=True)
class TableSpec:
    """Columns and types of one canonical table.

    Attributes
    ----------
    name : str
        Table kind (``leads``, ``opportunities``...).
    id_column : str or None
        Unique row id, used to name offending rows in error messages.
    required, optional : tuple of str
        Canonical column names. Columns not listed are kept as extra attributes.
    dates, amounts, ids, label : tuple of str
        Columns cast to timestamps, floats, strings and 0/1 labels.
    unique_id : bool
        Whether ``id_column`` must be unique (not for stage_history).
    """

    name: str
    id_column: str | None
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    label: tuple[str, ...] = ()
    unique_id: bool = True

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


TABLES: dict[str, TableSpec] = {
    "leads": TableSpec(
        name="leads",
        id_column="lead_id",
        required=("lead_id", "created_at"),
        optional=("converted", "converted_at"),
        dates=("created_at", "converted_at"),
        ids=("lead_id",),
        label=("converted",),
    ),
    "opportunities": TableSpec(
        name="opportunities",
        id_column="opportunity_id",
        required=(
            "opportunity_id",
            "account_id",
            "owner",
            "amount",
            "created_at",
            "stage",
            "close_date",
            "status",
        ),
        optional=("product", "segment", "lead_id"),
        dates=("created_at", "close_date"),
        amounts=("amount",),
        ids=("opportunity_id", "account_id", "owner", "lead_id"),
    ),
    "stage_history": TableSpec(
        name="stage_history",
        id_column="opportunity_id",
        required=("opportunity_id", "stage", "entered_at"),
        optional=("amount", "close_date"),
        dates=("entered_at", "close_date"),
        amounts=("amount",),
        ids=("opportunity_id",),
        unique_id=False,
    ),
    "activities": TableSpec(
        name="activities",
        id_column="activity_id",
        required=("activity_id", "owner", "type", "occurred_at"),
        optional=("lead_id", "opportunity_id"),
        dates=("occurred_at",),
        ids=("activity_id", "owner", "lead_id", "opportunity_id"),
    ),
    "revenue": TableSpec(
        name="revenue",
        id_column=None,
        required=("date", "amount"),
        optional=("segment",),
        dates=("date",),
        amounts=("amount",),
        ids=("segment",),
    ),
}

KINDS = tuple(TABLES)


@dataclass(frozen=True)
class Stages:
    """Ordered open sales stages, their default win probabilities and the closed stages.

    Parameters
    ----------
    open : sequence of str
        Open stages in funnel order, earliest first.
    probabilities : mapping of str to float, optional
        Default probability that a deal in each open stage is won (the CRM's
        weighted-pipeline probabilities). Missing stages get a linear ramp.
    won, lost : str
        Names of the closed stages as they appear in stage history.

    Examples
    --------
    >>> stages = Stages.from_config({"open": ["Discovery", "Proposal"], "won": "Won"})
    >>> stages.probability("Proposal")
    0.5
    """

    open: tuple[str, ...] = (
        "Prospecting",
        "Qualification",
        "Demo",
        "Proposal",
        "Negotiation",
    )
    probabilities: Mapping[str, float] = field(
        default_factory=lambda: {
            "Prospecting": 0.10,
            "Qualification": 0.20,
            "Demo": 0.40,
            "Proposal": 0.60,
            "Negotiation": 0.80,
        }
    )
    won: str = "Closed Won"
    lost: str = "Closed Lost"

    @classmethod
    def from_config(cls, config: Mapping | Sequence[str] | str | None) -> "Stages":
        """Build stages from a dict, a list of open stage names or a YAML file path.

        A dict has ``open`` (a list of names, or of ``{name: probability}``),
        and optional ``won`` / ``lost`` names.
        """
        if config is None:
            return cls()
        if isinstance(config, Stages):
            return config
        if isinstance(config, str):
            import yaml

            with open(config, encoding="utf-8") as fh:
                config = yaml.safe_load(fh)
        if isinstance(config, Sequence) and not isinstance(config, (str, Mapping)):
            config = {"open": list(config)}
        names: list[str] = []
        probs: dict[str, float] = {}
        for item in config.get("open", []):
            if isinstance(item, Mapping):
                for name, p in item.items():
                    names.append(str(name))
                    if p is not None:
                        probs[str(name)] = float(p)
            else:
                names.append(str(item))
        probs.update({str(k): float(v) for k, v in (config.get("probabilities") or {}).items()})
        if not names:
            raise ValueError("stages config needs a non-empty 'open' list of stage names")
        # Linear ramp for stages without a stated probability: (i+1)/(n+1).
        n = len(names)
        for i, name in enumerate(names):
            probs.setdefault(name, round((i + 1) / (n + 1), 4))
        return cls(
            open=tuple(names),
            probabilities=probs,
            won=str(config.get("won", cls.won)),
            lost=str(config.get("lost", cls.lost)),
        )

    def to_config(self) -> dict:
        """The YAML/dict form read by :meth:`from_config` (round trip)."""
        return {
            "open": [{name: float(self.probabilities[name])} for name in self.open],
            "won": self.won,
            "lost": self.lost,
        }

    @property
    def closed(self) -> tuple[str, str]:
        return (self.won, self.lost)

    @property
    def all(self) -> tuple[str, ...]:
        return self.open + self.closed

    def probability(self, stage: str) -> float:
        """Default win probability of a stage (1 for won, 0 for lost)."""
        if stage == self.won:
            return 1.0
        if stage == self.lost:
            return 0.0
        return float(self.probabilities[stage])

    def order(self, stage: str) -> int:
        """Position of a stage in the funnel (closed stages come last)."""
        return self.all.index(stage)


DEFAULT_STAGES = Stages()
