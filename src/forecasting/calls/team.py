"""The sales hierarchy: who reports to whom, at any depth.

The ``team`` table has one row per person (``owner``) with their ``manager``
(empty at the top). A manager who has no row of their own is a node at the top.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..data.validate import load_table

__all__ = ["Hierarchy", "hierarchy"]


@dataclass(frozen=True)
class Hierarchy:
    """Nodes depth first (each manager followed by their team), their manager and depth.

    Attributes
    ----------
    nodes : tuple of str
        Every person, each manager followed by their whole team.
    manager : dict of str to str or None
    level : dict of str to int
        0 at the top.
    """

    nodes: tuple[str, ...]
    manager: dict
    level: dict

    def reports(self, node: str) -> list[str]:
        """Direct reports of ``node``."""
        return [n for n in self.nodes if self.manager[n] == node]

    def below(self, node: str) -> list[str]:
        """Everyone under ``node`` (not ``node`` itself), top-down."""
        out, frontier = [], [node]
        while frontier:
            frontier = [n for n in self.nodes if self.manager[n] in frontier]
            out += frontier
        return out

    def is_leaf(self, node: str) -> bool:
        return not self.reports(node)


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == ""


def hierarchy(team: pd.DataFrame, *, checked: bool = False) -> Hierarchy:
    """Validate the ``team`` table and build the hierarchy.

    Parameters
    ----------
    team : DataFrame
        ``owner, manager`` (empty manager: the top).
    checked : bool, default False
        The table comes from ``load_table("team", ...)`` already, which makes the
        checks (missing or repeated owners, manager cycles); skip them.

    Raises
    ------
    DataError
        Missing columns or owners, an owner listed twice, a manager chain that
        loops back (the owners on the loop are named).

    Examples
    --------
    >>> team = pd.DataFrame({"owner": ["ava", "bo", "mia", "vic"], "manager": ["mia", "mia", "vic", None]})
    >>> h = hierarchy(team)
    >>> h.nodes, h.level["ava"], h.reports("mia")
    (('vic', 'mia', 'ava', 'bo'), 2, ['ava', 'bo'])
    >>> hierarchy(pd.DataFrame({"owner": ["a", "b"], "manager": ["b", "a"]}))
    Traceback (most recent call last):
    ...
    forecasting.data.errors.DataError: team.manager: has a cycle: a -> b -> a; a roll-up needs a top (an owner whose manager is empty) (rows: a, b)
    """
    if not checked:
        team = load_table("team", team)  # one set of checks for the CLI, `data check` and this function
    owners = team["owner"].astype(str).str.strip()
    manager = {o: (None if _blank(m) else str(m).strip()) for o, m in zip(owners, team["manager"])}
    for m in {m for m in manager.values() if m is not None} - set(manager):
        manager[m] = None  # a manager without a row of their own is at the top
    reports = {n: sorted(o for o, m in manager.items() if m == n) for n in manager}
    level, nodes = {}, []
    stack = [(n, 0) for n in sorted((n for n, m in manager.items() if m is None), reverse=True)]
    while stack:  # depth first: each manager followed by their whole team
        node, depth = stack.pop()
        level[node] = depth
        nodes.append(node)
        stack += [(r, depth + 1) for r in reversed(reports[node])]
    return Hierarchy(tuple(nodes), manager, level)
