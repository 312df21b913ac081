"""Properties of the reader: dates and amounts rendered in every supported style read back
equal, and a column the reader cannot decide is refused, never read wrong (issue 12)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecasting.data.formats import parse_date_column, parse_number_column
from test_real_exports import NUMBER_STYLES, render_amount

_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# strftime format, whether it carries the time, and the dayfirst that settles it when no day is above 12
DATE_STYLES = {
    "iso": ("%Y-%m-%d", False, None),
    "iso_time": ("%Y-%m-%d %H:%M:%S", True, None),
    "iso_t_offset": ("%Y-%m-%dT%H:%M:%S+05:30", True, None),
    "day_first": ("%d/%m/%Y", False, True),
    "day_first_time": ("%d/%m/%Y %H:%M", True, True),
    "month_first": ("%m/%d/%Y", False, False),
    "month_first_ampm": ("%m/%d/%Y %I:%M %p", True, False),
    "dotted": ("%d.%m.%Y", False, True),
    "dashed_day_first": ("%d-%m-%Y", False, True),
    "two_digit_day_first": ("%d/%m/%y", False, True),
    "two_digit_month_first": ("%m/%d/%y", False, False),
    "year_slash": ("%Y/%m/%d", False, None),
}

_moments = st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2068, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0))


def _expected(moments, with_time: bool, fmt: str) -> list[pd.Timestamp]:
    stamps = [pd.Timestamp(m) for m in moments]
    if "%S" not in fmt:
        stamps = [s.replace(second=0) for s in stamps]
    return stamps if with_time else [s.normalize() for s in stamps]


@_SETTINGS
@given(style=st.sampled_from(sorted(DATE_STYLES)), moments=st.lists(_moments, min_size=1, max_size=30))
def test_dates_in_every_style_read_back_equal_or_are_refused(style, moments):
    fmt, with_time, _ = DATE_STYLES[style]
    parsed, issue = parse_date_column(pd.Series([m.strftime(fmt) for m in moments], dtype=object))
    if issue is None:  # never a wrong date: detected right, or refused
        assert parsed.tolist() == _expected(moments, with_time, fmt)
    else:
        assert DATE_STYLES[style][2] is not None and all(m.day <= 12 for m in moments)
        assert "--dayfirst" in issue.message


@_SETTINGS
@given(style=st.sampled_from(sorted(DATE_STYLES)), moments=st.lists(_moments, min_size=1, max_size=30))
def test_dates_in_every_style_read_back_equal_with_the_settling_flag(style, moments):
    fmt, with_time, dayfirst = DATE_STYLES[style]
    parsed, issue = parse_date_column(pd.Series([m.strftime(fmt) for m in moments], dtype=object),
                                      dayfirst=dayfirst)
    assert issue is None
    assert parsed.tolist() == _expected(moments, with_time, fmt)


_amounts = st.decimals(min_value=-10_000_000, max_value=10_000_000, places=2, allow_nan=False).map(float)


@_SETTINGS
@given(style=st.sampled_from(sorted(NUMBER_STYLES)), amounts=st.lists(_amounts, min_size=1, max_size=30),
       decimals=st.sampled_from([0, 2]))
def test_amounts_in_every_style_read_back_equal_or_are_refused(style, amounts, decimals):
    text = pd.Series([render_amount(a, style, decimals) for a in amounts], dtype=object)
    numbers, _, issue = parse_number_column(text)
    truth = [round(a, decimals) for a in amounts]
    if issue is None:  # never a wrong number: detected right, or refused
        assert numbers.tolist() == pytest.approx(truth, abs=1e-9)
    else:
        assert "--decimal" in issue.message
    settled, _, issue = parse_number_column(text, decimal=NUMBER_STYLES[style][1])
    assert issue is None and settled.tolist() == pytest.approx(truth, abs=1e-9)


@_SETTINGS
@given(amounts=st.lists(_amounts, min_size=1, max_size=20), code=st.sampled_from(["EUR {}", "{} €", "${}", "USD {}"]))
def test_currency_codes_and_symbols_are_stripped(amounts, code):
    text = pd.Series([code.format(render_amount(a, "us")) for a in amounts], dtype=object)
    numbers, _, issue = parse_number_column(text, decimal=".")
    assert issue is None and numbers.tolist() == pytest.approx(amounts, abs=1e-9)
