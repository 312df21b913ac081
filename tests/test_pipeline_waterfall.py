"""The pipeline waterfall: worked examples, reconciliation to the cent on every world, and the CLI."""

from __future__ import annotations

import functools
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_pipeline_forecast import hand_crm

from forecasting.cli import main
from forecasting.data.errors import DataError
from forecasting.data.worlds import WORLDS, make_world
from forecasting.pipeline import PipelineData, category_moves, expected_in_window, waterfall
from forecasting.pipeline.snapshot import cutoff_of, period_bounds


def _buckets(frame: pd.DataFrame, group: str = "all") -> dict:
    rows = frame[frame["group"] == group]
    return {b: a for b, a in zip(rows["bucket"], rows["amount"]) if a != 0}


# --- worked examples (hand_crm's history, written out in test_pipeline_forecast) --------


def test_q2_waterfall_of_the_hand_crm_from_march_to_may():
    # At 03-01 only O2 (500) is due in Q2. By 05-31 it is lost; O1 (due 03-31 at 03-01) slipped into Q2
    # and was won at 1500; O3 (2000) and O5 (3000) were created, O5 won; O3 is what is left.
    opps, hist = hand_crm()
    frame = waterfall(opps, hist, from_date="2025-03-01", to_date="2025-05-31", period="2025Q2", by="owner")
    assert _buckets(frame) == {"open at start": 500, "created": 5000, "pushed in": 1500, "won": -4500,
                               "lost": -500, "open at end": 2000}
    assert _buckets(frame, "ava") == {"created": 5000, "pushed in": 1500, "won": -4500, "open at end": 2000}
    assert _buckets(frame, "ben") == {"open at start": 500, "lost": -500}
    deals = frame[frame["group"] == "all"].set_index("bucket")["deals"]
    assert (deals["created"], deals["won"], deals["open at end"]) == (2, 2, 1)
    assert list(frame.columns[:6]) == ["group", "from", "to", "bucket", "amount", "deals"]
    assert set(frame["snapshot"]) == {"exact"}


def test_q1_waterfall_pushed_out_and_won():
    # At 02-15 O1 (1200, due 03-31) and O4 (800, due 02-28) are due in Q1; by 03-15 O1 is pushed to 04-30
    # and O4 won.
    opps, hist = hand_crm()
    frame = waterfall(opps, hist, from_date="2025-02-15", to_date="2025-03-15", period="2025Q1")
    assert _buckets(frame) == {"open at start": 2000, "pushed out": -1200, "won": -800}


def test_amount_change_of_a_won_deal_is_an_amount_change_not_a_smaller_win():
    # O1 sits at 1200 in Q2's pipeline on 04-01 and is won on 04-20 at 1500.
    opps, hist = hand_crm()
    frame = waterfall(opps, hist, from_date="2025-04-01", to_date="2025-04-30", period="2025Q2")
    got = _buckets(frame)
    assert got["amount changes"] == 300 and got["won"] == -1500
    assert got["open at start"] == 500 + 1200 + 2000  # O2, O1, O3


def test_from_after_to_is_refused_naming_both():
    opps, hist = hand_crm()
    with pytest.raises(DataError, match="after to.*--from must be on or before --to"):
        waterfall(opps, hist, from_date="2025-04-01", to_date="2025-03-01")


def test_category_moves_of_the_hand_crm():
    opps, hist = hand_crm()
    moves = category_moves(opps, hist, from_date="2025-03-01", to_date="2025-05-31", period="2025Q2")
    cells = {(r.from_category, r.to_category): (r.deals, r.amount) for r in moves.itertuples()}
    # O1: due in Q1 at 03-01 (Omitted for Q2), won in Q2 (Closed, 1500); O5 not created, then won (3000);
    # O3 not created, then open in Q2 in Prospecting (default 1/6: Pipeline); O2 in Q2 then lost (Omitted).
    assert cells == {("Not created", "Pipeline"): (1, 2000.0), ("Not created", "Closed"): (1, 3000.0),
                     ("Pipeline", "Omitted"): (1, 0.0), ("Omitted", "Closed"): (1, 1500.0)}


# --- property: start + flows = end, to the cent, on the demo and every zoo world ---------


@functools.cache
def _world_data(name: str) -> PipelineData:
    world = make_world(name, seed=3, size=0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PipelineData.build(world.tables["opportunities"], world.tables.get("stage_history"), world.stages)


def _in_window_cents(data: PipelineData, as_of, period) -> int:
    """The period's open pipeline at a date, straight from the snapshot (independent of the flows)."""
    cutoff = cutoff_of(as_of)
    _, begin, end = period_bounds(period)
    snap = data.open_deals(cutoff)
    inside = expected_in_window(snap["close_date"], cutoff, begin, end)
    return int(np.round(snap["amount"].to_numpy()[inside] * 100).astype(np.int64).sum())


@pytest.mark.parametrize("name", list(WORLDS))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.integers(0, 10_000), length=st.integers(0, 120), ahead=st.integers(0, 1),
       by=st.sampled_from([None, "owner", "segment"]))
def test_waterfall_reconciles_to_the_cent(name, start, length, ahead, by):
    data = _world_data(name)
    first, last = data.first_date.normalize(), data.last_date.normalize()
    span = max((last - first).days - 1, 1)
    d0 = first + pd.Timedelta(days=1 + start % span)
    d1 = min(d0 + pd.Timedelta(days=length), last)
    period = pd.Period(d1, "Q") + ahead
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = waterfall(from_date=d0, to_date=d1, period=period, by=by, data=data)
    for _, rows in frame.groupby("group"):
        cents = np.round(rows["amount"].to_numpy() * 100).astype(np.int64)
        assert rows["bucket"].iloc[-1] == "open at end"
        assert cents[:-1].sum() == cents[-1]
    total = frame[frame["group"] == "all"].set_index("bucket")
    assert round(total.loc["open at start", "amount"] * 100) == _in_window_cents(data, d0, period)
    assert round(total.loc["open at end", "amount"] * 100) == _in_window_cents(data, d1, period)
    if len(frame) > len(total):  # the groups add up to the total, bucket by bucket
        groups = frame[frame["group"] != "all"].groupby("bucket", sort=False)[["amount", "deals"]].sum()
        assert np.allclose(groups.loc[total.index, "amount"], total["amount"], atol=0.005)
        assert (groups.loc[total.index, "deals"] == total["deals"]).all()


# --- CLI ------------------------------------------------------------------------------------


def _files(tmp_path) -> list[str]:
    opps, hist = hand_crm()
    (tmp_path / "opps.csv").write_text(opps.to_csv(index=False))
    (tmp_path / "hist.csv").write_text(hist.to_csv(index=False))
    return ["--opportunities", str(tmp_path / "opps.csv"), "--stage-history", str(tmp_path / "hist.csv")]


def test_cli_waterfall_writes_waterfall_categories_and_run_json(tmp_path):
    out = tmp_path / "out"
    code = main(["pipeline", "waterfall", *_files(tmp_path), "--from", "2025-03-01", "--to", "2025-05-31",
                 "--period", "2025Q2", "--by", "owner", "--out", str(out)])
    assert code == 0
    frame = pd.read_csv(out / "waterfall.csv")
    assert _buckets(frame)["open at end"] == 2000 and set(frame["group"]) == {"all", "ava", "ben"}
    assert len(pd.read_csv(out / "categories.csv")) == 4
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "ok" and run["period"] == "2025Q2" and run["exact_snapshot"] is True


@pytest.mark.parametrize("argv, expected", [
    (["--from", "2025-05-31", "--to", "2025-03-01"], ["dates.from", "--from must be on or before --to"]),
    (["--from", "2025-03-01", "--to", "2025-05-31", "--by", "region"], ["opportunities.region", "--by region"]),
    (["--from", "2025-03-01", "--to", "2025-05-31", "--period", "Q9"], ["period", "Q9"]),
])
def test_cli_waterfall_bad_input_exits_2_naming_the_problem(tmp_path, capsys, argv, expected):
    code = main(["pipeline", "waterfall", *_files(tmp_path), *argv, "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(piece in err for piece in expected), err
    assert not (tmp_path / "out").exists()
