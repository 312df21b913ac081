"""The embedded default source: ``demo`` means the demo CRM, made on first use.

Notebooks and commands accept ``demo`` (or ``demo:table``) wherever a SOURCE
goes, so a fresh clone runs end to end without preparing any data.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DEMO", "ensure_demo", "resolve_source"]

DEMO = "demo"


def ensure_demo(seed: int = 0) -> Path:
    """Return ``data/demo/crm.duckdb``, writing the demo CRM first if it is missing."""
    from ..paths import demo_database

    path = demo_database()
    if not path.exists():
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
