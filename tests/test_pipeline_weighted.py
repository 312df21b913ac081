"""The CRM's weighted pipeline: won so far + open amounts x stage probability, for deals due in the period."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from forecasting.data.errors import DataError
from forecasting.data.worlds import make_world
from forecasting.pipeline import PipelineData, forecast_period, weighted_pipeline


def _deals():
    """A won 100 on 02-20; B 50 in Proposal (60%) due 03-20; C 70 in Demo (40%) due 04-15; D 30 in Demo
    due 01-31, overdue by 02-20 (so counted as due now)."""
    opps = pd.DataFrame({"opportunity_id": ["A", "B", "C", "D"], "account_id": ["a", "b", "c", "d"],
                         "owner": "ava", "amount": [100.0, 50.0, 70.0, 30.0],
                         "created_at": pd.to_datetime(["2026-01-05", "2026-01-05", "2026-02-10", "2026-01-06"]),
                         "stage": ["Closed Won", "Proposal", "Demo", "Demo"], "status": ["won", "open", "open", "open"],
                         "close_date": pd.to_datetime(["2026-02-20", "2026-03-20", "2026-04-15", "2026-01-31"])})
    hist = pd.DataFrame({"opportunity_id": ["A", "B", "B", "C", "A", "D"],
                         "stage": ["Demo", "Demo", "Proposal", "Demo", "Closed Won", "Demo"],
                         "entered_at": pd.to_datetime(["2026-01-05", "2026-01-05", "2026-02-15", "2026-02-10",
                                                       "2026-02-20", "2026-01-06"]),
                         "close_date": pd.to_datetime(["2026-03-01", "2026-03-20", "2026-03-20", "2026-04-15", None,
                                                       "2026-01-31"]),
                         "amount": [100.0, 50.0, 50.0, 70.0, 100.0, 30.0]})
    return opps, hist


def test_won_plus_due_deals_times_their_stage_probability():
    opps, hist = _deals()
    # Q1 as of 02-20: 100 won + 0.6 x 50 (B) + 0.4 x 30 (D, overdue: due now); C is due in Q2.
    assert weighted_pipeline(opps, hist, as_of="2026-02-20", period="2026Q1") == pytest.approx(142.0)
    # Q2 seen on the same day: only C, 0.4 x 70; nothing won yet.
    assert weighted_pipeline(opps, hist, as_of="2026-02-20", period="2026Q2") == pytest.approx(28.0)
    # The day before A was won: A is Demo (40%) due 03-01, so 0.4 x 100 instead of 100.
    assert weighted_pipeline(opps, hist, as_of="2026-02-19", period="2026Q1") == pytest.approx(82.0)


def test_a_date_before_the_first_deal_is_refused():
    opps, hist = _deals()
    with pytest.raises(DataError, match=r"as_of: 2025-12-31 is before the first deal"):
        weighted_pipeline(opps, hist, as_of="2025-12-31", period="2026Q1")


@pytest.mark.parametrize("as_of, period", [("2025-06-30", "2025Q3"), ("2025-08-14", "2025Q3")])
def test_equals_the_default_forecasts_closed_won_plus_weighted(as_of, period):
    world = make_world("demo", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = PipelineData.build(world.tables["opportunities"], world.tables["stage_history"], world.stages)
        forecast, _ = forecast_period(as_of=as_of, period=period, method="default", n_sims=100, seed=0, data=data)
    row = forecast.iloc[0]
    assert weighted_pipeline(as_of=as_of, period=period, data=data) == pytest.approx(row["closed_won"] + row["weighted"])
