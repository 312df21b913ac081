"""forecasting.periods: the one place that parses periods and ranges (used by revenue blend and pipeline)."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting.data.errors import DataError
from forecasting.periods import complete_periods, dates_in, open_period, parse_periods, period_bounds
from forecasting.pipeline.snapshot import parse_periods as snapshot_parse_periods
from forecasting.revenue.period_totals import parse_periods as blend_parse_periods

FREQS = {"Q": 4, "M": 12}


@settings(max_examples=60, deadline=None)
@given(freq=st.sampled_from(sorted(FREQS)), start=st.integers(0, 200), length=st.integers(1, 30))
def test_a_range_round_trips_and_its_periods_tile_time(freq, start, length):
    first = pd.Period("2010-01", freq) + start
    last = first + (length - 1)
    periods = parse_periods(f"{first}:{last}")
    assert [str(p) for p in periods] == [str(first + k) for k in range(length)]
    assert parse_periods([str(p) for p in periods]) == periods  # a list of the same periods
    for p, q in zip(periods, periods[1:]):
        assert period_bounds(p)[2] == period_bounds(q)[1]  # [start, end) bounds leave no gap, no overlap
    months = sum(len(dates_in(p, "MS")) for p in periods)
    assert months == length * 12 // FREQS[freq]


def test_pipeline_and_revenue_share_the_parser():
    assert snapshot_parse_periods is parse_periods and blend_parse_periods is parse_periods


@pytest.mark.parametrize("bad", ["2025Q4:2025Q1", "2025Q1:2025-06", "2025-Q9", "2025Q1:"])
def test_bad_periods_and_ranges_raise_data_errors_naming_the_argument(bad):
    with pytest.raises(DataError, match=r"periods: .*(not a period|earlier to a later)") as err:
        parse_periods(bad)
    assert err.value.problems[0].table == "periods"


def test_open_and_complete_periods_at_an_as_of_date():
    assert str(open_period("2026-06-30")) == "2026Q3"  # the quarter ends with the day: Q3 is open
    assert str(open_period("2026-06-29", "M")) == "2026-06"
    assert [str(p) for p in complete_periods("2026-06-29", 2)] == ["2025Q4", "2026Q1"]
    assert complete_periods("2017-12-31", 8, after="2017-12-01") == []
