"""The :class:`World` object and :func:`make_world` / :func:`write_world` for every world of the zoo
(:mod:`.zoo` lists them; ``demo`` is :func:`.demo.make_demo`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import write_duckdb, write_text
from ..schema import DEFAULT_STAGES, Stages
from .activities import activity_details, world_activities
from .common import DAY_NS, text_column, to_days
from .demo import make_demo, write_demo
from .lead_processes import world_leads
from .oracles import demo_oracle, generated_oracle
from .org import ORG_TABLES, ORG_TRUTH, org_tables
from .process import WorldProcess, arrivals, deal_tables, quarter_index, rep_names
from .revenue import world_revenue, world_spend
from .team import SalesOrg
from .terms import PRODUCTS, deal_terms, pick_products
from .writer import check_formats, write_tables
from .zoo import END, SEASONS, SPECS, START, WORLDS, WorldSpec


DEFAULT_CONFIG = {"open": list(DEFAULT_STAGES.open), "won": DEFAULT_STAGES.won, "lost": DEFAULT_STAGES.lost}


@dataclass(eq=False)  # tables are frames: compare worlds by their tables, not with ==
class World:
    """A generated CRM with its stages and its truth.

    Attributes
    ----------
    name : str
    tables : dict of str to DataFrame
        Canonical tables keyed by kind: ``leads``, ``opportunities``,
        ``stage_history`` (absent when the world has none), ``activities``,
        ``revenue``, ``team``, ``forecast_calls``, ``targets``, ``survey``.
    stages : Stages
    lead_truth : Series or None
        True probability that each lead's ``converted`` is 1, indexed like
        ``tables["leads"]``.
    properties : dict
        The world's documented properties (win rate, cycle days, peak month...).
    truth : dict of str to DataFrame
        The truth behind the sales organisation's tables: ``call_truth``
        (each rep's forecast-call ``behaviour``, ``bias``, ``noise_sd``) and
        ``activity_truth`` (each rep's ``effort``: expected activity attainment).
    """

    name: str
    tables: dict[str, pd.DataFrame]
    stages: Stages
    lead_truth: pd.Series | None
    properties: dict
    _oracle: Callable | None = field(default=None, repr=False)
    truth: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def oracle(self, as_of, period, n_sims: int = 2000, seed: int = 0, *,
               shocks: str = "realized") -> np.ndarray | None:
        """Draws of the revenue won in ``period`` from the true process, seen at the end of ``as_of``.

        Parameters
        ----------
        as_of : str or Timestamp
            Everything that happened by the end of this day is known (won
            deals count as they are); the rest is simulated.
        period : str or Period
            ``"2026Q3"``, ``"2026-07"``...
        n_sims : int
        seed : int
        shocks : {"realized", "drawn"}
            Quarter shocks of worlds that have them: ``"realized"`` knows the shock of
            every quarter begun by ``as_of`` (including the one it falls in, which no
            forecast can learn from one day of data); ``"drawn"`` knows only quarters
            already over and draws the rest, the fair reference for a forecast made on
            a quarter's first day.

        Returns
        -------
        ndarray of shape (n_sims,) or None
            Won amount in the period per simulation (None if the world has no oracle).
        """
        if self._oracle is None:
            return None
        p = period if isinstance(period, pd.Period) else pd.Period(str(period))
        begin = to_days(p.start_time.normalize())
        end = to_days(p.end_time.normalize()) + 1.0
        cutoff = to_days(pd.Timestamp(as_of).normalize()) + 1.0
        if shocks not in ("realized", "drawn"):
            raise ValueError(f"shocks must be 'realized' or 'drawn', got {shocks!r}")
        return self._oracle(cutoff, begin, end, int(n_sims), np.random.default_rng(seed), shocks=shocks)

    def write(self, path) -> Path:
        """Write the tables (plus :meth:`extra_tables`) to one DuckDB file, atomically."""
        return write_duckdb({**self.tables, **self.extra_tables()}, path)

    def extra_tables(self) -> dict[str, pd.DataFrame]:
        """``world_meta`` (name, stages, properties), ``lead_truth`` and the other truth tables."""
        meta = {"world": [self.name], "stages": [repr(self.stages.to_config())],
                **{k: [str(v)] for k, v in self.properties.items()}}
        extra = {**self.truth, "world_meta": pd.DataFrame(meta)}
        if self.lead_truth is not None:
            extra["lead_truth"] = pd.DataFrame({"lead_id": self.tables["leads"]["lead_id"],
                                                "p_true": self.lead_truth.to_numpy()})
        return extra


def make_world(name: str, seed: int = 0, *, size: float = 1.0) -> World:
    """Generate world ``name`` (a key of :data:`WORLDS`).

    Parameters
    ----------
    name : str
    seed : int
        Same seed, identical tables.
    size : float
        Scales the number of leads and the deal flow (1.0: a few thousand deals).

    Returns
    -------
    World
    """
    if name not in WORLDS:
        raise ValueError(f"unknown world {name!r}; choose from {', '.join(WORLDS)}")
    if not size > 0:
        raise ValueError(f"size must be positive; got {size}")
    if name == "demo":
        return demo_world(seed, size)
    return generate(name, SPECS[name], seed, size)


def write_world(out_dir, name: str = "demo", seed: int = 0, *, size: float = 1.0,
                formats=("duckdb",)) -> tuple[Path, Path | None]:
    """Generate world ``name`` and write it to ``out_dir/crm.duckdb`` (plus CSV / Parquet).

    ``demo`` at size 1 is exactly :func:`forecasting.data.demo.write_demo`. A
    world whose stages are not the default ones also gets ``crm.stages.yaml``,
    to pass as ``--stages`` to the pipeline commands.

    Returns
    -------
    (Path, Path or None)
        The DuckDB file and the stages YAML (None for the default stages).
    """
    formats = check_formats(formats)
    out = Path(out_dir)
    if name == "demo":
        kwargs = {} if size == 1.0 else {"n_leads": max(int(round(24_000 * size)), 200)}
        return write_demo(out, seed=seed, formats=formats, **kwargs), None
    world = make_world(name, seed, size=size)
    path = write_tables(out, world.tables, formats, world.extra_tables())
    if world.stages == DEFAULT_STAGES:
        return path, None
    import yaml

    return path, write_text(out / "crm.stages.yaml", yaml.safe_dump(world.stages.to_config(), sort_keys=False))


def generate(name: str, spec: WorldSpec, seed: int, size: float) -> World:
    # Streams 0-5 make the deal, lead and revenue tables; stream 6 the deal terms and the sales organisation.
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, name_key(name)]).spawn(7)]
    start, end = to_days(START), to_days(END)
    cutoff = end + 1.0
    proc = WorldProcess(spec.deals, rngs[0], size, start, end)
    created = arrivals(rngs[1], start, cutoff, proc.per_day, spec.deals.season, spec.deals.growth, start)
    deals = proc.new_deals(rngs[1], created)
    n = len(created)
    walk = proc.walk(rngs[2], deals, np.zeros(n, dtype=np.int64), created, np.full(n, -np.inf),
                     proc.shocks, track=True)
    leads, lead_truth = world_leads(rngs[3], spec, size, start, cutoff)
    tables, hidden = deal_tables(rngs[4], proc, deals, walk, cutoff, end)
    add_terms(rngs[6], tables["opportunities"], deals["segment"])
    org = SalesOrg.draw(rngs[6], rep_names(spec.deals.n_reps), proc.rep_segment, tuple(spec.deals.segments))
    tables["activities"] = world_activities(rngs[5], leads, hidden, proc, cutoff, (rngs[6], org, start))
    tables["revenue"] = world_revenue(rngs[5], hidden, proc, start, end)
    eventual = {"owner": deals["owner"], "created": deals["created"], "closed": walk["time"],
                "won": walk["stage"] == len(spec.deals.stages), "amount": deals["amount"]}
    optimists = proc.biased if proc.biased.any() else None
    org_part = org_tables(rngs[6], org, deals=eventual, customers=customers_of(tables["opportunities"]),
                          start=start, end=end, optimists=optimists)
    for column, values in activity_details(rngs[6], tables["activities"]["type"]).items():
        tables["activities"][column] = values
    tables["spend"] = world_spend(rngs[6], leads, hidden, proc, start, end)
    tables = {"leads": leads, **tables, **{k: org_part[k] for k in ORG_TABLES}}
    if not spec.deals.history:
        del tables["stage_history"]
    config = {"open": list(spec.deals.stages), "won": spec.deals.won, "lost": spec.deals.lost}
    stages = DEFAULT_STAGES if config == DEFAULT_CONFIG else Stages.from_config(config)
    properties = properties_of(spec, proc)
    oracle = generated_oracle(proc, deals, walk)
    order = ["leads", "opportunities", "stage_history", "activities", "revenue", "spend", *ORG_TABLES]
    return World(name, {k: tables[k] for k in order if k in tables}, stages, lead_truth, properties, oracle,
                 {k: org_part[k] for k in ORG_TRUTH})


def add_terms(rng, opportunities: pd.DataFrame, segment: np.ndarray) -> None:
    """Product (by the segment's mix), contract length, cost and units of every deal, in place."""
    product = pick_products(rng, segment)
    opportunities["product"] = text_column(np.array(list(PRODUCTS))[product])
    for column, values in deal_terms(rng, segment, product, opportunities["amount"].to_numpy()).items():
        opportunities[column] = values


def customers_of(opportunities: pd.DataFrame) -> dict:
    """Accounts with a won deal, from their first win; the worlds' customers do not churn."""
    won = opportunities[opportunities["status"] == "won"]
    since = won.groupby("account_id")["close_date"].min()
    days = since.to_numpy().astype("datetime64[ns]").astype("int64") / DAY_NS
    return {"account": since.index.to_numpy(), "since": days, "churned": np.full(len(since), np.nan)}


def name_key(name: str) -> int:
    """A stable integer per world name, so worlds with the same seed differ."""
    import zlib

    return zlib.crc32(name.encode())


def properties_of(spec: WorldSpec, proc: WorldProcess) -> dict:
    d = spec.deals
    season = np.asarray(SEASONS[d.season])
    last_quarter = int(quarter_index(np.array([proc.end]))[0]) - proc.q0
    return {
        "win_rate": d.win_rate,
        "cycle_days": float(sum(d.days)),  # mean stage days of a won deal at scale 1
        "n_stages": len(d.stages),
        "peak_month": int(np.argmax(season)) + 1 if season.std() > 0 else None,
        "season": d.season,
        "amount": d.amount,
        "slip_prob": d.slip_prob,
        "shock_quarters": [str(pd.Period(ordinal=int(proc.q0 + i), freq="Q"))
                           for i in np.flatnonzero(proc.shocks[:last_quarter + 1])],
        "biased_reps": int(proc.biased.sum()),
        "biased_owners": sorted(rep_names(d.n_reps)[proc.biased]),
        "history": d.history,
        "lead_process": spec.leads,
        "lead_rate": spec.lead_rate,
    }


def demo_world(seed: int, size: float) -> World:
    tables = make_demo(seed=seed, n_leads=max(int(round(24_000 * size)), 200))
    leads = tables["leads"]
    truth = pd.Series(tables["lead_truth"]["p_true"].to_numpy(), index=leads.index, name="p_true")
    kept = {k: tables[k] for k in ("leads", "opportunities", "stage_history", "activities", "revenue", "spend",
                                       *ORG_TABLES)}
    properties = {"win_rate": 0.31, "cycle_days": 88.0, "n_stages": 5, "peak_month": None, "season": "demo",
                  "history": True, "lead_process": "demo", "lead_rate": 0.16}
    return World("demo", kept, DEFAULT_STAGES, truth, properties, demo_oracle(tables),
                 {k: tables[k] for k in ORG_TRUTH})
