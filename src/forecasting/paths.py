"""Where the project's files live, whatever the working directory.

papermill starts kernels in the launch directory and nbval in the notebook's
directory; resolving every default path from the project root makes both see
the same files.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "data_dir", "demo_dir", "demo_database", "models_dir", "reports_dir"]


def _is_root(path: Path) -> bool:
    pyproject = path / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        return 'name = "forecasting"' in pyproject.read_text(encoding="utf-8")
    except OSError:
        return False


def project_root() -> Path:
    """Return the project root: ``$FORECASTING_HOME``, else the nearest folder holding
    this project's ``pyproject.toml`` above the working directory or this file, else
    the working directory.
    """
    env = os.environ.get("FORECASTING_HOME")
    if env:
        return Path(env).expanduser().resolve()
    for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
        for candidate in (start, *start.parents):
            if _is_root(candidate):
                return candidate
    return Path.cwd().resolve()


def data_dir() -> Path:
    """``<root>/data``: demo data and your own extracts."""
    return project_root() / "data"


def demo_dir() -> Path:
    """``<root>/data/demo``: where ``forecasting data demo`` writes by default."""
    return data_dir() / "demo"


def demo_database() -> Path:
    """The embedded default source: ``<root>/data/demo/crm.duckdb``."""
    return demo_dir() / "crm.duckdb"


def models_dir() -> Path:
    """``<root>/models``: saved lead-scoring models, one folder each."""
    return project_root() / "models"


def reports_dir() -> Path:
    """``<root>/reports``: report runs (executed notebooks, HTML, run.json)."""
    return project_root() / "reports"
