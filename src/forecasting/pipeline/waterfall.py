"""Pipeline waterfall: how a period's open pipeline moved between two dates.

The pipeline of a target period at a date is the open deals expected to close
in it (:func:`~forecasting.pipeline.expected_in_window`), as the as-of snapshot
shows them. Between ``from_date`` and ``to_date`` every deal that was in it at
either date, or that closed in the period meanwhile, falls in exactly one entry
bucket and one exit bucket::

    open at start + created + pulled in + pushed in + reopened
                  - pushed out - pulled out +/- amount changes - won - lost = open at end

Deals leave at the amount they had when they left (closing amount, or amount
at ``to_date`` for a deal pushed out); the difference from their start amount
is an amount change. Amounts are summed in whole cents, so the waterfall
reconciles to the cent. With stage history the snapshots are exact; without it
they are approximate (the ``snapshot`` column says which).

Forecast categories (:func:`category_moves`) use the stages' default
probabilities: a deal's category at a date is ``Commit`` / ``Best case`` /
``Pipeline`` / ``Omitted`` as in :func:`~forecasting.pipeline.categorize`,
``Closed`` once won inside the period, ``Not created`` before it exists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.errors import DataError, problem
from ..metrics.sales import TOTAL_GROUP
from ._context import PipelineData, resolve
from .forecast import categorize
from .snapshot import DAY, cutoff_of, period_bounds

__all__ = ["waterfall", "category_moves", "plot_waterfall", "WATERFALL_COLUMNS", "BUCKETS", "CATEGORIES"]

WATERFALL_COLUMNS = ("group", "from", "to", "bucket", "amount", "deals")
ENTRIES = ("created", "pulled in", "pushed in", "reopened")
EXITS = ("pushed out", "pulled out", "won", "lost")
BUCKETS = ("open at start", *ENTRIES, "pushed out", "pulled out", "amount changes", "won", "lost", "open at end")
CATEGORIES = ("Not created", "Pipeline", "Best case", "Commit", "Closed", "Omitted")


def _cents(amount) -> np.ndarray:
    """Amounts as whole cents (int64): sums of cents are exact."""
    return np.round(np.asarray(amount, dtype=float) * 100).astype(np.int64)


def _in_window(snap: pd.DataFrame, cutoff, begin, end) -> tuple[pd.Series, pd.Series]:
    """Whether each open deal is expected in ``[begin, end)`` and its due date (overdue: the cutoff)."""
    due = pd.to_datetime(snap["close_date"]).where(lambda d: d >= cutoff, cutoff)
    due = due.where(snap["close_date"].notna())
    return ((due >= begin) & (due < end)), due


def _moved(due: pd.Series, end) -> np.ndarray:
    """``later`` when the due date is at or after the window's end, else ``earlier``."""
    return np.where(due.to_numpy() >= np.datetime64(end), "later", "earlier")


def _moves(data: PipelineData, c0, c1, begin, end) -> pd.DataFrame:
    """One row per deal touched: ``opportunity_id, entry, exit, start, stop, change`` (cents)."""
    snap0, snap1 = data.open_deals(c0), data.open_deals(c1)
    in0, due0 = _in_window(snap0, c0, begin, end)
    in1, due1 = _in_window(snap1, c1, begin, end)
    ids0 = snap0["opportunity_id"]
    start = pd.Series(_cents(snap0["amount"]), index=ids0)[in0.to_numpy()]
    at1 = pd.Series(_cents(snap1["amount"]), index=snap1["opportunity_id"])
    stop = at1[in1.to_numpy()]
    moved0 = pd.Series(_moved(due0, end), index=ids0)
    moved1 = pd.Series(_moved(due1, end), index=snap1["opportunity_id"])
    done = data.closings[(data.closings["closed_at"] >= c0) & (data.closings["closed_at"] < c1)]
    done = done.sort_values("closed_at", kind="mergesort").drop_duplicates("opportunity_id", keep="last")
    done = done[~done["opportunity_id"].isin(at1.index)].set_index("opportunity_id")  # reopened: still open
    current = data.opportunities.set_index("opportunity_id")["amount"]
    closed_amount = pd.Series(_cents(done["amount"].fillna(done.index.to_series().map(current))), index=done.index)
    closed_in_period = done.index[((done["closed_at"] >= begin) & (done["closed_at"] < end)).to_numpy()]
    ids = start.index.union(stop.index).union(start.index.intersection(done.index)).union(closed_in_period)
    frame = pd.DataFrame(index=pd.Index(ids, name="opportunity_id"))
    frame["start"] = start.reindex(ids).fillna(0).astype(np.int64)
    frame["stop"] = stop.reindex(ids).fillna(0).astype(np.int64)
    was_in, is_in = ids.isin(start.index), ids.isin(stop.index)
    closed = ids.isin(done.index)
    leave = np.where(is_in, frame["stop"], np.where(closed, closed_amount.reindex(ids).fillna(0), at1.reindex(ids)
                                                    .fillna(0))).astype(np.int64)
    frame["entry"] = _entry(data, ids, was_in, c0, snap0["opportunity_id"], moved0)
    frame["exit"] = np.select(
        [is_in, closed & ids.isin(done.index[done["won"].to_numpy(dtype=bool)]), closed,
         moved1.reindex(ids).to_numpy() == "later"],
        ["", "won", "lost", "pushed out"], "pulled out")
    # Entering deals come in at the amount they leave with (or end with): no change.
    frame["change"] = np.where(was_in, leave - frame["start"], 0)
    frame["leave"] = leave
    return frame.reset_index()


def _entry(data: PipelineData, ids: pd.Index, was_in: np.ndarray, c0, open0: pd.Series, moved0: pd.Series):
    created = ids.map(data.opportunities.set_index("opportunity_id")["created_at"])
    new = np.asarray(created >= c0, dtype=bool)
    was_open = ids.isin(open0)
    later = moved0.reindex(ids).to_numpy() == "later"
    return np.select([was_in, new, was_open & later, was_open], ["", "created", "pulled in", "pushed in"], "reopened")


def _check_dates(from_date, to_date) -> tuple[pd.Timestamp, pd.Timestamp]:
    c0, c1 = cutoff_of(from_date), cutoff_of(to_date)
    if c0 > c1:
        raise DataError([problem("dates", "from", f"from {(c0 - DAY).date()} is after to {(c1 - DAY).date()}: "
                                 "--from must be on or before --to")])
    return c0, c1


def _group_of(data: PipelineData, by: str | None, ids) -> np.ndarray:
    if by is None:
        return np.full(len(ids), TOTAL_GROUP, dtype=object)
    return pd.Series(ids).map(data.attribute(by)).fillna("unknown").to_numpy(dtype=object)


def _buckets(moves: pd.DataFrame) -> pd.DataFrame:
    """The waterfall of one group of deal moves (cents)."""
    rows = [("open at start", moves["start"].sum(), int((moves["entry"] == "").sum()))]
    rows += [(b, moves.loc[moves["entry"] == b, "leave"].sum(), int((moves["entry"] == b).sum()))
             for b in ENTRIES]
    exits = {b: (-moves.loc[moves["exit"] == b, "leave"].sum(), int((moves["exit"] == b).sum())) for b in EXITS}
    rows += [(b, *exits[b]) for b in ("pushed out", "pulled out")]
    rows.append(("amount changes", moves["change"].sum(), int((moves["change"] != 0).sum())))
    rows += [(b, *exits[b]) for b in ("won", "lost")]
    rows.append(("open at end", moves["stop"].sum(), int((moves["exit"] == "").sum())))
    out = pd.DataFrame(rows, columns=["bucket", "cents", "deals"])
    if int(out["cents"].iloc[:-1].sum()) != int(out["cents"].iloc[-1]):  # pragma: no cover - by construction
        raise AssertionError("waterfall does not reconcile")
    return out


def waterfall(
    opportunities: pd.DataFrame | None = None,
    stage_history: pd.DataFrame | None = None,
    *,
    from_date,
    to_date,
    period=None,
    by: str | None = None,
    stages=None,
    data: PipelineData | None = None,
) -> pd.DataFrame:
    """How a period's open pipeline moved between two dates, reconciled to the cent.

    Parameters
    ----------
    opportunities, stage_history : DataFrame, optional
        Canonical tables (not needed when ``data`` is given). Without stage
        history the snapshots are approximate (``snapshot`` column).
    from_date, to_date : date-like
        The two as-of dates (inclusive, ``from_date <= to_date``).
    period : str or Period, optional
        The target period: deals expected to close in it (default: the quarter
        containing ``to_date``).
    by : str, optional
        A deal attribute (``owner``, ``segment``...): one waterfall per group
        after the ``all`` rows.
    stages : Stages or dict, optional
    data : PipelineData, optional
        Prepared inputs to reuse.

    Returns
    -------
    DataFrame
        ``group, from, to, bucket, amount, deals`` then ``period, snapshot``; per
        group the buckets of :data:`BUCKETS` in order, outflows negative, so the
        amounts before ``open at end`` sum to it exactly (in cents).

    Raises
    ------
    DataError
        ``from_date`` after ``to_date``, a bad period, or dates the data cannot
        speak for.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["A", "B", "C"], "account_id": ["a", "b", "c"],
    ...     "owner": ["ava", "ava", "bo"], "amount": [100.0, 50.0, 70.0],
    ...     "created_at": pd.to_datetime(["2026-01-05", "2026-01-05", "2026-02-10"]),
    ...     "stage": ["Closed Won", "Proposal", "Demo"], "status": ["won", "open", "open"],
    ...     "close_date": pd.to_datetime(["2026-02-20", "2026-06-30", "2026-03-15"])})
    >>> hist = pd.DataFrame({"opportunity_id": ["A", "B", "B", "C", "A"],
    ...     "stage": ["Demo", "Demo", "Proposal", "Demo", "Closed Won"],
    ...     "entered_at": pd.to_datetime(["2026-01-05", "2026-01-05", "2026-02-15", "2026-02-10", "2026-02-20"]),
    ...     "close_date": pd.to_datetime(["2026-03-01", "2026-03-20", "2026-06-30", "2026-03-15", None]),
    ...     "amount": [100.0, 60.0, 50.0, 70.0, 100.0]})
    >>> w = waterfall(opps, hist, from_date="2026-01-31", to_date="2026-02-28", period="2026Q1")
    >>> w.set_index("bucket").loc[["open at start", "created", "pushed out", "amount changes", "won",
    ...                            "open at end"], ["amount", "deals"]]
                    amount  deals
    bucket
    open at start    160.0      2
    created           70.0      1
    pushed out       -50.0      1
    amount changes   -10.0      1
    won             -100.0      1
    open at end       70.0      1
    """
    data = resolve(opportunities, stage_history, stages, data)
    c0, c1 = _check_dates(from_date, to_date)
    p, begin, end = period_bounds(period if period is not None else pd.Period(c1 - DAY, "Q"))
    for cutoff in (c0, c1):
        data.check_as_of(cutoff, end - begin)
    moves = _moves(data, c0, c1, begin, end)
    moves["group"] = _group_of(data, by, moves["opportunity_id"])
    parts = [(TOTAL_GROUP, moves)] + ([] if by is None else list(moves.groupby("group", sort=True)))
    frames = []
    for group, part in parts:
        out = _buckets(part)
        out.insert(0, "group", group)
        frames.append(out)
    out = pd.concat(frames, ignore_index=True)
    out["amount"] = out.pop("cents") / 100
    out.insert(1, "from", str((c0 - DAY).date()))
    out.insert(2, "to", str((c1 - DAY).date()))
    out["period"] = str(p)
    out["snapshot"] = "exact" if data.exact else "approximate"
    return out[[*WATERFALL_COLUMNS, "period", "snapshot"]]


def _category(data: PipelineData, ids: pd.Index, cutoff, begin, end) -> np.ndarray:
    """Forecast category of each deal at ``cutoff`` (stage default probabilities)."""
    snap = data.open_deals(cutoff)
    in_window, _ = _in_window(snap, cutoff, begin, end)
    probability = snap["stage"].map(data.stages.probability).to_numpy(dtype=float)
    open_category = pd.Series(categorize(probability, in_window.to_numpy()), index=snap["opportunity_id"])
    won = data.won_between(begin, min(cutoff, end))["opportunity_id"]
    created = ids.map(data.opportunities.set_index("opportunity_id")["created_at"])
    return np.select([ids.isin(open_category.index), ids.isin(won), np.asarray(created >= cutoff, dtype=bool)],
                     [open_category.reindex(ids).to_numpy(dtype=object), "Closed", "Not created"], "Omitted")


def category_moves(
    opportunities: pd.DataFrame | None = None,
    stage_history: pd.DataFrame | None = None,
    *,
    from_date,
    to_date,
    period=None,
    stages=None,
    data: PipelineData | None = None,
) -> pd.DataFrame:
    """The matrix of moves between forecast categories from one date to another.

    Every deal that is in a category other than ``Omitted`` / ``Not created`` at
    either date counts once, in the cell (its category at ``from_date``, its
    category at ``to_date``). Open deals are categorized by their stage's default
    probability (the CRM's weighted pipeline, :func:`~forecasting.pipeline.categorize`);
    deals won inside the period are ``Closed``.

    Returns
    -------
    DataFrame
        ``from_category, to_category, deals, amount`` (amount at ``to_date``: open
        amount or won amount), only non-empty cells, in :data:`CATEGORIES` order.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["A", "B"], "account_id": ["a", "b"], "owner": ["ava", "bo"],
    ...     "amount": [100.0, 50.0], "created_at": pd.to_datetime(["2026-01-05", "2026-02-10"]),
    ...     "stage": ["Closed Won", "Negotiation"], "status": ["won", "open"],
    ...     "close_date": pd.to_datetime(["2026-02-20", "2026-03-15"])})
    >>> hist = pd.DataFrame({"opportunity_id": ["A", "B", "A"], "stage": ["Negotiation", "Negotiation",
    ...     "Closed Won"], "entered_at": pd.to_datetime(["2026-01-05", "2026-02-10", "2026-02-20"]),
    ...     "close_date": pd.to_datetime(["2026-03-01", "2026-03-15", None])})
    >>> category_moves(opps, hist, from_date="2026-01-31", to_date="2026-02-28", period="2026Q1")
      from_category to_category  deals  amount
    0   Not created      Commit      1    50.0
    1        Commit      Closed      1   100.0
    """
    data = resolve(opportunities, stage_history, stages, data)
    c0, c1 = _check_dates(from_date, to_date)
    p, begin, end = period_bounds(period if period is not None else pd.Period(c1 - DAY, "Q"))
    ids = pd.Index(sorted(set(data.open_deals(c0)["opportunity_id"]) | set(data.open_deals(c1)["opportunity_id"])
                          | set(data.won_between(begin, min(c1, end))["opportunity_id"])))
    frame = pd.DataFrame({"from_category": _category(data, ids, c0, begin, end),
                          "to_category": _category(data, ids, c1, begin, end)}, index=ids)
    idle = frame.isin(["Omitted", "Not created"]).all(axis=1)
    frame = frame[~idle.to_numpy()]
    snap1 = data.open_deals(c1).set_index("opportunity_id")["amount"]
    won = data.won_between(begin, min(c1, end)).set_index("opportunity_id")["amount"]
    frame["amount"] = frame.index.map(snap1).to_series(index=frame.index).fillna(
        frame.index.to_series().map(won)).fillna(0.0)
    out = frame.groupby(["from_category", "to_category"]).agg(deals=("amount", "size"), amount=("amount", "sum"))
    out = out.reset_index()
    order = {c: i for i, c in enumerate(CATEGORIES)}
    out = out.sort_values(["from_category", "to_category"], key=lambda s: s.map(order), ignore_index=True)
    out["amount"] = _cents(out["amount"]) / 100
    return out


def plot_waterfall(frame: pd.DataFrame, *, group: str = TOTAL_GROUP, path=None, ax=None):
    """The waterfall chart of one group: start and end bars, floating bars for each flow.

    Returns the matplotlib Figure; writes a PNG atomically when ``path`` is given;
    ``ax`` draws into your own subplot. Buckets with no deals are left out.
    """
    import matplotlib.pyplot as plt

    from ..figures import finish, money_axis, new_axes, save_figure

    rows = frame[frame["group"] == group]
    rows = rows[(rows["deals"] > 0) | rows["bucket"].isin(["open at start", "open at end"])]
    fig, axes = new_axes(ax, figsize=(8, 3.8))
    level = 0.0
    for i, (bucket, amount) in enumerate(zip(rows["bucket"], rows["amount"])):
        if bucket in ("open at start", "open at end"):
            axes.bar(i, amount, color="#4c72b0")
            level = amount
            continue
        axes.bar(i, amount, bottom=level, color="#55a868" if amount >= 0 else "#c44e52")
        level += amount
    axes.set_xticks(range(len(rows)), rows["bucket"], rotation=30, ha="right", fontsize=8)
    money_axis(axes)
    first = rows.iloc[0]
    axes.set_title(f"Pipeline of {first['period']}: {first['from']} to {first['to']} ({group})")
    finish(fig, ax)
    if path is not None:
        save_figure(fig, path)
        plt.close(fig)
    return fig
