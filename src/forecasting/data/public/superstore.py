"""Superstore: retail orders aggregated to monthly revenue per segment."""

from __future__ import annotations

import os

import pandas as pd

from ..errors import DataError, problem
from .base import Adapted, canonical, fixed_format_dates, locate, read_csv


_SUPERSTORE_ORDERS = {
    "Row ID": "line_id", "Order ID": "order_id", "Order Date": "order_date", "Ship Date": "ship_date",
    "Customer ID": "customer_id", "Segment": "segment", "Region": "region", "State": "state",
    "City": "city", "Category": "category", "Sub-Category": "sub_category", "Product ID": "product_id",
    "Sales": "sales", "Quantity": "quantity", "Discount": "discount", "Profit": "profit",
}
_SUPERSTORE_SOURCE = {v: k for k, v in _SUPERSTORE_ORDERS.items()}
_SUPERSTORE_NOTES = """\
Tableau "Sample - Superstore" (US retail, 9,994 order lines, 5,009 orders, 2014-01 .. 2017-12).
- revenue: Sales summed by calendar month of Order Date (date = month start) per Segment
  (Consumer, Corporate, Home Office): 3 series x 48 months; months without orders would be 0.
- orders: one row per order LINE (line_id = Row ID; an order spans several lines and categories).
  profit can be negative (discounted lines).
- The file is UTF-8 with non-breaking spaces in some product names (other copies are Windows-1252;
  both are read). Postal codes lost their leading zeros (not used)."""


def superstore(*, root: str | os.PathLike | None = None) -> Adapted:
    """Tableau Superstore as monthly revenue per segment plus the order lines.

    Parameters
    ----------
    root : path, optional
        Shared data folder or the dataset folder.

    Returns
    -------
    Adapted
        ``tables["revenue"]`` (canonical: ``date`` month start, ``segment``, ``amount``)
        and ``tables["orders"]`` (``line_id, order_id, order_date, ship_date, customer_id,
        segment, region, state, city, category, sub_category, product_id, sales, quantity,
        discount, profit``); ``freq="MS"``, ``season_length=12``.

    Notes
    -----
    ``orders`` has one row per order line (5,009 orders in 9,994 lines); profit can be negative.
    The file is UTF-8 with non-breaking spaces in product names (Windows-1252 copies also read).
    """
    path = locate(root, "superstore_sales", "Sample-Superstore.csv")
    raw = read_csv(path, tuple(_SUPERSTORE_ORDERS), dtype={"Row ID": str, "Postal Code": str})
    orders = raw[list(_SUPERSTORE_ORDERS)].rename(columns=_SUPERSTORE_ORDERS)
    for column in ("order_date", "ship_date"):
        orders[column] = fixed_format_dates(orders[column], path, _SUPERSTORE_SOURCE[column], "%m/%d/%Y",
                                orders["line_id"])
    for column in ("sales", "quantity", "discount", "profit"):
        values = pd.to_numeric(orders[column], errors="coerce")
        if values.isna().any():
            raise DataError(problem(path.name, _SUPERSTORE_SOURCE[column],
                                    "has missing or non-numeric values", orders.loc[values.isna(), "line_id"]))
        orders[column] = values.astype(int if column == "quantity" else float)
    month = orders["order_date"].dt.to_period("M").dt.start_time.astype("datetime64[ns]")
    totals = orders.groupby(["segment", month.rename("date")])["sales"].sum()
    grid = pd.MultiIndex.from_product(
        [totals.index.levels[0], pd.date_range(month.min(), month.max(), freq="MS")],
        names=["segment", "date"])
    revenue = totals.reindex(grid, fill_value=0.0).rename("amount").reset_index()
    return Adapted(
        name="superstore_sales",
        tables={"revenue": canonical("revenue", revenue[["date", "segment", "amount"]], path,
                                      season_length=12),
                "orders": orders},
        notes=_SUPERSTORE_NOTES,
        freq="MS",
        season_length=12,
        columns=dict(_SUPERSTORE_ORDERS),
        files=(path,),
    )
