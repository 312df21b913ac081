"""How numbers read: money, rates and counts for labels, ticks, prose and notebook cards.

One module owns number formatting, so a figure's tick, a report sentence and a
notebook summary of the same amount read the same (``$250k`` everywhere). The
HTML helper gives result objects (``Comparison``, ``CheckReport``, ``LeadModel``)
their JupyterLab display: a title, the headline facts and a small table, every
piece of text escaped.

>>> from forecasting.formatting import money, percent, count
>>> money(1_234_567), money(400), percent(0.254), count(12345)
('$1.2M', '$400', '25%', '12,345')
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a light module: ticks and prose need no pandas import
    import pandas as pd

__all__ = ["money", "percent", "count", "html_card"]

MISSING = "n/a"
# (divisor, suffix, decimals), smallest first: $900, $250k, $1.2M, $1.2B.
_MONEY_UNITS = ((1.0, "", 0), (1e3, "k", 0), (1e6, "M", 1), (1e9, "B", 1))


def _missing(value) -> bool:
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def money(value, missing: str = MISSING) -> str:
    """Dollars for a label, a tick or prose: ``$1.2M``, ``$250k``, ``$900``; no cents.

    The unit is chosen after rounding, so $999,960 reads ``$1.0M`` (not ``$1000k``);
    negative amounts read ``-$5k``.

    Parameters
    ----------
    value : float
    missing : str, default "n/a"
        Text for None or NaN.

    Examples
    --------
    >>> money(1_234_567), money(249_600.4), money(400), money(0)
    ('$1.2M', '$250k', '$400', '$0')
    >>> money(999_960), money(999.6), money(-5_000), money(float("nan"))
    ('$1.0M', '$1k', '-$5k', 'n/a')
    """
    if _missing(value):
        return missing
    value = float(value)
    size, sign = abs(value), "-" if value < 0 else ""
    for divisor, suffix, decimals in _MONEY_UNITS:
        # The first unit whose rounded figure stays below 1000: 999.6 reads $1k, never $1000.
        text = f"{size / divisor:.{decimals}f}"
        if float(text) < 1000 or suffix == _MONEY_UNITS[-1][1]:
            break
    if float(text) == 0:
        sign = ""  # -0.4 dollars is "$0", not "-$0"
    return f"{sign}${text}{suffix}"


def percent(value, digits: int = 0, missing: str = MISSING) -> str:
    """A rate: ``0.254`` -> ``25%`` (``digits`` decimals); ``missing`` for None or NaN.

    Examples
    --------
    >>> percent(0.254), percent(0.254, 1), percent(None)
    ('25%', '25.4%', 'n/a')
    """
    return missing if _missing(value) else f"{float(value):.{digits}%}"


def count(value, missing: str = MISSING) -> str:
    """A whole number with thousands separators: ``12345`` -> ``12,345``.

    Examples
    --------
    >>> count(12345), count(7.0), count(float("nan"))
    ('12,345', '7', 'n/a')
    """
    return missing if _missing(value) else f"{round(float(value)):,}"


def _cell(value, digits: int) -> str:
    if isinstance(value, float) and not math.isnan(value):
        return f"{value:.{digits}f}"
    return str(value)


def html_card(title: str, facts: Mapping[str, object], table: pd.DataFrame | None = None, *,
              note: str | None = None, digits: int = 3) -> str:
    """A compact HTML summary for a notebook: a bold title, ``name: value`` facts, an optional table.

    Parameters
    ----------
    title : str
        First line, e.g. ``"Comparison of 4 models"``.
    facts : mapping
        Headline numbers, already formatted or plain values (``{"best": "lgbm"}``).
    table : DataFrame, optional
        A few rows (the caller picks them); floats shown with ``digits`` decimals.
    note : str, optional
        A last line in small print (e.g. ``"2 more rows"``).

    Returns
    -------
    str
        HTML where every title, fact, column name and cell is escaped.

    Examples
    --------
    >>> html_card("Models <1>", {"best": "a&b"})
    '<div><b>Models &lt;1&gt;</b><br>best: <b>a&amp;b</b></div>'
    """
    parts = [f"<b>{html.escape(title)}</b>"]
    if facts:
        parts.append(" &middot; ".join(f"{html.escape(str(k))}: <b>{html.escape(str(v))}</b>"
                                       for k, v in facts.items()))
    body = "<br>".join(parts)
    if table is not None and len(table.columns):
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v, digits))}</td>" for v in row) + "</tr>"
                       for row in table.itertuples(index=False))
        body += f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    if note:
        body += f"<small>{html.escape(note)}</small>"
    return f"<div>{body}</div>"
