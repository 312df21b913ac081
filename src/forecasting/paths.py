"""Where the project's files live, whatever the working directory.

papermill starts kernels in the launch directory and nbval in the notebook's
directory; resolving every default path from one root makes both see the same
files. The root ("home") is, in this order:

1. ``$FORECASTING_HOME`` when set;
2. the checkout: the nearest folder holding this project's ``pyproject.toml``
   above the working directory or above this file (``make demo``, ``make lab``);
3. the per-user data folder of an installed package (``platformdirs``:
   ``~/.local/share/forecasting`` on Linux, honouring ``$XDG_DATA_HOME``), so
   an install never writes into whatever directory you happen to be in.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["checkout_root", "user_home", "project_root", "data_dir", "demo_dir", "demo_database", "models_dir", "reports_dir"]

ENV_VAR = "FORECASTING_HOME"


def _is_root(path: Path) -> bool:
    pyproject = path / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        return 'name = "forecasting"' in pyproject.read_text(encoding="utf-8")
    except OSError:
        return False


def checkout_root() -> Path | None:
    """The project checkout above the working directory or this file, else ``None`` (an install)."""
    for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
        for candidate in (start, *start.parents):
            if _is_root(candidate):
                return candidate
    return None


def user_home() -> Path:
    """The per-user data folder of an installed package: ``user_data_dir("forecasting")``."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("forecasting", appauthor=False)).resolve()


def project_root() -> Path:
    """Return the root of data, models and reports: ``$FORECASTING_HOME``, else the
    checkout (:func:`checkout_root`), else the per-user data folder (:func:`user_home`).

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"FORECASTING_HOME": "/srv/revops"}):
    ...     print(project_root())
    /srv/revops
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    return checkout_root() or user_home()


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
