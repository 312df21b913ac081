"""Products and deal terms of a synthetic CRM: contract length, cost, units.

Per deal: ``contract_months`` is 12, 24 or 36 (longer for larger segments);
``cost`` gives a profit margin ``(amount - cost) / amount`` of about 55% for
CRM Cloud, 45% for the Analytics Add-on and 30% for the Data Platform
(sd 5 points, clipped to 20-60%); ``quantity`` is the number of units
(seats or connectors) at the product's list price per unit.
"""

from __future__ import annotations

import numpy as np

PRODUCTS = {  # amount factor, mix per segment rank (fastest first), margin, price per unit
    "CRM Cloud": (1.0, (0.65, 0.45, 0.30), 0.55, 600.0),
    "Analytics Add-on": (0.6, (0.30, 0.35, 0.25), 0.45, 300.0),
    "Data Platform": (1.8, (0.05, 0.20, 0.45), 0.30, 2_400.0),
}
CONTRACT_MONTHS = (12, 24, 36)
_CONTRACT_MIX = ((0.80, 0.15, 0.05), (0.55, 0.30, 0.15), (0.30, 0.35, 0.35))  # per segment rank
MARGIN_SD = 0.05


def pick_products(rng, segment: np.ndarray) -> np.ndarray:
    """Product index of each deal by its segment's product mix (segments past the third use the third's)."""
    mix = np.array([v[1] for v in PRODUCTS.values()])  # product x segment rank
    cdf = np.cumsum(mix / mix.sum(axis=0), axis=0)[:, np.minimum(segment, mix.shape[1] - 1)]
    return np.minimum((rng.random(len(segment)) > cdf).sum(axis=0), mix.shape[0] - 1)


def deal_terms(rng, segment: np.ndarray, product: np.ndarray, amount: np.ndarray) -> dict[str, np.ndarray]:
    """``contract_months``, ``cost`` and ``quantity`` of each deal (module docstring)."""
    rank = np.minimum(segment, len(_CONTRACT_MIX) - 1)
    cdf = np.cumsum(np.array(_CONTRACT_MIX), axis=1)[rank]
    months = np.array(CONTRACT_MONTHS)[np.minimum((rng.random(len(rank))[:, None] > cdf).sum(axis=1), 2)]
    spec = np.array([v[2:] for v in PRODUCTS.values()])[product]
    margin = np.clip(rng.normal(spec[:, 0], MARGIN_SD), 0.2, 0.6)
    return {
        "contract_months": months.astype("int64"),
        "cost": np.round(amount * (1.0 - margin), 0),
        "quantity": np.maximum(np.round(amount / spec[:, 1]), 1).astype("int64"),
    }
