"""The embedded default source: ``demo`` means the demo CRM, made on first use.

Notebooks and commands accept ``demo`` (or ``demo:table``) wherever a SOURCE
goes, so a fresh clone runs end to end without preparing any data.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DEMO", "ensure_demo", "resolve_source"]

DEMO = "demo"


def _is_current(path: Path, seed: int) -> bool:
    """Whether the demo file was made with this seed by this version of the generator."""
    import duckdb

    from .demo import generator_fingerprint

    try:
        with duckdb.connect(str(path), read_only=True) as con:
            meta = con.execute("SELECT seed, generator FROM demo_meta").fetchone()
    except duckdb.Error:
        return False
    return meta == (seed, generator_fingerprint())


def ensure_demo(seed: int = 0) -> Path:
    """Return ``data/demo/crm.duckdb``, (re)writing the demo CRM when it is missing or
    was made by another version of the generator (so stored report outputs match)."""
    from ..paths import demo_database

    path = demo_database()
    if not (path.exists() and _is_current(path, seed)):
        from .demo import write_demo

        write_demo(path.parent, seed=seed)
    return path


def resolve_source(source):
    """Turn ``demo`` / ``demo:table`` into the demo database path; leave anything else.

    Examples
    --------
    >>> resolve_source("crm.csv")
    'crm.csv'
    """
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if text == DEMO or text.startswith(DEMO + ":"):
            table = text[len(DEMO) + 1:]
            path = str(ensure_demo())
            return f"{path}:{table}" if table else path
    return source
