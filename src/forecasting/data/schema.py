"""Canonical tables: their columns, types and the sales stages.

Every loader maps its input onto these names (DESIGN.md, "Data"). Code inside the
package trusts a frame that went through :func:`forecasting.data.load_table` or
:func:`forecasting.data.conform`: ids are strings, timestamps are ``datetime64``,
amounts are ``float64``, labels are 0/1 integers and ``status`` is one of
open/won/lost.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .errors import DataError, Problem

__all__ = [
    "TableSpec",
    "TABLES",
    "table_spec",
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
    # Optional tables of the forecast call (issue: weekly forecast call) and the KPI glossary.
    "team": TableSpec(
        name="team",
        id_column="owner",
        required=("owner", "manager"),
        optional=("team", "territory"),
        ids=("owner", "manager"),
    ),
    "forecast_calls": TableSpec(
        name="forecast_calls",
        id_column="owner",
        required=("owner", "period", "submitted_at", "commit", "best_case"),
        optional=("pipeline", "note"),
        dates=("submitted_at",),
        amounts=("commit", "best_case", "pipeline"),
        ids=("owner",),
        unique_id=False,
    ),
    "targets": TableSpec(
        name="targets",
        id_column="owner",
        required=("owner", "type", "freq", "target"),
        amounts=("target",),
        ids=("owner",),
        unique_id=False,
    ),
    "survey": TableSpec(
        name="survey",
        id_column="respondent_id",
        required=("respondent_id", "answered_at", "score"),
        optional=("kind",),
        dates=("answered_at",),
        amounts=("score",),
        ids=("respondent_id",),
        unique_id=False,
    ),
}

KINDS = tuple(TABLES)


def table_spec(kind: str) -> TableSpec:
    """The :class:`TableSpec` of a table kind; an unknown kind is a :class:`DataError`.

    Examples
    --------
    >>> table_spec("revenue").required
    ('date', 'amount')
    """
    if kind not in TABLES:
        raise DataError(f"unknown table kind {kind!r}; expected one of {', '.join(KINDS)}", table=str(kind))
    return TABLES[kind]


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
    >>> stages.probability("Proposal")  # the linear ramp: 2 / (2 + 1)
    0.6667
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
    def from_config(cls, config: Mapping | Sequence[str] | str | os.PathLike | None) -> "Stages":
        """Build stages from a dict, a list of open stage names or a YAML file path.

        A dict has ``open`` (a list of names, or of ``{name: probability}``),
        and optional ``won`` / ``lost`` names.

        Raises
        ------
        DataError
            For table ``stages``: an unreadable file, no open stages, a name that is
            blank or given twice, a closed stage among the open ones, a probability
            outside [0, 1].
        """
        if config is None:
            return cls()
        if isinstance(config, Stages):
            return config
        if isinstance(config, (str, os.PathLike)):
            config = _read_yaml(config)
        if isinstance(config, Sequence) and not isinstance(config, (str, bytes, Mapping)):
            config = {"open": list(config)}
        if not isinstance(config, Mapping):
            raise _stages_error(None, "must be a mapping with an 'open' list of stage names")
        items = config.get("open")
        if isinstance(items, Mapping):
            items = [dict([pair]) for pair in items.items()]
        if not isinstance(items, Sequence) or isinstance(items, (str, bytes)) or not items:
            raise _stages_error("open", "needs a non-empty list of stage names")
        names: list[str] = []
        probs: dict[str, float] = {}
        for item in items:
            for name, p in item.items() if isinstance(item, Mapping) else [(item, None)]:
                names.append(_stage_name(name, "open"))
                if p is not None:
                    probs[names[-1]] = _probability(p, names[-1])
        extra = config.get("probabilities") or {}
        if not isinstance(extra, Mapping):
            raise _stages_error("probabilities", "must map stage names to probabilities")
        probs.update({_stage_name(k, "probabilities"): _probability(v, k) for k, v in extra.items()})
        won = _stage_name(config.get("won", cls.won), "won")
        lost = _stage_name(config.get("lost", cls.lost), "lost")
        twice = sorted({n for n in names if names.count(n) > 1} | ({won} if won == lost else set()))
        if twice:
            raise _stages_error("open", f"names {', '.join(map(repr, twice))} more than once")
        closed = [n for n in (won, lost) if n in names]
        if closed:
            raise _stages_error("open", f"lists the closed stage {closed[0]!r} (give it as won or lost only)")
        # Linear ramp for stages without a stated probability: (i+1)/(n+1).
        n = len(names)
        for i, name in enumerate(names):
            probs.setdefault(name, round((i + 1) / (n + 1), 4))
        return cls(open=tuple(names), probabilities=probs, won=won, lost=lost)

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


def _stages_error(key: str | None, message: str) -> DataError:
    return DataError(Problem("stages", key, message))


def _read_yaml(path) -> object:
    import yaml

    try:
        fh = open(path, encoding="utf-8")
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise _stages_error(None, f"cannot read {os.fspath(path)!r}: {getattr(exc, 'strerror', None) or exc}") from None
    with fh:
        try:
            return yaml.safe_load(fh)
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise _stages_error(None, f"{os.fspath(path)} is not UTF-8 YAML: {first}") from None


def _stage_name(value, key: str) -> str:
    """A stage name as it appears in the data (text, stripped); blanks and lists are refused."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    raise _stages_error(key, f"has {value!r} where a stage name belongs")


def _probability(value, stage) -> float:
    try:
        p = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        p = None
    if p is None or not 0.0 <= p <= 1.0:  # NaN fails both comparisons
        raise _stages_error("probabilities", f"of stage {stage!r} is {value!r}, not a number from 0 to 1")
    return p


DEFAULT_STAGES = Stages()
