"""The sales hierarchy: who reports to whom, at any depth.

The ``team`` table has one row per person (``owner``) with their ``manager``
(empty at the top). A manager who has no row of their own is a node at the top.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..data.errors import DataError, problem

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


def _cycles(manager: dict) -> list[list[str]]:
    """Each loop of the manager chain, as the owners on it (each loop once)."""
    seen, loops = set(), []
    for start in manager:
        chain, node = [], start
        while node is not None and node not in seen and node not in chain:
            chain.append(node)
            node = manager.get(node)
        if node is not None and node in chain:
            loops.append(chain[chain.index(node):])
        seen.update(chain)
    return loops


def hierarchy(team: pd.DataFrame) -> Hierarchy:
    """Validate the ``team`` table and build the hierarchy.

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
    forecasting.data.errors.DataError: team.manager: has a manager cycle: a -> b -> a (rows: a, b)
    """
    missing = [c for c in ("owner", "manager") if c not in team.columns]
    if missing:
        raise DataError([problem("team", c, "is a required column but is missing") for c in missing])
    owners = team["owner"].astype(object)
    blank = owners.map(_blank).to_numpy(dtype=bool)
    owners = owners.astype(str).str.strip()
    dup = owners.duplicated(keep=False).to_numpy() & ~blank
    problems = []
    if blank.any():
        problems.append(problem("team", "owner", "is missing an owner", [f"row {i + 1}" for i in blank.nonzero()[0]]))
    if dup.any():
        problems.append(problem("team", "owner", "lists an owner twice (one manager per person)",
                                sorted(set(owners[dup]))))
    if problems:
        raise DataError(problems)
    manager = {o: (None if _blank(m) else str(m).strip()) for o, m in zip(owners, team["manager"])}
    for m in {m for m in manager.values() if m is not None} - set(manager):
        manager[m] = None  # a manager without a row of their own is at the top
    loops = _cycles(manager)
    if loops:
        raise DataError([problem("team", "manager", f"has a manager cycle: {' -> '.join(loop + loop[:1])}", loop)
                         for loop in loops])
    reports = {n: sorted(o for o, m in manager.items() if m == n) for n in manager}
    level, nodes = {}, []
    stack = [(n, 0) for n in sorted((n for n, m in manager.items() if m is None), reverse=True)]
    while stack:  # depth first: each manager followed by their whole team
        node, depth = stack.pop()
        level[node] = depth
        nodes.append(node)
        stack += [(r, depth + 1) for r in reversed(reports[node])]
    return Hierarchy(tuple(nodes), manager, level)
